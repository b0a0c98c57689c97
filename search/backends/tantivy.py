"""The embedded backend: a tantivy index on disk in the data directory.

Layout: `<PATH>/<generation>/` holds one tantivy index, `<PATH>/CURRENT` names the live one.
Writers (the worker, management commands) open a writer per batch and commit; tantivy's lock
file keeps them to one at a time. Readers in every process keep the index open and reload when
the live generation's meta.json changes, so a commit is seen by the next query. A rebuild writes
a new generation and swaps CURRENT with an atomic rename; readers switch on their next query.
"""

import datetime as dt
import fcntl
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tantivy
from django.conf import settings
from rapidfuzz import process
from rapidfuzz.distance import OSA
from tantivy import Document, Index, Order, Query, Schema, SchemaBuilder

from papers.models import Paper
from search.analysis import ENGLISH, EXACT, NAMES, analyzer
from search.backends.base import (
    ALL_TERMS_BONUS,
    Candidate,
    Facets,
    FetchedPage,
    IndexBusy,
    IndexOutdated,
    IndexUnusable,
    SearchBackend,
    SearchError,
    SearchHit,
    SearchRequest,
    Sort,
    unbonused,
)
from search.backends.tantivy_query import TantivyQueryCompiler
from search.documents import PaperDocument
from search.fields import AUTHORS
from search.highlight import Highlighter
from search.query import archive_of
from search.spelling import MAX_EDITS, CloseWords, WordCounts

log = logging.getLogger(__name__)
REPAIR = "run `python manage.py rebuild_index`"

# Bump when the schema or analyzers change: an index of another version must be rebuilt.
# 2: the `changed` marker (reconciliation).
SCHEMA_VERSION = 2
FACET_SIZE = 1000
# Unstemmed title and abstract words: the vocabulary spelling suggestions come from.
VOCABULARY_FIELD = "text_exact"


def build_schema() -> Schema:
    builder = SchemaBuilder()
    builder.add_text_field("arxiv_id", stored=True, tokenizer_name="raw")
    for name in ("title", "abstract", "text", "keywords"):
        # Stemmed fields only score words; phrases go to the positional *_exact twin.
        builder.add_text_field(
            name, stored=name in ("title", "abstract"), tokenizer_name=ENGLISH, index_option="freq"
        )
        builder.add_text_field(f"{name}_exact", tokenizer_name=EXACT)
    builder.add_text_field("authors", tokenizer_name=NAMES)
    builder.add_text_field("categories", tokenizer_name="raw", fast=True)
    builder.add_text_field("primary_category", tokenizer_name="raw")
    builder.add_text_field("archives", tokenizer_name="raw")
    builder.add_date_field("announced", indexed=True, fast=True)
    builder.add_integer_field("year", indexed=True, fast=True)
    builder.add_integer_field("recency", fast=True)
    builder.add_integer_field("changed", stored=True, fast=True)
    return builder.build()


SCHEMA = build_schema()


def tantivy_document(doc: PaperDocument) -> Document:
    """The tantivy document for a paper document."""
    out = Document()
    out.add_text("arxiv_id", doc["arxiv_id"])
    for name in ("title", "abstract"):
        if doc[name]:
            for field_name in (name, f"{name}_exact", "text", "text_exact"):
                out.add_text(field_name, doc[name])
    for keyword in doc["keywords"]:
        out.add_text("keywords", keyword)
        out.add_text("keywords_exact", keyword)
    for author in doc["authors"]:
        out.add_text("authors", author)
    for code in doc["categories"]:
        out.add_text("categories", code)
    for archive in dict.fromkeys(archive_of(code) for code in doc["categories"]):
        out.add_text("archives", archive)
    if doc["primary_category"]:
        out.add_text("primary_category", doc["primary_category"])
    if doc["announced"]:
        day = doc["announced"]
        out.add_date("announced", dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC))
        out.add_integer("year", day.year)
    out.add_integer("recency", doc["recency"])
    out.add_integer("changed", doc.get("changed", 0))
    return out


def _tiered(request: SearchRequest) -> bool:
    """Whether hits are ranked with the all-words tier (relevance, one word being enough)."""
    return request.sort == Sort.RELEVANCE and not request.match_all and bool(request.query.optional)


