"""The one shape every source parses into before it touches the database."""

import datetime as dt
import re
from dataclasses import dataclass, field

from papers.arxiv_ids import parse_arxiv_id
from papers.taxonomy import is_known_category


class RecordError(ValueError):
    """A source record that cannot become a paper; the message says which field and why."""


class PayloadError(Exception):
    """A whole response or file cannot be read: malformed XML, a truncated gzip, an error feed."""


@dataclass
class Failure:
    """A record a source could not use: which one (when known), where it was, and why."""

    reason: str
    arxiv_id: str = ""
    where: str = ""

    def __str__(self) -> str:
        label = ", ".join(p for p in (self.arxiv_id, self.where) if p)
        return f"{label}: {self.reason}" if label else self.reason


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
    # False when the source kept only some categories (a few snapshot rows): the tagger must not
    # learn from such a paper that it lacks the others.
    categories_complete: bool = True

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


@dataclass
class Batch:
    """What a source hands over at once. It is committed whole, and then its checkpoint is
    stored, so a retried run resumes after the last committed batch."""

    records: list[PaperRecord] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    # Papers a source says are gone (OAI-PMH deleted records): marked withdrawn, never deleted.
    withdrawn_ids: list[str] = field(default_factory=list)
    checkpoint: dict | None = None
    # How many items the whole run will see, when the source says (API totalResults, ...).
    total: int | None = None

    @property
    def size(self) -> int:
        return len(self.records) + len(self.failures) + len(self.withdrawn_ids)


# Affiliations in parentheses may hold commas of their own: "A. Author (MIT, USA), B. Author".
_AFFILIATION = re.compile(r"\([^()]*\)")
_AUTHOR_SEPARATOR = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+")


def split_authors(text: str) -> list[str]:
    """Names from arXiv's one-string author lists: "A, B and C", "A, B, and C"."""
    text = " ".join(_AFFILIATION.sub(" ", text).split())
    return [name for name in _AUTHOR_SEPARATOR.split(text) if name.strip()]
