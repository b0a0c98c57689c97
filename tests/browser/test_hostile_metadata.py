"""Hostile titles, abstracts and names never run in a real Chromium, math rendering included."""

import datetime as dt

import pytest

from papers.ingest.upsert import upsert_records
from search.backends.base import get_search_backend
from tests.papers.factories import record
from tests.papers.test_security import ABSTRACT, AUTHOR, TITLE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def hostile():
    upsert_records(
        [
            record(
                arxiv_id="2605.00801",
                title=TITLE,
                abstract=ABSTRACT,
                authors=[AUTHOR],
                categories=["cs.LG"],
                announced=dt.date(2026, 5, 20),
            )
        ]
    )
    get_search_backend().rebuild()


def test_pages_with_hostile_metadata_run_none_of_it(page, live_server, hostile):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    for path in ["/arxiv/cs.LG", "/paper/2605.00801", "/search?q=robots+script"]:
        page.goto(live_server.url + path)
        page.wait_for_selector(".abstract .katex, .snippet .katex", state="attached")
        assert page.locator("a[href^='javascript:'], img, iframe, svg").count() == 0, path
        assert "<script>alert('x')</script> Robots" in page.locator("article.paper h2").inner_text()
    assert dialogs == []
