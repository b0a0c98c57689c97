"""The search page and /api/v1/search over the embedded tantivy backend."""

import datetime as dt

import pytest

from papers.ingest.upsert import upsert_records
from search.backends.base import get_search_backend

from .factories import record

pytestmark = pytest.mark.django_db


@pytest.fixture
def indexed():
    upsert_records(
        [
            record(
                arxiv_id="2605.00501",
                title="Whitening sentence embeddings",
                abstract="Whitening makes $x$ isotropic and improves retrieval.",
                categories=["cs.CL"],
                announced=dt.date(2026, 5, 18),
            ),
            record(
                arxiv_id="2605.00502",
                title="Graph neural networks for molecules",
                abstract="Message passing on molecular graphs.",
                categories=["cs.LG", "q-bio.BM"],
                announced=dt.date(2026, 5, 19),
            ),
            record(
                arxiv_id="2605.00503",
                title="<script>alert(1)</script> sentence retrieval",
                abstract="Dense retrieval of sentence pairs.",
                categories=["cs.IR"],
                announced=dt.date(2026, 5, 20),
            ),
        ]
    )
    get_search_backend().rebuild()


def test_the_search_page_explains_the_query_language_before_a_search(client, db):
    page = client.get("/search").content.decode()
    assert "How to search" in page and "ti:survey" in page


def test_results_show_highlighted_snippets_count_and_time(client, indexed):
    page = client.get("/search", {"q": "whitening"}).content.decode()
    assert "1 paper matches all your words" in page and " ms" in page
    assert "<mark>Whitening</mark> sentence embeddings" in page
    assert "Graph neural" not in page


def test_filters_and_sort_narrow_and_order_the_results(client, indexed):
    page = client.get("/search", {"q": "sentence", "cat": "cs.IR"}).content.decode()
    assert "retrieval" in page and "Whitening" not in page
    newest = client.get("/search", {"q": "sentence", "sort": "newest"}).content.decode()
    assert newest.index("2605.00503") < newest.index("2605.00501")


def test_an_arxiv_id_goes_straight_to_the_paper(client, indexed):
    response = client.get("/search", {"q": "arXiv:2605.00502v1"})
    assert response.status_code == 302 and response.url == "/paper/2605.00502"


def test_no_results_says_so_and_suggests_what_to_try(client, indexed):
    page = client.get("/search", {"q": "zebrafish"}).content.decode()
    assert "No papers match" in page


def test_a_misspelt_word_gets_a_did_you_mean_link_keeping_the_filters(client, indexed):
    page = client.get("/search", {"q": "whitenign", "cat": "cs.CL", "page": "1"})
    link = '?q=whitening&amp;cat=cs.CL&amp;page=1"><em>whitening</em></a>?'
    assert f'Did you mean <a href="{link}' in page.content.decode()
    assert "Did you mean" not in client.get("/search", {"q": "whitening"}).content.decode()


def test_suggestions_keep_the_rest_of_the_query_as_text(client, indexed):
    page = client.get("/search", {"q": 'whitenign "<script>x</script>"'}).content.decode()
    assert "<em>whitening &quot;&lt;script&gt;x&lt;/script&gt;&quot;</em>" in page
    assert "<script>x" not in page


def test_the_api_offers_the_suggestion_too(client, indexed):
    assert client.get("/api/v1/search", {"q": "retreival"}).json()["suggestion"] == "retrieval"
    assert client.get("/api/v1/search", {"q": "retrieval"}).json()["suggestion"] is None


def test_titles_with_html_stay_text_in_highlights(client, indexed):
    page = client.get("/search", {"q": "retrieval"}).content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


@pytest.mark.parametrize(
    "params",
    [
        {"q": "x", "from": "2026-99-01"},
        {"q": "x", "sort": "random"},
        {"q": "x", "page": "two"},
        {"q": "x", "page": "100000"},
    ],
)
def test_bad_parameters_give_a_400_page(client, indexed, params):
    response = client.get("/search", params)
    assert response.status_code == 400 and b"could not be understood" in response.content


@pytest.mark.parametrize(
    "q",
    ['"unbalanced', "OR", "-", "a" * 10_000, "\x1f\x7f", "🦜 ∑", "'; DROP TABLE--", "{}[]^~*?:\\/"],
)
def test_odd_queries_never_fail(client, indexed, q):
    assert client.get("/search", {"q": q}).status_code == 200


def test_a_nul_in_the_query_is_a_400_on_every_database(client, indexed):
    # PostgreSQL cannot store NUL (saved searches, logged-in pages): refused at the edge.
    response = client.get("/search", {"q": "\x00\x1f"})
    assert response.status_code == 400 and b"NUL" in response.content


def test_a_dead_search_engine_is_a_friendly_503(client, indexed, settings):
    settings.SEARCH_BACKEND = "elasticsearch"
    settings.SEARCH_BACKENDS = {
        **settings.SEARCH_BACKENDS,
        "elasticsearch": {
            **settings.SEARCH_BACKENDS["elasticsearch"],
            "URLS": ["http://127.0.0.1:9"],
        },
    }
    page = client.get("/search", {"q": "whitening"})
    assert page.status_code == 503 and b"Search is unavailable" in page.content
    api = client.get("/api/v1/search", {"q": "whitening"})
    assert api.status_code == 503 and api.json()["code"] == "unavailable"


def test_the_api_returns_scores_highlights_and_dates(client, indexed):
    body = client.get("/api/v1/search", {"q": "sentence", "page_size": 2}).json()
    assert body["total"] == 2 and body["page_size"] == 2 and body["took_ms"] >= 0
    first = body["results"][0]
    assert (
        first["score"] > 0
        and "<mark>" in first["highlights"]["title"] + first["highlights"]["abstract"]
    )
    assert {"id", "authors", "categories", "announced", "keywords", "tags"} <= set(first)


@pytest.mark.parametrize(
    "params",
    [
        {"q": "x", "page_size": 101},
        {"q": "x", "date_from": "nope"},
        {"q": "x", "sort": "best"},
        {"q": "x", "page": 0},
        {"q": "x", "date_from": "2026-05-02", "date_to": "2026-05-01"},
    ],
)
def test_the_api_refuses_bad_parameters_with_the_error_shape(client, indexed, params):
    response = client.get("/api/v1/search", params)
    body = response.json()
    assert response.status_code == 400 and body["code"] == "bad_request" and body["message"]


@pytest.mark.parametrize(
    "params",
    [
        {"q": "sentence year:9426"},
        {"q": "sentence", "from": "0001-01-01"},
        {"q": "sentence", "to": "9999-12-31"},
    ],
)
def test_dates_far_outside_the_engines_range_still_search(client, indexed, params):
    assert client.get("/search", params).status_code == 200
