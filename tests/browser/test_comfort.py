"""Reading comfort in a real Chromium: phones, keys, marks from search, sign-up, clean titles."""

import datetime as dt

import pytest
from django.contrib.auth.models import User

from papers.ingest.upsert import upsert_records
from papers.library.models import Mark
from search.backends.base import get_search_backend
from tests.browser.conftest import ARTIFACTS
from tests.papers.factories import record

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DAY = dt.date(2026, 5, 19)
PASSWORD = "correct-horse-battery-9"
LONG_AUTHORS = [f"Bartholomew Constantinopoulos-Wetherington {i}" for i in range(12)]


@pytest.fixture
def papers():
    upsert_records(
        [
            record(
                arxiv_id="2605.00501",
                title=r"\textbf{Janus-LoRA}: adapters for $\alpha$-divergences",
                abstract=r"We propose \emph{Janus-LoRA}. Code at \url{https://example.org/janus}.",
                categories=["cs.LG", "cs.CL"],
                announced=DAY,
                authors=LONG_AUTHORS,
            ),
            *[
                record(
                    arxiv_id=f"2605.0050{i}",
                    title=f"Language models that plan, part {i}",
                    abstract="Planning with language models. " * 20,
                    categories=["cs.LG"],
                    announced=DAY,
                )
                for i in range(2, 7)
            ],
        ]
    )
    get_search_backend().rebuild()


@pytest.fixture
def reader():
    return User.objects.create_user("ada", password=PASSWORD)


def _context(browser, width: int):
    return browser.new_context(viewport={"width": width, "height": 800})


def _log_in(page, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "ada")
    page.fill("#id_password", PASSWORD)
    page.click("form.account button[type=submit]")


