"""Snippets: HTML-escaped title and abstract with `<mark>` around the words a query matched.

Both backends use this one highlighter, so they show the same snippets. Matches follow the
analyzers (a query for "networks" marks "network"), phrases mark only adjacent words, nothing is
marked or cut inside `$...$` math, so MathJax still renders it.
"""

import html
import re

from search.analysis import ENGLISH, EXACT, analyzer
from search.query import ABSTRACT, ALL, TITLE, ParsedQuery, Phrase

_MATH_RE = re.compile(r"(?<!\\)\$\$.+?(?<!\\)\$\$|(?<!\\)\$.+?(?<!\\)\$", re.DOTALL)
_TARGETS = {ALL: ("title", "abstract"), TITLE: ("title",), ABSTRACT: ("abstract",)}

SNIPPET_CHARS = 320
ELLIPSIS = "\u2026"

Span = tuple[int, int]


class Highlighter:
    def __init__(self, query: ParsedQuery, snippet_chars: int = SNIPPET_CHARS):
        self.snippet_chars = snippet_chars
        self._stems: dict[str, set[str]] = {"title": set(), "abstract": set()}
        self._words: dict[str, set[str]] = {"title": set(), "abstract": set()}
        self._phrases: dict[str, set[tuple[str, ...]]] = {"title": set(), "abstract": set()}
        for leaf in query.leaves():
            for target in _TARGETS.get(leaf.field, ()):
                if isinstance(leaf, Phrase) or leaf.exact:
                    tokens = tuple(analyzer(EXACT).analyze(leaf.text))
                    if len(tokens) == 1 or (tokens and not isinstance(leaf, Phrase)):
                        self._words[target].update(tokens)
                    elif tokens:
                        self._phrases[target].add(tokens)
                else:
                    self._stems[target].update(analyzer(ENGLISH).analyze(leaf.text))

    def title(self, text: str) -> str:
        """The whole title, escaped and marked."""
        return _render(text, self._spans("title", text), 0, len(text))

    def abstract(self, text: str) -> str:
        """A window of the abstract around the first match (the start when nothing matched)."""
        spans = self._spans("abstract", text)
        if len(text) <= self.snippet_chars:
            return _render(text, spans, 0, len(text))
        math = [m.span() for m in _MATH_RE.finditer(text)]
        start = _snap_start(text, spans[0][0] - self.snippet_chars // 4, math) if spans else 0
        end = _snap_end(text, start, start + self.snippet_chars, math)
        return _render(text, spans, start, end)

    def _spans(self, target: str, text: str) -> list[Span]:
        spans: list[Span] = []
        stems, words, phrases = self._stems[target], self._words[target], self._phrases[target]
        if stems:
            for token in analyzer(ENGLISH).pre_tokenize(text).tokens:
                if token.text in stems:
                    spans.append((token.char_offset_from, token.char_offset_to))
        if words or phrases:
            tokens = analyzer(EXACT).pre_tokenize(text).tokens
            texts = [t.text for t in tokens]
            for i, token in enumerate(tokens):
                if token.text in words:
                    spans.append((token.char_offset_from, token.char_offset_to))
                for phrase in phrases:
                    j = i + len(phrase)
                    if tuple(texts[i:j]) == phrase and tokens[j - 1].position - token.position == (
                        len(phrase) - 1
                    ):
                        spans.append((token.char_offset_from, tokens[j - 1].char_offset_to))
        if not spans:
            return []
        math = [m.span() for m in _MATH_RE.finditer(text)]
        spans = [s for s in spans if not any(a < s[1] and s[0] < b for a, b in math)]
        return _merge(spans)


def _merge(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _inside(position: int, math: list[Span]) -> Span | None:
    return next(((a, b) for a, b in math if a < position < b), None)


def _snap_start(text: str, start: int, math: list[Span]) -> int:
    """Move a window start back to a word boundary and out of any formula."""
    if start <= 0:
        return 0
    space = text.rfind(" ", 0, start + 1)
    start = space + 1 if space >= 0 else 0
    formula = _inside(start, math)
    return formula[0] if formula else start


def _snap_end(text: str, start: int, end: int, math: list[Span]) -> int:
    """Move a window end back to a word boundary; a formula is ended, or left out if it is long."""
    if end >= len(text):
        return len(text)
    space = text.rfind(" ", start, end)
    end = space if space > start else end
    formula = _inside(end, math)
    if formula:
        end = formula[0] if formula[0] > start else formula[1]
    return end


def _render(text: str, spans: list[Span], start: int, end: int) -> str:
    parts = [ELLIPSIS] if start > 0 else []
    position = start
    for a, b in spans:
        if b <= start or a >= end:
            continue
        a, b = max(a, start), min(b, end)
        parts += [html.escape(text[position:a]), "<mark>", html.escape(text[a:b]), "</mark>"]
        position = b
    parts.append(html.escape(text[position:end]))
    if end < len(text):
        parts.append(ELLIPSIS)
    return "".join(parts).strip()
