"""One contract for every backend: the same queries match the same papers.

Runs on tantivy and on Elasticsearch (osmem-server, or ELASTICSEARCH_URL). Scores and the fine
order among equally good hits are not compared across backends; test_tantivy_ranking does that.
"""

import datetime as dt

import pytest
from django.core.paginator import Paginator

from papers.models import Paper
from search.backends.base import ResultWindowError, Sort
from search.documents import document
from search.query import SearchFilters
from tests.search.conftest import ids

pytestmark = pytest.mark.django_db


def found(backend, query, **kwargs) -> set[str]:
    return set(ids(backend.search(query, **kwargs)))


def test_empty_index_finds_nothing_without_error(backend):
    results = backend.search("deep learning")
    assert results.count() == 0
    assert results[:10] == []
    assert backend.facets("deep").categories == {}
    assert backend.candidates("deep") == []
    assert backend.suggest("nueral") is None


def test_plain_words_match_title_or_abstract(indexed):
    assert found(indexed, "surface") == {"2505.00008"}
    assert found(indexed, "qubits") == {"2505.00008"}


def test_any_plain_word_matches(indexed):
    assert found(indexed, "qubits dualities") == {"2505.00008", "hep-th/9901001"}


def test_papers_with_every_plain_word_rank_first(indexed):
    results = ids(indexed.search("deep graph"))
    assert set(results[:1]) == {"2407.00005"}  # the only one with both words
    assert {"2501.00001", "2406.00004", "2502.00002"} <= set(results[1:])


def test_words_match_other_forms_of_the_same_stem(indexed):
    assert "2406.00004" in found(indexed, "predicting proteins")
    assert found(indexed, "dualities") == found(indexed, "duality")


def test_quoted_phrase_matches_only_adjacent_words(indexed):
    assert found(indexed, '"graph neural"') == {"2502.00002"}
    assert "2407.00005" in found(indexed, "graph neural")


def test_quoted_phrase_is_not_stemmed(indexed):
    assert found(indexed, '"neural network"') == set()
    assert "2502.00002" in found(indexed, '"neural networks"')


def test_unbalanced_quote_runs_to_the_end(indexed):
    assert found(indexed, '"surface codes') == {"2505.00008"}


def test_minus_excludes_papers_with_the_word(indexed):
    with_graph = found(indexed, "networks")
    assert "2502.00002" in with_graph
    assert found(indexed, "networks -survey") == with_graph - {"2502.00002"}


def test_minus_excludes_a_phrase(indexed):
    assert found(indexed, 'graph -"graph neural"') == {"2407.00005"}


def test_exclusion_alone_returns_everything_else(indexed):
    assert found(indexed, "-networks") == {
        "hep-th/9901001",
        "2407.00005",
        "2504.00007",
        "2505.00008",
    }


def test_or_matches_either_side_and_is_required_next_to_a_phrase(indexed):
    assert found(indexed, "qubits OR dualities") == {"2505.00008", "hep-th/9901001"}
    assert found(indexed, '"neural networks" survey OR transformer') >= {"2502.00002"}


def test_title_prefix_searches_titles_only(indexed):
    assert found(indexed, "ti:attention") == {"2503.00003"}
    assert "2504.00007" in found(indexed, "attention")


def test_abstract_prefix_searches_abstracts_only(indexed):
    assert found(indexed, "abs:transformer") == {"2503.00003", "2504.00007"}
    assert found(indexed, "abs:survey") == {"2502.00002"}


def test_author_prefix_matches_names_without_accents(indexed):
    assert found(indexed, "au:garcia") == {"2406.00004"}
    assert found(indexed, "au:García") == {"2406.00004"}
    assert found(indexed, 'au:"noam shazeer"') == {"2503.00003"}
    assert found(indexed, 'au:"shazeer noam"') == set()


def test_fielded_words_are_required(indexed):
    assert found(indexed, "networks au:leskovec") == {"2502.00002"}


def test_category_prefix_matches_cross_lists_and_whole_archives(indexed):
    assert found(indexed, "cat:cs.CV") == {"2501.00001", "2504.00007"}
    assert found(indexed, "cat:cs.cv") == {"2501.00001", "2504.00007"}
    assert found(indexed, "cat:hep-th") == {"hep-th/9901001"}
    assert len(found(indexed, "cat:cs")) == 6


def test_category_filter_with_and_without_cross_lists(indexed):
    lg = SearchFilters(categories=("cs.LG",))
    assert found(indexed, "", filters=lg) == {
        "2501.00001",
        "2502.00002",
        "2503.00003",
        "2406.00004",
    }
    primary_lg = SearchFilters(categories=("cs.LG",), cross_lists=False)
    assert found(indexed, "", filters=primary_lg) == {"2502.00002"}
    assert found(indexed, "networks", filters=primary_lg) == {"2502.00002"}


