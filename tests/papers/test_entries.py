"""Entries on lists and paper pages: predicted tags and keywords, escaping, a fixed query count."""

import datetime as dt
import re
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from papers.ingest.upsert import upsert_records
from papers.library.models import Mark
from papers.models import Paper
from search.backends.base import get_search_backend

from .factories import record

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 5, 19)
ENRICHED, PLAIN = "2605.00601", "2605.00602"
TAGS = [["cs.LG", 0.923], ["stat.ML", 0.71], ["cs.IR", 0.64], ["cs.AI", 0.52]]
KEYWORDS = [
    "sentence embeddings",
    "whitening",
    "isotropy",
    "retrieval",
    "contrastive loss",
    "anisotropy",
]


@pytest.fixture
def papers():
    upsert_records(
        [
            record(
                arxiv_id=ENRICHED,
                title="Whitening sentence embeddings",
                categories=["cs.CL"],
                announced=DAY,
                authors=["Ada Lovelace"],
            ),
            record(
                arxiv_id=PLAIN,
                title="Parsing with grammars",
                categories=["cs.CL"],
                announced=DAY,
                authors=["Ada Lovelace"],
            ),
        ]
    )
    Paper.objects.filter(arxiv_id=ENRICHED).update(
        tags=TAGS, keywords=KEYWORDS, enriched_version="test-1"
    )


def _article(page: str, arxiv_id: str) -> str:
    match = re.search(rf'<article class="paper[^"]*" id="{re.escape(arxiv_id)}"', page)
    assert match, f"no entry for {arxiv_id}"
    return page[match.start() : page.index("</article>", match.start())]


@pytest.mark.parametrize("url", ["/arxiv/cs.CL", "/author/ada%20lovelace", f"/paper/{ENRICHED}"])
def test_enriched_papers_show_predicted_tags_with_confidence_and_keyword_links(client, papers, url):
    entry = _article(client.get(url).content.decode(), ENRICHED)
    assert 'class="topics"' in entry
    title = "Machine Learning (predicted, 92% confidence)"
    assert f'<a class="tag" href="/arxiv/cs.LG" title="{title}">' in entry
    assert 'cs.LG <span class="confidence">92%</span>' in entry
    assert 'href="/search?q=kw%3A%22sentence%20embeddings%22">sentence embeddings</a>' in entry


def test_predicted_tags_look_unlike_the_papers_arxiv_categories(client, papers):
    entry = _article(client.get("/arxiv/cs.CL").content.decode(), ENRICHED)
    assert '<a class="cat primary" href="/arxiv/cs.CL"' in entry
    assert 'class="tag" href="/arxiv/cs.LG"' in entry
    assert 'class="cat" href="/arxiv/cs.LG"' not in entry


@pytest.mark.parametrize("url", ["/arxiv/cs.CL", "/author/ada%20lovelace", f"/paper/{PLAIN}"])
def test_papers_not_enriched_yet_show_no_tags_or_keywords(client, papers, url):
    entry = _article(client.get(url).content.decode(), PLAIN)
    assert "topics" not in entry and 'class="tag"' not in entry and 'class="kw"' not in entry


def test_lists_show_the_top_tags_and_keywords_and_the_paper_page_all_of_them(client, papers):
    listed = _article(client.get("/arxiv/cs.CL").content.decode(), ENRICHED)
    assert listed.count('class="tag"') == 3 and "cs.AI <span" not in listed
    assert listed.count('class="kw"') == 5 and "anisotropy" not in listed
    page = _article(client.get(f"/paper/{ENRICHED}").content.decode(), ENRICHED)
    assert page.count('class="tag"') == 4 and "cs.AI <span" in page
    assert page.count('class="kw"') == 6 and ">anisotropy</a>" in page


def test_a_keyword_link_searches_for_papers_with_that_keyword(client, papers):
    get_search_backend().rebuild()
    response = client.get("/search?q=kw%3A%22contrastive%20loss%22")
    page = response.content.decode()
    assert response.status_code == 200 and "1 paper matches all your words" in page
    assert f'id="{ENRICHED}"' in page and f'id="{PLAIN}"' not in page
    assert 'cs.LG <span class="confidence">92%</span>' in _article(page, ENRICHED)


def test_keywords_carry_the_readers_highlights(client, papers):
    client.post("/keywords", {"highlight": "embeddings"})
    entry = _article(client.get("/arxiv/cs.CL").content.decode(), ENRICHED)
    assert '%22">sentence <mark>embeddings</mark></a>' in entry


