"""Workers killed with SIGKILL mid-ingestion and mid-enrichment lose nothing and repeat nothing.

A real Celery worker (prefork, one process) on the embedded file broker and on the local Redis
ingests 200 papers, indexes and enriches them; it is SIGKILLed in the middle of the ingestion
and again in the middle of the enrichment, either whole (then restarted) or only its pool
process. Without beat, every paper must end ingested once (the run's counts add up to the file
exactly), indexed as the database has it, and enriched with the current models.
"""

import shutil

import pytest

from search.backends.tantivy import TantivyBackend
from search.documents import change_marker
from tests.faults.conftest import Deployment, redis_broker, wait_for

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.django_db]

N = 200


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
    worker = deployment.start_worker()
    try:
        deployment.manage("ingest", "--queue", "snapshot", str(sample_file))

        # 1. Mid-ingestion.
        wait_for("the ingestion to be under way", lambda: _new(deployment) >= 4, every=0.01)
        worker = _kill(deployment, worker, kill)
        killed_at = _run(deployment)
        assert killed_at[0] == "running" and killed_at[1] < N, killed_at  # really mid-run

        # 2. Mid-enrichment (it starts as soon as batches are committed).
        wait_for(
            "enrichment to be under way", lambda: _enriched(deployment, version) >= 16, every=0.05
        )
        worker = _kill(deployment, worker, kill)
        assert _enriched(deployment, version) < N

        # 3. Everything ends done, once.
        wait_for("the run to succeed", lambda: (_run(deployment) or ("",))[0] == "succeeded")
        wait_for("every paper to be enriched", lambda: _enriched(deployment, version) == N)
        wait_for(
            "the index to hold every paper as the database has it",
            lambda: _index_drift(deployment) == {"missing": 0, "orphaned": 0, "stale": 0},
            every=1,
        )
    finally:
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
