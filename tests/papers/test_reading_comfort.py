"""Marks on every entry, read marks from opening papers, list preferences, URL forms, accounts."""

import datetime as dt
import re

import pytest
from django.contrib.auth.models import User
from django.core import mail

from papers.ingest.upsert import upsert_records
from papers.library.models import Mark
from search.backends.base import get_search_backend

from .factories import record

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 5, 19)
PASSWORD = "a-long-enough-password-9"


@pytest.fixture
def papers():
    upsert_records(
        [
            record(
                arxiv_id="2605.00701",
                title=r"\textbf{Bold} whitening",
                categories=["cs.CL"],
                announced=DAY,
            ),
            record(arxiv_id="2605.00702", title="Manifolds", categories=["math.DG"], announced=DAY),
            record(
                arxiv_id="hep-th/9901001", title="Strings", categories=["hep-th"], announced=DAY
            ),
        ]
    )


@pytest.fixture
def reader(client):
    user = User.objects.create_user("ada", email="ada@example.org", password=PASSWORD)
    client.force_login(user)
    return user


def _marks(user) -> set:
    return set(Mark.objects.filter(user=user).values_list("paper__arxiv_id", "kind"))


@pytest.mark.parametrize(
    "url", ["/arxiv/cs.CL", "/author/ada%20lovelace", "/search?q=whitening", "/library"]
)
def test_every_list_offers_star_read_and_not_interested(client, papers, reader, url):
    get_search_backend().rebuild()
    from papers.models import Paper

    # On PostgreSQL primary keys keep counting across tests: look the paper up.
    Mark.objects.create(user=reader, paper=Paper.objects.get(arxiv_id="2605.00701"), kind="star")
    page = client.get(url).content.decode()
    for kind in ("star", "read", "not_interested"):
        assert f'formaction="/paper/2605.00701/mark/{kind}"' in page


def test_opening_the_paper_page_or_its_pdf_marks_it_read(client, papers, reader):
    client.get("/paper/2605.00701")
    response = client.get("/paper/2605.00702/pdf")
    assert response.status_code == 302 and response.url == "https://arxiv.org/pdf/2605.00702v1"
    assert _marks(reader) == {("2605.00701", "read"), ("2605.00702", "read")}
    page = client.get("/arxiv/cs.CL").content.decode()
    assert re.search(r'<article class="paper read" id="2605.00701"', page)
    assert 'aria-pressed="true" title="Mark as read' in page


def test_a_visitor_opening_a_pdf_is_sent_on_without_a_mark(client, papers):
    response = client.get("/paper/hep-th/9901001/pdf")
    assert response.url == "https://arxiv.org/pdf/hep-th/9901001v1" and not Mark.objects.exists()
    assert client.get("/paper/2605.99999/pdf").status_code == 404


def test_star_and_not_interested_exclude_each_other(client, papers, reader):
    headers = {"HTTP_ACCEPT": "application/json"}
    client.post("/paper/2605.00701/mark/star", **headers)
    response = client.post("/paper/2605.00701/mark/not_interested", **headers)
    assert response.json() == {"paper": "2605.00701", "kind": "not_interested", "marked": True}
    assert _marks(reader) == {("2605.00701", "not_interested")}


def test_hide_read_and_compact_are_remembered_for_visitors(client, papers):
    assert b'<body class="">' in client.get("/arxiv/cs.CL").content
    response = client.post(
        "/reading-view", {"hide_read": "1", "compact": "1"}, HTTP_ACCEPT="application/json"
    )
    assert response.json() == {"compact": True, "hide_read": True}
    page = client.get("/arxiv/cs.CL").content.decode()
    assert '<body class="compact hide-read">' in page and "Read papers hidden" in page
    client.post("/reading-view", {"compact": "0"})
    assert '<body class="hide-read">' in client.get("/arxiv/cs.CL").content.decode()


def test_the_paper_page_keeps_its_own_entry_when_read_papers_are_hidden(client, papers, reader):
    client.post("/reading-view", {"hide_read": "1"})
    page = client.get("/paper/2605.00701").content.decode()
    assert '<article class="paper read full" id="2605.00701"' in page


def test_a_bad_reading_view_value_is_a_clear_400(client):
    response = client.post("/reading-view", {"compact": "maybe"})
    assert response.status_code == 400 and b"expected 0 or 1" in response.content


@pytest.mark.parametrize(
    "url, target",
    [
        ("/paper/arXiv:2605.00701", "/paper/2605.00701"),
        ("/paper/arxiv:2605.00701v2", "/paper/2605.00701"),
        ("/paper/2605.00701v1", "/paper/2605.00701"),
        ("/arxiv/2605.00701", "/paper/2605.00701"),
        ("/arxiv/2605.00701v3", "/paper/2605.00701"),
        ("/arxiv/hep-th/9901001", "/paper/hep-th/9901001"),
        ("/favicon.ico", "/static/favicon.svg"),
    ],
)
def test_papers_cool_and_arxiv_url_forms_redirect(client, papers, url, target):
    response = client.get(url)
    assert response.status_code == 301 and response.url == target


