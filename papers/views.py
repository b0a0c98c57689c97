"""The paper browser: home, daily lists, paper pages, author pages."""

import datetime as dt

from django.db.models import Count, Max
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string

from papers.arxiv_ids import InvalidArxivId, normalize_arxiv_id
from papers.entries import ENTRY_FIELDS, entries_context
from papers.library.keywords import KeywordFilter
from papers.library.models import SavedSearch
from papers.listing import BadListSpec, ListSpec, UnknownCategory, latest_day, neighbours
from papers.models import Author, Category, Paper

LIST_PAGE_LIMIT = 500
LIST_SORTS = ("newest", "popular")


def bad_request(request: HttpRequest, message: str) -> HttpResponse:
    html = render_to_string("400.html", {"message": message}, request=request)
    return HttpResponseBadRequest(html)


class BadListSort(ValueError):
    """A list's `sort` parameter that is not one of LIST_SORTS."""


def list_sort(request: HttpRequest) -> str:
    """The list order asked for (`?sort=newest|popular`); BadListSort names the choices."""
    sort = request.GET.get("sort") or "newest"
    if sort not in LIST_SORTS:
        raise BadListSort(f"sort: one of {', '.join(LIST_SORTS)} (not {sort!r})")
    return sort


def sorted_as_asked(papers: list[Paper], sort: str) -> list[Paper]:
    if sort == "popular":
        from papers.readers.popularity import sort_popular

        return sort_popular(papers)
    return papers


def home(request: HttpRequest) -> HttpResponse:
    latest = Paper.objects.aggregate(day=Max("announced"))["day"]
    # Count on the category links alone; joining every paper would scan the whole collection.
    links = Paper.categories.through.objects
    totals = dict(links.values_list("category_id").annotate(n=Count("id")))
    today = dict(
        links.filter(paper__announced=latest).values_list("category_id").annotate(n=Count("id"))
    )
    categories = sorted(
        Category.objects.filter(code__in=totals),
        key=lambda c: (-today.get(c.code, 0), c.code),
    )
    for category in categories:
        category.total, category.today = totals[category.code], today.get(category.code, 0)
    days = (
        Paper.objects.exclude(announced=None)
        .values("announced")
        .annotate(n=Count("id"))
        .order_by("-announced")[:10]
    )
    return render(
        request,
        "papers/home.html",
        {"latest": latest, "categories": categories, "days": days, "total": Paper.objects.count()},
    )


def category_list(request: HttpRequest, spec: str) -> HttpResponse:
    try:
        parsed = ListSpec.parse(spec)
    except UnknownCategory as exc:
        raise Http404(f"Unknown category: {exc}") from exc
    except BadListSpec as exc:
        return bad_request(request, str(exc))
    try:
        sort = list_sort(request)
    except BadListSort as exc:
        return bad_request(request, str(exc))
    day = None
    if date_text := request.GET.get("date"):
        try:
            day = dt.date.fromisoformat(date_text)
        except ValueError:
            return bad_request(request, f"Not a date: {date_text!r} (use YYYY-MM-DD).")
    if day is None:
        day = latest_day(parsed)
    papers, hidden = [], 0
    previous = following = None
    keywords = KeywordFilter.for_request(request)
    if day is not None:
        on_day = parsed.papers().filter(announced=day).only(*ENTRY_FIELDS)
        papers = list(on_day.order_by("-arxiv_id")[:LIST_PAGE_LIMIT])
        if keywords.active and request.GET.get("filter") != "off":
            kept = [p for p in papers if keywords.keeps(p.title, p.abstract)]
            papers, hidden = kept, len(papers) - len(kept)
        papers = sorted_as_asked(papers, sort)
        previous, following = neighbours(parsed, day)
    return render(
        request,
        "papers/list.html",
        {
            "spec": parsed,
            "day": day,
            "sort": sort,
            "keep": f"date={day.isoformat()}&" if day else "",
            "papers": papers,
            "hidden": hidden,
            "previous": previous,
            "following": following,
            "categories": Category.objects.filter(code__in=parsed.codes),
            **entries_context(request, papers, keywords),
        },
    )


