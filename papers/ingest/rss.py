"""arXiv's daily category feeds (RSS 2.0 or Atom, the format with `arxiv:announce_type`).

An item is `new` (first announcement), `cross` (a paper from another category cross-listed
here), `replace` (a new version) or `replace-cross` (a new version of a cross-listed paper).
Every item carries the paper's full category list, so a cross-list adds categories through the
ordinary upsert, and a replacement carries its version in the `guid` (`oai:arXiv.org:IDvN`).
"""

import datetime as dt
import email.utils
import re
from collections.abc import Iterator, Sequence

import feedparser
from django.conf import settings

from papers.arxiv_ids import InvalidArxivId, parse_arxiv_id
from papers.ingest.http import ArxivHttpClient
from papers.ingest.records import (
    Batch,
    Failure,
    PaperRecord,
    PayloadError,
    RecordError,
    split_authors,
)

ANNOUNCE_TYPES = ("new", "cross", "replace", "replace-cross")
# The description starts "arXiv:2404.12345v1 Announce Type: new \nAbstract: ..."
_DESCRIPTION_PREFIX = re.compile(
    r"^\s*arXiv:\S+\s+Announce Type:\s*\S+\s*(?:Abstract:\s*)?", re.IGNORECASE
)


def parse_feed(content: bytes, source: str = "an arXiv feed") -> Batch:
    """The records of one category feed, with a Failure for every item that cannot be used."""
    parsed = feedparser.parse(content)
    if parsed.bozo and not isinstance(parsed.bozo_exception, feedparser.CharacterEncodingOverride):
        # feedparser would go on with a lenient parse of a broken document; a feed cut off
        # half-way must not be taken for a short day, so the whole feed is refused.
        raise PayloadError(f"malformed feed from {source}: {parsed.bozo_exception}")
    if parsed.version == "" and not parsed.entries:
        raise PayloadError(f"{source} is not an RSS or Atom feed")
    batch = Batch()
    for position, entry in enumerate(parsed.entries, start=1):
        try:
            batch.records.append(entry_to_record(entry))
        except (RecordError, InvalidArxivId, ValueError) as exc:
            raw_id = entry.get("id") or entry.get("link") or ""
            batch.failures.append(Failure(str(exc), raw_id, f"item {position} of {source}"))
    return batch


def entry_to_record(entry: feedparser.FeedParserDict) -> PaperRecord:
    """One feed item as a PaperRecord; only first announcements carry an announcement date."""
    announce_type = entry.get("arxiv_announce_type", "").strip()
    if announce_type not in ANNOUNCE_TYPES:
        raise RecordError(f"unknown announce type {announce_type!r}")
    raw_id = entry.get("id", "").removeprefix("oai:arXiv.org:") or entry.get("link", "")
    parsed = parse_arxiv_id(raw_id)
    published = _feed_date(entry.get("published", ""))
    # A `cross` item of a first version is a paper announced today in another category.
    first_listing = announce_type == "new" or (announce_type == "cross" and parsed.version == 1)
    return PaperRecord(
        arxiv_id=parsed.id,
        version=parsed.version,
        title=entry.get("title", ""),
        abstract=_DESCRIPTION_PREFIX.sub("", entry.get("summary", "")),
        authors=split_authors(entry.get("author", "")),
        categories=[tag.term for tag in entry.get("tags", []) if tag.get("term")],
        journal_ref=entry.get("arxiv_journal_reference", ""),
        doi=entry.get("arxiv_doi", ""),
        announced=published if first_listing else None,
    )


def _feed_date(value: str) -> dt.date | None:
    """The listing date in arXiv's own time zone (`Mon, 22 Apr 2024 00:00:00 -0400`)."""
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).date()
    except (TypeError, ValueError):
        return None


def feed_url(category: str) -> str:
    return settings.ARXIV_RSS_URL.format(category=category)


def fetch_batches(
    categories: Sequence[str], http: ArxivHttpClient | None = None, done: Sequence[str] = ()
) -> Iterator[Batch]:
    """One batch per category feed; categories in `done` (already committed) are skipped."""
    http = http or ArxivHttpClient()
    finished = list(done)
    todo = [c for c in categories if c not in finished]
    for category in todo:
        url = feed_url(category)
        response = http.get(url)
        if response.status_code != 200:
            raise PayloadError(f"HTTP {response.status_code} from {url}")
        batch = parse_feed(response.content, url)
        finished.append(category)
        batch.checkpoint = {"done": list(finished)}
        batch.total = None
        yield batch
