"""Runs finish exactly once: leases, heartbeats, recovery of dead workers' runs, honest status."""

import datetime as dt
import io
import time

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from papers import background
from papers.ingest import runs
from papers.ingest.records import Batch, Failure
from papers.ingest.runs import RunHeldElsewhere, execute_run, retry_run, start_run
from papers.models import IngestionRun, LeaseLost, Paper
from tests.papers.conftest import FEEDS

pytestmark = pytest.mark.django_db

SNAPSHOT = str(FEEDS / "snapshot" / "papers-20.jsonl")


def _age(run: IngestionRun, seconds: float, **fields) -> None:
    """Make the run's last heartbeat `seconds` old, as if its worker had died then."""
    then = timezone.now() - dt.timedelta(seconds=seconds)
    IngestionRun.objects.filter(pk=run.pk).update(heartbeat_at=then, **fields)


def _killed_midway(settings) -> IngestionRun:
    """A run whose worker died after the first of several batches (checkpoint at line 5)."""
    settings.INGEST_BATCH_SIZE = 5
    run = start_run("snapshot", {"path": SNAPSHOT})
    claimed = IngestionRun.claim(run.pk, settings.INGEST_STALE_AFTER_SECONDS)
    first = next(runs._batches(claimed, None))
    runs._commit(claimed, first)
    return IngestionRun.objects.get(pk=run.pk)


def test_only_the_lease_holder_can_write_to_a_run(settings):
    run = start_run("snapshot", {"path": SNAPSHOT})
    old = IngestionRun.claim(run.pk, 60)
    _age(old, 120)
    new = IngestionRun.claim(run.pk, 60)
    assert new is not None and new.lease != old.lease
    with pytest.raises(LeaseLost):
        old.save_held(new_count=99)
    new.save_held(new_count=1)
    assert IngestionRun.objects.get(pk=run.pk).new_count == 1


def test_a_presumed_dead_worker_does_not_commit_its_batch(settings):
    run = _killed_midway(settings)
    presumed_dead = IngestionRun.objects.get(pk=run.pk)
    _age(run, settings.INGEST_STALE_AFTER_SECONDS + 1)
    finished = execute_run(run.pk)  # another worker takes over and finishes
    assert (finished.status, finished.new_count) == ("succeeded", 20)
    batch = next(runs._batches(presumed_dead, None))
    with pytest.raises(LeaseLost):
        runs._commit(presumed_dead, batch)
    assert IngestionRun.objects.get(pk=run.pk).new_count == 20


