"""Saved searches: saving from the search page, the list, renaming, deleting, private feeds."""

import datetime as dt

import feedparser
import pytest
from django.contrib.auth.models import User

from papers.ingest.upsert import upsert_records
from papers.library.models import SavedSearch
from search.backends.base import get_search_backend

from .factories import record

pytestmark = pytest.mark.django_db


@pytest.fixture
def indexed():
    upsert_records(
        [
            record(
                arxiv_id="2605.00601",
                title="Whitening sentence embeddings",
                abstract="Whitening makes embeddings isotropic.",
                categories=["cs.CL"],
                announced=dt.date(2026, 5, 18),
            ),
            record(
                arxiv_id="2605.00602",
                title="Whitening for graph retrieval",
                abstract="Whitening node embeddings helps retrieval.",
                categories=["cs.IR"],
                announced=dt.date(2026, 5, 20),
            ),
            record(
                arxiv_id="2605.00603",
                title="Whitening in sentence retrieval, revisited",
                abstract="Sentence embeddings, whitened again.",
                categories=["cs.CL"],
                announced=dt.date(2026, 5, 19),
            ),
            record(
                arxiv_id="2605.00604",
                title="Protein folding",
                abstract="Nothing to do with the others.",
                categories=["q-bio.BM"],
                announced=dt.date(2026, 5, 21),
            ),
        ]
    )
    get_search_backend().rebuild()


@pytest.fixture
def reader(client):
    user = User.objects.create_user("reader", password="a-long-enough-password")
    client.force_login(user)
    return user


def save(client, **data):
    return client.post("/library/searches", data)


def test_signed_in_readers_get_a_save_form_with_a_sensible_name(client, indexed, reader):
    page = client.get("/search", {"q": "whitening", "cat": "cs.cl"}).content.decode()
    assert 'action="/library/searches"' in page and "csrfmiddlewaretoken" in page
    assert 'name="name" value="whitening in cs.CL"' in page
    assert 'name="q" value="whitening"' in page and 'name="cat" value="cs.cl"' in page


def test_anonymous_visitors_are_asked_to_log_in_to_save(client, indexed):
    page = client.get("/search", {"q": "whitening"}).content.decode()
    assert "Save this search" not in page
    assert 'href="/accounts/login/?next=/search%3Fq%3Dwhitening">Log in</a> to save' in page


def test_saving_keeps_the_query_and_categories_and_returns_to_the_results(client, indexed, reader):
    response = save(client, q="  whitening   sentence ", cat="cs.cl cs.IR", name="")
    saved = SavedSearch.objects.get(user=reader)
    assert (saved.query, saved.categories) == ("whitening sentence", "cs.CL,cs.IR")
    assert saved.name == "whitening sentence in cs.CL, cs.IR"
    assert response.status_code == 302 and response.url == saved.search_url()
    assert response.url == "/search?q=whitening+sentence&cat=cs.CL%2Ccs.IR"
    page = client.get(response.url).content.decode()
    assert "Saved “whitening sentence in cs.CL, cs.IR”." in page
    assert "Saved as <a" in page and saved.feed_url() in page
    assert "Save this search" not in page


def test_saving_the_same_search_twice_keeps_one(client, indexed, reader):
    save(client, q="whitening", name="Mine")
    save(client, q="whitening ", name="Again")
    assert list(SavedSearch.objects.values_list("name", flat=True)) == ["Mine"]


def test_a_category_alone_can_be_saved_but_nothing_cannot(client, indexed, reader):
    save(client, q="", cat="cs.IR")
    assert SavedSearch.objects.get().name == "cs.IR"
    response = save(client, q="  ", cat="")
    assert response.status_code == 400 and b"needs a query or a category" in response.content
    assert b"__all__" not in response.content
    assert SavedSearch.objects.count() == 1


def test_long_queries_get_a_shortened_name_and_overlong_fields_are_refused(client, indexed, reader):
    save(client, q="whitening " * 90)
    name = SavedSearch.objects.get().name
    assert len(name) == 200 and name.endswith("…")
    response = save(client, q="whitening", name="x" * 201)
    assert response.status_code == 400 and b"name:" in response.content


def test_saving_needs_an_account(client, indexed):
    response = save(client, q="whitening")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    assert not SavedSearch.objects.exists()


