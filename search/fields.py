"""Which index fields a plain word or phrase searches, and how much each counts.

A plain word (or a phrase without a field prefix) matches title and abstract (`text`) and the
paper's author names; a paper's BM25 score is the boosted sum over those fields. Key phrases are
searched with `kw:` only: they are cut from the same title and abstract, so every word in them
is matched through `text` already, and counting them again only lowered the ranking. Measured
with bench/relevance.py on SciFact train (the `tuning` table, product nDCG@10 / recall@100):
key-phrase boost 0 gives 0.7352 / 0.9464, 0.5 gives 0.7216 / 0.952, 1.0 gives 0.6984 / 0.9545.
A name matched in the short author field already scores high, so names need no boost to come
first (tests/search/test_pipeline.py).
"""

TEXT = "text"
KEYWORDS = "keywords"
AUTHORS = "authors"

# A field with boost 0 is not searched by plain words.
PLAIN_FIELDS: dict[str, float] = {TEXT: 1.0, KEYWORDS: 0.0, AUTHORS: 1.0}
