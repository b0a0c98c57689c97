"""The search interface every backend implements, its results, and the configured backend."""

import enum
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, overload

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import timezone
from django.utils.module_loading import import_string

from papers.models import Paper
from search.documents import PaperDocument, iter_paper_documents, paper_document
from search.highlight import Highlighter
from search.query import ParsedQuery, SearchFilters, parse_query
from search.spelling import CloseWords, WordCounts, corrected_query


class SearchError(Exception):
    """Search failed for a reason of ours (a broken or outdated index)."""


class SearchUnavailable(SearchError):
    """The search engine cannot be reached; callers answer 503 / "search is unavailable"."""


class IndexUnusable(SearchUnavailable):
    """The index on disk is missing, broken or of another version; the message names the
    command that rebuilds it. Searches answer 503 until it is rebuilt or its files are back."""


class IndexOutdated(IndexUnusable):
    """The index was built by another version of the app (its schema); rebuild it."""


class IndexBusy(SearchError):
    """Another process holds the index writer; the write is retried later."""


class ResultWindowError(SearchError, ValueError):
    """A page beyond the result window or larger than the page size cap; the message says which."""


class Sort(enum.StrEnum):
    RELEVANCE = "relevance"
    NEWEST = "newest"


# Added inside a backend to the score of papers matching every plain word, so they rank first;
# the backend reads it back as each hit's `all_terms` flag and reports the score without it.
# Queries are capped at MAX_CLAUSES words, far below this in BM25.
ALL_TERMS_BONUS = 1000.0


@dataclass(frozen=True)
class SearchRequest:
    query: ParsedQuery
    filters: SearchFilters
    sort: Sort = Sort.RELEVANCE
    # Every plain word must match (otherwise one is enough and papers with all rank first).
    match_all: bool = False


@dataclass(frozen=True)
class Candidate:
    """A paper id with its BM25 score; `all_terms`: it holds every plain word of the query."""

    arxiv_id: str
    score: float
    all_terms: bool = False


class SearchHit:
    """One result: the paper id, its score (None when sorted by date), whether it holds every
    plain word of the query, and HTML-safe snippets."""

    def __init__(
        self,
        arxiv_id: str,
        score: float | None,
        title: str,
        abstract: str,
        highlighter: Highlighter,
        all_terms: bool = True,
    ):
        self.arxiv_id = arxiv_id
        self.score = score
        self.all_terms = all_terms
        self._title = title
        self._abstract = abstract
        self._highlighter = highlighter

    @cached_property
    def highlights(self) -> dict[str, str]:
        """`title` and `abstract` as escaped HTML with `<mark>` around the words that matched."""
        return {
            "title": self._highlighter.title(self._title),
            "abstract": self._highlighter.abstract(self._abstract),
        }

    def __repr__(self) -> str:
        return f"SearchHit({self.arxiv_id!r}, score={self.score!r})"


@dataclass
class Facets:
    categories: dict[str, int] = field(default_factory=dict)
    years: dict[int, int] = field(default_factory=dict)


@dataclass
class FetchedPage:
    total: int
    hits: list[SearchHit]


def unbonused(score: float) -> tuple[float, bool]:
    """A score computed with the all-terms bonus: (the BM25 score without it, whether it had it)."""
    if score >= ALL_TERMS_BONUS:
        return score - ALL_TERMS_BONUS, True
    return score, False