def test_the_list_runs_renames_and_deletes_saved_searches(client, indexed, reader):
    save(client, q="whitening", cat="cs.CL", name="Whitening <b>news</b>")
    saved = SavedSearch.objects.get()
    page = client.get("/library/searches").content.decode()
    assert f'href="{saved.search_url().replace("&", "&amp;")}"' in page
    assert "Whitening &lt;b&gt;news&lt;/b&gt;" in page and "<b>news</b>" not in page
    assert f'href="/search/feed/{saved.feed_token}"' in page

    client.post(f"/library/searches/{saved.pk}/rename", {"name": "Whitening weekly"})
    assert SavedSearch.objects.get().name == "Whitening weekly"
    client.post(f"/library/searches/{saved.pk}/rename", {"name": " "})
    assert SavedSearch.objects.get().name == "whitening in cs.CL"

    response = client.post(f"/library/searches/{saved.pk}/delete")
    assert response.status_code == 302 and not SavedSearch.objects.exists()
    assert b"No saved searches yet" in client.get("/library/searches").content


def test_other_readers_saved_searches_cannot_be_changed(client, indexed, reader):
    other = User.objects.create_user("other", password="another-long-password")
    theirs = SavedSearch.objects.create(user=other, name="Theirs", query="whitening")
    assert client.post(f"/library/searches/{theirs.pk}/rename", {"name": "x"}).status_code == 404
    assert client.post(f"/library/searches/{theirs.pk}/delete").status_code == 404
    assert "Theirs" not in client.get("/library/searches").content.decode()
    assert SavedSearch.objects.get().name == "Theirs"


def test_renaming_and_deleting_are_posts_only(client, indexed, reader):
    saved = SavedSearch.objects.create(user=reader, name="Mine", query="whitening")
    assert client.get(f"/library/searches/{saved.pk}/delete").status_code == 405
    assert SavedSearch.objects.exists()


def test_saved_searches_are_linked_from_the_library_and_the_header(client, reader):
    assert 'href="/library/searches"' in client.get("/library").content.decode()
    assert 'href="/library/searches"' in client.get("/").content.decode()
    client.logout()
    assert client.get("/library/searches").status_code == 302


def test_the_feed_lists_matching_papers_newest_first_without_a_login(client, indexed, reader):
    saved = SavedSearch.objects.create(user=reader, name="Whitening", query="whitening")
    client.logout()
    response = client.get(saved.feed_url())
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo and feed.version == "atom10"
    assert feed.feed.title == "Whitening · Cool Papers"
    assert [e.id for e in feed.entries] == [
        "arxiv:2605.00602",
        "arxiv:2605.00603",
        "arxiv:2605.00601",
    ]
    assert feed.entries[0].link == "http://testserver/paper/2605.00602"


def test_the_feed_keeps_the_category_filter(client, indexed, reader):
    saved = SavedSearch.objects.create(
        user=reader, name="Whitening", query="whitening", categories="cs.CL"
    )
    feed = feedparser.parse(client.get(saved.feed_url()).content)
    assert [e.id for e in feed.entries] == ["arxiv:2605.00603", "arxiv:2605.00601"]


def test_feed_tokens_are_unguessable_and_unknown_ones_are_404(client, indexed, reader):
    first = SavedSearch.objects.create(user=reader, name="a", query="whitening")
    second = SavedSearch.objects.create(user=reader, name="b", query="protein")
    assert len(first.feed_token) >= 20 and first.feed_token != second.feed_token
    assert client.get("/search/feed/not-a-token").status_code == 404
    assert client.get(f"/search/feed/{first.pk}").status_code == 404


def test_the_feed_of_a_dead_search_engine_is_a_503(client, indexed, reader, settings):
    saved = SavedSearch.objects.create(user=reader, name="a", query="whitening")
    settings.SEARCH_BACKEND = "elasticsearch"
    settings.SEARCH_BACKENDS = {
        **settings.SEARCH_BACKENDS,
        "elasticsearch": {
            **settings.SEARCH_BACKENDS["elasticsearch"],
            "URLS": ["http://127.0.0.1:9"],
            "OPTIONS": {"max_retries": 0},
        },
    }
    response = client.get(saved.feed_url())
    assert response.status_code == 503 and response["Retry-After"]
