"""The query language parses into the same AST for every backend."""

import datetime as dt

import pytest

from search.query import (
    ABSTRACT,
    AUTHOR,
    CATEGORY,
    MAX_CLAUSES,
    MAX_QUERY_CHARS,
    TITLE,
    AnyOf,
    Phrase,
    SearchFilters,
    Term,
    parse_query,
)


def test_plain_words_are_optional_terms():
    query = parse_query("deep  learning")
    assert query.include == (Term("deep"), Term("learning"))
    assert query.optional == query.include and query.required == ()


def test_quotes_make_a_required_phrase():
    query = parse_query('"graph neural" networks')
    assert query.include == (Phrase("graph neural"), Term("networks"))
    assert query.required == (Phrase("graph neural"),)


def test_unbalanced_quote_runs_to_the_end():
    assert parse_query('deep "graph neural').include == (Term("deep"), Phrase("graph neural"))


def test_minus_and_not_exclude():
    query = parse_query('graph -survey NOT review -"neural network"')
    assert query.include == (Term("graph"),)
    assert query.exclude == (Term("survey"), Term("review"), Phrase("neural network"))


def test_hyphen_inside_a_word_is_not_an_exclusion():
    assert parse_query("covid-19 self-attention").include == (
        Term("covid-19"),
        Term("self-attention"),
    )


def test_or_groups_neighbours():
    query = parse_query("a1 OR b2 OR c3 d4")
    assert query.include == (AnyOf((Term("a1"), Term("b2"), Term("c3"))), Term("d4"))


def test_parentheses_are_ignored():
    assert parse_query("(a1 OR b2) c3").include == parse_query("a1 OR b2 c3").include


@pytest.mark.parametrize("text", ["OR", "OR OR", "AND", "NOT", "-", "--", " - ", '""', "()", ""])
def test_lone_operators_and_punctuation_leave_an_empty_query(text):
    query = parse_query(text)
    assert query.include == () and query.exclude == ()
    assert query.matches_everything


def test_dangling_or_is_dropped():
    assert parse_query("graph OR").include == (Term("graph"),)
    assert parse_query("OR graph").include == (Term("graph"),)


def test_field_prefixes():
    query = parse_query('ti:transformer abs:"neural network" au:"Geoffrey Hinton" cat:cs.lg')
    assert query.include == (
        Term("transformer", TITLE),
        Phrase("neural network", ABSTRACT),
        Phrase("Geoffrey Hinton", AUTHOR),
        Term("cs.LG", CATEGORY),
    )
    assert query.optional == ()


def test_unknown_prefix_is_plain_text():
    assert parse_query("foo:bar").include == (Term("foo:bar"),)


def test_or_of_fielded_clauses_is_required_but_mixed_is_not():
    assert parse_query("au:smith OR au:jones").optional == ()
    assert len(parse_query("au:smith OR jones").optional) == 1


def test_stop_words_are_dropped_next_to_other_words():
    assert parse_query("the transformer").include == (Term("transformer"),)


def test_stop_words_alone_are_kept_and_matched_exactly():
    words = "to be or not to be".split()
    assert parse_query("to be or not to be").include == tuple(Term(w, exact=True) for w in words)


@pytest.mark.parametrize(
    "text, start, end",
    [
        ("year:2024", dt.date(2024, 1, 1), dt.date(2024, 12, 31)),
        ("year:2020..2022", dt.date(2020, 1, 1), dt.date(2022, 12, 31)),
        ("year:2020-2022", dt.date(2020, 1, 1), dt.date(2022, 12, 31)),
        ("year:2020..", dt.date(2020, 1, 1), None),
        ("year:..2020", None, dt.date(2020, 12, 31)),
        ("date:2025-02", dt.date(2025, 2, 1), dt.date(2025, 2, 28)),
        ("date:2025-03-01..2025-03-15", dt.date(2025, 3, 1), dt.date(2025, 3, 15)),
        ("date:2025-03-01..", dt.date(2025, 3, 1), None),
        ("year:2024 date:2024-06..", dt.date(2024, 6, 1), dt.date(2024, 12, 31)),
    ],
)
def test_year_and_date_filters(text, start, end):
    query = parse_query(text)
    assert (query.date_from, query.date_to) == (start, end)
    assert query.include == ()


@pytest.mark.parametrize(
    "text", ["year:abc", "date:2025-13", "date:2025-02-30", "year:..", "date:.."]
)
def test_invalid_dates_are_ignored_with_a_notice(text):
    query = parse_query(text)
    assert (query.date_from, query.date_to) == (None, None)
    assert query.notices and "not a valid" in query.notices[0]


def test_query_filters_narrow_form_filters():
    query = parse_query("year:2024")
    filters = SearchFilters(date_from=dt.date(2024, 3, 1)).merged_with(query)
    assert (filters.date_from, filters.date_to) == (dt.date(2024, 3, 1), dt.date(2024, 12, 31))


@pytest.mark.parametrize(
    "text, arxiv_id",
    [
        ("2505.24119", "2505.24119"),
        ("arXiv:2505.24119v3", "2505.24119"),
        (" https://arxiv.org/abs/2505.24119 ", "2505.24119"),
        ("hep-th/9901001", "hep-th/9901001"),
    ],
)
def test_arxiv_ids_name_a_paper(text, arxiv_id):
    query = parse_query(text)
    assert query.arxiv_id == arxiv_id
    assert not query.matches_everything


def test_an_id_among_words_is_just_words():
    assert parse_query("2505.24119 results").arxiv_id is None


def test_long_queries_are_cut_with_a_notice():
    query = parse_query("word " * 5000)
    assert len(query.include) == MAX_CLAUSES
    assert any(str(MAX_QUERY_CHARS) in notice for notice in query.notices)


def test_control_characters_separate_words():
    assert parse_query("deep\x00learning\x1b").include == (Term("deep"), Term("learning"))