def test_a_whole_archive_is_one_list(client, papers):
    page = client.get("/arxiv/math?date=2026-05-19").content.decode()
    assert "Manifolds" in page and "Bold</b> whitening" not in page and "every category" in page
    both = client.get("/arxiv/cs,math").content.decode()
    assert "Manifolds" in both and "Bold</b> whitening" in both
    feed = client.get("/arxiv/cs/feed").content.decode()
    assert "<title>Bold whitening</title>" in feed
    assert client.get("/arxiv/cs.XX").status_code == 404


def test_home_groups_categories_and_links_each_day(client, papers):
    page = client.get("/").content.decode()
    assert 'href="/arxiv/cs"' in page and 'href="/arxiv/math"' in page
    assert 'href="/arxiv/cs?date=2026-05-19"' in page
    cs_cl = page.index('href="/arxiv/cs.CL"')
    assert page.index("Computer Science") < cs_cl < page.index("Mathematics")
    assert "math.AG" not in page  # no papers: not listed


def test_titles_are_plain_in_the_tab_feeds_and_api_and_latex_in_bibtex(client, papers):
    page = client.get("/paper/2605.00701").content.decode()
    assert "<title>Bold whitening · Cool Papers</title>" in page
    assert "<b>Bold</b> whitening" in page and r"\textbf{Bold} whitening" in page  # bibtex
    assert re.search(r"@misc\{[a-z]*2026bold,", page)  # the key names a word, not a macro
    assert "<title>Bold whitening</title>" in client.get("/arxiv/cs.CL/feed").content.decode()
    api = client.get("/api/v1/papers/2605.00701").json()
    assert api["title"] == r"\textbf{Bold} whitening" and api["title_text"] == "Bold whitening"


def test_signing_up_goes_back_to_where_it_started_with_a_welcome(client, papers):
    form = client.get("/accounts/signup/?next=/arxiv/cs.CL").content.decode()
    assert 'name="next" value="/arxiv/cs.CL"' in form
    response = client.post(
        "/accounts/signup/",
        {"username": "grace", "password1": PASSWORD, "password2": PASSWORD, "next": "/arxiv/cs.CL"},
        follow=True,
    )
    assert response.redirect_chain == [("/arxiv/cs.CL", 302)]
    assert "Welcome, grace" in response.content.decode()
    assert response.context["user"].username == "grace"


def test_signing_up_never_sends_the_reader_to_another_site(client):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "eve",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "next": "https://evil.example/",
        },
    )
    assert response.status_code == 302 and response.url == "/"


def test_a_password_error_is_shown_next_to_its_field(client):
    page = client.post(
        "/accounts/signup/", {"username": "grace", "password1": "x", "password2": "y"}
    ).content.decode()
    field = page[page.index('<div class="field invalid">') :]
    field = field[: field.index("</div>")]
    assert 'id="id_password2"' in field and "didn’t match" in field


def test_logging_in_goes_back_with_a_confirmation(client, papers):
    User.objects.create_user("ada", password=PASSWORD)
    response = client.post(
        "/accounts/login/",
        {"username": "ada", "password": PASSWORD, "next": "/arxiv/cs.CL"},
        follow=True,
    )
    assert response.redirect_chain == [("/arxiv/cs.CL", 302)]
    assert "Signed in as ada." in response.content.decode()


def test_a_reader_resets_a_forgotten_password_by_email(client):
    User.objects.create_user("ada", email="ada@example.org", password=PASSWORD)
    response = client.post("/accounts/password_reset/", {"email": "ada@example.org"})
    assert response.status_code == 302 and len(mail.outbox) == 1
    assert mail.outbox[0].subject == "Reset your Cool Papers password"
    link = re.search(r"http://testserver(/accounts/reset/\S+)", mail.outbox[0].body)[1]
    form = client.get(link, follow=True)
    assert b"Choose a new password" in form.content
    new = "another-long-password-7"
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}, follow=True
    )
    assert b"Your password is changed" in done.content
    assert client.login(username="ada", password=new)


def test_a_reset_for_an_unknown_address_sends_nothing_and_says_the_same(client):
    response = client.post(
        "/accounts/password_reset/", {"email": "nobody@example.org"}, follow=True
    )
    assert b"Check your email" in response.content and mail.outbox == []


@pytest.mark.slow
def test_the_help_pages_key_phrase_example_finds_papers_on_the_sample(client, enriched):
    help_page = client.get("/search").content.decode()
    example = re.search(r"<code>(kw:[^<]+)</code>", help_page)[1].replace("&quot;", '"')
    results = client.get("/search", {"q": example}).content.decode()
    assert re.search(r'<article class="paper', results), example


def test_related_papers_carry_the_readers_marks_and_buttons(client, papers, reader, monkeypatch):
    from papers.enrichment import related
    from papers.models import Paper

    other = Paper.objects.get(arxiv_id="2605.00702")
    Mark.objects.create(user=reader, paper=other, kind="star")
    near = [related.RelatedPaper(paper=other, score=0.9, why="cosine 0.90")]
    monkeypatch.setattr(related, "by_vector", lambda paper: near)
    monkeypatch.setattr(related, "by_keywords", lambda paper: [])
    page = client.get("/paper/2605.00701").content.decode()
    item = page[page.index('id="related-2605.00702"') :]
    item = item[: item.index("</li>")]
    assert "cosine 0.90" in item and 'formaction="/paper/2605.00702/mark/read"' in item
    assert '<button class="act star on"' in item
