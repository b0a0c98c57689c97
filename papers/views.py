"""The paper browser: home, daily lists, paper pages, author pages."""

import datetime as dt

from django.conf import settings
from django.db.models import Count, Max
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string

from papers import ratelimit
from papers.arxiv_ids import InvalidArxivId, is_arxiv_id, normalize_arxiv_id
from papers.entries import ENTRY_FIELDS, entries_context
from papers.library.keywords import KeywordFilter
from papers.library.models import SavedSearch
from papers.listing import (
    ARCHIVES,
    BadListSpec,
    ListSpec,
    UnknownCategory,
    latest_day,
    neighbours,
)
from papers.models import Author, Category, Paper
from papers.taxonomy import CATEGORIES, GROUPS, group_of

GROUP_NAMES = {**GROUPS, "legacy": "Older archives"}

LIST_PAGE_LIMIT = 500
LIST_SORTS = ("newest", "popular")


def bad_request(request: HttpRequest, message: str) -> HttpResponse:
    html = render_to_string("400.html", {"message": message}, request=request)
    return HttpResponseBadRequest(html)


def too_many_requests(request: HttpRequest, verdict: ratelimit.Verdict, what: str) -> HttpResponse:
    """The 429 page: what was refused and when to try again (also in Retry-After)."""
    wait = verdict.retry_after
    when = f"{wait} seconds" if wait < 120 else f"{-(-wait // 60)} minutes"
    message = f"Too many {what}; try again in {when}."
    html = render_to_string("429.html", {"message": message}, request=request)
    return ratelimit.too_many_requests(verdict, html, "text/html; charset=utf-8")


HOME_DAYS = 7  # recent announcement days linked from the home page


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
    """Categories with papers in the last days, grouped like arXiv's, each day a link."""
    latest = Paper.objects.aggregate(day=Max("announced"))["day"]
    groups = []
    if latest is not None:
        days = list(
            Paper.objects.exclude(announced=None)
            .values_list("announced", flat=True)
            .distinct()
            .order_by("-announced")[:HOME_DAYS]
        )
        # Counted on the category links alone; joining every paper would scan the collection.
        counts = (
            Paper.categories.through.objects.filter(paper__announced__in=days)
            .values_list("category_id", "paper__announced")
            .annotate(n=Count("id"))
        )
        latest_count: dict[str, tuple] = {}  # each category's latest day in the window, its count
        group_days: dict[str, set] = {}
        for code, day, n in counts:
            if code not in latest_count or day > latest_count[code][0]:
                latest_count[code] = (day, n)
            group_days.setdefault(group_of(code), set()).add(day)
        groups = home_groups(latest_count, group_days)
    return render(
        request,
        "papers/home.html",
        {"latest": latest, "groups": groups, "total": Paper.objects.count()},
    )


def home_groups(latest_count: dict[str, tuple], group_days: dict[str, set]) -> list[dict]:
    """Categories with recent papers by group (cs, math, physics, ...), with the group's list."""
    by_group: dict[str, list] = {}
    for code in sorted(latest_count):
        day, n = latest_count[code]
        by_group.setdefault(group_of(code), []).append(
            {"code": code, "name": CATEGORIES.get(code, code), "n": n, "day": day}
        )
    groups = []
    for group in sorted(by_group, key=lambda g: (g == "legacy", GROUP_NAMES.get(g, g))):
        categories = by_group[group]
        # The group's list: its archive (`cs`), or for physics the archives it has papers in.
        archives = dict.fromkeys(
            c["code"].split(".")[0] if c["code"].split(".")[0] in ARCHIVES else c["code"]
            for c in categories
        )
        spec = ",".join(archives)
        groups.append(
            {
                "name": GROUP_NAMES.get(group, group),
                "spec": spec,
                "categories": categories,
                "days": sorted(group_days.get(group, ()), reverse=True),
            }
        )
    return groups


def category_list(request: HttpRequest, spec: str) -> HttpResponse:
    if is_arxiv_id(spec):  # papers.cool's /arxiv/<id> opens the paper
        return redirect("paper", arxiv_id=normalize_arxiv_id(spec), permanent=True)
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
            "archives": [(a, GROUP_NAMES.get(a) or CATEGORIES.get(a, a)) for a in parsed.archives],
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
    if canonical != arxiv_id:  # arXiv:2605.28495, 2605.28495v2: one address per paper
        return redirect(paper, permanent=True)
    from papers.enrichment import related
    from papers.library.models import Mark
    from papers.readers.popularity import record_view

    if request.method == "GET":
        record_view(paper)

    if request.user.is_authenticated:  # opening a paper marks it read
        Mark.objects.get_or_create(user=request.user, paper=paper, kind=Mark.Kind.READ)
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
    sections = [section for section in sections if section[2]]
    also = [r.paper for _, _, items in sections for r in items]
    context = {"paper": paper, **entries_context(request, [paper], full=True, also=also)}
    builder = context["entry_builder"]
    context["related"] = [
        (
            heading,
            explained,
            list(zip(items, builder.entries([r.paper for r in items]), strict=True)),
        )
        for heading, explained, items in sections
    ]
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


@ratelimit.limited(
    "search",
    lambda request, verdict: too_many_requests(request, verdict, "searches"),
    when=lambda request: bool(request.GET.get("q", "").strip() or request.GET.get("cat")),
)
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
        response = HttpResponse(html, status=503)
        response["Retry-After"] = str(settings.SEARCH_RETRY_AFTER)
        return response
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


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page says; the icon is a static SVG."""
    from django.templatetags.static import static

    return redirect(static("favicon.svg"), permanent=True)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404s: the JSON error shape under /api/, the HTML page elsewhere."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found as html_not_found

    if request.path.startswith("/api/"):
        body = {"status": 404, "code": "not_found", "message": f"no such endpoint: {request.path}"}
        return JsonResponse(body, status=404)
    return html_not_found(request, exception)
