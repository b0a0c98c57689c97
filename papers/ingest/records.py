"""The one shape every source parses into before it touches the database."""

import datetime as dt
from dataclasses import dataclass, field

from papers.arxiv_ids import parse_arxiv_id
from papers.taxonomy import is_known_category


class RecordError(ValueError):
    """A source record that cannot become a paper; the message says which field and why."""


@dataclass
class PaperRecord:
    arxiv_id: str
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]  # primary first
    version: int | None = None
    comment: str = ""
    journal_ref: str = ""
    doi: str = ""
    other_classes: list[str] = field(default_factory=list)
    submitted: dt.datetime | None = None
    updated: dt.datetime | None = None
    announced: dt.date | None = None
    # (version, submitted, size) for every version the source knows about.
    versions: list[tuple[int, dt.datetime | None, str]] = field(default_factory=list)
    withdrawn: bool = False

    def __post_init__(self) -> None:
        parsed = parse_arxiv_id(self.arxiv_id)  # raises InvalidArxivId, a ValueError
        self.arxiv_id = parsed.id
        if self.version is None and parsed.version is not None:
            self.version = parsed.version
        if self.version is None and self.versions:
            self.version = max(v for v, _, _ in self.versions)
        self.title = " ".join((self.title or "").split())
        self.abstract = " ".join((self.abstract or "").split())
        self.authors = [" ".join(a.split()) for a in self.authors if a and a.strip()]
        self.categories = list(dict.fromkeys(c.strip() for c in self.categories if c.strip()))
        if not self.title:
            raise RecordError(f"{self.arxiv_id}: missing title")
        if not self.categories:
            raise RecordError(f"{self.arxiv_id}: missing categories")
        unknown = [c for c in self.categories if not is_known_category(c)]
        if unknown:
            raise RecordError(f"{self.arxiv_id}: unknown category code(s) {', '.join(unknown)}")
        if not self.withdrawn and self.comment:
            self.withdrawn = is_withdrawal_comment(self.comment)


def is_withdrawal_comment(comment: str) -> bool:
    """arXiv marks a withdrawn version with a comment such as 'This paper has been withdrawn'."""
    text = comment.lower()
    return "has been withdrawn" in text or text.startswith("withdrawn")
