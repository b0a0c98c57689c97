"""One search as the browser and the API run it: parse, search, page, attach the papers."""

import datetime as dt
import time
from dataclasses import dataclass, field

from django.conf import settings

from papers.models import Paper
from search import hybrid
from search.backends.base import SearchHit, Sort, get_search_backend
from search.query import SearchFilters, parse_query


class BadSearchRequest(ValueError):
    """A parameter outside the query text is wrong (a date, a sort, a page); says which."""


@dataclass
class ResultRow:
    hit: SearchHit
    paper: Paper


@dataclass
class SearchPage:
    query: str
    total: int
    page: int
    page_size: int
    took_ms: float
    rows: list[ResultRow] = field(default_factory=list)
    notices: tuple[str, ...] = ()
    arxiv_id: str | None = None  # the query named this paper
    suggestion: str | None = None  # the query with misspelt words corrected
    reranked: bool = False  # the top results are in hybrid (BM25 + vector) order

    @property
    def pages(self) -> int:
        window = min(self.total, settings.SEARCH_MAX_RESULT_WINDOW)
        return max(1, -(-window // self.page_size))


def parse_date(text: str | None, name: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadSearchRequest(f"{name}: not a date: {text!r} (use YYYY-MM-DD)") from None


def run_search(
    query: str,
    *,
    categories: tuple[str, ...] = (),
    cross_lists: bool = True,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    sort: str = Sort.RELEVANCE,
    page: int = 1,
    page_size: int = 25,
    suggest: bool = False,
    rerank: bool = True,
    arxiv_ids: tuple[str, ...] = (),
) -> SearchPage:
    """Run a search and return one page of results with their papers.

    `arxiv_ids` limits the search to those papers (canonical ids, no version).
    With `suggest`, the first page also carries a corrected query when a word looks misspelt.

    Raises BadSearchRequest, search.backends.base.ResultWindowError (past the window) and
    SearchUnavailable (the engine is down); callers turn them into 400 / 503.
    """
    try:
        sort = Sort(sort)
    except ValueError:
        raise BadSearchRequest(f"sort: must be one of {', '.join(s.value for s in Sort)}") from None
    if page < 1:
        raise BadSearchRequest("page: must be 1 or more")
    if not 1 <= page_size <= settings.SEARCH_MAX_PAGE_SIZE:
        raise BadSearchRequest(f"page_size: must be 1 to {settings.SEARCH_MAX_PAGE_SIZE}")
    if date_from and date_to and date_from > date_to:
        raise BadSearchRequest("date range: the start is after the end")
    started = time.perf_counter()
    parsed = parse_query(query)
    filters = SearchFilters(tuple(categories), cross_lists, date_from, date_to, tuple(arxiv_ids))
    backend = get_search_backend()
    results = backend.search(parsed, filters, sort)
    start, stop = (page - 1) * page_size, page * page_size
    hits = None
    if rerank and results.request.sort == Sort.RELEVANCE and results.arxiv_id is None:
        head = min(settings.SEARCH_RERANK_CANDIDATES, settings.SEARCH_MAX_PAGE_SIZE)
        ordered = hybrid.rerank(parsed, results[0:head])
        if ordered is not None:
            hits = ordered[start:stop] + (results[max(start, head) : stop] if stop > head else [])
    reranked = hits is not None
    if hits is None:
        hits = results[start:stop]
    suggestion = None
    if suggest and page == 1 and parsed.arxiv_id is None:
        suggestion = backend.suggest(query)
    papers = Paper.objects.in_bulk([h.arxiv_id for h in hits], field_name="arxiv_id")
    rows = [ResultRow(h, papers[h.arxiv_id]) for h in hits if h.arxiv_id in papers]
    return SearchPage(
        query=query,
        total=results.count(),
        page=page,
        page_size=page_size,
        took_ms=round((time.perf_counter() - started) * 1000, 1),
        rows=rows,
        notices=results.notices,
        arxiv_id=results.arxiv_id,
        suggestion=suggestion,
        reranked=reranked,
    )
