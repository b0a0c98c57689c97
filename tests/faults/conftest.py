"""Real processes for the fault suite: Celery workers we SIGKILL, and what they leave on disk.

Each scenario runs against its own data directory (SQLite database, tantivy index, models,
broker files) shared with the subprocesses, which get short heartbeat, stale and recovery
intervals so a dead worker is noticed within seconds. Workers run with the current directory
set to an empty folder, which must stay empty (nothing written into the checkout).
"""

import gzip
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from papers.celery import worker_command

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("FAULTS_REDIS_URL", "redis://127.0.0.1:6379/5")

FAST_RECOVERY = {
    "RUN_HEARTBEAT_SECONDS": "1",
    "INGEST_STALE_AFTER_SECONDS": "4",
    "ML_TRAINING_STALE_AFTER_SECONDS": "4",
    "RECOVERY_INTERVAL_SECONDS": "2",
    "RUN_QUEUED_LOST_AFTER_SECONDS": "20",
    "INGEST_BATCH_SIZE": "20",
    "ML_ENRICH_BATCH_SIZE": "16",
    "ML_AUTO_TRAIN": "false",
    "HF_HUB_OFFLINE": "1",
    "ARXIV_MIN_INTERVAL": "0",
}


def wait_for(what: str, check, timeout: float = 600, every: float = 0.1, explain=None):
    """Poll `check()` until it returns something true; fail with `what` after `timeout`, and
    with what `explain()` says about the state things are stuck in."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    pytest.fail(
        f"timed out after {timeout:.0f} s waiting for {what}"
        + (f"\n{explain()}" if explain else "")
    )


class Deployment:
    """A data directory, the environment of its processes, and the workers running on it."""

    def __init__(self, data: Path, cwd: Path, broker: str | None, database_url: str | None = None):
        self.data = data
        self.cwd = cwd
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "SEARCH_BACKEND"}
        }
        self.env.update(FAST_RECOVERY, DATA_DIR=str(data), PYTHONPATH=str(ROOT))
        if broker:
            self.env["CELERY_BROKER_URL"] = broker
        if database_url:
            self.env["DATABASE_URL"] = database_url
        self.workers: list[subprocess.Popen] = []
        self.logs: list[Path] = []

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        out = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
        )
        if check:
            assert out.returncode == 0, out.stderr[-3000:]
        return out

    def start_worker(self) -> subprocess.Popen:
        log = self.data.parent / f"worker-{len(self.logs)}.log"
        self.logs.append(log)
        quiet = ("--without-heartbeat", "--without-gossip", "--without-mingle")
        worker = subprocess.Popen(
            worker_command(1, "INFO", *quiet),
            cwd=self.cwd,
            env=self.env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        self.workers.append(worker)
        return worker

    @staticmethod
    def children(worker: subprocess.Popen) -> list[int]:
        """The worker's child processes, whichever of its threads forked them (the pool forks
        replacements for killed children from a thread of its own)."""
        pids = []
        for children in Path(f"/proc/{worker.pid}/task").glob("*/children"):
            try:
                pids += [int(pid) for pid in children.read_text().split()]
            except FileNotFoundError:  # the thread ended meanwhile
                continue
        return sorted(pids)

    def kill_worker(self, worker: subprocess.Popen) -> None:
        """SIGKILL the whole worker: its main process and the pool's children."""
        for pid in self.children(worker):
            os.kill(pid, signal.SIGKILL)
        worker.kill()
        worker.wait(timeout=30)

    def kill_child(self, worker: subprocess.Popen) -> int:
        """SIGKILL only the pool process (as the OOM killer would).

        Killed between tasks, at the instant the pool hands it the next job, a child can take
        that job's acknowledgement with it and the worker never consumes again (billiard's
        hang, celery/celery#2011): a prefork pool's limit, not what this suite proves, so the
        scenarios kill it while it is certainly inside a task.
        """
        pids = self.wait_for("the worker's pool process", lambda: self.children(worker), 60)
        os.kill(pids[0], signal.SIGKILL)
        return pids[0]

    def running(self, task: str) -> str | None:
        """The id of the worker's last received task if that is a `task` not yet finished."""
        log = self.log_text()
        received = re.findall(r"Task ([\w.]+)\[([0-9a-f-]+)\] received", log)
        if not received or received[-1][0] != task:
            return None
        last = received[-1][1]
        return None if re.search(rf"\[{last}\] (succeeded|raised|retry)", log) else last

    def inside(self, task: str, settled: float = 0.3) -> bool:
        """Whether the worker's pool process has been running one `task` for `settled` s."""
        first = self.running(task)
        if not first:
            return False
        time.sleep(settled)  # taken by the pool process and well under way ...
        return self.running(task) == first

    def stop(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                self.kill_worker(worker)

    def wait_for(self, what: str, check, timeout: float = 600, every: float = 0.1):
        return wait_for(what, check, timeout, every, explain=self.describe)

    def describe(self) -> str:
        """The runs as the database has them and the end of each worker's log."""
        runs = self.query("SELECT id, status, new_count, heartbeat_at FROM papers_ingestionrun")
        tails = [
            f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-25:])
            for log in self.logs
            if log.exists()
        ]
        return "\n".join([f"ingestion runs (id, status, new, heartbeat): {runs}", *tails])

    def log_text(self) -> str:
        return "\n".join(log.read_text(errors="replace") for log in self.logs if log.exists())

    # --- Reading the SQLite database directly: polling through manage.py takes seconds.
    def query(self, sql: str, *params):
        with sqlite3.connect(self.data / "db.sqlite3", timeout=30) as db:
            return db.execute(sql, params).fetchall()


@pytest.fixture(scope="session")
def sample_file(tmp_path_factory) -> Path:
    """The first 200 papers of the shipped sample, as a snapshot file."""
    path = tmp_path_factory.mktemp("faults") / "papers-200.jsonl"
    with gzip.open(settings.SAMPLE_PATH, "rt") as source:
        path.write_text("".join(next(source) for _ in range(200)))
    return path


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory) -> Path:
    """An empty, migrated SQLite database, copied into each scenario's data directory."""
    data = tmp_path_factory.mktemp("migrated") / "data"
    deployment = Deployment(data, data.parent, None)
    deployment.manage("migrate", "-v0")
    return data / "db.sqlite3"


def redis_broker() -> str:
    redis = pytest.importorskip("redis")
    try:
        client = redis.Redis.from_url(REDIS_URL)
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    client.flushdb()
    return REDIS_URL
