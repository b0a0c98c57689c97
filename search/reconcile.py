"""Reconciliation: find where the index and the database disagree, and repair it.

The database is the source of truth. Each document carries its paper's change marker
(search.documents.change_marker of updated_at, which every write moves); comparing the
(id, marker) pairs of both sides finds papers missing from the index, documents older than
their paper (stale) and documents whose paper is gone (orphaned). Repair indexes the first two
from the database and deletes the last, re-checking the database first, so a paper inserted
while the comparison ran is never deleted. An index the app can no longer read (another schema
version) is rebuilt.
"""

import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

from papers.models import Paper
from search import indexing
from search.backends.base import IndexOutdated, SearchBackend, get_search_backend
from search.documents import change_marker

logger = logging.getLogger(__name__)
# Ids listed per kind in a report; the counts are exact.
REPORTED_IDS = 20


@dataclass
class Report:
    papers: int = 0
    documents: int = 0
    missing: int = 0
    stale: int = 0
    orphaned: int = 0
    duplicated: int = 0
    rebuilt: bool = False
    repaired: bool = False
    examples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def drift(self) -> int:
        return self.missing + self.stale + self.orphaned + self.duplicated

    def as_dict(self) -> dict:
        return {**asdict(self), "drift": self.drift}


def database_markers(
    changed_between: tuple[dt.datetime, dt.datetime] | None = None,
) -> dict[str, int]:
    papers = Paper.objects.all()
    if changed_between is not None:
        papers = papers.filter(
            updated_at__gte=changed_between[0], updated_at__lt=changed_between[1]
        )
    rows = papers.values_list("arxiv_id", "updated_at").iterator(chunk_size=5000)
    return {arxiv_id: change_marker(updated_at) for arxiv_id, updated_at in rows}


def reconcile(
    backend: SearchBackend | None = None,
    repair: bool = True,
    changed_between: tuple[dt.datetime, dt.datetime] | None = None,
) -> Report:
    """Compare the index with the database; with `repair`, make the index agree.

    With `changed_between`, only papers whose updated_at falls in that window are compared
    (the cheap check workers run every few seconds: papers indexed late or never, without
    orphans); otherwise everything is.
    """
    backend = backend or get_search_backend()
    report = Report()
    database = database_markers(changed_between)
    report.papers = len(database)
    try:
        counts = Counter()
        indexed: dict[str, int] = {}
        wanted = None if changed_between is None else list(database)
        for arxiv_id, marker in _in_chunks(backend, wanted):
            counts[arxiv_id] += 1
            indexed[arxiv_id] = marker
    except IndexOutdated as exc:
        if not repair:
            raise
        logger.warning("rebuilding the search index: %s", exc)
        report.rebuilt = report.repaired = True
        report.documents = backend.rebuild()
        return report

    report.documents = sum(counts.values())
    missing = sorted(set(database) - set(indexed))
    orphaned = sorted(set(indexed) - set(database)) if changed_between is None else []
    stale = sorted(i for i, m in indexed.items() if i in database and database[i] != m)
    duplicated = sorted(i for i, n in counts.items() if n > 1 and i in database)
    report.missing, report.stale = len(missing), len(stale)
    report.orphaned, report.duplicated = len(orphaned), len(duplicated)
    report.examples = {
        kind: ids[:REPORTED_IDS]
        for kind, ids in (
            ("missing", missing),
            ("stale", stale),
            ("orphaned", orphaned),
            ("duplicated", duplicated),
        )
        if ids
    }
    if repair and report.drift:
        to_index = sorted(set(missing) | set(stale) | set(duplicated))
        for chunk in indexing.chunks(to_index, 1000):
            indexing.sync_papers(chunk, backend)
        for chunk in indexing.chunks(orphaned, 1000):
            indexing.delete_papers(chunk, backend)
        report.repaired = True
    return report


def _in_chunks(backend: SearchBackend, arxiv_ids: list[str] | None) -> Iterator[tuple[str, int]]:
    if arxiv_ids is None:
        yield from backend.markers()
        return
    for chunk in indexing.chunks(arxiv_ids, 1000):
        yield from backend.markers(chunk)
