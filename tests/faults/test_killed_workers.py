"""Workers killed with SIGKILL mid-ingestion and mid-enrichment lose nothing and repeat nothing.

A real Celery worker (prefork, one process) on the embedded file broker and on the local Redis
ingests 200 papers, indexes and enriches them; it is SIGKILLed in the middle of the ingestion
and again in the middle of the enrichment, either whole (then restarted) or only its pool
process. Without beat, every paper must end ingested once (the run's counts add up to the file
exactly), indexed as the database has it, and enriched with the current models.

The snapshot reaches the worker through a named pipe that the test writes: the first half of
the file, then nothing until the kill. The worker is then certainly mid-run (it has committed
the first half and waits for the next line), however fast or slow the machine. Before the
kill the pipe's path is replaced by the whole file, which the resumed run reads from its
checkpoint, as it would after any crash. Enrichment is caught the same way: while the worker is
inside a batch, the test takes the database's write lock, so that batch cannot commit and the
worker is certainly mid-enrichment (all 200 papers can be enriched within seconds).

A worker can also die after taking a run's message and before claiming the run: the run is
still queued and no broker gives the message back soon (the file broker drops it, Redis returns
it after an hour). That moment is made certain by stopping the pool process (SIGSTOP) before the
run is queued; recovery sends the run again once it has waited RUN_QUEUED_LOST_AFTER_SECONDS.
"""

import os
import re
import shutil
import signal
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from search.backends.tantivy import TantivyBackend
from search.documents import change_marker
from tests.faults.conftest import Deployment, redis_broker

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.django_db]

N = 200
HALF = N // 2
ENRICH = "papers.enrichment.tasks.enrich_papers"


class HalfFeed:
    """A named pipe at `path` that delivers the first HALF lines of `source`, then waits."""

    def __init__(self, path: Path, source: Path):
        self.path, self.source = path, source
        self.released = threading.Event()
        os.mkfifo(path)
        self.writer = threading.Thread(target=self._write, daemon=True)
        self.writer.start()

    def _write(self) -> None:
        head = self.source.read_bytes().splitlines(keepends=True)[:HALF]
        with self.path.open("wb") as pipe:  # blocks until the worker opens it
            pipe.writelines(head)
            pipe.flush()
            self.released.wait(timeout=900)

    def become_the_whole_file(self) -> None:
        """Put the whole file at the pipe's path (the reader keeps the pipe it has open)."""
        whole = self.path.with_name("whole.tmp")
        shutil.copy(self.source, whole)
        os.replace(whole, self.path)

    def close(self) -> None:
        self.released.set()
        if self.writer.is_alive() and self.path.is_fifo():  # no reader came: free the writer
            os.close(os.open(self.path, os.O_RDONLY | os.O_NONBLOCK))
        self.writer.join(timeout=30)


def _run(deployment: Deployment) -> tuple:
    rows = deployment.query(
        "SELECT status, new_count, updated_count, unchanged_count, "
        "failed_count, error FROM papers_ingestionrun"
    )
    return rows[0] if rows else None


def _new(deployment: Deployment) -> int:
    run = _run(deployment)
    return run[1] if run else 0


def _kill(deployment: Deployment, worker, kill: str):
    """SIGKILL the worker (then start another) or only its pool process; the worker to use."""
    if kill == "whole worker":
        deployment.kill_worker(worker)
        return deployment.start_worker()
    deployment.kill_child(worker)
    return worker


def _enriched(deployment: Deployment, version: str) -> int:
    return deployment.query(
        "SELECT count(*) FROM papers_paper WHERE enriched_version = ?", version
    )[0][0]


