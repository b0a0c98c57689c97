"""Small hand-made records for tests; real papers come from the shipped sample."""

import datetime as dt

from papers.ingest.records import PaperRecord

_counter = iter(range(10_000, 99_999))


def record(**overrides) -> PaperRecord:
    fields = {
        "arxiv_id": f"2605.{next(_counter):05d}",
        "title": "Whitening sentence embeddings for retrieval",
        "abstract": "We study whitening of sentence embeddings.",
        "authors": ["Ada Lovelace", "Alan Turing"],
        "categories": ["cs.CL", "cs.IR"],
        "announced": dt.date(2026, 5, 20),
    }
    fields.update(overrides)
    return PaperRecord(**fields)
