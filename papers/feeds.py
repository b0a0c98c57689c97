"""Atom feeds of category lists (feed readers subscribe to a daily list)."""

import datetime as dt

from django.contrib.syndication.views import Feed
from django.http import Http404, HttpRequest
from django.utils.feedgenerator import Atom1Feed

from papers.listing import BadListSpec, ListSpec, UnknownCategory
from papers.models import Paper

FEED_SIZE = 200


class PaperFeed(Feed):
    feed_type = Atom1Feed

    def item_title(self, paper: Paper) -> str:
        return paper.title

    def item_description(self, paper: Paper) -> str:
        return paper.abstract

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
