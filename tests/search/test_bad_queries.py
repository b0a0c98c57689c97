"""Whatever users type, search answers: no exception from the parser or either backend."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search.query import MAX_CLAUSES, AnyOf, parse_query
from tests.search.conftest import PAPERS

pytestmark = pytest.mark.django_db

NASTY = [
    '"',
    '"""',
    'graph "neural',
    "OR",
    "AND OR NOT",
    "-",
    "- - -",
    "-OR",
    "graph OR",
    "NOT",
    "ti:",
    "au:",
    'cat:"',
    "cat:nonsense.XX",
    "year:",
    "year:99999",
    "date:0000-00-00",
    "date:2025-02-30..2024",
    "x" * 10_000,
    "graph " * 2_000,
    "\x00\x01\x02\x1b[31m\x7f",
    "graph\u200b\u200e\ufeffneural",
    "😀🔥 graph 🧪",
    "'; DROP TABLE papers; --",
    '{"query": {"match_all": {}}}',
    "title:foo AND (bar OR baz^2) ~3 * ? \\ / [1 TO 5] {a TO b} +x -y !z && || :",
    "*",
    "?",
    "\\",
    "$\\mathcal{O}(n)$",
    "<script>alert(1)</script>",
    "a" * 45 + " graph",
    "2501.99999",
    "arXiv:",
    "https://arxiv.org/abs/",
]


@pytest.mark.parametrize("text", NASTY)
def test_nasty_queries_give_results_not_errors(indexed, text):
    results = indexed.search(text)
    hits = results[:10]
    assert results.count() >= len(hits)
    for hit in hits:
        assert isinstance(hit.highlights["abstract"], str)
    indexed.facets(text)
    indexed.candidates(text, limit=5)
    indexed.search(text, sort="newest")[:5]
    suggestion = indexed.suggest(text)
    assert suggestion is None or isinstance(suggestion, str)


@given(st.text(max_size=300))
def test_parser_accepts_any_text(text):
    query = parse_query(text)
    assert len(query.include) + len(query.exclude) <= MAX_CLAUSES
    for clause in query.include:
        options = clause.options if isinstance(clause, AnyOf) else (clause,)
        assert all(option.text.strip() for option in options)


corpus_words = [w for p in PAPERS for w in (p.title + " " + p.abstract).split()][:80]
query_text = st.lists(
    st.one_of(
        st.sampled_from(corpus_words),
        st.sampled_from(['"', "-", "OR", "NOT", "ti:", "au:", "abs:", "cat:", "year:", "(", ")"]),
        st.text(max_size=8),
    ),
    max_size=12,
).map(" ".join)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=query_text)
def test_backends_answer_any_query(indexed, text):
    results = indexed.search(text)
    total = results.count()
    assert 0 <= total <= len(PAPERS)
    hits = results[:10]
    assert len(hits) == min(total, 10)
    for hit in hits:
        assert "<script" not in hit.highlights["title"]
    assert sum(indexed.facets(text).years.values()) <= total
    suggestion = indexed.suggest(text)
    assert suggestion is None or suggestion != text
