"""Every way a paper's search document changes reaches the index, through the receivers here.

The one module that connects the database to the index, as django-modelsearch does it: saving
or deleting a Paper through the ORM (the admin, the shell, a management command) and the bulk
writes that announce themselves (`papers.signals`: ingestion, enrichment) queue an indexing
task once the transaction has committed, so a rolled-back change never reaches the index and a
committed one always does. What slips past them (a raw UPDATE, a killed worker between commit
and queueing) is repaired by `search.reconcile`, run by `manage.py reconcile_index` and beat.
"""

import threading
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from papers.models import Paper
from papers.signals import papers_changed, papers_deleted
from search.indexing import chunks


def queue_indexing(arxiv_ids: list[str], **kwargs: Any) -> None:
    """papers_changed: index these papers as the database has them (after its commit)."""
    from search.tasks import index_papers

    for chunk in chunks(list(arxiv_ids), settings.SEARCH_INDEX_CHUNK_SIZE):
        index_papers.delay(chunk)


def queue_deletion(arxiv_ids: list[str], **kwargs: Any) -> None:
    """papers_deleted: drop these papers from the index unless the database has them again."""
    from search.tasks import delete_papers

    for chunk in chunks(list(arxiv_ids), settings.SEARCH_INDEX_CHUNK_SIZE):
        delete_papers.delay(chunk)


# Ids saved or deleted one row at a time, gathered per thread so that a delete of thousands of
# rows queues a task per chunk, not per row. The first on_commit callback of a transaction sends
# them all; ids left by a rolled-back transaction go with the next commit, which is harmless:
# both tasks read the database and make the index agree with it.
_pending = threading.local()


def _after_commit(kind: str, arxiv_id: str) -> None:
    ids = _pending.__dict__.setdefault(kind, set())
    ids.add(arxiv_id)
    transaction.on_commit(lambda: _flush(kind))


def _flush(kind: str) -> None:
    ids = _pending.__dict__.pop(kind, None)
    if ids:
        (queue_indexing if kind == "index" else queue_deletion)(sorted(ids))


def paper_saved(sender: type[Paper], instance: Paper, **kwargs: Any) -> None:
    """post_save: one paper edited (the admin's change form) or created one at a time."""
    _after_commit("index", instance.arxiv_id)


def paper_deleted(sender: type[Paper], instance: Paper, **kwargs: Any) -> None:
    """post_delete: the admin's delete and delete-selected, queryset.delete() anywhere."""
    _after_commit("delete", instance.arxiv_id)


def connect() -> None:
    """Called once from SearchConfig.ready()."""
    papers_changed.connect(queue_indexing, dispatch_uid="search.queue_indexing")
    papers_deleted.connect(queue_deletion, dispatch_uid="search.queue_deletion")
    post_save.connect(paper_saved, sender=Paper, dispatch_uid="search.paper_saved")
    post_delete.connect(paper_deleted, sender=Paper, dispatch_uid="search.paper_deleted")
