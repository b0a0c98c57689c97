"""Celery tasks that keep the index in sync. They take ids, read the database and are idempotent."""

from celery import shared_task

from search import indexing
from search.backends.base import IndexBusy, SearchUnavailable

# Only transient failures are retried: the engine is down or another writer holds the index.
_RETRY = {
    "acks_late": True,
    "autoretry_for": (SearchUnavailable, IndexBusy),
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "max_retries": 8,
}


@shared_task(**_RETRY)
def index_papers(arxiv_ids: list[str]) -> int:
    """Make the index hold these papers as the database has them."""
    return indexing.sync_papers(arxiv_ids)


@shared_task(**_RETRY)
def delete_papers(arxiv_ids: list[str]) -> None:
    """Remove these papers from the index."""
    indexing.delete_papers(arxiv_ids)


@shared_task(**_RETRY)
def reconcile_index() -> dict:
    """The periodic check: repair whatever drift the signals missed; returns the counts."""
    from search.reconcile import reconcile

    return reconcile().as_dict()
