"""Papers as entries of a list (templates/papers/_entries.html), their HTML pieces built here.

A daily list shows a couple of hundred papers with a dozen links each. Looping over authors and
categories in the template cost about 0.3 ms a paper; building the same links here costs a small
fraction of that, and the template keeps the markup around them. Everything taken from a paper is
escaped here: titles, abstracts, names and keywords can hold markup.
"""

import re
from collections.abc import Iterable, Sequence
from html import escape  # django.utils.html.escape is this plus a SafeString wrapper
from urllib.parse import quote

from django.http import HttpRequest
from django.template.backends.utils import csrf_input
from django.utils.safestring import SafeString

from papers.library.keywords import KeywordFilter
from papers.library.reader import reader_context
from papers.models import Paper
from papers.names import author_key
from papers.taxonomy import CATEGORIES, split_by_listing
from papers.texmacros import to_html

# What an entry of a list shows of the enrichment; the paper page shows all of it.
LIST_TAGS = 3
LIST_KEYWORDS = 5
# The fields an entry reads: long lists load only these (`.only(*ENTRY_FIELDS)`).
ENTRY_FIELDS = (
    "arxiv_id",
    "version",
    "title",
    "abstract",
    "author_names",
    "category_codes",
    "announced",
    "tags",
    "keywords",
)


def entries_context(
    request: HttpRequest,
    papers: Sequence[Paper],
    keywords: KeywordFilter | None = None,
    *,
    full: bool = False,
    also: Sequence[Paper] = (),
) -> dict:
    """The reader's context (reader_context) plus `entries`, for pages including _entries.html.

    `full` (the paper page) shows every tag and keyword and opens the abstract. `also` are
    papers shown elsewhere on the page (related papers): their marks are read in the same query,
    and `entry_builder.entries(...)` makes their entries.
    """
    context = reader_context(request, [*papers, *also], keywords)
    builder = EntryBuilder(request, context["keywords"], context["marks"])
    context["entries"] = builder.entries(papers, full=full)
    context["entry_builder"] = builder
    # Set even when False: a template variable that is missing costs an exception per entry.
    context["open"] = full or not context["reading"]["compact"]
    read = context["marks"]["read"]
    context["read_hidden"] = (
        sum(p.pk in read for p in papers) if context["reading"]["hide_read"] and not full else 0
    )
    return context


class EntryBuilder:
    """Entries for one request: the reader's marks and keywords, one CSRF field for every form."""

    def __init__(self, request: HttpRequest, keywords: KeywordFilter, marks: dict[str, set]):
        self.keywords = keywords
        self.marks = marks
        self.here = escape(request.get_full_path())
        # Made once: the {% csrf_token %} tag took about a tenth of a daily list's render time.
        self.csrf = str(csrf_input(request))

    def entries(self, papers: Iterable[Paper], *, full: bool = False) -> list[dict]:
        """One dict per paper, values escaped or safe HTML; `full` keeps every tag and keyword."""
        n_keywords = None if full else LIST_KEYWORDS
        mark = self.keywords.mark if self.keywords.highlights else None  # None: cached HTML
        starred, read = self.marks["star"], self.marks["read"]
        dismissed = self.marks["not_interested"]
        # Dicts, not objects: the template engine tries item lookup first, so dicts resolve fastest.
        return [
            {
                "id": paper.arxiv_id,
                "url": paper.get_absolute_url(),
                "state": entry_state(paper.pk in starred, paper.pk in read, paper.pk in dismissed)
                + (" full" if full else ""),
                "title": to_html(paper.title, mark),
                "abstract": to_html(paper.abstract, mark),
                "authors": author_links(paper.author_names),
                "meta": meta_line(paper),
                "topics": topics(
                    paper.tags,
                    paper.keywords[:n_keywords],
                    self.keywords,
                    paper.category_codes,
                    full,
                ),
                "actions": self.actions(
                    paper.arxiv_id, paper.pk in starred, paper.pk in read, paper.pk in dismissed
                ),
            }
            for paper in papers
        ]

    def actions(self, arxiv_id: str, starred: bool, read: bool, dismissed: bool) -> SafeString:
        """Star, Mark read and Not interested: one form (no-JS fallback), a button each."""
        arxiv_id = escape(arxiv_id)
        return SafeString(
            f'<form method="post" action="{mark_url(arxiv_id, "star")}" class="actions">'
            f'{self.csrf}<input type="hidden" name="next" value="{self.here}#{arxiv_id}">'
            + _button("star", arxiv_id, starred)
            + _button("read", arxiv_id, read)
            + _button("not_interested", arxiv_id, dismissed)
            + '<button type="button" class="act fold" aria-expanded="true" '
            'title="Show or hide the abstract (x)">Abstract</button></form>'
        )  # the id is escaped, the rest are constants


# Each mark's button: (label when off, label when on, title, keyboard key).
_BUTTONS = {
    "star": ("☆ Star", "★ Starred", "Keep in your library", "s"),
    "read": ("Mark read", "✓ Read", "Mark as read (opening the paper or its PDF does too)", "r"),
    "not_interested": ("Not interested", "✕ Not interested", "Show fewer papers like this", "n"),
}


def _button(kind: str, arxiv_id: str, on: bool) -> str:
    off_label, on_label, title, key = _BUTTONS[kind]
    css = {"star": "star", "read": "read", "not_interested": "dismiss"}[kind]
    return (
        f'<button class="act {css}{" on" if on else ""}" formaction="{mark_url(arxiv_id, kind)}" '
        f'aria-pressed="{"true" if on else "false"}" title="{title} ({key})" '
        f'data-on="{on_label}" data-off="{off_label}">{on_label if on else off_label}</button>'
    )


