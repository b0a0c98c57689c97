"""Query compilation for Elasticsearch, checked as plain dicts (no server)."""

import datetime as dt

from search.backends.base import ALL_TERMS_BONUS
from search.backends.elasticsearch import index_body
from search.backends.elasticsearch_query import (
    close_words_body,
    compile_query,
    facets_body,
    search_body,
    word_counts_body,
)
from search.query import SearchFilters, parse_query

NO_FILTERS = SearchFilters()


def compiled(text, filters=NO_FILTERS, **kwargs):
    query = parse_query(text)
    return compile_query(query, filters.merged_with(query), **kwargs)


def plain(word, exact=False, phrase=False):
    """What a plain word compiles to: title and abstract, and author names."""
    kind = "match_phrase" if phrase else "match"
    suffix = ".exact" if exact or phrase else ""
    return {
        "bool": {
            "should": [
                {kind: {f"text{suffix}": {"query": word}}},
                {kind: {"authors": {"query": word}}},
            ]
        }
    }


def test_plain_words_match_text_key_phrases_and_author_names():
    assert compiled("deep graph") == {"bool": {"should": [plain("deep"), plain("graph")]}}


def test_matching_all_words_makes_every_plain_word_required():
    assert compiled("deep graph", match_all=True) == {
        "bool": {"must": [plain("deep"), plain("graph")]}
    }


def test_hyphenated_compounds_are_phrases_on_exact_subfields():
    assert compiled("text-to-speech", match_all=True) == {
        "bool": {"must": [plain("text-to-speech", phrase=True)]}
    }


def test_bonus_ranks_papers_with_every_word_first():
    tier = compiled("deep graph", bonus=ALL_TERMS_BONUS)["bool"]["should"][-1]
    assert tier == {
        "constant_score": {
            "filter": {"bool": {"must": [plain("deep"), plain("graph")]}},
            "boost": ALL_TERMS_BONUS,
        }
    }


def test_rank_only_scores_words_without_requiring_any():
    query = compiled("deep graph", SearchFilters(arxiv_ids=("2501.00001",)), rank_only=True)
    assert query == {
        "bool": {
            "filter": [{"terms": {"arxiv_id": ["2501.00001"]}}],
            "should": [plain("deep"), plain("graph")],
        }
    }


def test_without_stemming_words_go_to_the_exact_subfield():
    assert compiled("graphs", stemming=False) == {"bool": {"should": [plain("graphs", exact=True)]}}


def test_phrases_are_required_on_exact_subfields():
    assert compiled('"graph neural" ti:"deep nets"') == {
        "bool": {
            "must": [
                plain("graph neural", phrase=True),
                {"match_phrase": {"title.exact": {"query": "deep nets"}}},
            ]
        }
    }


def test_exclusions_are_must_not():
    assert compiled('graph -survey -"neural net"') == {
        "bool": {
            "should": [plain("graph")],
            "must_not": [plain("survey"), plain("neural net", phrase=True)],
        }
    }


def test_plain_words_next_to_filters_need_one_match():
    query = compiled("deep graph", SearchFilters(categories=("cs.LG",), cross_lists=False))
    assert query == {
        "bool": {
            "must": [{"bool": {"should": [plain("deep"), plain("graph")]}}],
            "filter": [{"terms": {"primary_category": ["cs.LG"]}}],
        }
    }


def test_fields_authors_and_categories():
    assert compiled("au:hinton abs:dropout cat:cs") == {
        "bool": {
            "must": [
                {"match": {"authors": {"query": "hinton"}}},
                {"match": {"abstract": {"query": "dropout"}}},
                {
                    "bool": {
                        "filter": [
                            {
                                "bool": {
                                    "should": [
                                        {"term": {"categories": "cs"}},
                                        {"term": {"archives": "cs"}},
                                    ]
                                }
                            }
                        ]
                    }
                },
            ]
        }
    }


def test_or_group_is_a_should_inside_the_query():
    assert compiled("qubits OR dualities") == {
        "bool": {"should": [{"bool": {"should": [plain("qubits"), plain("dualities")]}}]}
    }


def test_dates_become_a_range_filter_on_cross_listed_categories():
    filters = SearchFilters(categories=("cs.LG", "stat.ML"))
    assert compiled("year:2024", filters) == {
        "bool": {
            "must": [{"match_all": {}}],
            "filter": [
                {"terms": {"categories": ["cs.LG", "stat.ML"]}},
                {"range": {"announced": {"gte": "2024-01-01", "lte": "2024-12-31"}}},
            ],
        }
    }


def test_open_ended_date_range():
    assert compiled("", SearchFilters(date_to=dt.date(2020, 5, 1)))["bool"]["filter"] == [
        {"range": {"announced": {"lte": "2020-05-01"}}}
    ]


def test_arxiv_id_is_a_term_filter():
    assert compiled("arXiv:2505.24119v2") == {
        "bool": {"filter": [{"term": {"arxiv_id": "2505.24119"}}]}
    }


def test_query_of_nothing_but_punctuation_matches_all():
    assert compiled("!!! ???") == {"bool": {"must": [{"match_all": {}}]}}


def test_search_body_pages_and_sorts():
    body = search_body({"match_all": {}}, 20, 10, newest=True)
    assert body == {
        "query": {"match_all": {}},
        "from": 20,
        "size": 10,
        "track_total_hits": True,
        "_source": ["arxiv_id", "title", "abstract"],
        "sort": [{"recency": {"order": "desc"}}],
    }


def test_facets_body_aggregates_categories_and_years():
    body = facets_body({"match_all": {}})
    assert body["size"] == 0
    assert body["aggs"]["categories"] == {"terms": {"field": "categories", "size": 1000}}
    assert body["aggs"]["years"] == {"terms": {"field": "year", "size": 1000}}


def test_mapping_has_stemmed_fields_with_exact_subfields():
    mapping = index_body()["mappings"]["properties"]
    for name in ("title", "abstract", "text", "keywords"):
        assert mapping[name]["analyzer"] == "paper_english"
        assert mapping[name]["fields"]["exact"]["analyzer"] == "paper_exact"
    assert mapping["title"]["copy_to"] == mapping["abstract"]["copy_to"] == ["text"]
    assert mapping["categories"] == {"type": "keyword"}
    assert mapping["announced"]["type"] == "date"


def test_word_counts_are_one_filters_bucket_per_word_on_unstemmed_text_and_names():
    assert word_counts_body(["nueral", "graph"]) == {
        "size": 0,
        "track_total_hits": True,
        "query": {"match_all": {}},
        "aggs": {
            "words": {
                "filters": {
                    "filters": {
                        "nueral": {"term": {"text.exact": "nueral"}},
                        "graph": {"term": {"text.exact": "graph"}},
                    }
                }
            },
            "names": {
                "filters": {
                    "filters": {
                        "nueral": {"match": {"authors": "nueral"}},
                        "graph": {"match": {"authors": "graph"}},
                    }
                }
            },
        },
    }


def test_close_words_are_a_term_suggester_per_word_within_two_edits():
    body = close_words_body(["nueral", "grpah"])
    assert body["size"] == 0 and list(body["suggest"]) == ["w0", "w1"]
    assert body["suggest"]["w1"] == {
        "text": "grpah",
        "term": {
            "field": "text.exact",
            "suggest_mode": "always",
            "max_edits": 2,
            "prefix_length": 1,
            "min_word_length": 4,
            "string_distance": "damerau_levenshtein",
            "size": 10,
            "max_term_freq": 2**31 - 1,
        },
    }
