"""Which index fields a plain word or phrase searches, and how much each counts.

A plain word (or a phrase without a field prefix) matches title and abstract (`text`), the
paper's extracted key phrases and its author names; a paper's BM25 score is the boosted sum over
those fields. The boosts are chosen by bench/relevance.py (SciFact train, the `field_boosts`
table) and by the author-name checks in tests/search/test_author_queries.py: key phrases repeat
what the text says, so they count less; a name matched in the short author field already scores
high, so it needs no boost to come first.
"""

TEXT = "text"
KEYWORDS = "keywords"
AUTHORS = "authors"

PLAIN_FIELDS: dict[str, float] = {TEXT: 1.0, KEYWORDS: 0.5, AUTHORS: 1.0}