def test_date_range_filter(indexed):
    spring = SearchFilters(date_from=dt.date(2025, 2, 1), date_to=dt.date(2025, 3, 10))
    assert found(indexed, "", filters=spring) == {"2502.00002", "2503.00003"}
    assert found(indexed, "networks", filters=spring) == {"2502.00002", "2503.00003"}


def test_year_and_date_in_the_query_filter(indexed):
    assert found(indexed, "year:2024") == {"2406.00004", "2407.00005"}
    assert found(indexed, "networks year:2025..") == {"2501.00001", "2502.00002", "2503.00003"}
    assert found(indexed, "date:2025-03") == {"2503.00003"}
    assert found(indexed, "date:..1999-12-31") == {"hep-th/9901001"}


def test_arxiv_id_query_goes_to_that_paper(indexed):
    results = indexed.search("arXiv:2503.00003v2")
    assert results.arxiv_id == "2503.00003"
    assert ids(results) == ["2503.00003"]
    assert ids(indexed.search("hep-th/9901001")) == ["hep-th/9901001"]


def test_newest_sort_orders_by_announcement_date(indexed):
    results = indexed.search("networks OR representations", sort=Sort.NEWEST)
    assert ids(results) == ["2503.00003", "2502.00002", "2501.00001", "2407.00005", "2406.00004"]
    assert all(hit.score is None for hit in results[:10])


def test_relevance_hits_carry_scores(indexed):
    hits = indexed.search("graph")[:10]
    assert hits and all(hit.score > 0 for hit in hits)


def test_unknown_sort_is_refused(indexed):
    with pytest.raises(ValueError):
        indexed.search("graph", sort="random")


def test_count_matches_len_and_the_hits(indexed):
    results = indexed.search("networks")
    assert results.count() == len(results) == len(ids(results)) == indexed.count("networks") == 4


def test_pages_are_disjoint_and_cover_all_hits(indexed):
    results = indexed.search("")
    pages = [results[0:3], results[3:6], results[6:9]]
    assert [len(p) for p in pages] == [3, 3, 2]
    everything = [hit.arxiv_id for page in pages for hit in page]
    assert sorted(everything) == sorted(p.arxiv_id for p in Paper.objects.all())
    assert results.page(2, 3) == results[3:6]


def test_django_paginator_works_on_results(indexed):
    paginator = Paginator(indexed.search("networks"), 3)
    assert paginator.count == 4
    assert paginator.num_pages == 2
    assert len(paginator.page(2).object_list) == 1


def test_result_window_is_capped_with_a_clear_message(indexed, settings):
    settings.SEARCH_MAX_RESULT_WINDOW = 4
    results = indexed.search("")
    assert len(results[2:4]) == 2
    with pytest.raises(ResultWindowError, match="first 4 results"):
        results[3:5]


def test_page_size_is_capped(indexed, settings):
    settings.SEARCH_MAX_PAGE_SIZE = 3
    results = indexed.search("")
    assert len(results.page(1, 50)) == 3
    with pytest.raises(ResultWindowError, match="At most 3"):
        results[0:5]


def test_highlights_mark_matches_and_escape_html(indexed):
    hit = indexed.search("tags transformers")[0]
    assert hit.arxiv_id == "2504.00007"
    title = hit.highlights["title"]
    assert "&lt;b&gt;<mark>tags</mark>&lt;/b&gt;" in title
    assert "x &lt; y &amp;" in title
    assert "<mark>Transformers</mark> for vision" in hit.highlights["abstract"]


def test_highlights_leave_math_alone(indexed):
    hit = indexed.search("cost mathcal")[0]
    assert hit.arxiv_id == "2501.00001"
    assert "$\\mathcal{O}(n)$" in hit.highlights["abstract"]
    assert "<mark>cost</mark>" in hit.highlights["abstract"]


def test_facets_count_categories_with_cross_lists_and_years(indexed):
    facets = indexed.facets("networks")
    assert facets.categories == {"cs.LG": 4, "cs.CV": 1, "cs.CL": 1, "q-bio.BM": 1}
    assert facets.years == {2025: 3, 2024: 1}
    assert indexed.search("").facets().years == {2025: 5, 2024: 2, 1999: 1}


def test_candidates_are_the_bm25_top_n(indexed):
    candidates = indexed.candidates("deep graph", limit=3)
    assert len(candidates) == 3
    assert {c.arxiv_id for c in candidates} <= found(indexed, "deep graph")
    assert candidates == sorted(candidates, key=lambda c: -c.score)


