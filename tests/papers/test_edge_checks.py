"""NUL bytes and over-long query strings get a 400 / 414 in each surface's shape, on SQLite and
PostgreSQL alike (PostgreSQL cannot store NUL; it answered 500 on these routes before)."""

import pytest
from django.contrib.auth.models import User
from lxml import etree

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(client):
    user = User.objects.create_user("reader", password="right-horse-battery")
    client.force_login(user)
    return user


@pytest.mark.parametrize(
    "url",
    [
        "/search?q=a%00b",
        "/search?q=robots&cat=cs.CL%00",
        "/author/%00",
        "/search/feed/%00",
        "/arxiv/cs.CL?date=%00",
        "/library/searches?x%00=1",
    ],
)
def test_nul_in_any_get_gets_the_400_page(client, reader, url):
    response = client.get(url)
    assert response.status_code == 400
    assert b"NUL" in response.content


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/keywords", {"highlight": "robots\x00", "include": "", "exclude": ""}),
        ("/account", {"name": "token\x00"}),
        ("/library/searches", {"q": "a\x00b"}),
        ("/accounts/signup/", {"username": "x\x00", "password1": "p", "password2": "p"}),
        ("/accounts/login/", {"username": "reader\x00", "password": "x"}),
    ],
)
def test_nul_in_any_form_field_gets_a_400_and_changes_nothing(client, reader, url, data):
    before = User.objects.count()
    response = client.post(url, data)
    assert response.status_code == 400
    assert User.objects.count() == before


def test_nul_in_the_json_api_gets_the_api_error_shape(client):
    response = client.get("/api/v1/search", {"q": "a\x00b"})
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
    response = client.get("/api/v1/me/stars", headers={"authorization": "Bearer x\x00y"})
    assert response.status_code == 400 and response.json()["status"] == 400


def test_nul_at_api_query_gets_arxivs_error_feed(client):
    response = client.get("/api/query", {"search_query": "all:a\x00"})
    assert response.status_code == 400
    feed = etree.fromstring(response.content)
    assert (
        feed.findtext("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}title")
        == "Error"
    )


def test_a_nul_in_the_session_cookie_is_refused(client):
    client.cookies["sessionid"] = "abcdefgh\x00ijkl"
    assert client.get("/").status_code == 400


def test_a_100_kb_query_gets_a_414_in_the_api_error_shape(client):
    response = client.get("/api/v1/search", {"q": "x" * 100_000})
    assert response.status_code == 414
    assert response.json() == {
        "status": 414,
        "code": "uri_too_long",
        "message": "the query string is longer than 32,768 bytes",
    }
    assert client.get("/search", {"q": "x" * 100_000}).status_code == 414


def test_the_schema_promises_what_is_accepted(client, settings):
    settings.RATE_LIMITS = {}
    schema = client.get("/api/v1/openapi.json").json()
    q = next(p for p in schema["paths"]["/api/v1/search"]["get"]["parameters"] if p["name"] == "q")
    longest = q["schema"]["maxLength"]
    # Non-ASCII text at the longest promised length, percent-encoded, fits the query string cap.
    accepted = client.get("/api/v1/search", {"q": "é" * longest})
    assert accepted.status_code in (200, 503)
    refused = client.get("/api/v1/search", {"q": "x" * (longest + 1)})
    assert refused.status_code == 400 and refused.json()["code"] == "bad_request"


@pytest.mark.parametrize(
    "error",
    [
        OSError(28, "No space left on device"),
        __import__("django.db").db.OperationalError("database or disk is full"),
    ],
)
def test_a_full_disk_gets_a_503_not_a_500(client, monkeypatch, error):
    import papers.views

    def full(*args, **kwargs):
        raise error

    monkeypatch.setattr(papers.views, "render", full)
    response = client.get("/")
    assert response.status_code == 503 and response["Retry-After"]
    assert b"out of disk space" in response.content


def test_an_unexpected_api_error_keeps_the_api_error_shape(client, monkeypatch):
    import papers.api.endpoints

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(papers.api.endpoints.CategoryModel.objects, "filter", broken)
    response = client.get("/api/v1/categories")
    assert response.status_code == 500
    assert response.json() == {
        "status": 500,
        "code": "error",
        "message": "internal error; it has been logged",
    }
