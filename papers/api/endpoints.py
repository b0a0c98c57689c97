"""/api/v1 endpoints. Thin: validate, call one thing, serialize."""

import datetime as dt
from typing import Annotated, Literal

from django.db.models import Count
from django.http import HttpRequest
from ninja import Field, NinjaAPI, Query, Schema
from ninja.security import HttpBearer
from ninja.throttling import BaseThrottle

from papers import ratelimit
from papers.api.errors import ApiError, install_error_handlers
from papers.api.schemas import (
    Because,
    Category,
    DailyList,
    Error,
    Highlights,
    PaperOut,
    PaperRef,
    Recommendation,
    Recommendations,
    Related,
    RelatedOut,
    SearchResponse,
    SearchResult,
    StarIn,
    Stars,
    tags_of,
)
from papers.arxiv_ids import InvalidArxivId, normalize_arxiv_id
from papers.library.models import ApiToken, Mark
from papers.listing import BadListSpec, ListSpec, UnknownCategory, latest_day, neighbours
from papers.models import Category as CategoryModel
from papers.models import Paper


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        return ApiToken.user_for(token)


class _Throttle(BaseThrottle):
    """RATE_LIMITS[scope] per client, counted in the shared cache (see papers.ratelimit)."""

    scope: str

    def __init__(self) -> None:
        self._wait: float | None = None

    def ident(self, request: HttpRequest) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: HttpRequest) -> bool:
        ident = self.ident(request)
        verdict = ratelimit.check(self.scope, request, ident) if ident else None
        self._wait = verdict.retry_after if verdict else None
        return verdict is None or verdict.allowed

    def wait(self) -> float | None:
        return self._wait


class AnonThrottle(_Throttle):
    scope = "api"

    def ident(self, request: HttpRequest) -> str | None:
        return None if getattr(request, "auth", None) else ratelimit.client_ip(request)


class TokenThrottle(_Throttle):
    scope = "api_token"

    def ident(self, request: HttpRequest) -> str | None:
        user = getattr(request, "auth", None)
        return f"user:{user.pk}" if user else None


api = NinjaAPI(
    title="Cool Papers API",
    version="1",
    description="Search and browse arXiv papers. Every error is {status, code, message}.",
    urls_namespace="api",
    throttle=[AnonThrottle(), TokenThrottle()],
)
install_error_handlers(api)
ERRORS = {400: Error, 404: Error, 429: Error}
SEARCH_ERRORS = {400: Error, 429: Error, 503: Error}

# Dates in query strings are YYYY-MM-DD only (pydantic alone would also read `0` as 1970-01-01).
IsoDate = Annotated[
    str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", json_schema_extra={"format": "date"})
]


def _date(value: str | None, name: str) -> dt.date | None:
    from search.service import BadSearchRequest, parse_date

    try:
        return parse_date(value, name)
    except BadSearchRequest as exc:
        raise ApiError(400, str(exc)) from exc


AUTH_ERRORS = {400: Error, 401: Error, 404: Error, 429: Error}


def get_paper(arxiv_id: str) -> Paper:
    try:
        canonical = normalize_arxiv_id(arxiv_id)
    except InvalidArxivId as exc:
        raise ApiError(404, str(exc)) from exc
    paper = Paper.objects.filter(arxiv_id=canonical).first()
    if paper is None:
        raise ApiError(404, f"no paper {canonical}")
    return paper


class SearchParams(Schema):
    q: str = Field("", max_length=2_000, description="The query language of the search page.")
    categories: str = Field("", description="Comma-separated category codes, e.g. cs.CL,cs.LG")
    cross_lists: bool = Field(True, description="False: only papers whose primary category matches")
    date_from: IsoDate | None = None
    date_to: IsoDate | None = None
    sort: Literal["relevance", "newest", "popular"] = "relevance"
    page: int = Field(1, ge=1, le=10_000)
    page_size: int = Field(25, ge=1, le=100)
    rerank: bool = Field(True, description="Hybrid ranking (BM25 + vectors); false: BM25 only")


@api.get("/search", response={200: SearchResponse, **SEARCH_ERRORS}, tags=["search"])
def search(request, params: Query[SearchParams]):
    """Search papers with the same query language and ranking as the search page."""
    from search.backends.base import ResultWindowError, SearchUnavailable
    from search.service import BadSearchRequest, run_search

    try:
        result = run_search(
            params.q,
            categories=tuple(c.strip() for c in params.categories.split(",") if c.strip()),
            cross_lists=params.cross_lists,
            date_from=_date(params.date_from, "date_from"),
            date_to=_date(params.date_to, "date_to"),
            sort=params.sort,
            page=params.page,
            page_size=params.page_size,
            suggest=True,
            rerank=params.rerank,
        )
    except (BadSearchRequest, ResultWindowError) as exc:
        raise ApiError(400, str(exc)) from exc
    except SearchUnavailable as exc:
        raise ApiError(503, "search is unavailable; try again shortly") from exc
    return SearchResponse(
        query=result.query,
        total=result.total,
        available=result.available,
        page=result.page,
        page_size=result.page_size,
        took_ms=result.took_ms,
        notices=list(result.notices),
        suggestion=result.suggestion,
        reranked=result.reranked,
        results=[_search_result(row) for row in result.rows],
    )