def test_deleted_papers_disappear(indexed):
    indexed.delete(["2505.00008", "not-indexed"])
    assert found(indexed, "qubits") == set()
    assert indexed.count("") == 7


def test_indexing_a_paper_again_replaces_it(indexed):
    paper = Paper.objects.get(arxiv_id="2505.00008")
    paper.title = "Bosonic codes for qudits"
    paper.save()
    indexed.index([paper])
    assert found(indexed, "correction") == set()
    assert found(indexed, "bosonic") == {"2505.00008"}
    assert indexed.count("") == 8


def test_rebuild_makes_the_index_match_the_database(indexed):
    Paper.objects.filter(arxiv_id="2505.00008").delete()
    Paper.objects.filter(arxiv_id="2502.00002").update(title="Graph transformers revisited")
    assert indexed.rebuild() == 7
    assert found(indexed, "qubits") == set()
    assert found(indexed, "revisited") == {"2502.00002"}
    assert indexed.count("") == 7


def test_rebuild_from_documents_replaces_everything(indexed):
    indexed.rebuild([document("doc-1", "Entirely new text", "About lemurs.")])
    assert ids(indexed.search("")) == ["doc-1"]
    assert found(indexed, "lemurs") == {"doc-1"}


def test_stop_words_alone_still_search(indexed):
    assert "2503.00003" in found(indexed, "is all")
    assert found(indexed, "the qubits") == {"2505.00008"}


def test_candidates_are_capped_for_rerankers(indexed, settings):
    settings.SEARCH_MAX_CANDIDATES = 2
    assert len(indexed.candidates("networks", limit=500)) == 2


def test_suggest_corrects_misspelt_words_from_titles_and_abstracts(indexed):
    assert indexed.suggest("nueral netwroks") == "neural networks"
    assert indexed.suggest("surfce codes") == "surface codes"
    assert indexed.suggest("Qubtis") == "Qubits"


def test_suggest_leaves_known_words_and_words_without_neighbours_alone(indexed):
    assert indexed.suggest("neural networks") is None
    assert indexed.suggest("zebrafish") is None
    assert indexed.suggest("") is None


def test_suggest_keeps_fields_exclusions_ids_and_math_as_typed(indexed):
    phrase = indexed.suggest('ti:atention "graph nueral networks"')
    assert phrase == 'ti:atention "graph neural networks"'
    assert indexed.suggest("au:vaswanni -nueral cat:cs.LG NOT qubtis") is None
    assert indexed.suggest("arXiv:2503.00003") is None
    assert indexed.suggest("$nueral$ residul") == "$nueral$ residual"


def test_matching_all_words_needs_every_plain_word_in_some_field(indexed):
    assert found(indexed, "deep graph", match_all=True) == {"2407.00005"}
    assert indexed.count("deep graph", match_all=True) == 1
    assert indexed.count("deep graph") > 1  # one word is enough without it
    # Words may come from different fields: a name and a title word.
    assert found(indexed, "lovelace graph", match_all=True) == {"2407.00005"}


def test_plain_words_find_author_names_without_accents(indexed):
    assert found(indexed, "Witten") == {"hep-th/9901001"}
    assert found(indexed, "jose garcia", match_all=True) == {"2406.00004"}


def test_a_hyphenated_compound_matches_as_a_phrase(indexed):
    assert found(indexed, "graph-neural", match_all=True) == {"2502.00002"}
    if indexed.alias == "tantivy":  # osmem-server's phrases are not Lucene's: order unchecked
        assert found(indexed, "neural-graph", match_all=True) == set()


def test_relevance_hits_say_whether_they_hold_every_word(indexed):
    hits = indexed.search("deep graph")[:10]
    flagged = {h.arxiv_id for h in hits if h.all_terms}
    assert flagged == {"2407.00005"}
    assert hits[0].arxiv_id == "2407.00005"


def test_score_papers_scores_given_papers_that_pass_the_filters(indexed):
    wanted = ["2407.00005", "2501.00001", "2505.00008", "2503.00003"]
    scored = indexed.score_papers(
        "deep graph", SearchFilters(categories=("cs.LG", "cs.AI")), wanted
    )
    assert set(scored) == {"2407.00005", "2501.00001", "2503.00003"}  # quant-ph filtered out
    assert scored["2407.00005"].all_terms and not scored["2501.00001"].all_terms
    assert scored["2501.00001"].score > 0  # holds "deep"
    assert scored["2503.00003"].score == 0  # holds neither word, still passes the filters
    assert indexed.score_papers('"graph neural"', None, wanted) == {}  # phrase required
