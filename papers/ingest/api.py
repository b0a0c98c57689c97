"""The arXiv API (Atom): `search_query` and `id_list` queries, paged politely."""

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from lxml import etree

from papers.arxiv_ids import InvalidArxivId, parse_arxiv_id
from papers.ingest.http import ArxivHttpClient
from papers.ingest.records import Batch, Failure, PaperRecord, PayloadError, RecordError
from papers.ingest.xmldoc import child_text, parse_datetime, parse_xml

NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "arxiv": "http://arxiv.org/schemas/atom",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
}
# arXiv category terms look like `cs.LG` or `hep-th`; other terms (`I.2.6`, `68T05`) are ACM and
# MSC classes, which we keep as such rather than reject as unknown categories.
_ARXIV_CATEGORY_SHAPE = re.compile(r"^[a-z-]+(?:\.[A-Za-z-]+)?$")
SORT_BY = ("relevance", "lastUpdatedDate", "submittedDate")
SORT_ORDER = ("ascending", "descending")


class ArxivApiError(PayloadError):
    """The API answered with an error feed (e.g. `incorrect id format for abc`)."""


@dataclass
class ApiPage:
    start: int
    total: int
    records: list[PaperRecord] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.records) + len(self.failures)


def parse_api_feed(content: bytes, source: str = "the arXiv API") -> ApiPage:
    """Turn one Atom response into records; an error feed raises ArxivApiError."""
    root = parse_xml(content, source)
    if root.tag != f"{{{NS['atom']}}}feed":
        raise PayloadError(f"{source} did not answer with an Atom feed but <{root.tag}>")
    entries = root.findall("atom:entry", NS)
    for entry in entries:
        if "/api/errors" in child_text(entry, "atom:id", NS):
            raise ArxivApiError(f"arXiv API error: {child_text(entry, 'atom:summary', NS)}")
    start = int(child_text(root, "opensearch:startIndex", NS) or 0)
    page = ApiPage(start=start, total=int(child_text(root, "opensearch:totalResults", NS) or 0))
    for position, entry in enumerate(entries, start=start):
        raw_id = child_text(entry, "atom:id", NS)
        try:
            page.records.append(entry_to_record(entry))
        except (RecordError, InvalidArxivId, ValueError) as exc:
            page.failures.append(Failure(str(exc), raw_id, f"result {position}"))
    return page


def entry_to_record(entry: etree._Element) -> PaperRecord:
    """One Atom `<entry>` as a PaperRecord."""
    parsed = parse_arxiv_id(child_text(entry, "atom:id", NS))
    primary = entry.find("arxiv:primary_category", NS)
    terms = [c.get("term", "") for c in entry.findall("atom:category", NS)]
    if primary is not None and primary.get("term"):
        terms.insert(0, primary.get("term", ""))
    categories = [t for t in terms if _ARXIV_CATEGORY_SHAPE.match(t)]
    other = [t for t in dict.fromkeys(terms) if t and not _ARXIV_CATEGORY_SHAPE.match(t)]
    published = parse_datetime(child_text(entry, "atom:published", NS))
    updated = parse_datetime(child_text(entry, "atom:updated", NS)) or published
    version = parsed.version
    return PaperRecord(
        arxiv_id=parsed.id,
        version=version,
        title=child_text(entry, "atom:title", NS),
        abstract=child_text(entry, "atom:summary", NS),
        authors=[child_text(a, "atom:name", NS) for a in entry.findall("atom:author", NS)],
        categories=categories,
        other_classes=other,
        comment=child_text(entry, "arxiv:comment", NS),
        journal_ref=child_text(entry, "arxiv:journal_ref", NS),
        doi=child_text(entry, "arxiv:doi", NS),
        submitted=published,
        updated=updated,
        # The feed dates only the version it returns; earlier versions come from other sources.
        versions=[(version, updated, "")] if version else [],
    )


class ArxivApiClient:
    """Runs API queries page by page, at most one call per 3 seconds (arXiv's rule)."""

    def __init__(
        self,
        http: ArxivHttpClient | None = None,
        *,
        base_url: str | None = None,
        page_size: int = 100,
    ):
        self.http = http or ArxivHttpClient()
        self.base_url = base_url or settings.ARXIV_API_URL
        self.page_size = page_size

    def query(
        self,
        *,
        search_query: str = "",
        id_list: Sequence[str] = (),
        start: int = 0,
        max_results: int = 100,
        sort_by: str = "",
        sort_order: str = "",
    ) -> ApiPage:
        """One call to the API; an error feed (HTTP 400) raises ArxivApiError with its message."""
        params: dict[str, str | int] = {
            "search_query": search_query,
            "id_list": ",".join(id_list),
            "start": start,
            "max_results": max_results,
        }
        if sort_by:
            params["sortBy"] = sort_by
        if sort_order:
            params["sortOrder"] = sort_order
        response = self.http.get(self.base_url, params=params)
        source = f"the arXiv API ({response.request.url})"
        if response.status_code != 200:
            try:
                parse_api_feed(response.content, source)
            except ArxivApiError:
                raise
            except PayloadError:
                pass
            raise ArxivApiError(f"HTTP {response.status_code} from {source}")
        return parse_api_feed(response.content, source)

    def batches(
        self,
        *,
        search_query: str = "",
        id_list: Sequence[str] = (),
        limit: int | None = None,
        start: int = 0,
        sort_by: str = "",
        sort_order: str = "",
    ) -> Iterator[Batch]:
        """Every page of a query from `start`, up to `limit` results (all when None).

        Each batch's checkpoint is the `start` of the next page, so a retried run resumes there.
        An `id_list` is sent in slices of `page_size` ids, and `start` counts ids.
        """
        if id_list:
            ids = list(id_list)
            end = len(ids) if limit is None else min(limit, len(ids))
            while start < end:
                chunk = ids[start : min(start + self.page_size, end)]
                page = self.query(id_list=chunk, max_results=len(chunk))
                start += len(chunk)
                yield Batch(page.records, page.failures, checkpoint={"start": start}, total=end)
            return
        while True:
            page_size = self.page_size if limit is None else min(self.page_size, limit - start)
            if page_size <= 0:
                return
            page = self.query(
                search_query=search_query,
                start=start,
                max_results=page_size,
                sort_by=sort_by,
                sort_order=sort_order,
            )
            end = page.total if limit is None else min(limit, page.total)
            if page.size == 0:
                if start < end:
                    # arXiv sometimes answers a page with no entries under load; the run fails
                    # here, keeps its checkpoint, and a retry asks for this page again.
                    raise PayloadError(
                        f"the arXiv API returned an empty page at start={start} of {end} results"
                    )
                return
            start += page.size
            yield Batch(page.records, page.failures, checkpoint={"start": start}, total=end)
            if start >= end:
                return
