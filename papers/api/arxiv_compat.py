"""`/api/query`: arXiv's API query interface and Atom format, answered from our collection.

Existing arXiv clients (the `arxiv` PyPI package, scripts using export.arxiv.org/api/query)
work with only the base URL changed. `search_query` (`ti:` `au:` `abs:` `cat:` `all:` with
`AND` `OR` `ANDNOT`) is translated into our query language and runs through the search page's
pipeline (search.service.run_search); `id_list` alone looks papers up directly, and with a
`search_query` it keeps the search to those papers, as arXiv does. Like arXiv's, one call
returns at most MAX_RESULTS entries; a search reaches its first SEARCH_MAX_RESULT_WINDOW
results. Parentheses are accepted; groups are flattened, with
`OR` binding its neighbours, which covers the queries clients send in practice.
"""

import datetime as dt
import re

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from lxml import etree

from papers import ratelimit
from papers.arxiv_ids import InvalidArxivId, parse_arxiv_id
from papers.models import Paper
from search.backends.base import ResultWindowError, SearchUnavailable, Sort
from search.service import BadSearchRequest, run_search

ATOM = "http://www.w3.org/2005/Atom"
ARXIV = "http://arxiv.org/schemas/atom"
OPENSEARCH = "http://a9.com/-/spec/opensearch/1.1/"
NSMAP = {None: ATOM, "arxiv": ARXIV, "opensearch": OPENSEARCH}
MAX_RESULTS = 2000
_TOKEN = re.compile(r'\(|\)|[\w.\-]+:"[^"]*"|"[^"]*"|[^\s()"]+')
_FIELDS = {"ti": "ti", "au": "au", "abs": "abs", "cat": "cat"}
# Characters XML 1.0 cannot carry (tab, newline and return can): refused in any parameter.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


class QueryError(ValueError):
    """A parameter arXiv would refuse; the message goes into the error feed."""


def translate_search_query(text: str) -> str:
    """arXiv's `search_query` as a query of ours with the same matches."""
    out: list[str] = []
    negate = False
    for token in _TOKEN.findall(text):
        if token in "()":
            continue
        if token in ("AND", "OR", "ANDNOT"):
            if token == "OR" and out:
                out.append("OR")
            negate = token == "ANDNOT"
            continue
        field, _, value = token.partition(":") if ":" in token else ("all", "", token)
        value = value.strip('"').strip()
        if not value:
            continue
        if field == "au":
            value = value.replace("_", " ")
        quoted = f'"{value}"' if (" " in value or field == "au") else value
        sign = "-" if negate else ""
        if field in _FIELDS:
            out.append(f"{sign}{_FIELDS[field]}:{quoted}")
        elif negate:
            out += [f"-ti:{quoted}", f"-abs:{quoted}"]
        else:
            # all: (and prefixes we do not index, like co: or jr:) means title or abstract.
            out.append(f"ti:{quoted} OR abs:{quoted}")
        negate = False
    return " ".join(out)


def _int(request: HttpRequest, name: str, default: int) -> int:
    raw = request.GET.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise QueryError(f"{name} must be an integer") from None
    if value < 0:
        raise QueryError(f"{name} must be non-negative")
    return value


def _check_text(request: HttpRequest) -> None:
    for name, value in request.GET.lists():
        if _CONTROL.search(name) or any(_CONTROL.search(v) for v in value):
            raise QueryError(f"{_CONTROL.sub('?', name)} contains control characters")


def _throttled(request: HttpRequest, verdict: ratelimit.Verdict) -> HttpResponse:
    message = f"too many requests; retry in {verdict.retry_after} seconds"
    response = _atom(_error_feed(request, message), status=429)
    response["Retry-After"] = str(verdict.retry_after)
    return response