def entry_state(starred: bool, read: bool, dismissed: bool) -> str:
    """The article's classes for the reader's marks on it."""
    return (
        "paper"
        + (" starred" if starred else "")
        + (" read" if read else "")
        + (" dismissed" if dismissed else "")
    )


# Link builders. Building the paths directly is several times faster than reverse();
# tests/papers/test_browser_views.py checks they equal what reverse() gives.
def author_url(name: str) -> str:
    """The author page of a name as printed on a paper."""
    return "/author/" + _quote(author_key(name))


def category_url(code: str) -> str:
    return "/arxiv/" + code


def mark_url(arxiv_id: str, kind: str) -> str:
    """Where a mark's button posts (papers.library.views.toggle_mark)."""
    return f"/paper/{arxiv_id}/mark/{kind}"


def pdf_url(arxiv_id: str) -> str:
    """The PDF through papers.library.views.open_pdf, which marks the paper read."""
    return f"/paper/{arxiv_id}/pdf"


def keyword_search_url(phrase: str) -> str:
    """The search for papers with this key phrase: `kw:"..."` (see search/query.py)."""
    unquoted = phrase.replace('"', " ")  # a quote inside would end the phrase early
    return "/search?q=kw%3A%22" + _quote(unquoted, safe="") + "%22"


# Most names and phrases are plain ASCII words: quote() would give the same, more slowly.
_PLAIN = re.compile(r"[A-Za-z0-9_.~ -]*")


def _quote(text: str, safe: str = "/") -> str:
    """urllib.parse.quote(text, safe), fast for plain words and spaces."""
    if _PLAIN.fullmatch(text):
        return text.replace(" ", "%20")
    return quote(text, safe=safe)


# HTML pieces. quote() leaves only characters that need no escaping in an attribute.
# SafeString(), not mark_safe(): its lazy-string wrapper cost more than the escaping here.
def author_links(names: Iterable[str]) -> SafeString:
    """The names, comma separated, each a link to the author's page."""
    links = (f'<a href="{author_url(name)}">{escape(name)}</a>' for name in names)
    return SafeString(", ".join(links))  # names escaped, paths percent-encoded


def meta_line(paper: Paper) -> SafeString:
    """The arXiv and PDF links, the categories and the day the paper was announced."""
    parts = [
        f'<a class="id" href="{escape(paper.abs_url)}">arXiv:{escape(paper.arxiv_id)}</a>',
        f' · <a class="pdf" href="{escape(pdf_url(paper.arxiv_id))}">PDF</a> ',
        category_links(paper.category_codes),
    ]
    if paper.announced:
        parts.append(f" · {paper.announced.isoformat()}")
    return SafeString("".join(parts))  # built from escaped pieces


def category_links(codes: Sequence[str]) -> SafeString:
    """The paper's arXiv categories, primary first."""
    links = []
    for position, code in enumerate(codes):
        code = escape(code)
        if position == 0:
            links.append(
                f'<a class="cat primary" href="/arxiv/{code}" title="primary category">{code}</a>'
            )
        else:
            links.append(f'<a class="cat" href="/arxiv/{code}">{code}</a>')
    return SafeString("".join(links))  # every code escaped


def topics(
    tags: Sequence[Sequence],
    phrases: Sequence[str],
    keywords: KeywordFilter,
    listed: Sequence[str] = (),
    full: bool = False,
) -> SafeString:
    """The enrichment's line: what the tagger adds, then key phrases; "" before enrichment.

    Predicted categories the paper is not listed in come first ("also fits cs.IR 64%", the top
    LIST_TAGS in lists); the paper page also shows how well each listed category fits.
    """
    added, confirmed = split_by_listing(tags, listed)
    if not full:
        added, confirmed = added[:LIST_TAGS], []
    if not added and not confirmed and not phrases:
        return SafeString()
    parts = ['<p class="topics">']
    title = "Categories predicted from the title and abstract"
    if added:
        parts.append(f'<span class="tags" title="{title}">also fits {tag_links(added)}</span> ')
    if confirmed:
        parts.append(
            f'<span class="tags listed" title="{title}">fits its listing '
            f"{tag_links(confirmed)}</span> "
        )
    if phrases:
        parts.append(f'<span class="keywords">{keyword_links(phrases, keywords)}</span>')
    parts.append("</p>")
    return SafeString("".join(parts))  # built from the escaped pieces below


def tag_links(tags: Iterable[Sequence]) -> SafeString:
    """Predicted `[category, confidence]` pairs as `cs.LG 92%`, the category's name in a title."""
    links = []
    for code, confidence in tags:
        # Floor, at most 99%: a confidence of 0.996 is not certainty.
        percent = min(int(float(confidence) * 100), 99)
        name = escape(CATEGORIES.get(code, code))
        code = escape(code)
        title = f"{name} (predicted, {percent}% confidence)"
        links.append(
            f'<a class="tag" href="/arxiv/{code}" title="{title}">'
            f'{code} <span class="confidence">{percent}%</span></a>'
        )
    return SafeString(" ".join(links))  # codes and names escaped


def keyword_links(phrases: Iterable[str], keywords: KeywordFilter) -> SafeString:
    """Key phrases, each a link to a search for it, with the reader's highlights marked."""
    links = (
        f'<a class="kw" href="{keyword_search_url(phrase)}">{keywords.mark(phrase)}</a>'
        for phrase in phrases
    )
    return SafeString(" ".join(links))  # mark() escapes, the URL is percent-encoded