@contextmanager
def _inside_an_enrichment_batch(deployment: Deployment, version: str):
    """Hold the database's write lock while the worker is inside an enrichment batch.

    The batch cannot commit until the lock is let go, so the worker is certainly mid-enrichment
    however fast the machine. The lock is held for about a second, far below SQLite's 30 s busy
    timeout, which the worker waits out.
    """

    def held():
        if not deployment.running(ENRICH):  # cheap: no lock is taken between batches
            return None
        db = sqlite3.connect(deployment.data / "db.sqlite3", timeout=30, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")  # no batch commits from here on; readers still read
        if _enriched(deployment, version) < N and deployment.inside(ENRICH):
            return db
        db.execute("ROLLBACK")  # the batch had committed just before: wait for the next one
        db.close()
        return None

    db = deployment.wait_for("the worker to be inside an enrichment batch", held, every=0.02)
    try:
        yield
    finally:
        db.execute("ROLLBACK")
        db.close()


def _index_drift(deployment: Deployment) -> dict:
    from django.utils.dateparse import parse_datetime

    index = TantivyBackend("faults", {"PATH": str(deployment.data / "index")})
    database = {
        arxiv_id: change_marker(parse_datetime(updated.replace(" ", "T") + "+00:00"))
        for arxiv_id, updated in deployment.query("SELECT arxiv_id, updated_at FROM papers_paper")
    }
    indexed = dict(index.markers()) if index.directory.current_name() else {}
    return {
        "missing": len(set(database) - set(indexed)),
        "orphaned": len(set(indexed) - set(database)),
        "stale": sum(1 for i, m in indexed.items() if i in database and database[i] != m),
    }


@pytest.mark.parametrize("broker", ["filesystem", "redis"])
@pytest.mark.parametrize("kill", ["whole worker", "pool process"])
def test_killed_workers_lose_no_paper_and_repeat_none(
    broker, kill, data_dir, tmp_path, sample_file, migrated_db, models
):
    url = redis_broker() if broker == "redis" else None
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    shutil.copy(migrated_db, data_dir / "db.sqlite3")
    from papers.enrichment.artifacts import current_artifacts

    version = current_artifacts().version
    deployment = Deployment(data_dir, cwd, url)
    feed = HalfFeed(tmp_path / "feed.jsonl", sample_file)
    worker = deployment.start_worker()
    try:
        deployment.manage("ingest", "--queue", "snapshot", str(feed.path))

        # 1. Mid-ingestion: the first half is committed and the worker waits for more.
        deployment.wait_for("the first half to be ingested", lambda: _new(deployment) == HALF)
        feed.become_the_whole_file()
        worker = _kill(deployment, worker, kill)
        feed.close()
        assert _run(deployment)[:2] == ("running", HALF)

        # 2. Mid-enrichment (it starts as soon as batches are committed), inside a batch.
        with _inside_an_enrichment_batch(deployment, version):
            worker = _kill(deployment, worker, kill)
        assert _enriched(deployment, version) < N

        # 3. Everything ends done, once.
        deployment.wait_for(
            "the run to succeed", lambda: (_run(deployment) or ("",))[0] == "succeeded"
        )
        deployment.wait_for(
            "every paper to be enriched", lambda: _enriched(deployment, version) == N
        )
        deployment.wait_for(
            "the index to hold every paper as the database has it",
            lambda: _index_drift(deployment) == {"missing": 0, "orphaned": 0, "stale": 0},
            every=1,
        )
    finally:
        feed.close()
        deployment.stop()
    assert _run(deployment) == ("succeeded", N, 0, 0, 0, "")
    assert deployment.query("SELECT count(*), count(DISTINCT arxiv_id) FROM papers_paper") == [
        (N, N)
    ]
    unembedded = deployment.query("SELECT count(*) FROM papers_paper WHERE embedded_with = ''")
    assert unembedded == [(0,)]
    assert deployment.query("SELECT count(*) FROM papers_paper WHERE keywords = '[]'") == [(0,)]
    assert list(cwd.iterdir()) == []  # nothing written into the worker's current directory
    assert (data_dir / "broker" / "control").is_dir() or broker == "redis"
    assert "database is locked" not in deployment.log_text()


@pytest.mark.parametrize("broker", ["filesystem", "redis"])
def test_a_run_whose_message_died_with_its_worker_before_it_was_claimed_is_sent_again(
    broker, data_dir, tmp_path, sample_file, migrated_db, models
):
    url = redis_broker() if broker == "redis" else None
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    shutil.copy(migrated_db, data_dir / "db.sqlite3")
    deployment = Deployment(data_dir, cwd, url)
    worker = deployment.start_worker()
    try:
        deployment.wait_for("the worker to be ready", lambda: " ready." in deployment.log_text())
        (child,) = deployment.wait_for("the pool process", lambda: deployment.children(worker))
        os.kill(child, signal.SIGSTOP)  # the message is taken, but the run is never claimed
        deployment.manage("ingest", "--queue", "snapshot", str(sample_file))
        deployment.wait_for(
            "the worker to take the run's message",
            lambda: re.search(
                r"Task papers\.tasks\.ingest\[[\w-]+\] received", deployment.log_text()
            ),
        )
        assert _run(deployment)[:2] == ("queued", 0)
        deployment.kill_worker(worker)
        deployment.start_worker()
        deployment.wait_for("the run to succeed", lambda: _run(deployment)[0] == "succeeded")
    finally:
        deployment.stop()
    assert _run(deployment) == ("succeeded", N, 0, 0, 0, "")
    assert deployment.query("SELECT count(DISTINCT arxiv_id) FROM papers_paper") == [(N,)]
    assert "'ingestion': 1" in deployment.log_text()  # recovery sent it again
