"""Hostile metadata stays text everywhere; every form needs its CSRF token; bad addresses fail
with the 404 or 400 page.

Payloads go in through the real ingestion paths (the upsert every source uses, and snapshot
files), then every page that shows papers is parsed as HTML and searched for live markup.
"""

import io
import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from papers.ingest.snapshot import load_snapshot
from papers.ingest.upsert import upsert_records
from papers.library.models import SavedSearch
from papers.models import Paper
from papers.names import author_key
from search.backends.base import get_search_backend

from .factories import record

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert('x')</script>"
TITLE = f'{SCRIPT} Robots <img src=x onerror=alert(1)> "><svg onload=alert(2)> **bold**'
ABSTRACT = (
    "Robots </textarea></p></details><script>alert(3)</script> with "
    '[a link](javascript:alert(4)) and <a href="javascript:alert(5)">html</a>, '
    "<iframe src=javascript:alert(6)></iframe> $\\href{javascript:alert(7)}{x}$ {{ 7|add:7 }}."
)
AUTHOR = f'{SCRIPT} Mallory" onmouseover="alert(8)'
ATOM = "{http://www.w3.org/2005/Atom}"


class LiveMarkup(HTMLParser):
    """Collects what would run or load in a browser: scripts, event handlers, javascript: URLs,
    embedded images, frames and stylesheets (the site's own, from /static/, excepted)."""

    EMBEDS = {"script", "img", "svg", "iframe", "object", "embed", "math", "base", "link"}
    OWN = {"script": "src", "link": "href"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in self.OWN and (values.get(self.OWN[tag]) or "").startswith("/static/"):
            return
        if tag in self.EMBEDS or (tag == "meta" and "http-equiv" in values):
            self.found.append(f"<{tag}> {attrs}")
        for name, value in attrs:
            url = (value or "").strip().lower()
            if name.startswith("on") or (name in URL_ATTRIBUTES and url.startswith("javascript:")):
                self.found.append(f"<{tag} {name}={value}>")


URL_ATTRIBUTES = {"href", "src", "action", "formaction"}


def live_markup(html: str) -> list[str]:
    parser = LiveMarkup()
    parser.feed(html)
    parser.close()
    return parser.found


def test_the_checker_sees_the_payloads_when_they_are_live():
    found = " ".join(live_markup(TITLE + ABSTRACT + f'<a title="{AUTHOR}">'))
    for thing in ["<script>", "<img>", "onerror", "<svg>", "onload", "javascript:alert(5)"]:
        assert thing in found
    assert "<iframe>" in found and "onmouseover" in found


def assert_inert(html: str) -> None:
    assert live_markup(html) == []
    assert "&lt;script&gt;alert(" in html  # shown, as text


@pytest.fixture
def hostile():
    """One hostile paper through the upsert, one through each snapshot format, all indexed."""
    upsert_records(
        [
            record(
                arxiv_id="2605.00701",
                title=TITLE,
                abstract=ABSTRACT,
                authors=[AUTHOR, "Ada Lovelace"],
                categories=["cs.LG"],
                comment=f"{SCRIPT} 12 pages",
                journal_ref=SCRIPT,
                doi='10.1000/x"><script>alert(9)</script>',
            )
        ]
    )
    ours = {
        "id": "2605.00702",
        "title": TITLE,
        "abstract": ABSTRACT,
        "authors": [AUTHOR],
        "categories": ["cs.LG"],
        "comment": SCRIPT,
        "crawl_date_first": "2026-05-20",
    }
    arxivs = {
        "id": "2605.00703",
        "title": TITLE,
        "abstract": ABSTRACT,
        "authors": f"{SCRIPT} Trudy and Ada Lovelace",
        "categories": "cs.LG",
        "comments": SCRIPT,
        "journal-ref": SCRIPT,
        "doi": None,
        "versions": [{"version": "v1", "created": "Mon, 18 May 2026 10:00:00 GMT"}],
    }
    lines = "".join(json.dumps(data) + "\n" for data in (ours, arxivs)).encode()
    report = load_snapshot(io.BytesIO(lines), announce=False)
    assert report.error is None and not report.skipped
    Paper.objects.filter(arxiv_id="2605.00703").update(announced="2026-05-20")
    get_search_backend().rebuild()
    return Paper.objects.order_by("arxiv_id")


@pytest.fixture
def reader(client):
    user = User.objects.create_user("reader", password="a-long-enough-password")
    client.force_login(user)
    return user


def test_hostile_metadata_went_in_as_typed(hostile):
    assert [p.title for p in hostile] == [TITLE] * 3
    assert hostile[0].author_names[0] == AUTHOR


@pytest.mark.parametrize(
    "url",
    [
        "/arxiv/cs.LG",
        "/arxiv/cs.LG?date=2026-05-20",
        "/paper/2605.00701",
        "/paper/2605.00702",
        "/paper/2605.00703",
        "/author/" + author_key(AUTHOR).replace(" ", "%20"),
        "/search?q=robots",
        "/search?q=script+alert+robots+img+onerror+javascript",
        '/search?q="script+alert"+href',
        "/search?q=robots&sort=newest",
    ],
)
def test_pages_show_hostile_metadata_as_text(client, hostile, url):
    response = client.get(url)
    assert response.status_code == 200
    assert_inert(response.content.decode())


def test_search_highlights_mark_words_around_payloads_without_opening_them(client, hostile):
    page = client.get("/search", {"q": "script onerror javascript"}).content.decode()
    assert "&lt;<mark>script</mark>&gt;alert" in page
    assert_inert(page)


def test_keyword_highlights_and_the_library_keep_payloads_as_text(client, hostile, reader):
    client.post("/keywords", {"highlight": "script\nalert\nonerror\njavascript\nhref"})
    client.post("/paper/2605.00701/mark/star")
    for url in ["/arxiv/cs.LG", "/library", "/paper/2605.00702"]:
        page = client.get(url).content.decode()
        assert "<mark>script</mark>" in page
        assert_inert(page)


def test_queries_and_saved_search_names_are_reflected_as_text(client, hostile, reader):
    query = f'{SCRIPT} "><img src=x onerror=alert(1)> robts'
    page = client.get("/search", {"q": query, "cat": '"><svg onload=alert(1)>'}).content
    assert live_markup(page.decode()) == []
    client.post("/library/searches", {"q": query, "name": TITLE})
    assert_inert(client.get("/library/searches").content.decode())
    assert_inert(client.get("/search", {"q": query}).content.decode())
    assert live_markup(client.get("/search", {"q": f"{SCRIPT} robts"}).content.decode()) == []


def test_the_api_returns_highlights_escaped(client, hostile):
    body = client.get("/api/v1/search", {"q": "script robots"}).json()
    for result in body["results"]:
        assert live_markup(result["highlights"]["title"] + result["highlights"]["abstract"]) == []
        assert result["title"] == TITLE  # JSON carries the text as it is


def feed_html(content: bytes) -> list[str]:
    """Every piece of the Atom feed a reader renders as HTML."""
    root = ET.fromstring(content)
    return [
        element.text or ""
        for element in root.iter()
        if element.get("type") in ("html", "xhtml") or element.tag == f"{ATOM}content"
    ]


def test_atom_feeds_carry_payloads_as_text(client, hostile, reader):
    saved = SavedSearch.objects.create(user=reader, name=TITLE, query="robots")
    for url in ["/arxiv/cs.LG/feed", saved.feed_url()]:
        response = client.get(url)
        root = ET.fromstring(response.content)
        titles = list(root.iter(f"{ATOM}title"))
        assert TITLE in [t.text for t in titles]
        assert all(t.get("type") in (None, "text") for t in titles)  # shown as text
        pieces = feed_html(response.content)
        assert len(pieces) == 3  # the abstracts
        for piece in pieces:
            assert live_markup(piece) == [] and "&lt;script&gt;alert(3)" in piece


# --- CSRF ---------------------------------------------------------------------------------


class Forms(HTMLParser):
    """The POST forms of a page: their action and the fields they would send."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form" and (values.get("method") or "").lower() == "post":
            self.forms.append({"action": values.get("action") or "", "fields": {}})
        elif tag in ("input", "textarea", "button") and self.forms and values.get("name"):
            self.forms[-1]["fields"][values["name"]] = values.get("value") or "x"


@pytest.fixture
def staff(db):
    user = User.objects.create_superuser("admin", password="a-long-admin-password")
    SavedSearch.objects.create(user=user, name="Mine", query="robots")
    return user


def post_forms(client: Client, urls: list[str]) -> dict[str, dict]:
    """Every POST form on these pages, by absolute action path."""
    forms = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        parser = Forms()
        parser.feed(response.content.decode())
        for form in parser.forms:
            action = urlsplit(urljoin(url, form["action"])).path
            forms[action] = form["fields"]
    return forms


PAGES = [
    "/",
    "/arxiv/cs.LG",
    "/paper/2605.00701",
    "/search?q=robots+script",
    "/library",
    "/library/searches",
    "/keywords",
    "/account",
    "/admin/papers/ingestionrun/start/api/",
    "/admin/papers/ingestionrun/start/snapshot/",
    "/admin/papers/trainingrun/",
    "/for-you",
]


def test_every_form_in_the_app_needs_its_csrf_token(hostile, staff):
    signed_in = Client()
    signed_in.force_login(staff)
    forms = post_forms(signed_in, PAGES)
    forms |= post_forms(Client(), ["/accounts/login/", "/accounts/signup/"])
    saved = SavedSearch.objects.get()
    assert set(forms) >= {
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/logout/",
        "/paper/2605.00701/mark/star",
        "/keywords",
        "/account",
        "/library/searches",
        f"/library/searches/{saved.pk}/rename",
        f"/library/searches/{saved.pk}/delete",
        "/admin/papers/ingestionrun/start/api/",
        "/admin/papers/ingestionrun/start/snapshot/",
        reverse("admin:papers_trainingrun_start"),
    }
    assert all("csrfmiddlewaretoken" in fields for fields in forms.values())

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(staff)
    for action, fields in forms.items():
        data = {k: v for k, v in fields.items() if k != "csrfmiddlewaretoken"}
        response = strict.post(action, data)
        assert response.status_code == 403, action
    assert SavedSearch.objects.get().name == "Mine"
    assert User.objects.count() == 1
    assert strict.get("/library").status_code == 200  # the logout form did not log out


def test_the_json_api_takes_tokens_not_cookies_for_writes(hostile, reader):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(reader)
    response = strict.post(
        "/api/v1/me/stars", {"id": "2605.00701"}, content_type="application/json"
    )
    assert response.status_code == 401


def test_redirects_after_forms_stay_on_this_site(client, hostile, reader):
    for target in ["https://evil.example/", "//evil.example/", "javascript:alert(1)"]:
        response = client.post("/paper/2605.00701/mark/star", {"next": target})
        assert response.url == "/paper/2605.00701"
        response = client.post("/keywords", {"next": target})
        assert response.url == "/keywords"


# --- 404 and 400 --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/arxiv/cs.XX",
        "/arxiv/cs.LG,cs.XX",
        "/arxiv/nonsense",
        "/arxiv/cs.XX/feed",
        "/paper/2605.99999",
        "/paper/not-an-id",
        "/paper/9999.99999v2",
        "/author/nobody%20at%20all",
        "/search/feed/not-a-token",
        "/no/such/page",
    ],
)
def test_unknown_categories_papers_and_pages_are_the_404_page(client, hostile, url):
    response = client.get(url)
    assert response.status_code == 404
    if not url.endswith("/feed") and "/feed/" not in url:
        assert b"<h1>Not found</h1>" in response.content


@pytest.mark.parametrize(
    "url",
    [
        "/arxiv/cs.LG?date=2026-02-30",
        "/arxiv/cs.LG?date=20-05-2026",
        "/arxiv/cs.LG?date=<script>",
        "/search?q=robots&from=2026-13-01",
        "/search?q=robots&to=yesterday",
        "/search?q=robots&from=2026-05-20&to=2026-05-01",
    ],
)
def test_bad_dates_are_the_400_page_with_the_reason(client, hostile, url):
    response = client.get(url)
    assert response.status_code == 400
    assert b"could not be understood" in response.content
    assert live_markup(response.content.decode()) == []


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_dates_at_the_ends_of_the_calendar_are_empty_days_not_errors(client, hostile, day):
    response = client.get("/arxiv/cs.LG", {"date": day})
    assert response.status_code == 200 and b"No papers announced" in response.content