def test_a_dead_workers_run_is_resumed_from_its_checkpoint_by_recovery(
    settings, django_capture_on_commit_callbacks
):
    run = _killed_midway(settings)
    assert (run.status, run.new_count, run.checkpoint) == ("running", 5, {"line": 5})
    assert background.recover()["ingestion"] == 0  # its heartbeat is fresh
    _age(run, settings.INGEST_STALE_AFTER_SECONDS + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert background.recover()["ingestion"] == 1  # queued; eager Celery runs it
    run.refresh_from_db()
    assert (run.status, run.new_count, run.unchanged_count, run.attempts) == ("succeeded", 20, 0, 1)
    assert Paper.objects.count() == 20
    assert background.recover()["ingestion"] == 0


def test_a_queued_run_whose_message_was_lost_is_queued_again(
    settings, django_capture_on_commit_callbacks
):
    run = start_run("snapshot", {"path": SNAPSHOT})
    assert background.recover()["ingestion"] == 0
    old = timezone.now() - dt.timedelta(seconds=settings.RUN_QUEUED_LOST_AFTER_SECONDS + 1)
    IngestionRun.objects.filter(pk=run.pk).update(created_at=old)
    with django_capture_on_commit_callbacks(execute=True):
        assert background.recover()["ingestion"] == 1
    assert IngestionRun.objects.get(pk=run.pk).status == "succeeded"


def test_a_redelivered_task_for_a_run_that_looks_held_retries_instead_of_succeeding(settings):
    run = _killed_midway(settings)  # heartbeat fresh: the killed worker's last beat
    with pytest.raises(RunHeldElsewhere):
        execute_run(run.pk, raise_held=True)
    from celery.exceptions import Retry

    from papers.tasks import ingest

    with pytest.raises(Retry):
        ingest.apply(args=[run.pk], throw=True)
    _age(run, settings.INGEST_STALE_AFTER_SECONDS + 1)
    assert ingest.apply(args=[run.pk]).get() == "succeeded"
    assert Paper.objects.count() == 20


def test_the_cli_and_retry_resume_a_stuck_run_but_not_a_live_one(settings):
    run = _killed_midway(settings)
    with pytest.raises(CommandError, match="held by a live worker"):
        call_command("ingest", "retry", str(run.pk), stdout=io.StringIO(), stderr=io.StringIO())
    assert not retry_run(run)
    _age(run, settings.INGEST_STALE_AFTER_SECONDS + 1)
    out = io.StringIO()
    call_command("ingest", "retry", str(run.pk), stdout=out, stderr=io.StringIO())
    assert "20 new" in out.getvalue()
    run.refresh_from_db()
    assert (run.status, run.new_count) == ("succeeded", 20)


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_keeps_beating_during_a_long_fetch(settings):
    run = start_run("snapshot", {"path": SNAPSHOT})
    run = IngestionRun.claim(run.pk, 60)
    _age(run, 600)
    with background.heartbeat(run, interval=0.05) as lost:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            beat = IngestionRun.objects.get(pk=run.pk).heartbeat_at
            if timezone.now() - beat < dt.timedelta(seconds=5):
                break
            time.sleep(0.05)
    assert timezone.now() - beat < dt.timedelta(seconds=5)
    assert not lost.is_set()


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_tells_a_replaced_worker_to_stop(settings):
    run = IngestionRun.claim(start_run("snapshot", {"path": SNAPSHOT}).pk, 60)
    IngestionRun.objects.filter(pk=run.pk).update(lease="someone-else")
    with background.heartbeat(run, interval=0.05) as lost:
        assert lost.wait(10)


def _failing_batches(n_failed: int, n_good: int):
    from tests.search.conftest import record

    def batches(run, http):
        failures = [
            Failure("unknown category code(s) cs.XX", f"x{i}", f"line {i}") for i in range(n_failed)
        ]
        failures[:3] = [Failure("not JSON", None, f"line {i}") for i in range(3)]
        good = [record(f"2501.{i:05d}", f"Paper {i}") for i in range(n_good)]
        return iter([Batch(records=good, failures=failures, checkpoint={"line": 1})])

    return batches


def test_a_run_in_which_every_record_failed_is_failed(monkeypatch):
    monkeypatch.setattr(runs, "_batches", _failing_batches(266, 0))
    run = execute_run(start_run("snapshot", {"path": SNAPSHOT}).pk)
    assert run.status == "failed"
    assert run.error.startswith("every record failed (266)")
    assert run.failure_reasons == {"unknown category code(s) cs.XX": 263, "not JSON": 3}
    assert len(run.failures) == 20  # the first ones, not one row per failure


def test_a_mostly_failed_run_says_so(monkeypatch):
    monkeypatch.setattr(runs, "_batches", _failing_batches(30, 10))
    run = execute_run(start_run("snapshot", {"path": SNAPSHOT}).pk)
    assert run.status == "succeeded"
    assert run.mostly_failed
    assert run.error.startswith("mostly failed: 30 of 40 records")


def test_a_run_with_few_failures_succeeds_quietly(monkeypatch):
    monkeypatch.setattr(runs, "_batches", _failing_batches(3, 10))
    run = execute_run(start_run("snapshot", {"path": SNAPSHOT}).pk)
    assert (run.status, run.error, run.mostly_failed) == ("succeeded", "", False)


@pytest.mark.slow
def test_stalled_enrichment_is_queued_again_but_progressing_enrichment_is_not(models, settings):
    from papers.enrichment.artifacts import current_artifacts
    from tests.conftest import load_sample

    load_sample(40)  # committed without running the on-commit enrichment: its tasks were lost
    version = current_artifacts().version
    assert Paper.objects.exclude(enriched_version=version).count() == 40
    settings.INGEST_STALE_AFTER_SECONDS = 3600
    assert background._recover_enrichment() == 0  # first look
    assert background._recover_enrichment() == 0  # no progress, but not for long yet
    settings.INGEST_STALE_AFTER_SECONDS = 0
    settings.RECOVERY_INTERVAL_SECONDS = 0
    assert background._recover_enrichment() == 40  # stalled: queued again (eager here)
    assert Paper.objects.exclude(enriched_version=version).count() == 0
