"""What the index holds for a paper: one plain dict, the same for every backend."""

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from typing import TypedDict

from papers.models import Paper


class PaperDocument(TypedDict):
    arxiv_id: str
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]  # primary first
    primary_category: str
    announced: dt.date | None
    year: int | None
    keywords: list[str]
    recency: int
    # The paper's updated_at in microseconds since the epoch (0 when unknown): the change marker
    # reconciliation compares with the database to find stale documents.
    changed: int


_NUMBER_RE = re.compile(r"\d+")


def recency_key(arxiv_id: str, announced: dt.date | None) -> int:
    """Sort key for "newest first": the announcement day, then the id (later ids are newer)."""
    digits = "".join(_NUMBER_RE.findall(arxiv_id))[-10:] or "0"
    day = announced.toordinal() if announced else 0
    return day * 10**10 + int(digits)


def document(
    arxiv_id: str,
    title: str,
    abstract: str = "",
    authors: Iterable[str] = (),
    categories: Iterable[str] = (),
    announced: dt.date | None = None,
    keywords: Iterable[str] = (),
    changed: int = 0,
) -> PaperDocument:
    """A document from its parts (Paper rows go through paper_document; benchmarks use this)."""
    codes = list(categories)
    return PaperDocument(
        arxiv_id=arxiv_id,
        title=title,
        abstract=abstract,
        authors=list(authors),
        categories=codes,
        primary_category=codes[0] if codes else "",
        announced=announced,
        year=announced.year if announced else None,
        keywords=list(keywords),
        recency=recency_key(arxiv_id, announced),
        changed=changed,
    )


def change_marker(updated_at: dt.datetime | None) -> int:
    """A paper's change marker: its updated_at in whole microseconds since the epoch."""
    if updated_at is None:
        return 0
    delta = updated_at - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def paper_document(paper: Paper) -> PaperDocument:
    """The search document for a paper (the database row is the source of truth)."""
    return document(
        paper.arxiv_id,
        paper.title,
        paper.abstract,
        paper.author_names,
        paper.category_codes or [paper.primary_category_id],
        paper.announced,
        # Filled by the ML work (extracted keywords); indexed as text, empty until then.
        getattr(paper, "keywords", None) or (),
        change_marker(paper.updated_at),
    )


def iter_paper_documents(
    arxiv_ids: Iterable[str] | None = None, chunk_size: int = 1000
) -> Iterator[PaperDocument]:
    """Stream documents from the database, all papers or the given ids, in id order."""
    papers = Paper.objects.order_by("pk")
    if arxiv_ids is not None:
        papers = papers.filter(arxiv_id__in=list(arxiv_ids))
    for paper in papers.iterator(chunk_size=chunk_size):
        yield paper_document(paper)