def paper_detail(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    try:
        canonical = normalize_arxiv_id(arxiv_id)
    except InvalidArxivId as exc:
        raise Http404(str(exc)) from exc
    paper = get_object_or_404(
        Paper.objects.select_related("primary_category").prefetch_related("versions"),
        arxiv_id=canonical,
    )
    from papers.enrichment import related
    from papers.readers.popularity import record_view

    if request.method == "GET":
        record_view(paper)

    sections = [
        (
            "Similar in meaning",
            "Nearest papers by whitened sentence embeddings of title and abstract",
            related.by_vector(paper),
        ),
        (
            "Sharing key phrases",
            "Best BM25 matches for this paper's key phrases",
            related.by_keywords(paper),
        ),
    ]
    context = {
        "paper": paper,
        "related": [section for section in sections if section[2]],
        **entries_context(request, [paper], full=True),
    }
    return render(request, "papers/paper.html", context)


def author_detail(request: HttpRequest, key: str) -> HttpResponse:
    author = get_object_or_404(Author, key=key)
    try:
        sort = list_sort(request)
    except BadListSort as exc:
        return bad_request(request, str(exc))
    by_date = author.papers.only(*ENTRY_FIELDS).order_by("-announced", "-arxiv_id")
    papers = sorted_as_asked(list(by_date[:LIST_PAGE_LIMIT]), sort)
    context = {"author": author, "papers": papers, "sort": sort, **entries_context(request, papers)}
    return render(request, "papers/author.html", context)


def search_page(request: HttpRequest) -> HttpResponse:
    """The search box: the query language, filters, sort, pages, highlighted snippets."""
    from search.backends.base import ResultWindowError, SearchUnavailable
    from search.service import BadSearchRequest, parse_date, run_search

    query = request.GET.get("q", "").strip()
    context = {
        "q": query,
        "cat": request.GET.get("cat", ""),
        "date_from": request.GET.get("from", ""),
        "date_to": request.GET.get("to", ""),
        "sort": request.GET.get("sort", "relevance"),
        "primary_only": request.GET.get("primary") == "1",
        "rank": request.GET.get("rank", "hybrid"),
    }
    if not query and not context["cat"]:
        return render(request, "papers/search.html", context)
    try:
        page = int(request.GET.get("page", "1"))
    except ValueError:
        return bad_request(request, "page: not a number")
    categories = tuple(c for c in context["cat"].replace(" ", ",").split(",") if c)
    try:
        result = run_search(
            query,
            categories=categories,
            cross_lists=not context["primary_only"],
            date_from=parse_date(context["date_from"], "from"),
            date_to=parse_date(context["date_to"], "to"),
            sort=context["sort"],
            page=page,
            suggest=True,
            rerank=context["rank"] != "bm25",
        )
    except (BadSearchRequest, ResultWindowError) as exc:
        return bad_request(request, str(exc))
    except SearchUnavailable:
        html = render_to_string("papers/search_unavailable.html", context, request=request)
        return HttpResponse(html, status=503)
    if result.arxiv_id and Paper.objects.filter(arxiv_id=result.arxiv_id).exists():
        return redirect("paper", arxiv_id=result.arxiv_id)
    listed = entries_context(request, [row.paper for row in result.rows])
    results = list(zip(result.rows, listed["entries"], strict=True))
    context.update(listed, result=result, results=results)
    if request.user.is_authenticated:
        context["saved_search"] = SavedSearch.matching(request.user, query, context["cat"])
        context["save_name"] = SavedSearch.default_name(
            SavedSearch.clean_query(query), SavedSearch.clean_categories(context["cat"])
        )
    return render(request, "papers/search.html", context)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404s: the JSON error shape under /api/, the HTML page elsewhere."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found as html_not_found

    if request.path.startswith("/api/"):
        body = {"status": 404, "code": "not_found", "message": f"no such endpoint: {request.path}"}
        return JsonResponse(body, status=404)
    return html_not_found(request, exception)
