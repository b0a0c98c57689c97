"""Atom feeds of category lists and of saved searches, for feed readers."""

import datetime as dt

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.feedgenerator import Atom1Feed

from papers.library.models import SavedSearch
from papers.listing import BadListSpec, ListSpec, UnknownCategory
from papers.models import Paper
from papers.texmacros import to_html
from search.backends.base import SearchUnavailable, Sort
from search.service import run_search

FEED_SIZE = 200


class PaperFeed(Feed):
    feed_type = Atom1Feed

    def item_title(self, paper: Paper) -> str:
        return paper.title_text  # Atom titles are text: macros flattened

    def item_description(self, paper: Paper) -> str:
        # Atom sends this as <summary type="html">: the abstract's macros as tags, all else
        # escaped, so it stays text in readers (maths stays as LaTeX).
        return to_html(paper.abstract)

    def item_link(self, paper: Paper) -> str:
        return paper.get_absolute_url()

    def item_guid(self, paper: Paper) -> str:
        return f"arxiv:{paper.arxiv_id}"

    item_guid_is_permalink = False

    def item_author_name(self, paper: Paper) -> str:
        return ", ".join(paper.author_names)

    def item_pubdate(self, paper: Paper) -> dt.datetime | None:
        if paper.announced is None:
            return None
        return dt.datetime.combine(paper.announced, dt.time(), tzinfo=dt.UTC)

    def item_updateddate(self, paper: Paper) -> dt.datetime:
        return paper.updated_at

    def item_categories(self, paper: Paper) -> list[str]:
        return paper.category_codes


class CategoryFeed(PaperFeed):
    def get_object(self, request: HttpRequest, spec: str) -> ListSpec:
        try:
            return ListSpec.parse(spec)
        except (UnknownCategory, BadListSpec) as exc:
            raise Http404(str(exc)) from exc

    def title(self, spec: ListSpec) -> str:
        return f"arXiv {spec} · Cool Papers"

    def link(self, spec: ListSpec) -> str:
        return f"/arxiv/{spec}"

    def subtitle(self, spec: ListSpec) -> str:
        return f"Papers announced in {spec}, newest first."

    def items(self, spec: ListSpec):
        return spec.papers().exclude(announced=None).order_by("-announced", "-arxiv_id")[:FEED_SIZE]


class SavedSearchFeed(PaperFeed):
    """The newest papers matching a saved search; the unguessable token stands in for a login."""

    def __call__(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return super().__call__(request, *args, **kwargs)
        except SearchUnavailable:
            response = HttpResponse(
                "Search is unavailable; try again shortly.\n", status=503, content_type="text/plain"
            )
            response["Retry-After"] = str(settings.SEARCH_RETRY_AFTER)
            return response

    def get_object(self, request: HttpRequest, token: str) -> SavedSearch:
        return get_object_or_404(SavedSearch, feed_token=token)

    def title(self, saved: SavedSearch) -> str:
        return f"{saved.name} · Cool Papers"

    def link(self, saved: SavedSearch) -> str:
        return saved.search_url()

    def subtitle(self, saved: SavedSearch) -> str:
        where = f" in {saved.categories.replace(',', ', ')}" if saved.categories else ""
        return f"Newest papers matching {saved.query or 'anything'}{where}."

    def items(self, saved: SavedSearch) -> list[Paper]:
        result = run_search(
            saved.query,
            categories=saved.category_codes,
            sort=Sort.NEWEST,
            page_size=min(FEED_SIZE, settings.SEARCH_MAX_PAGE_SIZE),
        )
        return [row.paper for row in result.rows]
