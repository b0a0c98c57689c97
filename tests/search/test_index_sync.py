"""The index follows the database: signals queue tasks, tasks are idempotent, rebuilds catch up."""

import pytest
from django.core.management import call_command

from papers.models import Paper
from papers.signals import announce_changed, papers_deleted
from search import indexing
from search.backends.base import Sort
from search.tasks import delete_papers, index_papers
from tests.search.conftest import ids

pytestmark = pytest.mark.django_db


def test_changed_papers_are_indexed_after_commit(
    backend, papers, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        announce_changed(["2505.00008", "2502.00002"])
    assert set(ids(backend.search(""))) == {"2505.00008", "2502.00002"}


def test_deleted_papers_leave_the_index(backend, papers):
    backend.index(papers)
    Paper.objects.filter(arxiv_id="2505.00008").delete()
    papers_deleted.send(sender=None, arxiv_ids=["2505.00008"])
    assert backend.count("qubits") == 0
    assert backend.count("") == 7


def test_deleting_a_paper_the_database_still_has_keeps_it(backend, papers):
    backend.index(papers)
    delete_papers(["2505.00008"])
    assert ids(backend.search("qubits")) == ["2505.00008"]


def test_index_task_deletes_ids_missing_from_the_database(backend, papers):
    backend.index(papers)
    Paper.objects.filter(arxiv_id="2505.00008").delete()
    assert index_papers(["2505.00008", "2502.00002"]) == 1
    assert backend.count("qubits") == 0
    assert backend.count("") == 7


def test_index_task_is_idempotent(backend, papers):
    index_papers(["2505.00008", "2502.00002"])
    index_papers(["2505.00008", "2502.00002"])
    assert backend.count("") == 2


def test_indexing_follows_the_latest_database_row(backend, papers):
    backend.index(papers)
    Paper.objects.filter(arxiv_id="2505.00008").update(title="Bosonic codes")
    indexing.sync_papers(["2505.00008"])
    assert ids(backend.search("bosonic")) == ["2505.00008"]


def test_rebuild_index_command_indexes_every_paper(backend, papers, capsys):
    call_command("rebuild_index")
    out, err = capsys.readouterr()
    assert "Indexed 8 papers" in out
    assert "8/8" in err  # the progress bar
    assert len(ids(backend.search("", sort=Sort.NEWEST))) == 8


def test_rebuild_index_command_can_name_the_backend(tantivy_backend, papers, settings):
    settings.SEARCH_BACKEND = "missing"
    settings.SEARCH_BACKENDS = {**settings.SEARCH_BACKENDS, "missing": {}}
    call_command("rebuild_index", backend="tantivy", no_progress=True)
    assert tantivy_backend.count("") == 8
