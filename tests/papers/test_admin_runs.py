import shutil

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from papers.ingest.runs import execute_run, start_run
from papers.models import IngestionRun, Paper
from tests.papers.conftest import FEEDS

pytestmark = pytest.mark.django_db

SNAPSHOT = str(FEEDS / "snapshot" / "papers-20.jsonl")
START = reverse("admin:papers_ingestionrun_start", args=["snapshot"])


def _user(client, **flags) -> User:
    user = User.objects.create_user("someone", password="pw", **flags)
    client.force_login(user)
    return user


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.post(START, {"path": SNAPSHOT})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert not IngestionRun.objects.exists()


def test_users_who_are_not_staff_cannot_start_runs(client):
    _user(client)

    response = client.post(START, {"path": SNAPSHOT})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert not IngestionRun.objects.exists()


def test_staff_without_the_permission_are_refused(client):
    _user(client, is_staff=True)

    response = client.post(START, {"path": SNAPSHOT})

    assert response.status_code == 403
    assert not IngestionRun.objects.exists()


@pytest.fixture
def imports(data_dir):
    """The import directory with the 20-paper snapshot in it."""
    root = data_dir / "import"
    root.mkdir()
    shutil.copy(SNAPSHOT, root / "papers-20.jsonl")
    return root


def test_staff_start_a_run_that_a_worker_carries_out(
    client, imports, django_capture_on_commit_callbacks
):
    user = _user(client, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="add_ingestionrun"))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(START, {"path": "papers-20.jsonl"})

    run = IngestionRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:papers_ingestionrun_change", args=[run.pk])
    assert (run.status, run.new_count, run.created_by) == ("succeeded", 20, user)
    assert Paper.objects.count() == 20
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b"20 of" not in page.content  # no total is known for a snapshot
    assert b'http-equiv="refresh"' not in page.content


def test_the_form_shows_why_parameters_are_refused(admin_client):
    url = reverse("admin:papers_ingestionrun_start", args=["rss"])

    response = admin_client.post(url, {"categories": "cs.CL cs.XX"})

    assert response.status_code == 200
    assert b"unknown category code(s): cs.XX" in response.content
    assert not IngestionRun.objects.exists()


def test_every_source_has_a_start_form(admin_client):
    for source in ("api", "rss", "oai", "snapshot"):
        url = reverse("admin:papers_ingestionrun_start", args=[source])
        assert admin_client.get(url).status_code == 200


def test_a_running_run_page_refreshes_itself_and_shows_progress(admin_client):
    run = start_run("api", {"query": "all:electron"})
    IngestionRun.objects.filter(pk=run.pk).update(
        status="running", new_count=40, unchanged_count=10, expected_total=200
    )

    page = admin_client.get(reverse("admin:papers_ingestionrun_change", args=[run.pk]))

    assert b'http-equiv="refresh"' in page.content
    assert b"50 of 200" in page.content


def test_a_failed_run_shows_its_error_and_failed_records(admin_client, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "2605.00001", "categories": ["cs.CL"]}\n')
    run = execute_run(start_run("snapshot", {"path": str(path)}).pk)

    page = admin_client.get(reverse("admin:papers_ingestionrun_change", args=[run.pk]))

    assert b"2605.00001" in page.content
    assert b"missing field &#x27;title&#x27;" in page.content


def test_the_retry_action_queues_failed_runs_again(
    admin_client, django_capture_on_commit_callbacks
):
    run = start_run("snapshot", {"path": SNAPSHOT})
    IngestionRun.objects.filter(pk=run.pk).update(status="failed", error="worker lost")

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("admin:papers_ingestionrun_changelist"),
            {"action": "retry_failed_runs", "_selected_action": [run.pk]},
        )

    run.refresh_from_db()
    assert (run.status, run.new_count, run.error) == ("succeeded", 20, "")


def test_the_collection_pages_list_and_search_papers(admin_client):
    execute_run(start_run("snapshot", {"path": SNAPSHOT}).pk)
    paper = Paper.objects.order_by("arxiv_id").first()

    found = admin_client.get(reverse("admin:papers_paper_changelist"), {"q": paper.arxiv_id})

    assert found.status_code == 200
    assert paper.arxiv_id.encode() in found.content
    for name in ("paper", "author", "category", "paperversion", "feedsubscription", "ingestionrun"):
        assert admin_client.get(reverse(f"admin:papers_{name}_changelist")).status_code == 200
    assert (
        admin_client.get(reverse("admin:papers_paper_change", args=[paper.pk])).status_code == 200
    )


@pytest.mark.parametrize(
    "path",
    ["/etc/passwd", "/no/such/file.jsonl", "-", "../secret_key", SNAPSHOT, "papers-20.jsonl/.."],
)
def test_the_admin_reads_no_file_outside_the_import_directory(admin_client, imports, path):
    response = admin_client.post(START, {"path": path})
    assert response.status_code == 200
    # The same answer whether the path exists or not: no oracle.
    assert b"Select a valid choice" in response.content
    assert not IngestionRun.objects.exists()


def test_a_symlink_out_of_the_import_directory_is_refused(admin_client, imports):
    (imports / "escape.jsonl").symlink_to(SNAPSHOT)
    response = admin_client.post(START, {"path": "escape.jsonl"})
    assert b"choose a file in the import directory" in response.content
    assert not IngestionRun.objects.exists()


def test_the_form_lists_the_import_directory(admin_client, imports):
    page = admin_client.get(START)
    assert b'value="papers-20.jsonl"' in page.content


def test_an_uploaded_snapshot_is_saved_in_the_import_directory_and_ingested(
    admin_client, imports, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile("mine.jsonl", open(SNAPSHOT, "rb").read())
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(START, {"upload": upload})
    assert response.status_code == 302
    run = IngestionRun.objects.get()
    assert run.status == "succeeded" and run.new_count == 20
    assert run.parameters["path"].startswith(str(imports.resolve() / "uploads"))


def test_uploads_must_look_like_snapshots(admin_client, imports):
    upload = SimpleUploadedFile("passwd", b"root:x:0:0")
    response = admin_client.post(START, {"upload": upload})
    assert b"uploads must end in" in response.content
    assert not IngestionRun.objects.exists()
