"""Bounded fuzzing of every public GET route and the JSON API: no input gives a 5xx.

Fixed seed and a time budget, so it is repeatable and stays fast; hostile characters (NUL,
controls, quotes, markup, very long text) are mixed into every path segment and parameter, for
an anonymous visitor and a signed-in reader alike.
"""

import os
import time
from urllib.parse import quote, urlencode

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from papers.ingest.upsert import upsert_records
from papers.library.models import SavedSearch
from search.backends.base import get_search_backend
from tests.papers.factories import record

BUDGET_SECONDS = float(os.environ.get("FUZZ_SECONDS", 40))
HOSTILE = [
    "\x00",
    "\x01",
    "\x1f",
    "\x7f",
    "\ufffe",
    "%00",
    "%",
    "'",
    '"',
    "<script>",
    "../",
    "a" * 3000,
    " ",
    "",
    "-1",
    "0",
    "99999999999999999999",
    "cs.CL",
    "cs.AI+cs.LG-cs.CY",
    "2605.01001",
    "hep-th/9901001v2",
    "2026-02-30",
    "ti:robots AND au:smith",
    "(",
    "OR",
]
text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
    st.lists(st.sampled_from(HOSTILE), max_size=4).map("".join),
)
params = st.dictionaries(
    st.sampled_from(
        [
            "q",
            "cat",
            "from",
            "to",
            "sort",
            "page",
            "primary",
            "rank",
            "date",
            "filter",
            "search_query",
            "id_list",
            "start",
            "max_results",
            "sortBy",
            "sortOrder",
            "categories",
            "cross_lists",
            "date_from",
            "date_to",
            "page_size",
            "rerank",
            "x",
        ]
    ),
    text,
    max_size=5,
)

# Every public GET route, as (template, number of free path segments).
ROUTES = {
    "home": "/",
    "search": "/search",
    "saved_search_feed": "/search/feed/{}",
    "category_list": "/arxiv/{}",
    "category_feed": "/arxiv/{}/feed",
    "paper": "/paper/{}",
    "author": "/author/{}",
    "arxiv_query": "/api/query",
    "library": "/library",
    "for_you": "/for-you",
    "library_bibtex": "/library/export.bib",
    "library_json": "/library/export.json",
    "saved_searches": "/library/searches",
    "keywords": "/keywords",
    "account": "/account",
    "signup": "/accounts/signup/",
    "login": "/accounts/login/",
    "password_reset": "/accounts/password_reset/",
    "api:search": "/api/v1/search",
    "api:paper": "/api/v1/papers/{}",
    "api:related_papers": "/api/v1/papers/{}/related",
    "api:categories": "/api/v1/categories",
    "api:daily_list": "/api/v1/lists/{}",
    "api:my_stars": "/api/v1/me/stars",
    "api:my_recommendations": "/api/v1/me/recommendations",
    "api:openapi-json": "/api/v1/openapi.json",
    "favicon": "/favicon.ico",
    "open_pdf": "/paper/{}/pdf",
    "popular": "/popular",
    "import_library": "/library/import",
    "digest_settings": "/account/digest",
    "digest_unsubscribe": "/digest/unsubscribe/{}",
}
# Routes that are not pages (POST-only actions) or not public (the admin, auth's own flows).
NOT_FUZZED = {
    "toggle_mark",
    "reading_view",
    "for_you_mute",
    "for_you_reset",
    "rename_saved_search",
    "delete_saved_search",
    "logout",
    "password_change",
    "password_change_done",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "api:api-root",
    "api:openapi-view",
    "api:star",
    "api:unstar",
}


def _names(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            if p.app_name == "admin":
                continue
            yield from _names(p.url_patterns, f"{p.namespace}:" if p.namespace else prefix)
        elif isinstance(p, URLPattern) and p.name:
            yield prefix + p.name


def test_every_public_route_is_fuzzed():
    names = set(_names(get_resolver().url_patterns))
    assert "search" in names and "api:search" in names
    assert names - NOT_FUZZED - set(ROUTES) == set()


@pytest.fixture
def site(db, settings):
    settings.RATE_LIMITS = {}
    upsert_records(
        [
            record(
                arxiv_id="2605.01001", title="Robots <b>learn</b> to walk", authors=["Ann Smith"]
            ),
            record(arxiv_id="2605.01002", title="Graphs and codes", categories=["cs.IT", "cs.CL"]),
        ]
    )
    get_search_backend().rebuild()
    user = User.objects.create_user("reader", password="right-horse-battery")
    SavedSearch.objects.create(user=user, query="robots", name="robots")
    signed_in = Client(raise_request_exception=False)
    signed_in.force_login(user)
    return {"anonymous": Client(raise_request_exception=False), "signed in": signed_in}


@pytest.mark.django_db
def test_no_input_to_any_get_route_gives_a_server_error(site):
    deadline = time.monotonic() + BUDGET_SECONDS
    failures = []

    @seed(int(os.environ.get("FUZZ_SEED", 13)))
    @settings(
        max_examples=int(os.environ.get("FUZZ_EXAMPLES", 400)),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        route=st.sampled_from(sorted(ROUTES)),
        segment=text,
        query=params,
        who=st.sampled_from(["anonymous", "signed in"]),
    )
    def probe(route, segment, query, who):
        if time.monotonic() > deadline:
            return
        path = ROUTES[route].format(quote(segment, safe="") or "x")
        url = f"{path}?{urlencode(query)}" if query else path
        response = site[who].get(url)
        if response.status_code >= 500:
            failures.append((who, url, response.status_code))
        assert response.status_code < 500, (who, url, response.content[:300])

    probe()
    assert not failures
