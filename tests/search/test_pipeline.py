"""The one search pipeline (search.service.run_search): what matches, what is counted, authors
typed as plain words, compounds, the all-words flag, and every surface calling it."""

import datetime as dt
import re

import pytest

from papers.ingest.upsert import upsert_records
from papers.library.models import SavedSearch
from search.backends.base import get_search_backend
from search.service import run_search
from tests.papers.factories import record

pytestmark = pytest.mark.django_db

HOCHREITER = ["Sepp Hochreiter", "Jürgen Schmidhuber"]
PAPERS = [
    record(
        arxiv_id="2605.00101",
        title="Long short-term memory",
        abstract="A recurrent network that learns to bridge long time lags.",
        authors=HOCHREITER,
        announced=dt.date(2026, 5, 1),
    ),
    record(
        arxiv_id="2605.00102",
        title="xLSTM: extended long short-term memory",
        abstract="Exponential gating and new memory structures scale recurrent models.",
        authors=["Maximilian Beck", "Sepp Hochreiter"],
        announced=dt.date(2026, 5, 2),
    ),
    record(
        arxiv_id="2605.00103",
        title="Speculative decoding for fast inference",
        abstract="A draft model proposes tokens that the target model verifies.",
        authors=["Yaniv Leviathan"],
        announced=dt.date(2026, 5, 3),
    ),
    record(
        arxiv_id="2605.00104",
        title="Kinematics of 4D objects with a neural decoder",
        abstract="We decode object motion from point clouds.",
        authors=["Some One"],
        announced=dt.date(2026, 5, 4),
    ),
    record(
        arxiv_id="2605.00105",
        title="A text-to-speech system with prosody control",
        abstract="We synthesise speech from text with controllable prosody.",
        authors=["Voice Person"],
        announced=dt.date(2026, 5, 5),
    ),
    record(
        arxiv_id="2605.00106",
        title="Speech translation without text",
        abstract="Speech in one language to text in another, with a speech encoder.",
        authors=["Other Person"],
        announced=dt.date(2026, 5, 6),
    ),
    record(
        arxiv_id="2605.00107",
        title="Memory networks for question answering",
        abstract="Long-term memory components for reasoning about stories split by sep tokens.",
        authors=["Jason Weston"],
        announced=dt.date(2026, 5, 7),
    ),
]


@pytest.fixture
def indexed():
    upsert_records(PAPERS)
    get_search_backend().rebuild()


def ids(page) -> list[str]:
    return [row.paper.arxiv_id for row in page.rows]


def words_of(paper) -> set[str]:
    text = " ".join([paper.title, paper.abstract, *paper.author_names, *(paper.keywords or [])])
    return set(re.findall(r"\w+", text.lower()))


@pytest.mark.parametrize("query", ["Hochreiter", "Sepp Hochreiter", "sepp hochreiter"])
def test_an_author_name_typed_as_plain_words_finds_their_papers(indexed, query):
    page = run_search(query, rerank=False)
    assert set(ids(page)) == {"2605.00101", "2605.00102"}
    assert page.total == 2


def test_an_author_name_with_a_topic_word_finds_that_paper_first(indexed):
    page = run_search("hochreiter xlstm", rerank=False)
    assert ids(page)[0] == "2605.00102"
    assert page.total == 1


def test_accents_in_names_need_not_be_typed(indexed):
    assert ids(run_search("Jurgen Schmidhuber", rerank=False)) == ["2605.00101"]


def test_the_count_holds_only_papers_with_every_word(indexed):
    page = run_search("speculative decoding", rerank=False)
    assert page.total == 1
    # Relevance may list partial matches after it, flagged as such.
    assert ids(page)[0] == "2605.00103"
    assert [row.hit.all_terms for row in page.rows][:1] == [True]
    assert all(not row.hit.all_terms for row in page.rows[1:])


def test_newest_first_lists_only_papers_with_every_word(indexed):
    page = run_search("speculative decoding", sort="newest")
    assert ids(page) == ["2605.00103"]
    page = run_search("memory long", sort="newest")
    found = ids(page)
    assert found == ["2605.00107", "2605.00102", "2605.00101"]
    for row in page.rows:
        assert {"memory", "long"} <= words_of(row.paper)


def test_a_hyphenated_compound_matches_as_a_phrase(indexed):
    page = run_search("text-to-speech", rerank=False)
    assert ids(page) == ["2605.00105"]
    assert page.total == 1


def test_did_you_mean_never_corrects_an_indexed_author_name(indexed):
    # "sepp" is rare in titles and abstracts and one edit from "sep", but it is a name.
    assert run_search("Sepp Hochreiter", suggest=True, rerank=False).suggestion is None
    assert run_search("speculatve decoding", suggest=True).suggestion == "speculative decoding"
    assert run_search("Leviathan decoding", suggest=True, rerank=False).suggestion is None


def test_a_saved_search_feed_holds_only_papers_with_every_word(client, indexed, django_user_model):
    user = django_user_model.objects.create_user("reader", password="pw-123456789")
    saved = SavedSearch.objects.create(user=user, name="spec", query="speculative decoding")
    feed = client.get(saved.feed_url()).content.decode()
    entries = re.findall(r"<entry>.*?</entry>", feed, re.DOTALL)
    assert len(entries) == 1 and "2605.00103" in entries[0]


def test_the_api_reports_matches_of_every_word_and_flags_partial_ones(client, indexed):
    body = client.get("/api/v1/search", {"q": "speculative decoding", "rerank": "false"}).json()
    assert body["total"] == 1
    assert body["available"] >= 2
    flags = [r["matches_all_words"] for r in body["results"]]
    assert flags[0] is True and False in flags


def test_the_search_page_says_how_many_match_all_words(client, indexed):
    page = client.get("/search", {"q": "speculative decoding", "rank": "bm25"}).content.decode()
    assert "1 paper matches all your words" in page


def test_hits_the_database_does_not_have_are_not_shown_counted_or_kept(indexed):
    from search.documents import document

    # An orphan: in the index, not in the database (a crash between the two, say).
    get_search_backend().index([document("2605.09999", "Speculative decoding, a ghost")])
    assert get_search_backend().count("speculative decoding", match_all=True) == 2
    page = run_search("speculative decoding", sort="newest")
    assert page.total == 1 and ids(page) == ["2605.00103"]
    # The request repaired the index (tasks run eagerly in tests).
    assert get_search_backend().count("speculative decoding", match_all=True) == 1


def test_popular_sort_lists_the_matching_papers_most_active_first(indexed, django_user_model):
    from papers.library.models import Mark
    from papers.models import Paper

    readers = [
        django_user_model.objects.create_user(f"r{i}", password="pw-123456789") for i in range(3)
    ]
    for user in readers:  # the oldest of the three memory papers is starred by everyone
        Mark.objects.create(user=user, paper=Paper.objects.get(arxiv_id="2605.00101"), kind="star")
    page = run_search("memory long", sort="popular")
    assert ids(page)[0] == "2605.00101"
    assert sorted(ids(page)) == ["2605.00101", "2605.00102", "2605.00107"]
    assert page.total == 3
