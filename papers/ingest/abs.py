"""arXiv's `.abs` metadata files (the format of arXiv's own abstract store and of its mirrors).

    ------------------------------------------------------------------------------
    \\\\
    arXiv:0704.0374
    From: Igor Kretinin <...>
    Date: Tue, 3 Apr 2007 12:14:17 GMT   (15kb)
    Date (revised v2): Thu, 10 May 2007 06:06:47 GMT   (0kb,I)

    Title: Gravity-induced electric polarization of matter ...
    Authors: Boris A. Zon, Igor Yu. Kretinin
    Categories: physics.geo-ph
    Comments: This paper has been withdrawn
    \\\\
      This paper has been withdrawn due to copyright reasons.
    \\\\

Like arXivRaw, it dates and sizes every version, so it is one way to load version history.
"""

import email.utils
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from papers.arxiv_ids import InvalidArxivId
from papers.ingest.records import (
    Batch,
    Failure,
    PaperRecord,
    RecordError,
    split_authors,
)

_SEPARATOR = re.compile(r"^\\\\\s*$", re.MULTILINE)
_ID_LINE = re.compile(r"^(?:arXiv|Paper):\s*(\S+)", re.MULTILINE)
_DATE = re.compile(
    r"^Date(?: \(revised v(?P<version>\d+)\))?:\s*(?P<date>.+?)\s+\((?P<size>[^)]*)\)\s*$"
)
_FIELD = re.compile(r"^(?P<key>[A-Za-z][A-Za-z-]*):\s*(?P<value>.*)$")


def parse_abs(text: str) -> PaperRecord:
    """One `.abs` file as a PaperRecord; RecordError says what is missing or broken."""
    parts = _SEPARATOR.split(text)
    if len(parts) < 3:
        raise RecordError("not an .abs file: the header and abstract sections are missing")
    header, abstract = parts[1], parts[2]
    found = _ID_LINE.search(header)
    if not found:
        raise RecordError("missing the arXiv: identifier line")
    fields: dict[str, str] = {}
    versions = []
    last_key = ""
    for line in header.splitlines():
        if line[:1].isspace() and last_key:
            fields[last_key] += " " + line.strip()
            continue
        if date := _DATE.match(line):
            when = email.utils.parsedate_to_datetime(date["date"])
            versions.append((int(date["version"] or 1), when, date["size"]))
            last_key = ""
            continue
        if match := _FIELD.match(line):
            last_key = match["key"].lower()
            fields[last_key] = match["value"].strip()
    if "categories" not in fields:
        raise RecordError(f"{found[1]}: missing Categories")
    dates = [when for _, when, _ in versions]
    other = [fields.get("msc-class", ""), fields.get("acm-class", "")]
    return PaperRecord(
        arxiv_id=found[1],
        title=fields.get("title", ""),
        abstract=abstract,
        authors=split_authors(fields.get("authors", "")),
        categories=fields["categories"].split(),
        comment=fields.get("comments", ""),
        journal_ref=fields.get("journal-ref", ""),
        doi=fields.get("doi", ""),
        other_classes=[c.strip() for o in other for c in re.split(r"[;,]", o) if c.strip()],
        versions=versions,
        submitted=min(dates) if dates else None,
        updated=max(dates) if dates else None,
    )


def iter_abs_paths(paths: Iterable[str | Path]) -> Iterator[Path]:
    """The `.abs` files named, and those under the directories named, in a stable order."""
    for path in map(Path, paths):
        if path.is_dir():
            yield from sorted(path.rglob("*.abs"))
        else:
            yield path


def abs_batches(
    paths: Iterable[str | Path], batch_size: int = 500, skip: int = 0
) -> Iterator[Batch]:
    """Parse files into batches; the checkpoint counts files done, and `skip` resumes there."""
    batch, done = Batch(), 0
    for done, path in enumerate(iter_abs_paths(paths), start=1):
        if done <= skip:
            continue
        text = ""
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
            batch.records.append(parse_abs(text))
        except (RecordError, InvalidArxivId, ValueError, OSError) as exc:
            found = _ID_LINE.search(text)
            batch.failures.append(Failure(str(exc), found[1] if found else "", str(path)))
        if batch.size >= batch_size:
            batch.checkpoint = {"files": done}
            yield batch
            batch = Batch()
    batch.checkpoint = {"files": max(done, skip)}
    yield batch