@ratelimit.limited("arxiv_query", _throttled)
def query(request: HttpRequest) -> HttpResponse:
    try:
        _check_text(request)
        start = _int(request, "start", 0)
        # Like arXiv: at most MAX_RESULTS per call, however many are asked for.
        max_results = min(_int(request, "max_results", 10), MAX_RESULTS)
        total, papers = _run(request, start, max_results)
    except QueryError as exc:
        return _atom(_error_feed(request, str(exc)), status=400)
    except SearchUnavailable:
        response = _atom(_error_feed(request, "search is unavailable; try again shortly"), 503)
        response["Retry-After"] = str(settings.SEARCH_RETRY_AFTER)
        return response
    return _atom(_feed(request, papers, total, start, max_results))


def _run(request: HttpRequest, start: int, max_results: int) -> tuple[int, list[Paper]]:
    search_query = request.GET.get("search_query", "").strip()
    id_list = [i for i in request.GET.get("id_list", "").split(",") if i.strip()]
    sort_by = request.GET.get("sortBy", "relevance")
    sort_order = request.GET.get("sortOrder", "descending")
    if sort_by not in ("relevance", "lastUpdatedDate", "submittedDate"):
        raise QueryError(f"unknown sortBy {sort_by!r}")
    if sort_order not in ("ascending", "descending"):
        raise QueryError(f"unknown sortOrder {sort_order!r}")
    if len(id_list) > MAX_RESULTS:
        raise QueryError(f"id_list may name at most {MAX_RESULTS} papers")
    ids = []
    for raw in id_list:
        try:
            ids.append(parse_arxiv_id(raw).id)
        except InvalidArxivId:
            raise QueryError(f"incorrect id format for {raw.strip()}") from None
    if not search_query:
        return _papers_by_ids(ids, start, max_results)
    sort = Sort.RELEVANCE if sort_by == "relevance" else Sort.NEWEST
    if sort is Sort.NEWEST and sort_order == "ascending":
        raise QueryError("date sorts are available newest first only (sortOrder=descending)")
    # Both given: the listed papers that match the query, as arXiv answers.
    return _search(
        translate_search_query(search_query), tuple(dict.fromkeys(ids)), sort, start, max_results
    )


def _search(
    text: str, ids: tuple[str, ...], sort: Sort, start: int, max_results: int
) -> tuple[int, list[Paper]]:
    """Results start .. start + max_results of the search, a page of the search page at a time."""
    size = settings.SEARCH_MAX_PAGE_SIZE
    window = settings.SEARCH_MAX_RESULT_WINDOW
    stop = min(start + max_results, window)
    papers: list[Paper] = []
    total = 0
    page = start // size + 1
    try:
        while (page - 1) * size < stop:
            result = run_search(text, sort=sort, page=page, page_size=size, arxiv_ids=ids)
            total = result.total
            papers += [row.paper for row in result.rows]
            if page * size >= min(total, window):
                break
            page += 1
    except (BadSearchRequest, ResultWindowError) as exc:
        raise QueryError(str(exc)) from exc
    skip = start - (start // size) * size
    return min(total, window), papers[skip : skip + max(0, stop - start)]


def _papers_by_ids(ids: list[str], start: int, max_results: int) -> tuple[int, list[Paper]]:
    found = Paper.objects.in_bulk(ids, field_name="arxiv_id")
    papers = [found[i] for i in dict.fromkeys(ids) if i in found]
    return len(papers), papers[start : start + max_results]


def _sub(parent, tag: str, text: str | None = None, **attrs) -> etree._Element:
    attributes = {k: _CONTROL.sub("?", v) for k, v in attrs.items() if v is not None}
    element = etree.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = _CONTROL.sub("?", text)
    return element


def _stamp(value: dt.datetime | dt.date | None) -> str:
    if value is None:
        value = timezone.now()
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _header(request: HttpRequest, title: str) -> etree._Element:
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap=NSMAP)
    _sub(feed, f"{{{ATOM}}}id", request.build_absolute_uri())
    _sub(feed, f"{{{ATOM}}}title", title)
    _sub(feed, f"{{{ATOM}}}updated", _stamp(None))
    _sub(
        feed,
        f"{{{ATOM}}}link",
        href=request.build_absolute_uri(),
        rel="self",
        type="application/atom+xml",
    )
    return feed


