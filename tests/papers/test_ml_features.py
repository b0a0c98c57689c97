"""What the models add for readers: hybrid search, related papers and "For you".

Real models trained on a slice of the shipped sample (120 papers of one day: cs.CV, cs.CL, cs.AI
and a few others), so these are marked slow.
"""

import re

import pytest
from django.contrib.auth.models import User

from papers.enrichment import related
from papers.enrichment.for_you import recommend_for
from papers.library.models import ApiToken, Mark
from papers.models import Paper
from search.service import run_search

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def reader():
    return User.objects.create_user("reader", password="a long enough password 42")


def _star(user, papers, kind=Mark.Kind.STAR):
    for paper in papers:
        Mark.objects.create(user=user, paper=paper, kind=kind)


# --- Hybrid search ------------------------------------------------------------------------------


def test_hybrid_search_counts_the_same_papers_and_puts_those_with_every_word_first(enriched):
    query = "segmentation language models"
    hybrid = run_search(query, page_size=100)
    plain = run_search(query, page_size=100, rerank=False)

    assert hybrid.reranked and not plain.reranked
    assert hybrid.total == plain.total
    # The backend flags each hit; the plain ranking's all-words papers are the count's papers.
    all_words = {r.hit.arxiv_id for r in plain.rows if r.hit.all_terms}
    assert all_words and len(all_words) == plain.total
    flags = [r.hit.all_terms for r in hybrid.rows]
    assert flags == sorted(flags, reverse=True)  # every all-words paper before any other
    assert {r.hit.arxiv_id for r in hybrid.rows[: len(all_words)]} == all_words


def test_a_question_sharing_no_word_with_the_papers_finds_them_by_meaning(enriched):
    from search.backends.base import get_search_backend

    question = "photographs photos snapshots"
    assert get_search_backend().count(question) == 0  # no paper holds any of these words
    result = run_search(question)
    assert result.reranked and result.total == 0
    assert len(result.rows) >= 10
    top = [r.paper for r in result.rows[:10]]
    assert sum(p.primary_category_id == "cs.CV" for p in top) >= 6


def test_a_search_answers_at_once_while_the_encoder_is_still_loading(client, enriched, monkeypatch):
    import threading

    from ml.artifacts import ArtifactSet
    from search import hybrid

    release = threading.Event()
    real_embed = ArtifactSet.embed

    def slow_embed(self, texts):
        release.wait(30)  # a model load that takes long, as after every restart
        return real_embed(self, texts)

    monkeypatch.setattr(ArtifactSet, "embed", slow_embed)
    monkeypatch.setattr(hybrid, "query_vectors", hybrid.QueryVectors())
    try:
        page = client.get("/search", {"q": "language models"})
        api = client.get("/api/v1/search", {"q": "language models"}).json()
    finally:
        release.set()
    assert page.status_code == 200
    html = page.content.decode()
    assert "still starting up" in html and "hybrid ranking" not in html
    assert api["reranked"] is False and api["results"]
    assert any("still starting up" in n for n in api["notices"])
    # Once loaded, the same search is ranked by meaning too.
    from papers.enrichment.artifacts import current_artifacts

    assert hybrid.query_vectors.wait(current_artifacts(), timeout=60)
    assert client.get("/api/v1/search", {"q": "language models"}).json()["reranked"] is True


def test_hybrid_search_finds_a_paper_by_its_title(enriched):
    paper = enriched.exclude(abstract="").order_by("pk")[7]
    result = run_search(paper.title.replace(":", " "))
    assert result.reranked
    assert result.rows[0].paper == paper


def test_hybrid_ranking_changes_nothing_for_date_sorted_or_author_searches(enriched):
    author = enriched.first().author_names[0]
    assert not run_search("segmentation", sort="newest").reranked
    assert not run_search(f'au:"{author}"').reranked


def test_without_models_search_is_plain_bm25(django_capture_on_commit_callbacks):
    from tests.conftest import load_sample

    with django_capture_on_commit_callbacks(execute=True):
        load_sample(20)
    result = run_search("learning")
    assert result.total and not result.reranked


def test_the_search_page_says_when_hybrid_ranking_is_on_and_can_turn_it_off(client, enriched):
    on = client.get("/search", {"q": "language models"})
    off = client.get("/search", {"q": "language models", "rank": "bm25"})
    assert "hybrid ranking" in on.content.decode()
    assert "hybrid ranking" not in off.content.decode()
    assert 'value="bm25" selected' in off.content.decode()


def test_the_api_search_has_a_rerank_switch_and_returns_keywords_and_tags(client, enriched):
    on = client.get("/api/v1/search", {"q": "language models"}).json()
    off = client.get("/api/v1/search", {"q": "language models", "rerank": "false"}).json()
    assert on["reranked"] is True and off["reranked"] is False
    first = on["results"][0]
    assert first["keywords"]
    assert all(set(tag) == {"category", "confidence", "listed"} for tag in first["tags"])


# --- Related papers ----------------------------------------------------------------------------