def test_html_in_keywords_and_tags_is_shown_as_text(client, papers):
    Paper.objects.filter(arxiv_id=ENRICHED).update(
        tags=[['"><script>alert(1)</script>', 0.9]],
        keywords=["<img src=x onerror=alert(1)>", 'say "hi"'],
    )
    for url in ["/arxiv/cs.CL", f"/paper/{ENRICHED}"]:
        entry = _article(client.get(url).content.decode(), ENRICHED)
        assert "<script>" not in entry and "<img" not in entry
        assert "&lt;img src=x onerror=alert(1)&gt;" in entry
        assert "say &quot;hi&quot;</a>" in entry and "kw%3A%22say%20%20hi%20%22" in entry


def test_a_daily_list_costs_the_same_queries_whatever_its_length(client, papers):
    with CaptureQueriesContext(connection) as short:
        client.get(f"/arxiv/cs.CL?date={DAY}")
    upsert_records([record(categories=["cs.CL"], announced=DAY) for _ in range(30)])
    with CaptureQueriesContext(connection) as long:
        page = client.get(f"/arxiv/cs.CL?date={DAY}")
    assert b"32 papers" in page.content
    assert len(long.captured_queries) == len(short.captured_queries)


def test_templates_are_compiled_once_not_per_request():
    from django.template import engines
    from django.template.loaders.cached import Loader

    assert isinstance(engines["django"].engine.template_loaders[0], Loader)


def test_the_star_forms_on_a_list_carry_a_working_csrf_token(papers):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(User.objects.create_user("reader", password="a-long-enough-password"))
    entry = _article(strict.get("/arxiv/cs.CL").content.decode(), ENRICHED)
    form = re.search(r'<form method="post" action="([^"]+)".*?</form>', entry, re.DOTALL)
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form[0]))
    assert form[1] == f"/paper/{ENRICHED}/mark/star" and fields["csrfmiddlewaretoken"]
    response = strict.post(form[1], fields)
    assert response.status_code == 302 and response.url == f"/arxiv/cs.CL#{ENRICHED}"
    assert Mark.objects.filter(paper__arxiv_id=ENRICHED, kind="star").count() == 1


def test_a_visitor_pressing_star_on_search_results_is_sent_to_log_in_and_back(client, papers):
    get_search_backend().rebuild()
    entry = _article(client.get("/search?q=whitening").content.decode(), ENRICHED)
    action = re.search(r'formaction="([^"]+/mark/star)"', entry)[1]
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', entry)[1]
    response = client.post(
        action, {"csrfmiddlewaretoken": csrf, "next": f"/search?q=whitening#{ENRICHED}"}
    )
    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=" + quote(f"/search?q=whitening#{ENRICHED}")
    assert not Mark.objects.exists()


def test_abstracts_show_on_lists_unless_the_reader_folds_them(client, papers):
    assert "folded" not in _article(client.get(f"/paper/{PLAIN}").content.decode(), PLAIN)
    assert "folded" not in _article(client.get("/arxiv/cs.CL").content.decode(), PLAIN)
    response = client.post("/reading-view", {"compact": "1", "next": "/arxiv/cs.CL"})
    assert response.status_code == 302 and response.url == "/arxiv/cs.CL"
    assert "folded" in _article(client.get("/arxiv/cs.CL").content.decode(), PLAIN)
    # The paper page always shows its abstract.
    assert "folded" not in _article(client.get(f"/paper/{PLAIN}").content.decode(), PLAIN)


def test_tags_show_what_they_add_to_the_listing_aliases_folded(client, papers):
    Paper.objects.filter(arxiv_id=ENRICHED).update(
        category_codes=["cs.CL", "cs.SY"],
        tags=[["cs.CL", 0.999], ["eess.SY", 0.8], ["cs.IR", 0.72]],
    )
    listed = _article(client.get("/arxiv/cs.CL").content.decode(), ENRICHED)
    assert "also fits <a" in listed and 'cs.IR <span class="confidence">72%</span>' in listed
    # Listed categories (cs.SY is eess.SY under another code) are not repeated as news.
    assert listed.count('class="tag"') == 1 and "fits its listing" not in listed
    page = _article(client.get(f"/paper/{ENRICHED}").content.decode(), ENRICHED)
    assert "fits its listing" in page
    assert 'cs.CL <span class="confidence">99%</span>' in page  # never shown as 100%
    assert 'eess.SY <span class="confidence">80%</span>' in page


def test_the_api_says_which_tags_the_paper_is_listed_in(client, papers):
    Paper.objects.filter(arxiv_id=ENRICHED).update(
        category_codes=["cs.CL", "cs.SY"], tags=[["eess.SY", 0.8], ["cs.IR", 0.72]]
    )
    tags = client.get(f"/api/v1/papers/{ENRICHED}").json()["tags"]
    assert tags == [
        {"category": "cs.IR", "confidence": 0.72, "listed": False},
        {"category": "eess.SY", "confidence": 0.8, "listed": True},
    ]
