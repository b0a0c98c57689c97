"""The server-rendered pages of the foundation: home, daily lists, paper and author pages."""

import datetime as dt

import pytest

from papers.ingest.upsert import upsert_records

from .factories import record

pytestmark = pytest.mark.django_db
DAY1, DAY2, DAY3 = dt.date(2026, 5, 18), dt.date(2026, 5, 19), dt.date(2026, 5, 20)


@pytest.fixture
def papers():
    upsert_records(
        [
            record(
                arxiv_id="2605.00101",
                title="Agents that plan",
                categories=["cs.AI"],
                announced=DAY1,
            ),
            record(
                arxiv_id="2605.00102",
                title="Parsing with grammars",
                categories=["cs.CL"],
                announced=DAY2,
            ),
            record(
                arxiv_id="2605.00103",
                title="Fair agents",
                categories=["cs.AI", "cs.CY"],
                announced=DAY2,
            ),
            record(
                arxiv_id="2605.00104",
                title="Learning to plan",
                categories=["cs.LG", "cs.AI"],
                announced=DAY2,
            ),
            record(
                arxiv_id="hep-th/9901001",
                title="Strings <b>bold</b>",
                categories=["hep-th"],
                announced=DAY3,
                authors=["Ed Witten"],
            ),
        ]
    )


def test_home_lists_categories_with_the_latest_days_counts(client, papers):
    page = client.get("/")
    assert page.status_code == 200
    assert b"cs.AI" in page.content and b"Artificial Intelligence" in page.content


def test_home_says_how_to_load_papers_when_there_are_none(client, db):
    page = client.get("/")
    assert page.status_code == 200 and b"No papers yet" in page.content


def test_a_category_list_shows_its_latest_day_including_cross_lists(client, papers):
    page = client.get("/arxiv/cs.AI")
    assert page.status_code == 200
    assert b"Fair agents" in page.content and b"Learning to plan" in page.content
    assert b"Agents that plan" not in page.content  # an earlier day
    assert b'rel="prev" href="?date=2026-05-18"' in page.content


def test_a_date_picks_the_day_and_links_its_neighbours(client, papers):
    page = client.get("/arxiv/cs.AI?date=2026-05-18")
    assert b"Agents that plan" in page.content and b"Fair agents" not in page.content
    assert b'rel="next" href="?date=2026-05-19"' in page.content


def test_combined_lists_take_unions_and_differences(client, papers):
    union = client.get("/arxiv/cs.AI,cs.CL?date=2026-05-19").content
    assert b"Parsing with grammars" in union and b"Fair agents" in union
    minus = client.get("/arxiv/cs.AI+cs.LG-cs.CY?date=2026-05-19").content
    assert b"Learning to plan" in minus and b"Fair agents" not in minus


def test_unknown_category_is_a_404_page(client, papers):
    page = client.get("/arxiv/cs.XX")
    assert page.status_code == 404 and b"Not found" in page.content


@pytest.mark.parametrize(
    "url", ["/arxiv/cs.AI?date=2026-13-01", "/arxiv/cs.AI?date=yesterday", "/arxiv/cs.AI;cs.CL"]
)
def test_bad_dates_and_list_syntax_are_a_400_page_with_the_reason(client, papers, url):
    page = client.get(url)
    assert page.status_code == 400 and b"could not be understood" in page.content


def test_a_day_without_papers_says_so(client, papers):
    page = client.get("/arxiv/cs.CL?date=2026-05-18")
    assert page.status_code == 200 and b"No papers announced" in page.content


def test_the_paper_page_shows_metadata_and_escapes_html(client, papers):
    page = client.get("/paper/hep-th/9901001")
    assert page.status_code == 200
    assert b"Strings &lt;b&gt;bold&lt;/b&gt;" in page.content and b"<b>bold</b>" not in page.content
    assert b"https://arxiv.org/abs/hep-th/9901001" in page.content


def test_a_versioned_id_finds_the_paper_and_an_unknown_one_is_404(client, papers):
    response = client.get("/paper/2605.00101v1")
    assert response.status_code == 301 and response.url == "/paper/2605.00101"
    assert client.get("/paper/2605.99999").status_code == 404
    assert client.get("/paper/not-an-id").status_code == 404


def test_author_names_link_to_a_page_of_their_papers(client, papers):
    listing = client.get("/arxiv/hep-th").content.decode()
    assert 'href="/author/ed%20witten"' in listing
    page = client.get("/author/ed%20witten")
    assert page.status_code == 200 and "Strings" in page.content.decode()
    assert client.get("/author/nobody").status_code == 404


def test_fast_link_builders_agree_with_the_url_configuration(papers):
    from django.urls import reverse

    from papers.entries import author_url, category_url, mark_url, pdf_url
    from papers.models import Paper
    from papers.names import author_key

    paper = Paper.objects.get(arxiv_id="hep-th/9901001")
    assert paper.get_absolute_url() == reverse("paper", args=[paper.arxiv_id])
    for kind in ("star", "read", "not_interested"):
        assert mark_url(paper.arxiv_id, kind) == reverse("toggle_mark", args=[paper.arxiv_id, kind])
    assert pdf_url(paper.arxiv_id) == reverse("open_pdf", args=[paper.arxiv_id])
    assert author_url("Ed Witten") == reverse("author", args=[author_key("Ed Witten")])
    assert category_url("hep-th") == reverse("category_list", args=["hep-th"])
