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
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from papers.ingest.records import Batch, Failure, PaperRecord, PayloadError, split_authors

if TYPE_CHECKING:
    from papers.ingest.upsert import UpsertResult


class SnapshotError(PayloadError):
    """The file itself is broken (e.g. a truncated gzip); `line` is the last line read."""

    def __init__(self, message: str, line: int):
        super().__init__(f"line {line}: {message}")
        self.line = line


@dataclass
class SkippedLine:
    line: int
    reason: str
    arxiv_id: str = ""


@contextmanager
def open_snapshot(source: str | Path | BinaryIO) -> Iterator[BinaryIO]:
    """A binary stream of the file's text, ungzipped if it starts with gzip's magic bytes.

    A path is opened once and peeked at, so a named pipe (``ingest snapshot <(zcat ...)``, or a
    file still being written by another program) reads like a file. Closing leaves a stream
    the caller passed in open.
    """
    with ExitStack() as owned:
        if isinstance(source, str | Path) and source != "-":
            raw: BinaryIO = owned.enter_context(open(source, "rb"))  # noqa: SIM115
        else:
            raw = sys.stdin.buffer if source == "-" else source  # type: ignore[assignment]
        buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)
        if buffered.peek(2)[:2] == _GZIP_MAGIC:
            yield owned.enter_context(gzip.GzipFile(fileobj=buffered))  # type: ignore[misc]
        else:
            yield buffered


_GZIP_MAGIC = b"\x1f\x8b"


def iter_snapshot(lines: Iterable[bytes | str]) -> Iterator[PaperRecord | SkippedLine]:
    """Parse each line into a record, or a SkippedLine saying why it could not be used."""
    for _, item in iter_numbered(lines):
        yield item


def iter_numbered(
    lines: Iterable[bytes | str], skip: int = 0
) -> Iterator[tuple[int, PaperRecord | SkippedLine]]:
    """(line number, record or SkippedLine); the first `skip` lines are read but not parsed."""
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
        if number <= skip or not line.strip():
            continue
        try:
            data = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            yield number, SkippedLine(number, f"invalid JSON: {exc}")
            continue
        try:
            yield number, parse_snapshot_object(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            reason = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            arxiv_id = data.get("id", "") if isinstance(data, dict) else ""
            yield number, SkippedLine(number, reason, str(arxiv_id))


def snapshot_batches(
    source: str | Path | BinaryIO, batch_size: int = 1000, skip_lines: int = 0
) -> Iterator[Batch]:
    """Batches of a snapshot; each checkpoint is the last line read, where a retry resumes.

    A file that breaks off (a truncated gzip) first yields the whole lines read before the
    break, then raises SnapshotError: good records are kept, and the run says where it stopped.
    """
    batch, line = Batch(), skip_lines
    with open_snapshot(source) as stream:
        try:
            for line, item in iter_numbered(stream, skip=skip_lines):
                if isinstance(item, SkippedLine):
                    where = f"line {item.line}"
                    batch.failures.append(Failure(item.reason, item.arxiv_id, where))
                else:
                    batch.records.append(item)
                if batch.size >= batch_size:
                    batch.checkpoint = {"line": line}
                    yield batch
                    batch = Batch()
        except SnapshotError as exc:
            batch.checkpoint = {"line": exc.line}
            yield batch
            raise
        batch.checkpoint = {"line": line}
        yield batch


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
        categories_complete=data.get("categories_complete", True) is not False,
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
    return split_authors(data["authors"])


@dataclass
class SnapshotReport:
    result: "UpsertResult"
    skipped: list[SkippedLine]
    error: SnapshotError | None = None


def load_snapshot(
    source: str | Path | BinaryIO,
    batch_size: int = 500,
    progress: bool = False,
    announce: bool = True,
) -> SnapshotReport:
    """Stream a snapshot into the database, a transaction per batch, without recording a run.

    Bad lines are skipped and reported with their line numbers. A file that breaks off (a
    truncated gzip) keeps every whole line before the break and is reported as the error;
    loading the repaired file again finishes the job. Changed papers are announced, so search
    indexing and enrichment are queued as for any other ingestion; a caller that rebuilds the
    index itself right after (bootstrap, benchmarks) passes announce=False.
    """
    from tqdm import tqdm

    from papers.ingest.upsert import UpsertResult, upsert_records
    from papers.signals import announce_changed

    result, skipped = UpsertResult(), []
    bar = tqdm(unit=" papers", disable=not progress, desc="loading")
    try:
        for batch in snapshot_batches(source, batch_size=batch_size):
            skipped += [
                SkippedLine(int(f.where.split()[-1]), f.reason, f.arxiv_id) for f in batch.failures
            ]
            batch_result = upsert_records(batch.records)
            if announce:
                announce_changed(batch_result.changed)
            result.add(batch_result)
            bar.update(batch.size)
    except SnapshotError as exc:
        return SnapshotReport(result, skipped, exc)
    finally:
        bar.close()
    return SnapshotReport(result, skipped)
