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
    page.locator("header nav.wide a", has_text="Popular").click()
    assert page.locator(".popular-entry .counts").all_inner_texts() == [
        "0 stars · 0 reads · 2 visits"
    ]
    page.get_by_role("link", name="Today").click()
    assert titles.all_inner_texts() == ["Older but visited"]


def _log_in(page, live_server, name="ada"):
    from django.contrib.auth.models import User

    User.objects.create_user(name, password="correct-horse-battery-9")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", name)
    page.fill("#id_password", "correct-horse-battery-9")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_a_reader_imports_a_bibtex_library_and_sees_what_matched(page, live_server, papers):
    _log_in(page, live_server)
    page.goto(f"{live_server.url}/library")
    page.get_by_role("link", name="import").click()
    broken = {"name": "broken.bib", "mimeType": "text/plain", "buffer": b"@article{x, title={oops"}
    page.set_input_files("input[name=file]", files=[broken])
    page.get_by_role("button", name="Import").click()
    assert (
        "Nothing was imported: no entry could be read (line 1"
        in page.get_by_role("alert").inner_text()
    )
    bib = (
        b"@misc{a, title={Older but visited}, eprint={2605.00501}, archivePrefix={arXiv}}\n"
        b"@misc{b, title={Someone else's paper}, eprint={2605.99999}, archivePrefix={arXiv}}\n"
    )
    page.set_input_files(
        "input[name=file]", files=[{"name": "mine.bib", "mimeType": "text/plain", "buffer": bib}]
    )
    page.get_by_role("button", name="Import").click()
    assert page.locator("ul.matched li a").all_inner_texts() == ["Older but visited"]
    assert "arXiv:2605.99999 is not in this database" in page.locator("ul.unmatched").inner_text()
    page.get_by_role("link", name="See what For you picks now").click()
    assert page.locator("ul.seeds li").all_inner_texts() == ["Older but visited"]


def test_a_reader_opts_in_to_a_digest_and_unsubscribes_from_the_email(
    page, browser, live_server, papers, settings, mailoutbox, monkeypatch
):
    import re
    import time

    from django.contrib.auth.models import User

    from papers.library.models import SavedSearch
    from papers.readers.digests import send_due_digests, unsubscribe_token
    from search.backends.base import get_search_backend

    settings.SITE_URL = live_server.url
    get_search_backend().rebuild()
    _log_in(page, live_server)
    SavedSearch.objects.create(user=User.objects.get(), name="visited", query="visited")
    page.goto(f"{live_server.url}/account")
    page.get_by_role("link", name="Email digest").click()
    page.get_by_label("Daily").check()
    page.get_by_role("button", name="Save").click()
    assert "a digest needs an email address" in page.get_by_role("alert").inner_text()
    page.fill("#id_email", "ada@example.org")
    page.get_by_role("button", name="Save").click()
    assert "A daily digest will go to ada@example.org." in page.locator(".messages").inner_text()
    assert send_due_digests()["sent"] == 1
    (message,) = mailoutbox
    assert "Older but visited" in message.body
    link = re.search(r"http://\S+/digest/unsubscribe/\S+", message.body)[0]
    stranger = browser.new_context().new_page()  # not logged in
    stranger.goto(link)
    assert "You are unsubscribed" in stranger.locator("main").inner_text()
    stranger.context.close()
    assert send_due_digests()["sent"] == 0
    long_ago = time.time() - 61 * 86400
    monkeypatch.setattr(time, "time", lambda: long_ago)
    expired = unsubscribe_token(User.objects.get())
    monkeypatch.undo()
    page.goto(f"{live_server.url}/digest/unsubscribe/{expired}")
    assert "This unsubscribe link has expired" in page.get_by_role("alert").inner_text()


@pytest.mark.slow
def test_a_reader_sees_what_for_you_learnt_mutes_a_star_and_resets_marks(
    page, live_server, enriched
):
    from django.contrib.auth.models import User

    from papers.library.models import Mark

    _log_in(page, live_server, "grace")
    user = User.objects.get()
    for paper in enriched.filter(primary_category="cs.CV").order_by("pk")[:3]:
        Mark.objects.create(user=user, paper=paper, kind=Mark.Kind.STAR)
    page.goto(f"{live_server.url}/for-you")
    learnt = page.locator("section.learnt")
    assert "You like papers about:" in learnt.inner_text()
    for i in (0, 1):  # the buttons mark in place (the page's script); wait for each answer
        page.locator(".pick button.dismiss").nth(i).click()
        page.wait_for_selector(f'.pick >> nth={i} >> button.dismiss[aria-pressed="true"]')
    strongest = page.locator("ul.strongest li a").first.inner_text()
    page.locator("ul.strongest li").first.get_by_role("button").click()
    assert "no longer learns from" in page.locator(".messages").inner_text()
    assert page.locator("ul.muted-seeds li a").all_inner_texts() == [strongest]
    assert strongest not in page.locator("ul.seeds").inner_text()
    page.get_by_role("button", name="Reset 2 not-interested marks").click()
    assert "Cleared 2 not-interested marks." in page.locator(".messages").inner_text()
    assert Mark.objects.filter(user=user, kind=Mark.Kind.NOT_INTERESTED).count() == 0
