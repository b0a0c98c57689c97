import datetime as dt

from ninja import Field, Schema


class Error(Schema):
    """The one shape of every error the API returns."""

    status: int
    code: str
    message: str


class Category(Schema):
    code: str
    name: str
    group: str
    papers: int


class PaperOut(Schema):
    id: str
    version: int
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    primary_category: str
    comment: str
    journal_ref: str
    doi: str
    submitted: dt.datetime | None
    updated: dt.datetime | None
    announced: dt.date | None
    withdrawn: bool
    url: str
    pdf_url: str

    @staticmethod
    def of(paper) -> "PaperOut":
        return PaperOut(
            id=paper.arxiv_id,
            version=paper.version,
            title=paper.title,
            abstract=paper.abstract,
            authors=paper.author_names,
            categories=paper.category_codes,
            primary_category=paper.primary_category_id,
            comment=paper.comment,
            journal_ref=paper.journal_ref,
            doi=paper.doi,
            submitted=paper.submitted,
            updated=paper.updated,
            announced=paper.announced,
            withdrawn=paper.withdrawn,
            url=paper.abs_url,
            pdf_url=paper.pdf_url,
        )


class DailyList(Schema):
    categories: str
    date: dt.date | None
    previous: dt.date | None
    next: dt.date | None
    total: int
    papers: list[PaperOut]


class StarIn(Schema):
    id: str


class Stars(Schema):
    total: int
    papers: list[PaperOut]


class Highlights(Schema):
    title: str
    abstract: str


class SearchResult(Schema):
    id: str
    title: str
    authors: list[str]
    categories: list[str]
    primary_category: str
    announced: dt.date | None
    submitted: dt.datetime | None
    updated: dt.datetime | None
    score: float | None
    highlights: Highlights
    keywords: list[str]
    tags: list[dict]
    url: str


class SearchResponse(Schema):
    query: str
    total: int
    page: int
    page_size: int
    took_ms: float
    notices: list[str]
    suggestion: str | None = Field(
        None, description="The query with misspelt words corrected (first page only), if any."
    )
    results: list[SearchResult]
