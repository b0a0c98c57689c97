"""“Did you mean”: which words of a query may be corrected, and which correction to offer.

Backends know the vocabulary of titles and abstracts (unstemmed, lowercased): how many papers
contain a word, and the indexed words a couple of edits away from it. This module decides the
rest, the same way for every backend:

- only plain words and the words inside quoted phrases are candidates; field prefixes and their
  values (`ti:`, `au:`, `cat:`, ...), excluded words, operators, words with digits or symbols
  (arXiv ids, `covid-19`) and anything inside `$...$` math stay exactly as typed;
- a word is corrected only when it is rare (in at most a handful of papers, so a query with it
  finds little) and a word within one edit (two for longer words) sharing its first letter is
  in many times more papers; the fewest edits win, then the most papers;
- the rest of the query, quotes and spacing included, is left as typed.

Like Lucene's DirectSpellChecker, candidates share the first letter: it keeps look-ups to a
slice of the vocabulary, and first letters are rarely the mistake.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from rapidfuzz.distance import OSA

from search.analysis import ENGLISH, analyze
from search.query import MAX_CLAUSES, STOPWORDS

MIN_WORD_LENGTH = 4
# Longer words may be two edits (a transposition counts as one) from the intended word.
TWO_EDITS_FROM_LENGTH = 6
MAX_EDITS = 2
# A word in more papers than this is taken as meant (at least RARE_MIN_PAPERS papers, more in
# bigger indexes: typos recur).
RARE_MIN_PAPERS = 3
RARE_FRACTION = 1 / 10_000
# A correction must be in this many times more papers than the word it replaces.
MIN_RATIO = 10

_MATH_RE = re.compile(r"(?<!\\)\$\$.+?(?<!\\)\$\$|(?<!\\)\$.+?(?<!\\)\$", re.DOTALL)
# Any `name:` prefix, known field or not: a prefixed value is never corrected.
_PREFIX_RE = re.compile(r"\w+:")
_OPERATORS = frozenset({"OR", "AND", "NOT", "|", "&&", "||"})

Span = tuple[int, int]


@dataclass(frozen=True)
class WordCounts:
    """How many papers an index holds, how many of them contain each asked-for word, and which
    of the words are (part of) an indexed author name: those are never corrected."""

    papers: int
    doc_freqs: dict[str, int]
    names: frozenset[str] = frozenset()


# word -> {indexed word within MAX_EDITS edits with the same first letter: papers containing it}
CloseWords = dict[str, dict[str, int]]


def correctable_spans(query: str) -> list[Span]:
    """Where in `query` the words a correction may replace are (start, end offsets)."""
    math = [m.span() for m in _MATH_RE.finditer(query)]
    spans: list[Span] = []
    i, n = 0, len(query)
    after_not = False
    while i < n:
        if query[i].isspace() or query[i] in "()":
            i += 1
            continue
        # The same reading as search.query's tokenizer, keeping offsets.
        keep = not after_not
        after_not = False
        if query[i] == "-" and i + 1 < n and not query[i + 1].isspace():
            keep = False
            i += 1
        prefix = _PREFIX_RE.match(query, i)
        if prefix and prefix.end() < n and not query[prefix.end()].isspace():
            keep = False
            i = prefix.end()
        if query[i] == '"':
            end = query.find('"', i + 1)
            end = n if end == -1 else end
            if keep:
                spans += [
                    (i + 1 + m.start(), i + 1 + m.end())
                    for m in re.finditer(r"\S+", query[i + 1 : end])
                ]
            i = end + 1
            continue
        end = i
        while end < n and not query[end].isspace() and query[end] not in '()"':
            end += 1
        word = query[i:end]
        if keep and word in _OPERATORS:
            after_not = word == "NOT"
        elif keep:
            spans.append((i, end))
        i = end
    return [
        (start, end)
        for start, end in spans
        if _is_word(query[start:end]) and not any(s < end and start < e for s, e in math)
    ]


def _is_word(text: str) -> bool:
    return text.isalpha() and len(text) >= MIN_WORD_LENGTH and text.lower() not in STOPWORDS


def is_rare(doc_freq: int, papers: int) -> bool:
    return doc_freq <= max(RARE_MIN_PAPERS, papers * RARE_FRACTION)


def max_edits(word: str) -> int:
    return MAX_EDITS if len(word) >= TWO_EDITS_FROM_LENGTH else 1


def best_correction(word: str, doc_freq: int, close: dict[str, int]) -> str | None:
    """The close word to offer instead of a rare `word` (lowercase), or None."""
    needed = max(1, MIN_RATIO * doc_freq)
    limit = max_edits(word)
    stems = analyze(ENGLISH, word)
    best: tuple[int, int, str] | None = None
    for candidate, freq in close.items():
        if freq < needed or candidate == word or not candidate.isalpha():
            continue
        if candidate[0] != word[0]:
            continue
        edits = OSA.distance(word, candidate, score_cutoff=limit)
        if edits > limit or analyze(ENGLISH, candidate) == stems:
            continue  # too far, or the same stem: the search already matches it
        key = (edits, -freq, candidate)
        if best is None or key < best:
            best = key
    return best[2] if best else None


def _same_case(correction: str, typed: str) -> str:
    if typed.isupper() and len(typed) > 1:
        return correction.upper()
    if typed[0].isupper():
        return correction[0].upper() + correction[1:]
    return correction


def corrected_query(
    query: str,
    counts: Callable[[list[str]], WordCounts],
    close_words: Callable[[list[str]], CloseWords],
) -> str | None:
    """`query` with its misspelt words corrected, or None when no word needs it.

    `counts` and `close_words` look words up in the index; `close_words` is asked only about
    the rare ones.
    """
    spans = correctable_spans(query)
    if not spans:
        return None
    # Pasted abstracts are searched by their first words only; look no further either.
    words = list(dict.fromkeys(query[s:e].lower() for s, e in spans))[:MAX_CLAUSES]
    known = counts(words)
    rare = [
        w
        for w in words
        if w not in known.names and is_rare(known.doc_freqs.get(w, 0), known.papers)
    ]
    if not rare:
        return None
    neighbours = close_words(rare)
    corrections = {
        word: fixed
        for word in rare
        if (fixed := best_correction(word, known.doc_freqs.get(word, 0), neighbours.get(word, {})))
    }
    if not corrections:
        return None
    out, last = [], 0
    for start, end in spans:
        typed = query[start:end]
        if (fixed := corrections.get(typed.lower())) is not None:
            out += [query[last:start], _same_case(fixed, typed)]
            last = end
    out.append(query[last:])
    return "".join(out)
