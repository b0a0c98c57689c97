"""Keeping the index in step with the database, which is the source of truth."""

from collections.abc import Iterable

from papers.models import Paper
from search.backends.base import SearchBackend, get_search_backend
from search.documents import iter_paper_documents


def sync_papers(arxiv_ids: Iterable[str], backend: SearchBackend | None = None) -> int:
    """Index these papers as the database has them now; ids no longer there are deleted."""
    backend = backend or get_search_backend()
    ids = list(dict.fromkeys(arxiv_ids))
    if not ids:
        return 0
    documents = list(iter_paper_documents(ids))
    written = backend.index(documents)
    missing = set(ids) - {doc["arxiv_id"] for doc in documents}
    if missing:
        backend.delete(sorted(missing))
    return written


def delete_papers(arxiv_ids: Iterable[str], backend: SearchBackend | None = None) -> None:
    """Remove papers from the index, unless the database still (or again) has them."""
    backend = backend or get_search_backend()
    ids = list(dict.fromkeys(arxiv_ids))
    still_there = set(Paper.objects.filter(arxiv_id__in=ids).values_list("arxiv_id", flat=True))
    gone = [i for i in ids if i not in still_there]
    if gone:
        backend.delete(gone)
    if still_there:
        backend.index(iter_paper_documents(still_there))


def chunks(ids: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
