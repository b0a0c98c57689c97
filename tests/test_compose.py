"""docker-compose.yml cannot run here (no Docker engine), so check that it is wired right."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ["migrate", "web", "worker", "beat"]


def test_it_has_every_service_of_the_scale_mode():
    assert {"web", "worker", "beat", "db", "redis", "elasticsearch", "migrate"} <= set(SERVICES)
    assert SERVICES["db"]["image"].startswith("postgres:")
    assert SERVICES["redis"]["image"].startswith("redis:")
    assert SERVICES["elasticsearch"]["image"].startswith(
        "docker.elastic.co/elasticsearch/elasticsearch:8"
    )


def test_app_services_are_built_from_the_dockerfile_and_share_the_data_volume():
    assert (ROOT / "Dockerfile").exists()
    for name in APP_SERVICES:
        service = SERVICES[name]
        assert service["build"] == "."
        assert "appdata:/data" in service["volumes"]


def test_app_services_point_at_the_scale_backends():
    for name in APP_SERVICES:
        env = SERVICES[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://") and "@db:5432/" in env["DATABASE_URL"]
        assert env["SEARCH_BACKEND"] == "elasticsearch"
        assert env["ELASTICSEARCH_URL"] == "http://elasticsearch:9200"
        assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379")
        assert env["DATA_DIR"] == "/data"


def test_database_credentials_match_between_app_and_postgres():
    db = SERVICES["db"]["environment"]
    url = SERVICES["web"]["environment"]["DATABASE_URL"]
    user, password, name = re.match(r"postgres://(\w+):(\w+)@db:5432/(\w+)", url).groups()
    assert (user, password, name) == (
        db["POSTGRES_USER"],
        db["POSTGRES_PASSWORD"],
        db["POSTGRES_DB"],
    )


def test_servers_have_health_checks_and_apps_wait_for_them():
    for name in ["db", "redis", "elasticsearch", "web"]:
        assert SERVICES[name]["healthcheck"]["test"]
    es_env = SERVICES["elasticsearch"]["environment"]
    assert es_env["discovery.type"] == "single-node" and "ES_JAVA_OPTS" in es_env
    for name in APP_SERVICES:
        deps = SERVICES[name]["depends_on"]
        assert all(
            deps[s]["condition"] == "service_healthy" for s in ["db", "redis", "elasticsearch"]
        )


def test_migrations_run_once_before_web_worker_and_beat_start():
    assert (
        "bootstrap" in SERVICES["migrate"]["command"] or "migrate" in SERVICES["migrate"]["command"]
    )
    for name in ["web", "worker", "beat"]:
        assert (
            SERVICES[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        )


def test_commands_name_real_entry_points():
    assert "papers.wsgi" in SERVICES["web"]["command"] and (ROOT / "papers" / "wsgi.py").exists()
    assert SERVICES["worker"]["command"].startswith("celery -A papers worker")
    assert SERVICES["beat"]["command"].startswith("celery -A papers beat")


def test_stateful_services_keep_data_in_named_volumes():
    named = set(COMPOSE["volumes"])
    for name, mount in [
        ("db", "/var/lib/postgresql/data"),
        ("elasticsearch", "/usr/share/elasticsearch/data"),
    ]:
        volume = next(v for v in SERVICES[name]["volumes"] if v.endswith(mount))
        assert volume.split(":")[0] in named


def _compose_value(value: str) -> str:
    """${NAME:-default} as compose resolves it with NAME unset."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(value))


def test_the_web_service_passes_the_deploy_checks(tmp_path):
    import os
    import subprocess
    import sys

    from django.core.management.utils import get_random_secret_key

    env = {k: _compose_value(v) for k, v in SERVICES["web"]["environment"].items()}
    assert env["SECURE_SSL_REDIRECT"] == "true" and int(env["SECURE_HSTS_SECONDS"]) > 0
    env.update(
        SECRET_KEY=get_random_secret_key(),  # a real one, as the deployment must set
        ALLOWED_HOSTS="papers.example.org",
        DATA_DIR=str(tmp_path),  # /data does not exist here
    )
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "VIRTUAL_ENV")}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**keep, **env},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
