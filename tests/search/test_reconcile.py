"""The index follows every change, and reconciliation repairs what drifted anyway."""

import json
import time

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from papers.ingest.upsert import upsert_records
from papers.models import Paper
from search.backends import tantivy
from search.backends.base import IndexOutdated
from search.documents import change_marker, iter_paper_documents, paper_document
from search.reconcile import reconcile
from tests.search.conftest import PAPERS, ids, record

pytestmark = pytest.mark.django_db


def drift(backend) -> dict:
    report = reconcile(backend, repair=False)
    return {k: v for k, v in report.as_dict().items() if k in ("missing", "stale", "orphaned")}


CLEAN = {"missing": 0, "stale": 0, "orphaned": 0}


def test_an_admin_edit_reaches_the_index(
    backend, papers, client, django_capture_on_commit_callbacks
):
    backend.index(papers)
    admin = User.objects.create_superuser("admin", "a@example.org", "pw")
    client.force_login(admin)
    paper = Paper.objects.get(arxiv_id="2505.00008")
    url = f"/admin/papers/paper/{paper.pk}/change/"
    page = client.get(url).context
    form = page["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    for inline in page["inline_admin_formsets"]:  # inline rows left as they are
        prefix = inline.formset.prefix
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    data.update(
        title="Bosonic codes for quantum memories",
        author_names=json.dumps(paper.author_names),
        category_codes=json.dumps(paper.category_codes),
        other_classes="[]",
        keywords="[]",
        tags="[]",
        categories=[c.pk for c in paper.categories.all()],
        primary_category=paper.primary_category_id,
    )
    for name in ("submitted", "updated"):
        data.pop(name, None)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert ids(backend.search("bosonic")) == ["2505.00008"]
    assert backend.count("correction") == 0
    assert drift(backend) == CLEAN


def test_an_admin_delete_removes_the_document(
    backend, papers, client, django_capture_on_commit_callbacks
):
    backend.index(papers)
    client.force_login(User.objects.create_superuser("admin", "a@example.org", "pw"))
    paper = Paper.objects.get(arxiv_id="2505.00008")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/papers/paper/{paper.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Paper.objects.filter(arxiv_id="2505.00008").exists()
    assert backend.count("qubits") == 0
    assert backend.count("") == 7


def test_a_queryset_delete_queues_one_deletion_for_all_rows(
    backend, papers, django_capture_on_commit_callbacks
):
    backend.index(papers)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        Paper.objects.filter(primary_category_id="cs.LG").delete()
    assert backend.count("") == 8 - 1  # only 2502.00002 is primarily cs.LG
    assert len(callbacks) >= 1
    assert drift(backend) == CLEAN


def test_a_rolled_back_save_does_not_reach_the_index(
    backend, papers, django_capture_on_commit_callbacks
):
    from django.db import transaction

    backend.index(papers)
    paper = Paper.objects.get(arxiv_id="2505.00008")
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                paper.title = "Never committed"
                paper.save()
                raise RuntimeError("abort")
        except RuntimeError:
            pass
    assert backend.count("committed") == 0


def test_upserts_move_the_change_marker_that_the_index_stores(backend, papers):
    backend.index(papers)
    before = Paper.objects.get(arxiv_id="2505.00008").updated_at
    time.sleep(0.001)
    upsert_records([record("2505.00008", "Quantum error correction with colour codes")])
    after = Paper.objects.get(arxiv_id="2505.00008").updated_at
    assert after > before
    assert drift(backend) == {**CLEAN, "stale": 1}


def test_rebuild_catches_changes_made_while_it_ran(backend, papers):
    """A paper upserted during the rebuild's read is indexed again after the swap."""
    documents = iter_paper_documents()

    def changing_midway():
        for n, doc in enumerate(documents):
            if n == 2:
                upsert_records([record("2505.00008", "Quantum memories from colour codes")])
            yield doc

    original = backend._rebuild
    backend._rebuild = lambda docs: original(changing_midway())
    try:
        backend.rebuild()
    finally:
        del backend._rebuild
    assert ids(backend.search("colour")) == ["2505.00008"]
    assert drift(backend) == CLEAN


def test_reconcile_repairs_an_index_broken_on_purpose(backend, papers):
    backend.index(papers)
    assert drift(backend) == CLEAN
    # Missing: a document deleted behind the database's back.
    backend.delete(["2501.00001"])
    # Stale: the database changed without telling the index (a raw UPDATE).
    Paper.objects.filter(arxiv_id="2502.00002").update(title="Hypergraph transformers")
    Paper.objects.filter(arxiv_id="2502.00002").update(
        updated_at=Paper.objects.get(arxiv_id="2502.00002").updated_at.replace(year=2030)
    )
    # Orphaned: a document whose paper is gone.
    ghost = paper_document(Paper.objects.get(arxiv_id="2505.00008"))
    ghost["arxiv_id"] = "9999.99999"
    backend.index([ghost])

    report = reconcile(backend)
    assert (report.missing, report.stale, report.orphaned) == (1, 1, 1)
    assert report.examples == {
        "missing": ["2501.00001"],
        "stale": ["2502.00002"],
        "orphaned": ["9999.99999"],
    }
    assert report.repaired
    assert drift(backend) == CLEAN
    assert ids(backend.search("hypergraph")) == ["2502.00002"]
    assert "9999.99999" not in ids(backend.search("surface"))
    assert backend.count("") == len(PAPERS)


def test_reconcile_command_reports_counts_and_check_fails_on_drift(backend, papers, capsys):
    backend.index(papers[:5])
    with pytest.raises(CommandError, match="drifted"):
        call_command("reconcile_index", check=True)
    assert json.loads(capsys.readouterr().out)["missing"] == 3
    call_command("reconcile_index")
    assert json.loads(capsys.readouterr().out)["missing"] == 3
    call_command("reconcile_index", check=True)
    assert json.loads(capsys.readouterr().out)["drift"] == 0


def test_markers_list_every_document_with_its_paper_marker(backend, papers):
    backend.index(papers)
    expected = {p.arxiv_id: change_marker(p.updated_at) for p in papers}
    assert expected and all(expected.values())
    assert dict(backend.markers()) == expected


def test_the_periodic_task_repairs_drift(backend, papers):
    from search.tasks import reconcile_index

    backend.index(papers[:3])
    assert reconcile_index()["missing"] == len(PAPERS) - 3
    assert drift(backend) == CLEAN


# --- Rebuild across schema versions (tantivy) -------------------------------------------------


def test_rebuild_succeeds_after_a_schema_bump_and_removes_old_generations(
    tantivy_backend, papers, monkeypatch
):
    monkeypatch.setattr(tantivy, "SCHEMA_VERSION", tantivy.SCHEMA_VERSION - 1)
    tantivy_backend.rebuild()
    old = tantivy_backend.directory.current_name()
    monkeypatch.setattr(tantivy, "SCHEMA_VERSION", tantivy.SCHEMA_VERSION + 1)
    with pytest.raises(IndexOutdated):
        tantivy_backend.count("")
    tantivy_backend.rebuild()
    assert tantivy_backend.count("") == len(PAPERS)
    tantivy_backend.rebuild()
    root = tantivy_backend.directory.root
    generations = {p.name for p in root.iterdir() if p.is_dir()}
    assert old not in generations
    assert len(generations) == 2  # the live one and the one before it


def _build_and_die(directory, ready):
    with directory.building():
        ready.set()
        time.sleep(60)


def test_a_killed_rebuilds_leftover_is_removed_but_a_running_one_is_kept(tantivy_backend, papers):
    import multiprocessing
    import os
    import signal

    tantivy_backend.rebuild()
    directory = tantivy_backend.directory
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    child = context.Process(target=_build_and_die, args=(directory, ready))
    child.start()
    assert ready.wait(30)
    running = {p.name for p in directory.root.iterdir() if p.is_dir()} - {directory.current_name()}
    assert len(running) == 1
    tantivy_backend.rebuild()
    assert running <= {p.name for p in directory.root.iterdir()}  # still being written
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    tantivy_backend.rebuild()
    assert not running & {p.name for p in directory.root.iterdir()}
    assert len([p for p in directory.root.iterdir() if p.is_dir()]) == 2


def test_reconcile_rebuilds_an_index_of_another_schema(tantivy_backend, papers, monkeypatch):
    monkeypatch.setattr(tantivy, "SCHEMA_VERSION", tantivy.SCHEMA_VERSION + 1)
    tantivy_backend.rebuild()
    monkeypatch.undo()
    report = reconcile(tantivy_backend)
    assert report.rebuilt
    assert drift(tantivy_backend) == CLEAN


def test_bootstrap_rebuilds_after_a_schema_bump(tantivy_backend, papers, monkeypatch, capsys):
    monkeypatch.setattr(tantivy, "SCHEMA_VERSION", tantivy.SCHEMA_VERSION + 1)
    tantivy_backend.rebuild()
    monkeypatch.undo()
    call_command("bootstrap", verbosity=0)
    assert tantivy_backend.count("") == len(PAPERS)


def test_the_workers_window_check_indexes_papers_whose_task_was_lost(backend, papers, settings):
    import datetime as dt

    from django.core.cache import cache
    from django.utils import timezone

    from papers import background

    settings.RECOVERY_INTERVAL_SECONDS = 0
    backend.index(papers)
    assert background._recover_index() == 0  # the first check compares everything
    assert cache.get(background._INDEX_KEY) is not None
    # A change whose indexing task was lost with a killed worker.
    Paper.objects.filter(arxiv_id="2502.00002").update(
        title="Hypergraph transformers", updated_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert background._recover_index() == 1
    assert ids(backend.search("hypergraph")) == ["2502.00002"]
    assert drift(backend) == CLEAN
