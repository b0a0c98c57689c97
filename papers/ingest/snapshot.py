"""Bulk snapshot files: JSON lines, gzipped or plain, in two formats.

- ours (`../shared/data/arxiv/papers.jsonl.gz`, the shipped sample): `id`, `title`, `abstract`,
  `authors` (list), `categories` (list, primary first), `comment`, `other_classes`,
  `crawl_date_first` (the announcement date);
- arXiv's public metadata snapshot (`arxiv-metadata-oai-snapshot.json`): `id`, `authors` (one
  string), `authors_parsed`, `categories` (space separated), `comments`, `journal-ref`, `doi`,
  `versions` (with RFC 2822 dates), `update_date`.
"""

import datetime as dt
import email.utils
import gzip
import io
import json
import sys
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from papers.ingest.records import PaperRecord

if TYPE_CHECKING:
    from papers.ingest.upsert import UpsertResult


class SnapshotError(Exception):
    """The file itself is broken (e.g. a truncated gzip); `line` is the last line read."""

    def __init__(self, message: str, line: int):
        super().__init__(f"line {line}: {message}")
        self.line = line


@dataclass
class SkippedLine:
    line: int
    reason: str
    arxiv_id: str = ""


def open_snapshot(source: str | Path | BinaryIO) -> BinaryIO:
    """A binary stream of the file's text, ungzipped if it starts with gzip's magic bytes."""
    if source == "-":
        raw: BinaryIO = sys.stdin.buffer
    elif isinstance(source, str | Path):
        raw = open(source, "rb")  # noqa: SIM115 - the caller closes the returned stream
    else:
        raw = source
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)
    if buffered.peek(2)[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=buffered)  # type: ignore[return-value]
    return buffered


def iter_snapshot(lines: Iterable[bytes | str]) -> Iterator[PaperRecord | SkippedLine]:
    """Parse each line into a record, or a SkippedLine saying why it could not be used."""
    number = 0
    iterator = iter(lines)
    while True:
        try:
            line = next(iterator)
        except StopIteration:
            return
        except (EOFError, OSError, zlib.error) as exc:
            raise SnapshotError(
                f"file is truncated or corrupt after this line ({exc})", number
            ) from exc
        number += 1
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            yield SkippedLine(number, f"invalid JSON: {exc}")
            continue
        try:
            yield parse_snapshot_object(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            reason = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            arxiv_id = data.get("id", "") if isinstance(data, dict) else ""
            yield SkippedLine(number, reason, str(arxiv_id))


def parse_snapshot_object(data: dict) -> PaperRecord:
    if not isinstance(data, dict):
        raise TypeError(f"expected a JSON object, got {type(data).__name__}")
    if "versions" in data or "authors_parsed" in data or "journal-ref" in data:
        return _from_arxiv_snapshot(data)
    return _from_papers_jsonl(data)


def _from_papers_jsonl(data: dict) -> PaperRecord:
    announced = data.get("crawl_date_first")
    return PaperRecord(
        arxiv_id=data["id"],
        title=data["title"],
        abstract=data.get("abstract") or "",
        authors=list(data["authors"]),
        categories=list(data["categories"]),
        comment=data.get("comment") or "",
        other_classes=list(data.get("other_classes") or []),
        announced=dt.date.fromisoformat(announced) if announced else None,
    )


def _from_arxiv_snapshot(data: dict) -> PaperRecord:
    versions = []
    for entry in data.get("versions") or []:
        created = entry.get("created")
        when = email.utils.parsedate_to_datetime(created) if created else None
        versions.append((int(entry["version"].lstrip("v")), when, entry.get("size", "")))
    dates = [when for _, when, _ in versions if when]
    return PaperRecord(
        arxiv_id=data["id"],
        title=data["title"],
        abstract=data.get("abstract") or "",
        authors=_snapshot_authors(data),
        categories=data["categories"].split(),
        comment=data.get("comments") or "",
        journal_ref=data.get("journal-ref") or "",
        doi=data.get("doi") or "",
        versions=versions,
        submitted=min(dates) if dates else None,
        updated=max(dates) if dates else None,
    )


def _snapshot_authors(data: dict) -> list[str]:
    parsed = data.get("authors_parsed")
    if parsed:
        # [last, first, suffix] -> "First Last Suffix"
        return [" ".join(p for p in (row[1], row[0], *row[2:]) if p) for row in parsed]
    text = data["authors"].replace(" and ", ", ")
    return [name.strip() for name in text.split(",") if name.strip()]


@dataclass
class SnapshotReport:
    result: "UpsertResult"
    skipped: list[SkippedLine]
    error: SnapshotError | None = None


def load_snapshot(
    source: str | Path | BinaryIO, batch_size: int = 500, progress: bool = False
) -> SnapshotReport:
    """Stream a snapshot into the database, a transaction per batch.

    Bad lines are skipped and reported with their line numbers. A file that breaks off (a
    truncated gzip) stops the load after the last whole batch and is reported as the error; the
    batches before it are complete, so loading the repaired file again finishes the job.
    """
    from tqdm import tqdm

    from papers.ingest.upsert import UpsertResult, upsert_records

    result, skipped, batch = UpsertResult(), [], []
    stream = open_snapshot(source)
    bar = tqdm(unit=" papers", disable=not progress, desc="loading")
    try:
        for item in iter_snapshot(stream):
            if isinstance(item, SkippedLine):
                skipped.append(item)
                continue
            batch.append(item)
            if len(batch) >= batch_size:
                result.add(upsert_records(batch))
                bar.update(len(batch))
                batch = []
        result.add(upsert_records(batch))
        bar.update(len(batch))
    except SnapshotError as exc:
        return SnapshotReport(result, skipped, exc)
    finally:
        bar.close()
        if stream is not sys.stdin.buffer:
            stream.close()
    return SnapshotReport(result, skipped)
