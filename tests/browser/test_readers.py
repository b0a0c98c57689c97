"""Popular papers, digests, library import and For you controls, in a real Chromium."""

import datetime as dt

import pytest

from papers.ingest.upsert import upsert_records
from tests.papers.factories import record

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DAY = dt.date(2026, 5, 20)  # the factory default


@pytest.fixture
def papers():
    upsert_records(
        [
            record(
                arxiv_id="2605.00501",
                title="Older but visited",
                categories=["cs.LG"],
                announced=DAY,
            ),
            record(
                arxiv_id="2605.00502", title="Newest and quiet", categories=["cs.LG"], announced=DAY
            ),
        ]
    )


def test_a_visitor_finds_the_papers_others_visit_under_popular(page, live_server, papers, settings):
    settings.POPULARITY_FLUSH_SECONDS = 0
    for _ in range(2):
        page.goto(f"{live_server.url}/paper/2605.00501")
    page.goto(f"{live_server.url}/arxiv/cs.LG")
    titles = page.locator("article.paper h2")
    assert titles.all_inner_texts() == ["Newest and quiet", "Older but visited"]
    page.locator(".sort a", has_text="popular").click()
    page.wait_for_url("**sort=popular")
    assert titles.all_inner_texts() == ["Older but visited", "Newest and quiet"]
    page.locator("header nav a", has_text="Popular").click()
    assert page.locator(".popular-entry .counts").all_inner_texts() == [
        "0 stars · 0 reads · 2 visits"
    ]
    page.get_by_role("link", name="Today").click()
    assert titles.all_inner_texts() == ["Older but visited"]
