"""One search as the browser and the API run it: parse, search, page, attach the papers."""

import datetime as dt
import logging
import time
from dataclasses import dataclass, field

from django.conf import settings

from papers.models import Paper
from search import hybrid
from search.backends.base import (
    Candidate,
    ResultWindowError,
    SearchHit,
    SearchResults,
    Sort,
    get_search_backend,
)
from search.highlight import Highlighter
from search.query import SearchFilters, parse_query
from search.tasks import index_papers

log = logging.getLogger(__name__)


class BadSearchRequest(ValueError):
    """A parameter outside the query text is wrong (a date, a sort, a page); says which."""


@dataclass
class ResultRow:
    hit: SearchHit
    paper: Paper


@dataclass
class SearchPage:
    query: str
    total: int  # papers matching every word (and phrase, field and filter): the count shown
    page: int
    page_size: int
    took_ms: float
    rows: list[ResultRow] = field(default_factory=list)
    notices: tuple[str, ...] = ()
    arxiv_id: str | None = None  # the query named this paper
    suggestion: str | None = None  # the query with misspelt words corrected
    reranked: bool = False  # the top results are in hybrid (BM25 + vector) order
    # Results the pages reach: `total`, plus the partial and semantic matches relevance adds.
    available: int = 0

    @property
    def pages(self) -> int:
        window = min(self.available, settings.SEARCH_MAX_RESULT_WINDOW)
        return max(1, -(-window // self.page_size))

    @property
    def related(self) -> int:
        """Results beyond the papers matching every word (some words, or close in meaning)."""
        return max(0, self.available - self.total)


def parse_date(text: str | None, name: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadSearchRequest(f"{name}: not a date: {text!r} (use YYYY-MM-DD)") from None


# "popular": the matching papers by readers' activity (papers.readers.popularity), newest first
# among equals; the newest SEARCH_POPULAR_DEPTH matches are ranked so.
POPULAR = "popular"
SORTS = (*(s.value for s in Sort), POPULAR)
SEARCH_POPULAR_DEPTH = 1000

WARMING_UP_NOTICE = (
    "Ranking by meaning is still starting up; these results are ranked by their words only."
)


def run_search(
    query: str,
    *,
    categories: tuple[str, ...] = (),
    cross_lists: bool = True,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    arxiv_ids: tuple[str, ...] = (),
    sort: str = Sort.RELEVANCE,
    page: int = 1,
    page_size: int = 25,
    suggest: bool = False,
    rerank: bool = True,
) -> SearchPage:
    """The one search pipeline: a request (query, filters, sort, page) to one page of results.

    The search page, the JSON API, saved-search feeds, /api/query and bench/relevance.py all
    call this. What matches is every plain word (in title, abstract or author names;
    stemmed; stop words aside) and every phrase, field and filter: `total` counts
    those, and sorted by date or by popularity only those are listed. Sorted by relevance, the
    ranking (hybrid: search.hybrid, or BM25 with all-words papers first) may add papers holding
    some of the words or close in meaning; the rest of the all-words papers follow in BM25
    order.

    `arxiv_ids` limits the search to those papers (canonical ids, no version).
    With `suggest`, the first page also carries a corrected query when a word looks misspelt.

    Raises BadSearchRequest, search.backends.base.ResultWindowError (past the window) and
    SearchUnavailable (the engine is down); callers turn them into 400 / 503.
    """
    if sort not in SORTS:
        raise BadSearchRequest(f"sort: must be one of {', '.join(SORTS)}")
    popular = sort == POPULAR
    sort = Sort.NEWEST if popular else Sort(sort)
    if page < 1:
        raise BadSearchRequest("page: must be 1 or more")
    if not 1 <= page_size <= settings.SEARCH_MAX_PAGE_SIZE:
        raise BadSearchRequest(f"page_size: must be 1 to {settings.SEARCH_MAX_PAGE_SIZE}")
    if date_from and date_to and date_from > date_to:
        raise BadSearchRequest("date range: the start is after the end")
    start, stop = (page - 1) * page_size, page * page_size
    if stop > settings.SEARCH_MAX_RESULT_WINDOW:
        raise ResultWindowError(
            f"Only the first {settings.SEARCH_MAX_RESULT_WINDOW:,} results can be shown; "
            "add words or filters to narrow the search."
        )
    started = time.perf_counter()
    parsed = parse_query(query)
    filters = SearchFilters(tuple(categories), cross_lists, date_from, date_to, tuple(arxiv_ids))
    backend = get_search_backend()
    notices = list(parsed.notices)
    matching = backend.search(parsed, filters, sort, match_all=True)
    ranking = None
    if sort == Sort.RELEVANCE and parsed.arxiv_id is None and not parsed.matches_everything:
        if rerank:
            ranking = hybrid.rank(backend, parsed, filters)
            if ranking is hybrid.Unranked.WARMING_UP:
                notices.append(WARMING_UP_NOTICE)
        if isinstance(ranking, hybrid.Ranking):
            total = matching.count()
            hits, available = _hybrid_page(ranking, matching, total, start, stop)
        else:  # by words: papers holding every word first, then those holding some
            by_words = backend.search(parsed, filters, sort)
            hits, available = by_words[start:stop], by_words.count()
            total = matching.count()
    elif popular:
        hits, total = _popular_page(matching, start, stop)
        available = total
    else:
        hits = matching[start:stop]
        total = available = matching.count()
    suggestion = None
    if suggest and page == 1 and parsed.arxiv_id is None:
        suggestion = backend.suggest(query)
    papers = Paper.objects.in_bulk([h.arxiv_id for h in hits], field_name="arxiv_id")
    if missing := [h.arxiv_id for h in hits if h.arxiv_id not in papers]:
        # The index holds papers the database no longer has: not shown, not counted, and the
        # index is repaired (search.tasks deletes what the database does not hold).
        log.warning("search hits missing from the database, repairing: %s", missing[:10])
        index_papers.delay(missing)
        lost = sum(h.all_terms for h in hits if h.arxiv_id not in papers)
        total, available = max(0, total - lost), max(0, available - len(missing))
    highlighter = Highlighter(parsed)
    rows = [
        ResultRow(_hit(h, papers[h.arxiv_id], highlighter), papers[h.arxiv_id])
        for h in hits
        if h.arxiv_id in papers
    ]
    return SearchPage(
        query=query,
        total=total,
        page=page,
        page_size=page_size,
        took_ms=round((time.perf_counter() - started) * 1000, 1),
        rows=rows,
        notices=tuple(notices),
        arxiv_id=parsed.arxiv_id,
        suggestion=suggestion,
        reranked=isinstance(ranking, hybrid.Ranking),
        available=available,
    )


def _popular_page(matching: SearchResults, start: int, stop: int) -> tuple[list[SearchHit], int]:
    """Hits `start:stop` of the matching papers by popularity, and how many match."""
    from papers.readers.popularity import popular_order

    size = settings.SEARCH_MAX_PAGE_SIZE
    newest: list[SearchHit] = []
    for offset in range(0, min(matching.count(), SEARCH_POPULAR_DEPTH), size):
        newest += matching[offset : offset + size]
    by_id = {h.arxiv_id: h for h in newest}
    return [by_id[a] for a in popular_order(list(by_id))[start:stop]], matching.count()


def _hit(hit: SearchHit | Candidate, paper: Paper, highlighter: Highlighter) -> SearchHit:
    """A search hit; hybrid candidates carry no text, so theirs comes from the paper."""
    if isinstance(hit, SearchHit):
        return hit
    return SearchHit(
        hit.arxiv_id, hit.score, paper.title, paper.abstract, highlighter, hit.all_terms
    )


def _hybrid_page(
    ranking: "hybrid.Ranking", matching: SearchResults, total: int, start: int, stop: int
) -> tuple[list[Candidate], int]:
    """Results `start:stop` of the hybrid ranking followed by the other all-words papers (in
    BM25 order), and how many results that makes."""
    head = ranking.hits
    available = len(head) + max(0, total - sum(c.all_terms for c in head))
    page = head[start:stop]
    if stop > len(head):
        shown = {c.arxiv_id for c in head}
        wanted_from, wanted_to = max(0, start - len(head)), stop - len(head)
        tail: list[Candidate] = []
        offset, size = 0, settings.SEARCH_MAX_PAGE_SIZE
        end = min(total, settings.SEARCH_MAX_RESULT_WINDOW)
        while len(tail) < wanted_to and offset < end:
            chunk = matching[offset : min(offset + size, end)]
            tail += [
                Candidate(h.arxiv_id, h.score or 0.0, True)
                for h in chunk
                if h.arxiv_id not in shown
            ]
            offset += size
        page += tail[wanted_from:wanted_to]
    return page, available
