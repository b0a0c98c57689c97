import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from papers.ingest.runs import execute_run, start_run
from papers.models import IngestionRun, Paper
from papers.tasks import ingest
from tests.papers.conftest import API_URL, FEEDS, feed

pytestmark = pytest.mark.django_db

SNAPSHOT = str(FEEDS / "snapshot" / "papers-20.jsonl")


def test_the_command_ingests_a_snapshot_and_prints_a_summary():
    out, err = io.StringIO(), io.StringIO()

    call_command("ingest", "snapshot", SNAPSHOT, stdout=out, stderr=err)

    assert "succeeded): 20 new, 0 updated, 0 unchanged, 0 failed" in out.getvalue()
    assert Paper.objects.count() == 20


def test_the_command_fails_with_the_error_and_how_to_resume(respx_mock):
    respx_mock.get(API_URL).respond(400, content=feed("api/id_abc_s0_m100.xml"))

    with pytest.raises(CommandError) as failure:
        call_command("ingest", "api", "--id", "abc", stdout=io.StringIO(), stderr=io.StringIO())

    message = str(failure.value)
    assert "arXiv API error: incorrect id format for abc" in message
    run = IngestionRun.objects.get()
    assert f"manage.py ingest retry {run.pk}" in message


def test_the_command_refuses_bad_parameters():
    with pytest.raises(CommandError, match="no such file"):
        call_command("ingest", "snapshot", "/nonexistent.jsonl")


def test_the_command_can_queue_a_run_for_a_worker(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("ingest", "--queue", "snapshot", SNAPSHOT, stdout=io.StringIO())

    assert IngestionRun.objects.get().status == "succeeded"


def test_the_task_is_idempotent_a_redelivered_message_does_nothing():
    run = start_run("snapshot", {"path": SNAPSHOT})

    assert ingest(run.pk) == "succeeded"
    assert ingest(run.pk) == "succeeded"

    run.refresh_from_db()
    assert (run.attempts, run.new_count, run.unchanged_count) == (1, 20, 0)


def test_a_run_another_worker_is_doing_is_left_alone():
    run = start_run("snapshot", {"path": SNAPSHOT})
    IngestionRun.objects.filter(pk=run.pk).update(status="running", heartbeat_at=timezone.now())

    assert execute_run(run.pk).status == "running"
    assert Paper.objects.count() == 0


def test_a_run_whose_worker_died_is_taken_over_and_resumed(settings):
    run = start_run("snapshot", {"path": SNAPSHOT})
    stale = timezone.now() - dt.timedelta(seconds=settings.INGEST_STALE_AFTER_SECONDS + 1)
    IngestionRun.objects.filter(pk=run.pk).update(
        status="running", heartbeat_at=stale, checkpoint={"line": 15}
    )

    run = execute_run(run.pk)

    assert (run.status, run.new_count) == ("succeeded", 5)
