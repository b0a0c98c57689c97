"""Settings come from the environment, with defaults that need no server."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s;"
    "db = s.DATABASES['default'];"
    "print(json.dumps({'db': db['ENGINE'], 'name': str(db['NAME']),"
    "'backend': s.SEARCH_BACKEND, 'broker': s.CELERY_BROKER_URL, 'debug': s.DEBUG,"
    "'hosts': s.ALLOWED_HOSTS, 'key': s.SECRET_KEY, 'data': str(s.DATA_DIR)}))"
)


def _settings(tmp_path: Path, **env: str) -> dict:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "SEARCH_BACKEND",
            "CELERY_BROKER_URL",
            "DEBUG",
            "SECRET_KEY",
            "ALLOWED_HOSTS",
        }
    }
    clean.update({"DJANGO_SETTINGS_MODULE": "papers.settings", "DATA_DIR": str(tmp_path), **env})
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def test_defaults_are_the_embedded_mode_with_everything_in_the_data_directory(tmp_path):
    s = _settings(tmp_path)
    assert s["db"] == "papers.sqlite" and s["name"] == str(tmp_path / "db.sqlite3")
    assert s["backend"] == "tantivy"
    assert s["broker"] == "filesystem://"
    assert s["debug"] is False
    assert s["hosts"] == ["127.0.0.1", "localhost", "[::1]"]


def test_a_secret_key_is_generated_once_and_kept_private(tmp_path):
    tmp_path.mkdir(exist_ok=True)  # made by bootstrap or the first database connection
    first, second = _settings(tmp_path)["key"], _settings(tmp_path)["key"]
    assert len(first) >= 50 and first == second
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_the_environment_switches_to_the_scale_mode(tmp_path):
    s = _settings(
        tmp_path,
        DATABASE_URL="postgres://papers:papers@db:5432/papers",
        SEARCH_BACKEND="elasticsearch",
        CELERY_BROKER_URL="redis://redis:6379/0",
        SECRET_KEY="from-the-environment",
        DEBUG="true",
        ALLOWED_HOSTS="papers.example.org",
    )
    assert s["db"] == "django.db.backends.postgresql" and s["name"] == "papers"
    assert s["backend"] == "elasticsearch" and s["broker"] == "redis://redis:6379/0"
    assert s["key"] == "from-the-environment" and s["debug"] is True
    assert s["hosts"] == ["papers.example.org"]


def test_importing_the_settings_writes_nothing(tmp_path):
    """Not the data directory, not a secret key, not kombu's control folder in the cwd."""
    data, cwd = tmp_path / "never-made", tmp_path / "cwd"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "CELERY_BROKER_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="papers.settings", DATA_DIR=str(data), PYTHONPATH=str(ROOT))
    probe = "import django; django.setup(); from papers.celery import app; app.conf.broker_url"
    subprocess.run([sys.executable, "-c", probe], cwd=cwd, env=env, check=True)
    assert not data.exists()
    assert list(cwd.iterdir()) == []


def test_the_first_database_connection_makes_the_data_directory(tmp_path):
    data = tmp_path / "fresh" / "data"
    s = _settings(data)
    assert s["data"] == str(data)
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY"}}
    env.update(DJANGO_SETTINGS_MODULE="papers.settings", DATA_DIR=str(data))
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    assert (data / "db.sqlite3").is_file()