def _overflow(page) -> int:
    """How many pixels the page is wider than the window (0: no horizontal scroll)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-screen.png"))  # what fits the window


PAGES = [
    "/",
    "/arxiv/cs.LG",
    "/arxiv/cs",
    "/paper/2605.00501",
    "/search?q=language+models",
    "/search",
    "/author/bartholomew%20constantinopoulos-wetherington%200",
    "/accounts/login/",
    "/accounts/signup/",
    "/accounts/password_reset/",
    "/keywords",
]


def test_no_page_scrolls_sideways_on_a_360_pixel_phone(browser, live_server, papers, reader):
    context = _context(browser, 360)
    page = context.new_page()
    wide = {}
    for signed_in in (False, True):
        if signed_in:
            _log_in(page, live_server.url)
        for url in PAGES + (["/library", "/for-you", "/library/searches", "/account"] * signed_in):
            page.goto(live_server.url + url)
            if overflow := _overflow(page):
                wide[(url, signed_in)] = overflow
    page.goto(f"{live_server.url}/arxiv/cs.LG")
    page.click("details.menu summary")
    assert page.locator("details.menu a", has_text="Library").is_visible()
    assert _overflow(page) == 0
    _shot(page, "phone-360-list-menu-open")
    context.close()
    assert wide == {}


def test_keyboard_moves_between_papers_stars_and_folds(browser, live_server, papers, reader):
    context = _context(browser, 1280)
    page = context.new_page()
    _log_in(page, live_server.url)
    page.goto(f"{live_server.url}/arxiv/cs.LG")
    ids = page.locator("article.paper").evaluate_all("els => els.map(e => e.id)")
    assert len(ids) == 6
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert page.locator("article.paper.current").get_attribute("id") == ids[1]
    page.keyboard.press("s")
    page.wait_for_selector(f"[id='{ids[1]}'] button.star.on")
    assert list(Mark.objects.filter(kind="star").values_list("paper__arxiv_id", flat=True)) == [
        ids[1]
    ]
    page.keyboard.press("k")
    assert page.locator("article.paper.current").get_attribute("id") == ids[0]
    page.keyboard.press("x")
    assert "folded" in page.locator(f"[id='{ids[0]}']").get_attribute("class")
    assert not page.locator(f"[id='{ids[0]}'] .abstract").is_visible()
    page.keyboard.press(" ")
    assert page.locator(f"[id='{ids[0]}'] .abstract").is_visible()
    page.keyboard.press("?")
    assert page.locator("dialog#keys").is_visible()
    _shot(page, "desktop-1280-keyboard-help")
    page.keyboard.press("Escape")
    # Collapse all is remembered: the next visit shows titles only.
    page.keyboard.press("c")
    page.wait_for_function("document.querySelectorAll('article.paper.folded').length === 6")
    page.reload()
    assert page.locator("article.paper.folded").count() == 6
    _shot(page, "desktop-1280-list-collapsed")
    page.keyboard.press("e")
    page.wait_for_function("document.querySelectorAll('article.paper.folded').length === 0")
    page.keyboard.press("j")
    page.keyboard.press("o")
    page.wait_for_url(f"**/paper/{ids[0]}")
    context.close()


def test_a_reader_stars_and_marks_read_from_search_results(browser, live_server, papers, reader):
    context = _context(browser, 390)
    page = context.new_page()
    _log_in(page, live_server.url)
    page.goto(f"{live_server.url}/search?q=language+models")
    first = page.locator("article.paper").first
    arxiv_id = first.get_attribute("id")
    first.locator("button.star").click()
    page.wait_for_selector(f"[id='{arxiv_id}'] button.star.on")
    first.locator("button.read").click()
    page.wait_for_selector(f"[id='{arxiv_id}'].read")
    marks = set(Mark.objects.values_list("paper__arxiv_id", "kind"))
    assert marks == {(arxiv_id, "star"), (arxiv_id, "read")}
    # Hide read: the paper marked read goes, the others stay.
    shown = page.locator("article.paper:visible").count()
    page.click("button.hide-read")
    page.wait_for_function(f"document.querySelector(\"[id='{arxiv_id}']\").offsetParent === null")
    assert page.locator("article.paper:visible").count() == shown - 1
    _shot(page, "phone-390-search-hide-read")
    assert _overflow(page) == 0
    context.close()


def test_opening_a_pdf_marks_the_paper_read(browser, live_server, papers, reader):
    context = _context(browser, 1280)
    page = context.new_page()
    page.route("https://arxiv.org/**", lambda route: route.fulfill(status=200, body="%PDF-1.4"))
    _log_in(page, live_server.url)
    page.goto(f"{live_server.url}/arxiv/cs.LG")
    page.locator("[id='2605.00503'] a.pdf").click()
    page.wait_for_url("https://arxiv.org/pdf/2605.00503v1")
    assert Mark.objects.filter(paper__arxiv_id="2605.00503", kind="read").exists()
    page.goto(f"{live_server.url}/arxiv/cs.LG")
    assert "read" in page.locator("[id='2605.00503']").get_attribute("class").split()
    context.close()


def test_signing_up_lands_back_on_the_page_it_started_from(browser, live_server, papers):
    context = _context(browser, 1280)
    page = context.new_page()
    page.goto(f"{live_server.url}/arxiv/cs.LG?date=2026-05-19")
    page.click("header nav.wide >> text=Sign up")
    page.fill("#id_username", "grace")
    page.fill("#id_password1", "short")
    page.fill("#id_password2", "short")
    page.click("form.account button[type=submit]")
    # The error sits under the field it is about.
    assert page.locator(".field.invalid #id_password2").count() == 1
    assert "too short" in page.locator(".field.invalid .errorlist").inner_text()
    _shot(page, "desktop-1280-signup-error")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("form.account button[type=submit]")
    page.wait_for_url("**/arxiv/cs.LG?date=2026-05-19")
    assert "Welcome, grace" in page.locator("ul.messages").inner_text()
    assert page.locator("header nav.wide >> text=Log out").is_visible()
    _shot(page, "desktop-1280-after-signup")
    context.close()


def test_a_textbf_title_is_bold_on_lists_and_plain_in_the_tab(browser, live_server, papers):
    for width in (1280, 390):
        context = _context(browser, width)
        page = context.new_page()
        page.goto(f"{live_server.url}/arxiv/cs.LG")
        title = page.locator("[id='2605.00501'] h2")
        assert title.locator("b").inner_text() == "Janus-LoRA"
        assert "\\textbf" not in title.inner_text()
        assert title.locator(".katex").count() == 1  # the maths still renders
        abstract = page.locator("[id='2605.00501'] .abstract")
        assert abstract.locator("em").inner_text() == "Janus-LoRA"
        assert abstract.locator("a").get_attribute("href") == "https://example.org/janus"
        _shot(page, f"{'desktop' if width > 800 else 'phone'}-{width}-list")
        page.goto(f"{live_server.url}/paper/2605.00501")
        assert page.title() == "Janus-LoRA: adapters for α-divergences · Cool Papers"
        _shot(page, f"{'desktop' if width > 800 else 'phone'}-{width}-paper")
        page.goto(live_server.url)
        _shot(page, f"{'desktop' if width > 800 else 'phone'}-{width}-home")
        context.close()


def test_dark_mode_follows_the_system_setting(browser, live_server, papers):
    brightness = """sel => {
      const [r, g, b] = getComputedStyle(document.querySelector(sel)).backgroundColor
        .match(/\\d+/g).map(Number);
      return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
    }"""
    for scheme in ("light", "dark"):
        context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme=scheme)
        page = context.new_page()
        page.goto(f"{live_server.url}/arxiv/cs.LG")
        body, card = page.evaluate(brightness, "body"), page.evaluate(brightness, "article.paper")
        assert (body < 0.2 and card < 0.25) if scheme == "dark" else (body > 0.9 and card > 0.9)
        _shot(page, f"desktop-1280-list-{scheme}")
        context.close()
