"""Retrieval quality on a BEIR-layout dataset, through our search backend.

    python bench/relevance.py [--data ../shared/data/scifact] [--split train]

Reads `corpus.jsonl` (`_id`, `title`, `text`), `queries.jsonl` (`_id`, `text`) and
`qrels/<split>.tsv`, indexes the corpus into a throw-away tantivy index through our backend and
prints one JSON object with nDCG@10 and Recall@100 per system. A system is one function from the
data set to rankings; add one to SYSTEMS to compare it.
Reference: Lucene BM25 (flat title + text) scores nDCG@10 0.679 on SciFact's test split.
"""

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[1]
if Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)  # run as a script: keep bench/search.py from shadowing the search app

from bench.beir import BeirSet, load_beir  # noqa: E402
from bench.metrics import Rankings, evaluate  # noqa: E402

if TYPE_CHECKING:
    from search.backends.base import SearchBackend

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "scifact"
DEPTH = 100

System = Callable[[BeirSet], Rankings]


@contextmanager
def throwaway_backend(data: BeirSet, **params) -> "Iterator[SearchBackend]":
    """A tantivy backend in a temporary directory holding the corpus."""
    from search.backends.tantivy import TantivyBackend
    from search.documents import document

    with tempfile.TemporaryDirectory(prefix="bench-relevance-") as path:
        backend = TantivyBackend("bench", {"PATH": path, **params})
        backend.rebuild(
            document(doc_id, data.titles[doc_id], data.bodies[doc_id]) for doc_id in data.corpus
        )
        yield backend


def bm25_system(stemming: bool) -> System:
    """Plain BM25 candidates from our backend, with or without English stemming."""

    def run(data: BeirSet) -> Rankings:
        with throwaway_backend(data, STEMMING=stemming) as backend:
            return {
                qid: [c.arxiv_id for c in backend.candidates(text, limit=DEPTH)]
                for qid, text in data.queries.items()
            }

    return run


def search_system(data: BeirSet) -> Rankings:
    """What users get: stemmed BM25 with papers matching every word first."""
    with throwaway_backend(data) as backend:
        return {
            qid: [hit.arxiv_id for hit in backend.search(text)[:DEPTH]]
            for qid, text in data.queries.items()
        }


SYSTEMS: dict[str, System] = {
    "bm25": bm25_system(stemming=False),
    "bm25_stemmed": bm25_system(stemming=True),
    "search_all_words_first": search_system,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--split", default="train")
    parser.add_argument("--systems", nargs="*", choices=list(SYSTEMS), default=list(SYSTEMS))
    args = parser.parse_args()

    workdir = tempfile.TemporaryDirectory(prefix="bench-relevance-")
    os.environ["DATA_DIR"] = workdir.name
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "papers.settings")
    import django

    django.setup()
    data = load_beir(args.data, args.split)
    report: dict = {"dataset": args.data.name, "split": args.split, "queries": len(data.queries)}
    for name in args.systems:
        report[name] = evaluate(SYSTEMS[name](data), data.qrels)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
