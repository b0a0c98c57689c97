"""Snippets: escaped HTML, <mark> around matches, never cut or marked inside $...$ math."""

import html
import re

from hypothesis import given
from hypothesis import strategies as st

from search.highlight import ELLIPSIS, Highlighter
from search.query import parse_query


def marks(snippet: str) -> list[str]:
    return re.findall(r"<mark>(.*?)</mark>", snippet)


def plain(snippet: str) -> str:
    return html.unescape(re.sub(r"</?mark>", "", snippet)).strip(ELLIPSIS)


def test_stemmed_matches_are_marked():
    title = Highlighter(parse_query("network training")).title("Training deep networks")
    assert title == "<mark>Training</mark> deep <mark>networks</mark>"


def test_text_is_escaped_around_marks():
    title = Highlighter(parse_query("tags")).title('x < y & "<b>tags</b>"')
    assert title == "x &lt; y &amp; &quot;&lt;b&gt;<mark>tags</mark>&lt;/b&gt;&quot;"


def test_phrases_mark_only_adjacent_words():
    highlighter = Highlighter(parse_query('"neural networks"'))
    assert marks(highlighter.title("neural networks and networks of neural cells")) == [
        "neural networks"
    ]


def test_fielded_words_mark_only_their_field():
    highlighter = Highlighter(parse_query("ti:graph"))
    assert marks(highlighter.title("A graph")) == ["graph"]
    assert marks(highlighter.abstract("A graph")) == []


def test_excluded_words_are_not_marked():
    assert marks(Highlighter(parse_query("deep -graph")).title("deep graph")) == ["deep"]


def test_words_inside_math_are_not_marked():
    text = "The cost $\\mathcal{O}(cost)$ is low and $$cost$$ too"
    assert Highlighter(parse_query("cost")).title(text) == (
        "The <mark>cost</mark> $\\mathcal{O}(cost)$ is low and $$cost$$ too"
    )


def test_long_abstract_is_cut_around_the_first_match_at_word_boundaries():
    text = " ".join(f"word{i}" for i in range(200)) + " target " + "tail " * 100
    snippet = Highlighter(parse_query("target"), snippet_chars=120).abstract(text)
    assert snippet.startswith(ELLIPSIS) and snippet.endswith(ELLIPSIS)
    assert "<mark>target</mark>" in snippet
    assert plain(snippet).strip() in text
    assert len(plain(snippet)) <= 120


def test_snippet_never_cuts_a_formula():
    formula = "$" + "x+" * 40 + "y$"
    text = "filler " * 10 + "key " + "a " * 5 + formula + " end " * 60
    snippet = Highlighter(parse_query("key"), snippet_chars=60).abstract(text)
    assert snippet.count("$") % 2 == 0
    assert formula in snippet or "$" not in snippet


def test_abstract_without_a_match_starts_at_the_beginning():
    text = "First words. " + "more " * 200
    snippet = Highlighter(parse_query("absent")).abstract(text)
    assert snippet.startswith("First words.") and snippet.endswith(ELLIPSIS)


words = st.sampled_from(["graph", "network", "cost", "deep", "x", "<b>", "&", "$", "$$", "O(n)"])


@given(st.lists(words, min_size=1, max_size=200), st.lists(words, min_size=1, max_size=4))
def test_snippets_are_escaped_excerpts_with_whole_formulas(text_words, query_words):
    text = " ".join(text_words)
    snippet = Highlighter(parse_query(" ".join(query_words)), snippet_chars=80).abstract(text)
    assert "<b>" not in snippet.replace("<mark>", "").replace("</mark>", "")
    assert plain(snippet).strip() in text
    assert all(mark for mark in marks(snippet))