class SearchResults:
    """Lazy, sliceable results: nothing runs until counted or sliced; a slice fetches one page."""

    def __init__(self, backend: "SearchBackend", request: SearchRequest):
        self.backend = backend
        self.request = request
        self._total: int | None = None
        self._pages: dict[tuple[int, int], list[SearchHit]] = {}

    @property
    def query(self) -> ParsedQuery:
        return self.request.query

    @property
    def arxiv_id(self) -> str | None:
        """The paper the query named by its arXiv id, if it did (views may redirect to it)."""
        return self.request.query.arxiv_id

    @property
    def notices(self) -> tuple[str, ...]:
        """What the parser ignored or cut, to show next to the results."""
        return self.request.query.notices

    def count(self) -> int:
        if self._total is None:
            self._total = self.backend._count(self.request)
        return self._total

    def __len__(self) -> int:
        return self.count()

    def __bool__(self) -> bool:
        return self.count() > 0

    @overload
    def __getitem__(self, key: int) -> SearchHit: ...

    @overload
    def __getitem__(self, key: slice) -> list[SearchHit]: ...

    def __getitem__(self, key: int | slice) -> SearchHit | list[SearchHit]:
        if isinstance(key, int):
            if key < 0:
                raise IndexError("negative indexing is not supported on search results")
            hits = self._slice(key, key + 1)
            if not hits:
                raise IndexError("search result index out of range")
            return hits[0]
        if key.step not in (None, 1):
            raise ValueError("search results support only contiguous slices")
        start = key.start or 0
        stop = key.stop if key.stop is not None else start + settings.SEARCH_MAX_PAGE_SIZE
        if start < 0 or stop < 0:
            raise ValueError("negative slice bounds are not supported on search results")
        return self._slice(start, stop)

    def page(self, number: int, size: int) -> list[SearchHit]:
        """Page `number` (from 1) of `size` hits, the size clamped to SEARCH_MAX_PAGE_SIZE."""
        size = max(1, min(size, settings.SEARCH_MAX_PAGE_SIZE))
        start = (max(number, 1) - 1) * size
        return self._slice(start, start + size)

    def __iter__(self) -> Iterator[SearchHit]:
        """Every hit inside the result window, a page at a time."""
        size = settings.SEARCH_MAX_PAGE_SIZE
        end = min(self.count(), settings.SEARCH_MAX_RESULT_WINDOW)
        for start in range(0, end, size):
            yield from self._slice(start, min(start + size, end))

    def facets(self) -> Facets:
        return self.backend._facets(self.request)

    def _slice(self, start: int, stop: int) -> list[SearchHit]:
        if stop <= start:
            return []
        window = settings.SEARCH_MAX_RESULT_WINDOW
        if stop > window:
            raise ResultWindowError(
                f"Only the first {window:,} results can be shown; "
                "add words or filters to narrow the search."
            )
        if stop - start > settings.SEARCH_MAX_PAGE_SIZE:
            raise ResultWindowError(
                f"At most {settings.SEARCH_MAX_PAGE_SIZE} results can be fetched at once."
            )
        if self._total is not None and start >= self._total:
            return []
        if (start, stop) not in self._pages:
            page = self.backend._fetch(self.request, start, stop - start)
            self._total = page.total
            self._pages[(start, stop)] = page.hits
        return self._pages[(start, stop)]


