"""Readers' accounts: stars, the library and its exports, keyword lists, feeds."""

import datetime as dt
import json

import feedparser
import pytest
from django.contrib.auth.models import User
from django.test import Client

from papers.ingest.upsert import upsert_records
from papers.library.models import KeywordPreferences, Mark

from .factories import record

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 5, 19)


@pytest.fixture
def papers():
    upsert_records(
        [
            record(
                arxiv_id="2605.00201",
                title="Diffusion models for proteins",
                abstract="We sample $x_t$ from a diffusion process.",
                categories=["cs.LG"],
                announced=DAY,
                authors=["Marie Curie"],
            ),
            record(
                arxiv_id="2605.00202",
                title="Large language models that reason",
                abstract="Reasoning with chains of thought.",
                categories=["cs.CL", "cs.LG"],
                announced=DAY,
            ),
            record(
                arxiv_id="2605.00203",
                title="<script>alert('x')</script> Robots",
                abstract="<img src=x onerror=alert(1)> **bold**",
                categories=["cs.LG"],
                announced=DAY,
                authors=["<b>Mallory</b>"],
            ),
        ]
    )


@pytest.fixture
def reader(client):
    user = User.objects.create_user("reader", password="a-long-enough-password")
    client.force_login(user)
    return user


def test_signing_up_creates_an_account_and_logs_in(client):
    response = client.post(
        "/accounts/signup/",
        {"username": "newbie", "password1": "pass-phrase-9071", "password2": "pass-phrase-9071"},
    )
    assert response.status_code == 302
    assert client.get("/").context["user"].username == "newbie"


def test_starring_twice_unstars_and_the_json_answer_says_which(client, papers, reader):
    url = "/paper/2605.00201/mark/star"
    first = client.post(url, headers={"accept": "application/json"}).json()
    assert first == {"paper": "2605.00201", "kind": "star", "marked": True}
    assert Mark.objects.filter(user=reader, kind="star").count() == 1
    second = client.post(url, headers={"accept": "application/json"}).json()
    assert second["marked"] is False and not Mark.objects.exists()


def test_starring_clears_not_interested_and_vice_versa(client, papers, reader):
    client.post("/paper/2605.00201/mark/not_interested")
    client.post("/paper/2605.00201/mark/star")
    assert list(Mark.objects.values_list("kind", flat=True)) == ["star"]


def test_anonymous_visitors_are_asked_to_sign_in_to_star(client, papers):
    response = client.post("/paper/2605.00201/mark/star", headers={"accept": "application/json"})
    assert response.status_code == 401 and not Mark.objects.exists()
    assert client.post("/paper/2605.00201/mark/star").url.startswith("/accounts/login/")


def test_marks_need_a_csrf_token(papers, reader):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(reader)
    assert strict.post("/paper/2605.00201/mark/star").status_code == 403
    assert not Mark.objects.exists()


def test_unknown_marks_and_papers_are_refused(client, papers, reader):
    assert client.post("/paper/2605.00201/mark/love").status_code == 400
    assert client.post("/paper/2605.99999/mark/star").status_code == 404


def test_the_library_lists_starred_papers_and_exports_them(client, papers, reader):
    client.post("/paper/2605.00201/mark/star")
    page = client.get("/library").content.decode()
    assert "Diffusion models for proteins" in page and "Large language models" not in page
    bib = client.get("/library/export.bib").content.decode()
    assert bib.startswith("@misc{curie2026diffusion,") and "eprint={2605.00201}" in bib
    exported = json.loads(client.get("/library/export.json").content)
    assert [p["id"] for p in exported["papers"]] == ["2605.00201"]


def test_the_library_needs_an_account(client):
    assert client.get("/library").status_code == 302


def test_the_empty_library_explains_how_to_fill_it(client, reader):
    assert b"Nothing here yet" in client.get("/library").content


def test_keyword_filters_keep_and_hide_papers_on_lists(client, papers, reader):
    client.post(
        "/keywords", {"highlight": "diffusion", "include": "", "exclude": "language models"}
    )
    assert KeywordPreferences.objects.get(user=reader).exclude == ["language models"]
    page = client.get("/arxiv/cs.LG").content.decode()
    assert "<mark>Diffusion</mark> models" in page
    assert "Large language models" not in page and "1 hidden" in page
    unfiltered = client.get("/arxiv/cs.LG?filter=off").content.decode()
    assert "Large language models" in unfiltered


def test_highlights_never_land_inside_math(client, papers, reader):
    client.post("/keywords", {"highlight": "x_t\nsample"})
    page = client.get("/arxiv/cs.LG").content.decode()
    assert "We <mark>sample</mark> $x_t$" in page


def test_anonymous_keyword_lists_live_in_the_session(client, papers):
    client.post("/keywords", {"include": "robots"})
    page = client.get("/arxiv/cs.LG").content.decode()
    assert "Robots" in page and "Diffusion models" not in page


def test_html_in_titles_abstracts_and_names_is_shown_as_text(client, papers, reader):
    client.post("/keywords", {"highlight": "robots"})
    for url in ["/arxiv/cs.LG", "/paper/2605.00203"]:
        page = client.get(url).content.decode()
        assert "<script>alert" not in page and "&lt;script&gt;alert" in page
        assert "<img src=x" not in page and "<b>Mallory</b>" not in page


def test_category_lists_have_valid_atom_feeds(client, papers):
    response = client.get("/arxiv/cs.LG/feed")
    feed = feedparser.parse(response.content)
    assert response["Content-Type"].startswith("application/atom+xml")
    assert not feed.bozo and feed.version == "atom10"
    assert {e.title for e in feed.entries} >= {"Diffusion models for proteins"}
    assert client.get("/arxiv/cs.XX/feed").status_code == 404


def test_the_paper_page_has_a_bibtex_citation_and_math_rendering(client, papers):
    page = client.get("/paper/2605.00201").content.decode()
    assert "@misc{curie2026diffusion," in page and "archivePrefix={arXiv}" in page
    assert "vendor/katex/katex.min.js" in page
