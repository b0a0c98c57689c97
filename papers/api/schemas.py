import datetime as dt

from ninja import Field, Schema

from papers.taxonomy import split_by_listing


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


class Tag(Schema):
    """A category the tagger predicts, with its calibrated confidence in (0, 1): the share of
    such predictions that were right on papers held out from training. A prediction just over
    the tagger's threshold may read below 50%: rare categories are predicted on less than even
    odds, which lifts their recall."""

    category: str
    confidence: float
    listed: bool = Field(
        description="The paper is listed in this category (aliases such as cs.SY = eess.SY "
        "folded); false when the tag adds a category arXiv does not list."
    )


def tags_of(paper) -> list[Tag]:
    """Tags the paper is not listed in first, then the listed ones, each best first."""
    added, listed = split_by_listing(paper.tags or [], paper.category_codes)
    return [Tag(category=c, confidence=conf, listed=False) for c, conf in added] + [
        Tag(category=c, confidence=conf, listed=True) for c, conf in listed
    ]


TITLE_TEXT = "The title as plain text: LaTeX text macros and maths flattened"


class PaperOut(Schema):
    id: str
    version: int
    title: str
    title_text: str = Field(description=TITLE_TEXT)
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
    keywords: list[str]
    tags: list[Tag]

    @staticmethod
    def of(paper) -> "PaperOut":
        return PaperOut(
            id=paper.arxiv_id,
            version=paper.version,
            title=paper.title,
            title_text=paper.title_text,
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
            keywords=paper.keywords or [],
            tags=tags_of(paper),
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
    title_text: str = Field(description=TITLE_TEXT)
    authors: list[str]
    categories: list[str]
    primary_category: str
    announced: dt.date | None
    submitted: dt.datetime | None
    updated: dt.datetime | None
    score: float | None
    matches_all_words: bool = Field(
        description="Holds every word of the query (false: ranked in for some words or meaning)"
    )
    highlights: Highlights
    keywords: list[str]
    tags: list[Tag]
    url: str


class SearchResponse(Schema):
    query: str
    total: int = Field(
        description="Papers matching every word, phrase, field and filter (newest-first lists "
        "and feeds hold only these)"
    )
    available: int = Field(
        description="Results the pages reach: `total` plus, sorted by relevance, papers with "
        "some of the words or close in meaning"
    )
    page: int
    page_size: int
    took_ms: float
    notices: list[str]
    suggestion: str | None = Field(
        None, description="The query with misspelt words corrected (first page only), if any."
    )
    reranked: bool = Field(description="True when the top results are in hybrid order")
    results: list[SearchResult]


class PaperRef(Schema):
    id: str
    title: str
    title_text: str = Field(description=TITLE_TEXT)
    url: str


class RelatedOut(Schema):
    id: str
    title: str
    title_text: str = Field(description=TITLE_TEXT)
    primary_category: str
    announced: dt.date | None
    url: str
    score: float
    why: str = Field(description="Why it is related, in words")
    shared_keywords: list[str]


class Related(Schema):
    id: str
    by_vector: list[RelatedOut] = Field(description="Nearest by whitened sentence embeddings")
    by_keywords: list[RelatedOut] = Field(
        description="BM25 matches for the paper's key phrases, the closest in meaning first"
    )


class Because(Schema):
    id: str
    title: str
    title_text: str = Field(description=TITLE_TEXT)
    cosine: float


class Recommendation(Schema):
    paper: PaperOut
    score: float
    because: list[Because] = Field(description="Your starred papers nearest to this one")
    shared_keywords: list[str]


class Recommendations(Schema):
    since: dt.date | None
    seeds: list[PaperRef] = Field(description="The starred papers the model learned from")
    message: str = Field(description="Why there are no results, when there are none")
    results: list[Recommendation]