class SearchBackend(ABC):
    """A search engine holding one document per paper; see search.documents for its fields."""

    def __init__(self, alias: str, params: dict[str, Any]):
        self.alias = alias
        self.params = params
        # Plain words match stemmed text unless STEMMING is off (the unstemmed baseline).
        self.stemming: bool = params.get("STEMMING", True)

    # --- Writing ---------------------------------------------------------------------------

    @abstractmethod
    def index(self, papers: Iterable[Paper | PaperDocument]) -> int:
        """Add or replace these papers' documents; returns how many were written."""

    @abstractmethod
    def delete(self, arxiv_ids: Iterable[str]) -> None:
        """Remove these papers; unknown ids are ignored."""

    def rebuild(
        self,
        documents: Iterable[PaperDocument] | None = None,
        progress: Callable[[int], object] | None = None,
    ) -> int:
        """Rebuild the whole index next to the live one and swap it in; returns documents written.

        Without `documents` the database is read; papers changed while that ran are indexed
        again into the new index after the swap, so no update is lost. `progress(1)` is called
        for each document written.
        """
        started = timezone.now()
        source = iter_paper_documents() if documents is None else documents
        if progress is not None:
            source = _counting(source, progress)
        written = self._rebuild(source)
        if documents is None:
            late = Paper.objects.filter(updated_at__gte=started).values_list("arxiv_id", flat=True)
            late_ids = list(late)
            if late_ids:
                self.index(iter_paper_documents(late_ids))
        return written

    @abstractmethod
    def _rebuild(self, documents: Iterable[PaperDocument]) -> int: ...

    @abstractmethod
    def markers(self, arxiv_ids: list[str] | None = None) -> Iterator[tuple[str, int]]:
        """(arxiv_id, change marker) of every document the index holds (or of those among
        `arxiv_ids`), in no particular order.

        The marker is the document's `changed` field (search.documents.change_marker of the
        paper's updated_at when it was indexed); reconciliation compares it with the database.
        """

    @abstractmethod
    def clear(self) -> None:
        """Drop the index entirely (tests and throw-away benchmark indexes)."""

    # --- Reading ---------------------------------------------------------------------------

    def search(
        self,
        query: str | ParsedQuery,
        filters: SearchFilters | None = None,
        sort: Sort | str = Sort.RELEVANCE,
        match_all: bool = False,
    ) -> SearchResults:
        """Lazy results for a query; `sort` is "relevance" or "newest" (ValueError otherwise).

        With `match_all` only papers holding every plain word match; otherwise one word is
        enough and, sorted by relevance, papers holding all of them come first.
        """
        return SearchResults(self, self._request(query, filters, sort, match_all))

    def count(
        self,
        query: str | ParsedQuery = "",
        filters: SearchFilters | None = None,
        match_all: bool = False,
    ) -> int:
        return self._count(self._request(query, filters, match_all=match_all))

    def facets(
        self,
        query: str | ParsedQuery = "",
        filters: SearchFilters | None = None,
        match_all: bool = False,
    ) -> Facets:
        """Matching papers counted per category (cross-lists included) and per year."""
        return self._facets(self._request(query, filters, match_all=match_all))

    def candidates(
        self, query: str | ParsedQuery, filters: SearchFilters | None = None, limit: int = 100
    ) -> list[Candidate]:
        """The top `limit` papers by plain BM25 (one word is enough, no all-words tier)."""
        limit = max(0, min(limit, settings.SEARCH_MAX_CANDIDATES))
        if limit == 0:
            return []
        return self._candidates(self._request(query, filters), limit)

    def score_papers(
        self, query: str | ParsedQuery, filters: SearchFilters | None, arxiv_ids: Iterable[str]
    ) -> dict[str, Candidate]:
        """The given papers that pass the query's filters, phrases, fields and exclusions, with
        their BM25 scores for its plain words (0 when they hold none) and `all_terms` flags.

        The seam of hybrid search: candidates found by vector get lexical scores, and every
        candidate its all-words flag, in one request.
        """
        ids = list(dict.fromkeys(arxiv_ids))[: settings.SEARCH_MAX_CANDIDATES]
        if not ids:
            return {}
        request = self._request(query, (filters or SearchFilters()).only(ids))
        return {c.arxiv_id: c for c in self._score_papers(request, len(ids))}

    def suggest(self, query: str) -> str | None:
        """The query with misspelt words corrected from the indexed titles and abstracts, if any.

        See search.spelling for which words are corrected, and how.
        """
        return corrected_query(query, self._word_counts, self._close_words)

    @abstractmethod
    def _fetch(self, request: SearchRequest, offset: int, limit: int) -> FetchedPage: ...

    @abstractmethod
    def _count(self, request: SearchRequest) -> int: ...

    @abstractmethod
    def _facets(self, request: SearchRequest) -> Facets: ...

    @abstractmethod
    def _candidates(self, request: SearchRequest, limit: int) -> list[Candidate]: ...

    @abstractmethod
    def _score_papers(self, request: SearchRequest, limit: int) -> list[Candidate]:
        """Papers passing `request` (its filters name them) with plain words only scoring."""

    @abstractmethod
    def _word_counts(self, words: list[str]) -> WordCounts:
        """The number of papers, and how many have each (lowercase) word in title or abstract."""

    @abstractmethod
    def _close_words(self, words: list[str]) -> CloseWords:
        """For each word, the title and abstract words within spelling.MAX_EDITS edits of it
        that share its first letter, with the number of papers containing them."""

    @staticmethod
    def _request(
        query: str | ParsedQuery,
        filters: SearchFilters | None,
        sort: Sort | str = Sort.RELEVANCE,
        match_all: bool = False,
    ) -> SearchRequest:
        parsed = query if isinstance(query, ParsedQuery) else parse_query(query)
        sort = Sort(sort)
        if parsed.matches_everything:
            sort = Sort.NEWEST  # no words to rank by: every score is the same
        merged = (filters or SearchFilters()).merged_with(parsed)
        return SearchRequest(parsed, merged, sort, match_all)

    @staticmethod
    def _documents(papers: Iterable[Paper | PaperDocument]) -> Iterator[PaperDocument]:
        for item in papers:
            yield paper_document(item) if isinstance(item, Paper) else item


def _counting(
    documents: Iterable[PaperDocument], progress: Callable[[int], object]
) -> Iterator[PaperDocument]:
    for doc in documents:
        yield doc
        progress(1)


_backends: dict[str, SearchBackend] = {}
# A forked process (a Celery pool process, after its parent checked the index) opens its own:
# tantivy's threads and an HTTP client's connections do not survive a fork.
os.register_at_fork(after_in_child=_backends.clear)


def get_search_backend(alias: str | None = None) -> SearchBackend:
    """The backend configured as SEARCH_BACKENDS[alias], by default SEARCH_BACKEND's."""
    alias = alias or settings.SEARCH_BACKEND
    if alias not in _backends:
        try:
            params = settings.SEARCH_BACKENDS[alias]
        except KeyError:
            raise ImproperlyConfigured(f"SEARCH_BACKENDS has no backend named {alias!r}") from None
        backend_class = import_string(params["BACKEND"])
        _backends[alias] = backend_class(alias, params)
    return _backends[alias]


@receiver(setting_changed)
def _forget_backends(setting: str, **kwargs: Any) -> None:
    if setting in ("SEARCH_BACKEND", "SEARCH_BACKENDS"):
        _backends.clear()
