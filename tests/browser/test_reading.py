"""What a visitor and a reader do, in a real Chromium."""

import datetime as dt

import pytest
from django.contrib.auth.models import User

from papers.ingest.upsert import upsert_records
from papers.library.models import Mark
from search.backends.base import get_search_backend
from tests.papers.factories import record

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DAY = dt.date(2026, 5, 19)


@pytest.fixture
def papers():
    upsert_records(
        [
            record(
                arxiv_id="2605.00401",
                title="Scaling laws with $\\alpha > 1$ exponents",
                abstract="The cost grows as $\\Theta(D^\\alpha)$ for diffusion models.",
                categories=["cs.LG"],
                announced=DAY,
            ),
            record(
                arxiv_id="2605.00402",
                title="Language models that plan",
                abstract="Planning with language models.",
                categories=["cs.LG", "cs.CL"],
                announced=DAY,
            ),
        ]
    )
    get_search_backend().rebuild()


def test_a_visitor_searches_opens_a_paper_and_sees_rendered_math(page, live_server, papers):
    page.goto(live_server.url)
    page.fill("header input[name=q]", "scaling diffusion")
    page.keyboard.press("Enter")
    page.wait_for_selector("article.paper")
    assert page.locator("article.paper mark").count() >= 1
    page.locator("article.paper h2 a").first.click()
    page.wait_for_selector(".abstract .katex")
    assert page.url.endswith("/paper/2605.00401")
    assert "$" not in page.locator(".abstract").inner_text()


def test_a_visitor_opens_a_paper_and_sees_rendered_math(page, live_server, papers):
    page.goto(f"{live_server.url}/arxiv/cs.LG")
    page.get_by_role("link", name="Scaling laws").click()
    page.wait_for_selector(".abstract .katex")
    assert page.locator(".abstract .katex").count() == 1
    assert "$" not in page.locator(".abstract").inner_text()


def test_a_reader_signs_up_stars_a_paper_and_finds_it_in_the_library(page, live_server, papers):
    page.goto(f"{live_server.url}/accounts/signup/")
    page.fill("#id_username", "ada")
    page.fill("#id_password1", "correct-horse-battery-9")
    page.fill("#id_password2", "correct-horse-battery-9")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/arxiv/cs.LG")
    star = page.locator("[id='2605.00402'] button.star")
    star.click()
    page.wait_for_selector("[id='2605.00402'] button.star.on")
    assert Mark.objects.filter(user__username="ada", kind="star").count() == 1
    page.click("text=Library")
    assert page.locator("article.paper h2").all_inner_texts() == ["Language models that plan"]
    page.click("text=For you")
    assert page.locator("ul.seeds li").all_inner_texts() == ["Language models that plan"]


@pytest.mark.slow
def test_a_reader_gets_explained_recommendations_and_related_papers(page, live_server, enriched):
    from django.contrib.auth.models import User

    user = User.objects.create_user("grace", password="correct-horse-battery-9")
    for paper in enriched.filter(primary_category="cs.CL").order_by("pk")[:3]:
        Mark.objects.create(user=user, paper=paper, kind=Mark.Kind.STAR)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "grace")
    page.fill("#id_password", "correct-horse-battery-9")
    page.click("button[type=submit]")

    page.goto(f"{live_server.url}/for-you")
    assert page.locator(".pick").count() >= 10
    assert "Because you starred" in page.locator(".pick .why").first.inner_text()
    page.locator(".pick article.paper h2 a").first.click()
    page.wait_for_selector("section.related")
    assert page.locator("section.related li").count() >= 2
    assert "cosine" in page.locator("section.related").inner_text()


def test_a_keyword_filter_hides_papers_and_can_be_switched_off(page, live_server, papers):
    page.goto(f"{live_server.url}/keywords")
    page.fill("textarea[name=exclude]", "language models")
    page.fill("textarea[name=highlight]", "diffusion")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/arxiv/cs.LG")
    assert page.locator("article.paper").count() == 1
    assert page.locator("mark").first.text_content().lower() == "diffusion"
    page.click("text=show all")
    assert page.locator("article.paper").count() == 2


def test_a_reader_saves_a_search_and_runs_it_from_the_list(page, live_server, papers):
    get_search_backend().rebuild()
    User.objects.create_user("ada", password="correct-horse-battery-9")
    page.goto(f"{live_server.url}/accounts/login/?next=/search%3Fq%3Dlanguge%2Bmodels")
    page.fill("#id_username", "ada")
    page.fill("#id_password", "correct-horse-battery-9")
    page.click("button[type=submit]")
    page.click("text=language models")  # did you mean
    page.click("text=Save this search")
    page.wait_for_selector("text=Saved as")
    page.click("header >> text=Searches")
    page.click("ul.saved-searches a.name")
    assert page.locator("article.paper h2").first.inner_text() == "Language models that plan"
    assert page.locator("form.search input[name=q]").input_value() == "language models"
