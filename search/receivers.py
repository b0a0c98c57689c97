"""Signal receivers: ingestion and enrichment announce changed papers, we queue index tasks."""

from typing import Any

from django.conf import settings

from search.indexing import chunks


def queue_indexing(arxiv_ids: list[str], **kwargs: Any) -> None:
    from search.tasks import index_papers

    for chunk in chunks(list(arxiv_ids), settings.SEARCH_INDEX_CHUNK_SIZE):
        index_papers.delay(chunk)


def queue_deletion(arxiv_ids: list[str], **kwargs: Any) -> None:
    from search.tasks import delete_papers

    for chunk in chunks(list(arxiv_ids), settings.SEARCH_INDEX_CHUNK_SIZE):
        delete_papers.delay(chunk)