def _register_analyzers(index: Index) -> Index:
    for name in (ENGLISH, EXACT, NAMES):
        index.register_tokenizer(name, analyzer(name))
    return index


@dataclass
class _Reader:
    generation: str
    index: Index
    meta_stamp: tuple[int, int]


class IndexDirectory:
    """The generations of one index on disk and the pointer to the live one."""

    def __init__(self, root: Path):
        self.root = root
        self.pointer = root / "CURRENT"

    def current_name(self) -> str | None:
        """The live generation's directory name, whatever schema version built it."""
        try:
            return self.pointer.read_text().strip() or None
        except FileNotFoundError:
            return None

    def current(self) -> Path | None:
        """The live generation, None before the first index; SearchError if it is outdated."""
        name = self.current_name()
        if name is None:
            return None
        if not name.startswith(f"v{SCHEMA_VERSION}-"):
            raise IndexOutdated(
                "The search index was built by another version of the app; "
                "run `manage.py rebuild_index`."
            )
        return self.root / name

    def new_generation(self) -> Path:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        path = self.root / f"v{SCHEMA_VERSION}-{stamp}-{uuid.uuid4().hex[:8]}"
        path.mkdir(parents=True)
        return path

    def publish(self, generation: Path) -> None:
        """Make `generation` live with an atomic rename, then drop the generations left over.

        The previous live generation stays until the next publish (a reader may still be
        answering a query from it), whichever schema version built it; so do generations a
        rebuild running now is writing (see building()).
        """
        previous = self.current_name()
        tmp = self.root / f"CURRENT.{uuid.uuid4().hex}"
        with open(tmp, "w") as f:
            f.write(generation.name)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.pointer)
        self.remove_leftovers(keep={generation.name, previous or ""})

    @contextmanager
    def building(self) -> Iterator[Path]:
        """A new generation for a rebuild, marked as being written while the block runs.

        The mark is an exclusive flock on `<generation>.building`: the kernel drops it when the
        process dies, so a generation a killed rebuild left behind is told apart from one a
        rebuild in another process is still writing.
        """
        generation = self.new_generation()
        lock_path = self.root / f"{generation.name}.building"
        with open(lock_path, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield generation
            finally:
                lock_path.unlink(missing_ok=True)

    def remove_leftovers(self, keep: set[str]) -> list[str]:
        """Delete generations not in `keep`, except those a live rebuild is writing."""
        removed = []
        for child in self.root.iterdir():
            if not child.is_dir() or not child.name.startswith("v") or child.name in keep:
                continue
            lock_path = self.root / f"{child.name}.building"
            if lock_path.exists():
                with open(lock_path, "a") as lock:
                    try:
                        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        continue  # a rebuild is writing it now
                lock_path.unlink(missing_ok=True)
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child.name)
        return removed

    def open_for_writing(self) -> Index:
        """The live index, created empty on first use."""
        generation = self.current()
        if generation is None:
            generation = self.new_generation()
            index = Index(SCHEMA, path=str(generation))
            self.publish(generation)
            return _register_analyzers(index)
        return _register_analyzers(Index(SCHEMA, path=str(generation), reuse=True))


_readers: dict[Path, _Reader] = {}
_readers_lock = threading.Lock()


def _stamp(path: Path) -> tuple[int, int]:
    stat = os.stat(path)
    return stat.st_ino, stat.st_mtime_ns


