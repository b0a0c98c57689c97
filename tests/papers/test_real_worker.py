"""A real Celery worker process on the embedded broker (files, no Redis) does queued work."""

import gzip
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from papers.celery import worker_command

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _manage(env: dict, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_a_worker_on_the_file_broker_runs_a_queued_ingestion_and_indexes_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update(DATA_DIR=str(tmp_path / "data"), SEARCH_BACKEND="tantivy")
    sample = tmp_path / "ten.jsonl"
    with gzip.open(settings.SAMPLE_PATH, "rt") as source:
        sample.write_text("".join(next(source) for _ in range(10)))
    _manage(env, "migrate", "-v0")
    worker = subprocess.Popen(
        worker_command(1, "WARNING"),
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _manage(env, "ingest", "--queue", "snapshot", str(sample))
        probe = (
            "from papers.models import IngestionRun, Paper;"
            "from search.backends.base import get_search_backend as g;"
            "r = IngestionRun.objects.get();"
            "n = g().count() if Paper.objects.exists() else 0;"
            "print(r.status, r.new_count, n)"
        )
        status = ""
        for _ in range(120):
            status = _manage(env, "shell", "-c", probe).split("\n")[-2]
            if status == "succeeded 10 10":
                break
            time.sleep(1)
        assert status == "succeeded 10 10"
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0]
    assert "Traceback" not in output
