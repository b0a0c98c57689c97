"""Admins start model training from the admin and see how far enrichment has got."""

import pytest
from django.contrib.auth.models import User

from papers.enrichment import tasks
from papers.models import TrainingRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("admin", "a@example.org", "pw-pw-pw-pw"))
    return client


def test_an_admin_starts_one_training_run_at_a_time(
    admin_client, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(tasks.train_models, "delay", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        first = admin_client.post("/admin/papers/trainingrun/start/", follow=True)
        second = admin_client.post("/admin/papers/trainingrun/start/", follow=True)

    run = TrainingRun.objects.get()
    assert queued == [run.pk] and run.status == TrainingRun.Status.QUEUED
    assert run.created_by.username == "admin"
    assert "Queued training run" in first.content.decode()
    assert "already under way" in second.content.decode()


def test_the_training_page_shows_the_current_models_and_enrichment_progress(admin_client):
    html = admin_client.get("/admin/papers/trainingrun/").content.decode()
    assert "Current models: <strong>none yet</strong>" in html
    assert "0 of 0 papers enriched" in html
    assert "Train new models now" in html


def test_staff_without_superuser_rights_cannot_start_training(client):
    user = User.objects.create_user("staff", password="pw-pw-pw-pw", is_staff=True)
    client.force_login(user)
    assert client.post("/admin/papers/trainingrun/start/").status_code == 403
    assert not TrainingRun.objects.exists()


def test_training_cannot_be_started_with_a_get(admin_client):
    assert admin_client.get("/admin/papers/trainingrun/start/").status_code == 403


def test_training_runs_show_their_phase_then_the_enrichment_they_started(admin_client, monkeypatch):
    from types import SimpleNamespace

    from papers.enrichment import artifacts
    from papers.ingest.upsert import upsert_records
    from tests.papers.factories import record

    upsert_records([record(), record()])
    running = TrainingRun.objects.create(
        status=TrainingRun.Status.RUNNING, stats={"phase": "embedding", "done": 512, "total": 3741}
    )
    html = admin_client.get("/admin/papers/trainingrun/").content.decode()
    assert "embedding 512/3,741" in html
    TrainingRun.objects.filter(pk=running.pk).update(stats={"phase": "fitting"})
    assert "fitting" in admin_client.get("/admin/papers/trainingrun/").content.decode()

    TrainingRun.objects.filter(pk=running.pk).update(
        status=TrainingRun.Status.SUCCEEDED, version="v7"
    )
    monkeypatch.setattr(artifacts, "current_artifacts", lambda: SimpleNamespace(version="v7"))
    html = admin_client.get("/admin/papers/trainingrun/").content.decode()
    assert "enriching 0/2" in html