class TantivyBackend(SearchBackend):
    def __init__(self, alias: str, params: dict[str, Any]):
        super().__init__(alias, params)
        self.writer_heap = params.get("WRITER_HEAP", 64_000_000)
        self.writer_threads = params.get("WRITER_THREADS", 1)
        self.compiler = TantivyQueryCompiler(SCHEMA, stemming=self.stemming)

    @property
    def directory(self) -> IndexDirectory:
        path = self.params.get("PATH")
        return IndexDirectory(Path(path) if path else Path(settings.DATA_DIR) / "index")

    # --- Writing ---------------------------------------------------------------------------

    def _writer(self, index: Index) -> "tantivy.IndexWriter":
        try:
            return index.writer(self.writer_heap, self.writer_threads)
        except ValueError as exc:
            if "LockBusy" in str(exc):
                raise IndexBusy("another process is writing the search index") from exc
            raise

    def index(self, papers: Iterable[Paper | PaperDocument]) -> int:
        documents = list(self._documents(papers))
        if not documents:
            return 0
        writer = self._writer(self.directory.open_for_writing())
        for doc in documents:
            writer.delete_documents_by_term("arxiv_id", doc["arxiv_id"])
            writer.add_document(tantivy_document(doc))
        writer.commit()
        writer.wait_merging_threads()
        return len(documents)

    def delete(self, arxiv_ids: Iterable[str]) -> None:
        ids = list(arxiv_ids)
        if not ids or self.directory.current() is None:
            return
        writer = self._writer(self.directory.open_for_writing())
        for arxiv_id in ids:
            writer.delete_documents_by_term("arxiv_id", arxiv_id)
        writer.commit()
        writer.wait_merging_threads()

    def _rebuild(self, documents: Iterable[PaperDocument]) -> int:
        directory = self.directory
        with directory.building() as generation:
            try:
                index = _register_analyzers(Index(SCHEMA, path=str(generation)))
                writer = self._writer(index)
                written = 0
                for doc in documents:
                    writer.add_document(tantivy_document(doc))
                    written += 1
                writer.commit()
                writer.wait_merging_threads()
            except BaseException:
                shutil.rmtree(generation, ignore_errors=True)
                raise
            directory.publish(generation)
        return written

    def markers(self, arxiv_ids: list[str] | None = None) -> Iterator[tuple[str, int]]:
        searcher = self.searcher()
        if searcher is None or searcher.num_docs == 0 or arxiv_ids == []:
            return
        if arxiv_ids is None:
            query = Query.all_query()
        else:
            query = Query.term_set_query(SCHEMA, "arxiv_id", list(arxiv_ids))
        result = searcher.search(query, searcher.num_docs, count=False)
        addresses = [address for _, address in result.hits]
        step = 10_000
        for start in range(0, len(addresses), step):
            chunk = addresses[start : start + step]
            changed = searcher.fast_field_values("changed", chunk)
            for address, marker in zip(chunk, changed, strict=True):
                yield searcher.doc(address).get_first("arxiv_id"), marker or 0

    def clear(self) -> None:
        root = self.directory.root
        _readers.pop(root, None)
        shutil.rmtree(root, ignore_errors=True)

    # --- Reading ---------------------------------------------------------------------------

    def searcher(self) -> "tantivy.Searcher | None":
        """A searcher on the latest commit of the live generation (None before any indexing).

        A live generation that is missing or cannot be read raises IndexUnusable (logged, with
        the repair command); the broken reader is dropped, so the next query opens the index
        afresh and works again as soon as the files are good.
        """
        directory = self.directory
        try:
            generation = directory.current()
        except IndexUnusable:
            raise
        except SearchError as exc:
            raise self._unusable(directory, str(exc)) from exc
        if generation is None:
            if Paper.objects.exists():  # papers but no index: it was deleted, not never built
                raise self._unusable(directory, "no index, though the database has papers")
            return None
        meta = generation / "meta.json"
        with _readers_lock:
            try:
                reader = _readers.get(directory.root)
                if reader is None or reader.generation != generation.name:
                    index = _register_analyzers(Index.open(str(generation)))
                    index.config_reader("manual")
                    reader = _Reader(generation.name, index, _stamp(meta))
                    _readers[directory.root] = reader
                else:
                    stamp = _stamp(meta)
                    if stamp != reader.meta_stamp:
                        reader.index.reload()
                        reader.meta_stamp = stamp
                return reader.index.searcher()
            except (OSError, ValueError, RuntimeError) as exc:
                _readers.pop(directory.root, None)
                raise self._unusable(directory, f"cannot open {generation}: {exc}") from exc

    @staticmethod
    def _unusable(directory: IndexDirectory, reason: str) -> IndexUnusable:
        message = f"The search index in {directory.root} is unusable ({reason}); {REPAIR}."
        log.error(message)
        return IndexUnusable(message)

    @contextmanager
    def _reading(self):
        """Errors from reading index files (a segment cut short or deleted) as IndexUnusable."""
        try:
            yield
        except (OSError, ValueError, RuntimeError) as exc:
            with _readers_lock:
                _readers.pop(self.directory.root, None)
            raise self._unusable(self.directory, f"reading failed: {exc}") from exc

    def _query(
        self, request: SearchRequest, bonus: float | None = None, rank_only: bool = False
    ) -> tantivy.Query:
        return self.compiler.compile(
            request.query,
            request.filters,
            match_all=request.match_all,
            bonus=bonus,
            rank_only=rank_only,
        )

    def _fetch(self, request: SearchRequest, offset: int, limit: int) -> FetchedPage:
        tiered = _tiered(request)
        query = self._query(request, ALL_TERMS_BONUS if tiered else None)
        searcher = self.searcher()
        if searcher is None:
            return FetchedPage(0, [])
        highlighter = Highlighter(request.query)
        hits = []
        with self._reading():
            if request.sort == Sort.NEWEST:
                result = searcher.search(
                    query,
                    limit,
                    count=True,
                    offset=offset,
                    order_by_field="recency",
                    order=Order.Desc,
                )
            else:
                result = searcher.search(query, limit, count=True, offset=offset)
            for score, address in result.hits:
                stored = searcher.doc(address)
                bm25, all_terms = unbonused(score) if tiered else (score, True)
                hits.append(
                    SearchHit(
                        stored.get_first("arxiv_id"),
                        bm25 if request.sort == Sort.RELEVANCE else None,
                        stored.get_first("title") or "",
                        stored.get_first("abstract") or "",
                        highlighter,
                        all_terms,
                    )
                )
        return FetchedPage(result.count or 0, hits)

    def _count(self, request: SearchRequest) -> int:
        query = self._query(request)
        searcher = self.searcher()
        if searcher is None:
            return 0
        with self._reading():
            return searcher.search(query, 1, count=True).count or 0

    def _facets(self, request: SearchRequest) -> Facets:
        query = self._query(request)
        searcher = self.searcher()
        if searcher is None:
            return Facets()
        aggregations = {
            "categories": {"terms": {"field": "categories", "size": FACET_SIZE}},
            "years": {"terms": {"field": "year", "size": FACET_SIZE}},
        }
        with self._reading():
            result = searcher.aggregate(query, aggregations)
        return Facets(
            categories={b["key"]: b["doc_count"] for b in result["categories"]["buckets"]},
            years={int(b["key"]): b["doc_count"] for b in result["years"]["buckets"]},
        )

    def _candidates(self, request: SearchRequest, limit: int) -> list[Candidate]:
        query = self._query(request)
        searcher = self.searcher()
        if searcher is None:
            return []
        with self._reading():
            result = searcher.search(query, limit, count=False)
            return [
                Candidate(searcher.doc(address).get_first("arxiv_id"), score)
                for score, address in result.hits
            ]

    def _score_papers(self, request: SearchRequest, limit: int) -> list[Candidate]:
        query = self._query(request, ALL_TERMS_BONUS, rank_only=True)
        searcher = self.searcher()
        if searcher is None:
            return []
        with self._reading():
            result = searcher.search(query, limit, count=False)
            return [
                Candidate(searcher.doc(address).get_first("arxiv_id"), *unbonused(score))
                for score, address in result.hits
            ]

    def _word_counts(self, words: list[str]) -> WordCounts:
        searcher = self.searcher()
        if searcher is None:
            return WordCounts(0, {})
        with self._reading():
            counts = {word: searcher.doc_freq(VOCABULARY_FIELD, word) for word in words}
            names = {
                word
                for word in words
                if any(searcher.doc_freq(AUTHORS, t) for t in analyzer(NAMES).analyze(word))
            }
        return WordCounts(searcher.num_docs, counts, frozenset(names))

    def _close_words(self, words: list[str]) -> CloseWords:
        searcher = self.searcher()
        if searcher is None:
            return {}
        out: CloseWords = {}
        for word in words:
            # The term dictionary is sorted: one prefix walk reads the words starting alike.
            with self._reading():
                terms = dict(searcher.terms_with_prefix(VOCABULARY_FIELD, word[0]))
            near = process.extract(
                word, list(terms), scorer=OSA.distance, score_cutoff=MAX_EDITS, limit=None
            )
            out[word] = {term: terms[term] for term, _, _ in near}
        return out