def _feed(
    request: HttpRequest, papers: list[Paper], total: int, start: int, per_page: int
) -> etree._Element:
    feed = _header(request, f"arXiv Query: {request.META.get('QUERY_STRING', '')}")
    _sub(feed, f"{{{OPENSEARCH}}}totalResults", str(total))
    _sub(feed, f"{{{OPENSEARCH}}}startIndex", str(start))
    _sub(feed, f"{{{OPENSEARCH}}}itemsPerPage", str(per_page))
    for paper in papers:
        entry = _sub(feed, f"{{{ATOM}}}entry")
        _sub(entry, f"{{{ATOM}}}id", f"http://arxiv.org/abs/{paper.versioned_id}")
        published = paper.submitted or paper.announced or paper.created_at
        _sub(entry, f"{{{ATOM}}}updated", _stamp(paper.updated or published))
        _sub(entry, f"{{{ATOM}}}published", _stamp(published))
        _sub(entry, f"{{{ATOM}}}title", paper.title)
        _sub(entry, f"{{{ATOM}}}summary", paper.abstract)
        for name in paper.author_names:
            _sub(_sub(entry, f"{{{ATOM}}}author"), f"{{{ATOM}}}name", name)
        if paper.doi:
            _sub(entry, f"{{{ARXIV}}}doi", paper.doi)
            _sub(
                entry,
                f"{{{ATOM}}}link",
                href=f"https://doi.org/{paper.doi}",
                rel="related",
                title="doi",
            )
        if paper.comment:
            _sub(entry, f"{{{ARXIV}}}comment", paper.comment)
        if paper.journal_ref:
            _sub(entry, f"{{{ARXIV}}}journal_ref", paper.journal_ref)
        _sub(
            entry,
            f"{{{ATOM}}}link",
            href=f"https://arxiv.org/abs/{paper.versioned_id}",
            rel="alternate",
            type="text/html",
        )
        _sub(
            entry,
            f"{{{ATOM}}}link",
            href=paper.pdf_url,
            rel="related",
            type="application/pdf",
            title="pdf",
        )
        _sub(
            entry,
            f"{{{ARXIV}}}primary_category",
            term=paper.primary_category_id,
            scheme="http://arxiv.org/schemas/atom",
        )
        for code in paper.category_codes:
            _sub(entry, f"{{{ATOM}}}category", term=code, scheme="http://arxiv.org/schemas/atom")
    return feed


def _error_feed(request: HttpRequest, message: str) -> etree._Element:
    """The shape arXiv's API uses for errors: one entry titled Error with the message."""
    feed = _header(request, "arXiv Query: error")
    _sub(feed, f"{{{OPENSEARCH}}}totalResults", "1")
    _sub(feed, f"{{{OPENSEARCH}}}startIndex", "0")
    _sub(feed, f"{{{OPENSEARCH}}}itemsPerPage", "1")
    entry = _sub(feed, f"{{{ATOM}}}entry")
    _sub(entry, f"{{{ATOM}}}id", "http://arxiv.org/api/errors")
    _sub(entry, f"{{{ATOM}}}title", "Error")
    _sub(entry, f"{{{ATOM}}}summary", message)
    _sub(entry, f"{{{ATOM}}}updated", _stamp(None))
    _sub(_sub(entry, f"{{{ATOM}}}author"), f"{{{ATOM}}}name", "arXiv api core")
    return feed


def error_feed_response(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return _atom(_error_feed(request, message), status=status)


def _atom(feed: etree._Element, status: int = 200) -> HttpResponse:
    body = etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return HttpResponse(body, content_type="application/atom+xml; charset=utf-8", status=status)
