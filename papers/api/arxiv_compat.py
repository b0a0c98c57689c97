"""`/api/query`: arXiv's API query interface and Atom format, answered from our collection.

Existing arXiv clients (the `arxiv` PyPI package, scripts using export.arxiv.org/api/query)
work with only the base URL changed. `search_query` (`ti:` `au:` `abs:` `cat:` `all:` with
`AND` `OR` `ANDNOT`) is translated into our query language and runs on the configured search
backend; `id_list` looks papers up directly. Parentheses are accepted; groups are flattened, with
`OR` binding its neighbours, which covers the queries clients send in practice.
"""

import datetime as dt
import re

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from lxml import etree

from papers.arxiv_ids import InvalidArxivId, parse_arxiv_id
from papers.models import Paper
from search.backends.base import SearchUnavailable, Sort, get_search_backend
from search.query import parse_query

ATOM = "http://www.w3.org/2005/Atom"
ARXIV = "http://arxiv.org/schemas/atom"
OPENSEARCH = "http://a9.com/-/spec/opensearch/1.1/"
NSMAP = {None: ATOM, "arxiv": ARXIV, "opensearch": OPENSEARCH}
MAX_RESULTS = 2000
_TOKEN = re.compile(r'\(|\)|[\w.\-]+:"[^"]*"|"[^"]*"|[^\s()"]+')
_FIELDS = {"ti": "ti", "au": "au", "abs": "abs", "cat": "cat"}


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


def query(request: HttpRequest) -> HttpResponse:
    try:
        start = _int(request, "start", 0)
        max_results = min(_int(request, "max_results", 10), MAX_RESULTS)
        total, papers = _run(request, start, max_results)
    except QueryError as exc:
        return _atom(_error_feed(request, str(exc)), status=400)
    except SearchUnavailable:
        return _atom(_error_feed(request, "search is unavailable; try again shortly"), 503)
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
    results = get_search_backend().search(
        parse_query(translate_search_query(search_query)), None, sort
    )
    if ids:  # both given: the listed papers that match the query
        matching = {h.arxiv_id for h in results[: settings.SEARCH_MAX_RESULT_WINDOW]}
        return _papers_by_ids([i for i in ids if i in matching], start, max_results)
    window = settings.SEARCH_MAX_RESULT_WINDOW
    total = min(results.count(), window)
    hits = []
    for chunk_start in range(start, min(start + max_results, total), settings.SEARCH_MAX_PAGE_SIZE):
        chunk_stop = min(chunk_start + settings.SEARCH_MAX_PAGE_SIZE, start + max_results, total)
        hits += results[chunk_start:chunk_stop]
    found = Paper.objects.in_bulk([h.arxiv_id for h in hits], field_name="arxiv_id")
    return total, [found[h.arxiv_id] for h in hits if h.arxiv_id in found]


def _papers_by_ids(ids: list[str], start: int, max_results: int) -> tuple[int, list[Paper]]:
    found = Paper.objects.in_bulk(ids, field_name="arxiv_id")
    papers = [found[i] for i in dict.fromkeys(ids) if i in found]
    return len(papers), papers[start : start + max_results]


def _sub(parent, tag: str, text: str | None = None, **attrs) -> etree._Element:
    element = etree.SubElement(parent, tag, {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        element.text = text
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


def _atom(feed: etree._Element, status: int = 200) -> HttpResponse:
    body = etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return HttpResponse(body, content_type="application/atom+xml; charset=utf-8", status=status)