def test_related_by_vector_are_the_nearest_other_papers_with_reasons(enriched):
    paper = enriched.filter(primary_category="cs.CL").order_by("pk").first()
    found = related.by_vector(paper, n=5)

    assert len(found) == 5 and paper not in [r.paper for r in found]
    scores = [r.score for r in found]
    assert scores == sorted(scores, reverse=True) and all(-1 <= s <= 1 for s in scores)
    assert all(r.why.startswith("similar in meaning (cosine") for r in found)

    # Language papers are nearest to language papers: 27% of the slice, most of the neighbours.
    language = enriched.filter(primary_category="cs.CL").order_by("pk")[:10]
    neighbours = [r.paper for p in language for r in related.by_vector(p, n=5)]
    share = sum(p.primary_category_id == "cs.CL" for p in neighbours) / len(neighbours)
    assert share >= 0.5


def test_related_by_keywords_match_the_papers_key_phrases(enriched):
    paper = enriched.exclude(keywords=[]).order_by("pk").first()
    found = related.by_keywords(paper, n=5)

    assert found and paper not in [r.paper for r in found]
    assert any(r.shared for r in found)
    for r in found:
        assert set(r.shared) <= set(paper.keywords)


def test_related_by_keywords_are_bm25_matches_closest_in_meaning_first(enriched):
    paper = enriched.exclude(keywords=[]).order_by("pk").first()
    found = related.by_keywords(paper, n=5)
    cosines = [float(re.search(r"\(cosine (-?[0-9.]+)\)", r.why).group(1)) for r in found]

    assert len(found) == 5 and cosines == sorted(cosines, reverse=True)
    matches = related.by_keywords(paper, n=60, ranking="bm25")
    assert {r.paper.pk for r in found} <= {r.paper.pk for r in matches}
    assert all("cosine" not in r.why for r in matches)


def test_the_paper_page_shows_both_kinds_of_related_papers(client, enriched):
    paper = enriched.exclude(keywords=[]).order_by("pk").first()
    html = client.get(paper.get_absolute_url()).content.decode()
    assert "Similar in meaning" in html and "Sharing key phrases" in html
    assert "cosine" in html


def test_the_paper_page_without_models_has_no_related_section(client):
    from tests.conftest import load_sample

    load_sample(3)
    html = client.get(Paper.objects.first().get_absolute_url()).content.decode()
    assert "Related papers" not in html


def test_the_related_api_explains_each_paper(client, enriched):
    paper = enriched.exclude(keywords=[]).order_by("pk").first()
    body = client.get(f"/api/v1/papers/{paper.arxiv_id}/related").json()
    assert body["id"] == paper.arxiv_id
    assert body["by_vector"] and body["by_keywords"]
    assert all(item["why"] and item["id"] != paper.arxiv_id for item in body["by_vector"])

    missing = client.get("/api/v1/papers/2601.99999/related")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


# --- For you -----------------------------------------------------------------------------------


def test_for_you_learns_the_readers_topic_from_stars(enriched, reader):
    language = list(enriched.filter(primary_category="cs.CL").order_by("pk")[:5])
    _star(reader, language)

    result = recommend_for(reader, n=10)

    assert set(result.seeds) == set(language)
    picks = [pick.paper for pick in result.picks]
    assert len(picks) == 10 and not set(picks) & set(language)
    # The sample slice is 27% cs.CL; the picks are mostly language papers.
    assert sum(p.primary_category_id == "cs.CL" for p in picks) >= 6
    for pick in result.picks:
        assert pick.because and {seed for seed, _ in pick.because} <= set(language)


def test_not_interested_papers_are_never_recommended(enriched, reader):
    _star(reader, enriched.filter(primary_category="cs.CL").order_by("pk")[:3])
    first = recommend_for(reader, n=5).picks[0].paper
    _star(reader, [first], kind=Mark.Kind.NOT_INTERESTED)

    again = recommend_for(reader, n=20)
    assert first not in [pick.paper for pick in again.picks]
    assert again.negatives == 1


def test_for_you_explains_what_is_missing(reader):
    assert "Star a few papers" in recommend_for(reader).reason
    from tests.conftest import load_sample

    load_sample(3)
    _star(reader, Paper.objects.all()[:1])
    assert "models are trained" in recommend_for(reader).reason


def test_the_for_you_page_shows_picks_reasons_and_seeds(client, enriched, reader):
    seed = enriched.filter(primary_category="cs.CV").order_by("pk").first()
    _star(reader, [seed])
    client.force_login(reader)

    html = client.get("/for-you").content.decode()
    assert "Because you starred" in html
    assert "Learned from your stars" in html and seed.title in html
    assert "Not interested" in html


def test_the_for_you_page_asks_visitors_to_log_in(client):
    response = client.get("/for-you")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_recommendations_api_needs_a_token_and_explains_picks(client, enriched, reader):
    assert client.get("/api/v1/me/recommendations").status_code == 401
    _star(reader, enriched.filter(primary_category="cs.CL").order_by("pk")[:3])
    _, token = ApiToken.issue(reader, "test")

    body = client.get("/api/v1/me/recommendations", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert len(body["results"]) == 50 and len(body["seeds"]) == 3
    assert all(r["because"] for r in body["results"])
    assert body["message"] == ""


def test_while_the_dense_index_is_prepared_search_ranks_by_words(enriched, monkeypatch):
    from search import hybrid
    from search.dense import DenseIndexUnavailable

    def not_yet(artifacts, **kwargs):
        raise DenseIndexUnavailable("another process is building it")

    monkeypatch.setattr(hybrid, "dense_index", not_yet)
    result = run_search("language models")
    assert not result.reranked and result.rows
    assert any("still starting up" in n for n in result.notices)