def _search_result(row) -> SearchResult:
    paper, hit = row.paper, row.hit
    return SearchResult(
        id=paper.arxiv_id,
        title=paper.title,
        title_text=paper.title_text,
        authors=paper.author_names,
        categories=paper.category_codes,
        primary_category=paper.primary_category_id,
        announced=paper.announced,
        submitted=paper.submitted,
        updated=paper.updated,
        score=hit.score,
        matches_all_words=hit.all_terms,
        highlights=Highlights(**hit.highlights),
        keywords=paper.keywords or [],
        tags=tags_of(paper),
        url=paper.abs_url,
    )


def _related(items) -> list[RelatedOut]:
    return [
        RelatedOut(
            id=r.paper.arxiv_id,
            title=r.paper.title,
            title_text=r.paper.title_text,
            primary_category=r.paper.primary_category_id,
            announced=r.paper.announced,
            url=r.paper.get_absolute_url(),
            score=r.score,
            why=r.why,
            shared_keywords=r.shared,
        )
        for r in items
    ]


# Declared before /papers/{id}: that path converter would swallow "/related".
@api.get("/papers/{path:arxiv_id}/related", response={200: Related, **ERRORS}, tags=["papers"])
def related_papers(request, arxiv_id: str):
    """Papers related by meaning (vectors) and by key phrases (BM25), each with why."""
    from papers.enrichment import related

    paper = get_paper(arxiv_id)
    return Related(
        id=paper.arxiv_id,
        by_vector=_related(related.by_vector(paper)),
        by_keywords=_related(related.by_keywords(paper)),
    )


@api.get("/papers/{path:arxiv_id}", response={200: PaperOut, **ERRORS}, tags=["papers"])
def paper(request, arxiv_id: str):
    """One paper by arXiv id (with or without version, old style too)."""
    return PaperOut.of(get_paper(arxiv_id))


@api.get("/categories", response={200: list[Category], **ERRORS}, tags=["lists"])
def categories(request):
    """Every category that has papers, with its paper count."""
    counts = dict(
        Paper.categories.through.objects.values_list("category_id").annotate(n=Count("id"))
    )
    rows = CategoryModel.objects.filter(code__in=counts)
    return [Category(code=c.code, name=c.name, group=c.group, papers=counts[c.code]) for c in rows]


class ListParams(Schema):
    date: IsoDate | None = None


@api.get("/lists/{categories}", response={200: DailyList, **ERRORS}, tags=["lists"])
def daily_list(request, categories: str, params: Query[ListParams]):
    """The daily list of `cs.AI`, `cs.AI,cs.CL` (union) or `cs.AI+cs.LG-cs.CY` (minus)."""
    try:
        spec = ListSpec.parse(categories)
    except UnknownCategory as exc:
        raise ApiError(404, f"unknown category: {exc}") from exc
    except BadListSpec as exc:
        raise ApiError(400, str(exc)) from exc
    day = _date(params.date, "date") or latest_day(spec)
    papers = list(spec.papers().filter(announced=day).order_by("-arxiv_id")) if day else []
    previous, following = neighbours(spec, day) if day else (None, None)
    return DailyList(
        categories=str(spec),
        date=day,
        previous=previous,
        next=following,
        total=len(papers),
        papers=[PaperOut.of(p) for p in papers],
    )


def _stars(user) -> Stars:
    papers = Paper.objects.filter(marks__user=user, marks__kind=Mark.Kind.STAR).order_by(
        "-marks__created"
    )
    rows = [PaperOut.of(p) for p in papers]
    return Stars(total=len(rows), papers=rows)


@api.get("/me/stars", auth=TokenAuth(), response={200: Stars, **AUTH_ERRORS}, tags=["me"])
def my_stars(request):
    """Your starred papers, newest star first."""
    return _stars(request.auth)


@api.post("/me/stars", auth=TokenAuth(), response={200: Stars, **AUTH_ERRORS}, tags=["me"])
def star(request, body: StarIn):
    """Star a paper (starring twice is harmless)."""
    paper = get_paper(body.id)
    Mark.objects.get_or_create(user=request.auth, paper=paper, kind=Mark.Kind.STAR)
    Mark.objects.filter(user=request.auth, paper=paper, kind=Mark.Kind.NOT_INTERESTED).delete()
    return _stars(request.auth)


@api.delete(
    "/me/stars/{path:arxiv_id}", auth=TokenAuth(), response={200: Stars, **AUTH_ERRORS}, tags=["me"]
)
def unstar(request, arxiv_id: str):
    """Remove a star (removing one that is not there is harmless)."""
    paper = get_paper(arxiv_id)
    Mark.objects.filter(user=request.auth, paper=paper, kind=Mark.Kind.STAR).delete()
    return _stars(request.auth)


@api.get(
    "/me/recommendations",
    auth=TokenAuth(),
    response={200: Recommendations, **AUTH_ERRORS},
    tags=["me"],
)
def my_recommendations(request):
    """The 50 recent papers ranked highest for you from your stars and not-interested marks."""
    from papers.enrichment.for_you import recommend_for

    result = recommend_for(request.auth)
    return Recommendations(
        since=result.since,
        seeds=[
            PaperRef(
                id=p.arxiv_id, title=p.title, title_text=p.title_text, url=p.get_absolute_url()
            )
            for p in result.seeds
        ],
        message=result.reason,
        results=[
            Recommendation(
                paper=PaperOut.of(pick.paper),
                score=pick.score,
                because=[
                    Because(id=p.arxiv_id, title=p.title, title_text=p.title_text, cosine=c)
                    for p, c in pick.because
                ],
                shared_keywords=pick.shared,
            )
            for pick in result.picks
        ],
    )
