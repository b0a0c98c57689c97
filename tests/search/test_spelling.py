"""“Did you mean”: which words are corrected and into what, with a vocabulary given as a dict."""

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from search.spelling import (
    WordCounts,
    best_correction,
    correctable_spans,
    corrected_query,
    is_rare,
)

# Papers containing each word, as an index of 73,000 papers might say.
VOCABULARY = {
    "transformer": 5093,
    "transformers": 2122,
    "transfromer": 1,
    "attention": 8417,
    "attentions": 47,
    "learning": 21769,
    "leaning": 34,
    "neural": 5925,
    "numeral": 12,
    "network": 6641,
    "networks": 4703,
    "graph": 3652,
    "graphs": 1616,
    "space": 7464,
    "sparse": 3371,
    "covid": 139,
    "could": 9000,
    "gans": 193,
    "gains": 4042,
    "tokenisation": 15,
    "tokenization": 491,
    "mamba": 605,
    "mamba2": 20,
    "quantum": 355,
}
PAPERS = 73_000


def counts(words):
    return WordCounts(PAPERS, {w: VOCABULARY.get(w, 0) for w in words})


def close_words(words):
    return {w: {t: f for t, f in VOCABULARY.items() if t[0] == w[0] and t != w} for w in words}


def suggest(query):
    return corrected_query(query, counts, close_words)


def words(query):
    return [query[s:e] for s, e in correctable_spans(query)]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("transfromer attension", "transformer attention"),
        ("deep lerning", "deep learning"),
        ("Nueral NETWROK", "Neural NETWORK"),
        ("  grpah   (nueral OR netwroks) ", "  graph   (neural OR networks) "),
        ('"nueral netwroks" for graphs', '"neural networks" for graphs'),
        ("quantm", "quantum"),
    ],
)
def test_misspelt_words_are_corrected_and_the_rest_kept_as_typed(query, expected):
    assert suggest(query) == expected


@pytest.mark.parametrize(
    "query",
    [
        "transformer attention",  # all known
        "covid",  # rarer than `could`, but in too many papers to be a typo
        "gans",
        "tokenisation",  # a spelling of its own
        "zebrafish",  # unknown, and nothing close
        "",
    ],
)
def test_words_that_look_meant_are_left_alone(query):
    assert suggest(query) is None


@pytest.mark.parametrize(
    "query",
    [
        "ti:attension",
        'abs:"nueral netwroks"',
        "au:lerning",
        "cat:cs.LG",
        "kw:grpah",
        "foo:grpah",
        "-attension",
        '-"nueral netwroks"',
        "NOT attension",
        "arXiv:2505.24119v2",
        "2505.24119",
        "hep-th/9901001",
        "covid-19",
        "$\\nueral$",
        "$$x + grpah$$",
        "\\mathcal",
        "gr4ph",
        "teh",  # too short to correct
    ],
)
def test_fields_exclusions_operators_ids_and_latex_are_never_corrected(query):
    assert words(query) == []
    assert suggest(query) is None


def test_only_the_words_after_not_and_a_prefix_are_skipped():
    assert words("NOT attension nueral ti:grpah quantm") == ["nueral", "quantm"]
    assert words('"unclosed nueral') == ["unclosed", "nueral"]
    assert words("(lerning)") == ["lerning"]


def test_the_fewest_edits_win_then_the_most_papers():
    assert best_correction("transfromer", 1, VOCABULARY) == "transformer"
    assert best_correction("sparce", 0, {"space": 7464, "sparse": 3371}) == "space"
    assert best_correction("networkss", 0, VOCABULARY) == "networks"


def test_a_correction_must_be_in_many_more_papers():
    assert best_correction("transfromer", 600, VOCABULARY) is None
    assert best_correction("leaning", 34, {"learning": 339}) is None
    assert best_correction("leaning", 3, {"learning": 30}) == "learning"


def test_short_words_allow_one_edit_and_long_ones_two():
    assert best_correction("grph", 0, {"graph": 10}) == "graph"
    assert best_correction("grh", 0, {"graph": 10}) is None
    assert best_correction("gaph", 0, {"graph": 10}) == "graph"
    assert best_correction("atention", 0, {"attention": 10}) == "attention"
    assert best_correction("atentoin", 0, {"attention": 10}) == "attention"
    assert best_correction("atntoin", 0, {"attention": 10}) is None


def test_words_of_the_same_stem_and_words_with_digits_are_no_correction():
    assert best_correction("modelings", 0, {"modeling": 1616}) is None  # already matched
    assert best_correction("mambo", 0, {"mamba2": 20}) is None


def test_rare_means_a_handful_of_papers_or_more_in_big_indexes():
    assert is_rare(3, 100) and not is_rare(4, 100)
    assert is_rare(7, PAPERS) and not is_rare(8, PAPERS)
    assert is_rare(200, 2_000_000)


def test_close_words_are_only_looked_up_for_rare_words():
    asked = []

    def recording(words):
        asked.extend(words)
        return close_words(words)

    assert corrected_query("attention transfromer Transfromer", counts, recording)
    assert asked == ["transfromer"]


def test_long_queries_look_up_their_first_32_words_only():
    asked = []

    def recording(words):
        asked.extend(words)
        return counts(words)

    pasted = " ".join("".join(letters) for letters in itertools.product("bcdfg", repeat=4))
    corrected_query(pasted, recording, close_words)
    assert len(asked) == 32


@given(st.text(max_size=200))
def test_spans_are_ordered_alphabetic_words_of_any_text(text):
    spans = correctable_spans(text)
    assert spans == sorted(spans)
    assert all(end <= start for (_, end), (start, _) in zip(spans, spans[1:], strict=False))
    assert all(text[s:e].isalpha() for s, e in spans)


@given(st.text(alphabet='abAB "-:()$\\ORNT', max_size=60))
def test_corrections_change_only_the_corrected_words(text):
    def one_letter_off(words):
        return {w: {w[:-1] + ("b" if w.endswith("a") else "a"): 10} for w in words}

    fixed = corrected_query(text, lambda words: WordCounts(10, {}), one_letter_off)
    inside = {i for start, end in correctable_spans(text) for i in range(start, end)}
    assert (fixed is None) == (not inside)
    if fixed is not None:
        assert len(fixed) == len(text)
        assert all(fixed[i] == ch for i, ch in enumerate(text) if i not in inside)
