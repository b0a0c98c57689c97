"""Search latency: our backend interface against raw tantivy on the same index, in one run.

    python bench/search.py [--data ../shared/data/arxiv/papers.jsonl.gz] [--queries 200]

Indexes the arXiv snapshot into a throw-away tantivy index through our backend, then times 200
queries of 2-4 consecutive words taken from random titles and abstracts:
- `raw_tantivy`: tantivy's own query parser over the same field, top 10 hits, their stored ids;
- `backend`: `search(query)[:10]` through our interface (parse, compile, count, top 10 ids);
- `backend_with_highlights`: the same plus the title and abstract snippets of the 10 hits.
Prints one JSON object; the goal is backend p50 <= 3x raw tantivy and <= 10 ms.
"""

import argparse
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # this file is bench/search.py: keep it from shadowing the search app
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "arxiv" / "papers.jsonl.gz"
_WORD_RE = re.compile(r"^[A-Za-z]{3,}$")


def load_documents(path: Path):
    from papers.ingest.snapshot import PaperRecord, iter_snapshot, open_snapshot
    from search.documents import document

    with open_snapshot(path) as stream:
        for item in iter_snapshot(stream):
            if isinstance(item, PaperRecord):
                yield document(
                    item.arxiv_id,
                    item.title,
                    item.abstract,
                    item.authors,
                    item.categories,
                    item.announced,
                )


def sample_queries(documents: list, count: int, seed: int = 7) -> list[str]:
    """Runs of 2-4 plain words from random titles and abstracts, lowercased (no operators)."""
    from search.query import STOPWORDS

    rng = random.Random(seed)
    queries: list[str] = []
    while len(queries) < count:
        doc = rng.choice(documents)
        words = [w for w in doc[rng.choice(["title", "abstract"])].split() if _WORD_RE.match(w)]
        size = rng.randint(2, 4)
        if len(words) >= size:
            start = rng.randrange(len(words) - size + 1)
            query = " ".join(words[start : start + size]).lower()
            if not set(query.split()) <= STOPWORDS:  # "of the" is nobody's query
                queries.append(query)
    return queries


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 3), "p95_ms": round(p95 * 1000, 3)}


def timed(function, queries: list[str], rounds: int) -> list[float]:
    """Each query's best time over `rounds` (the rounds interleave all queries)."""
    best = [float("inf")] * len(queries)
    for _ in range(rounds):
        for i, query in enumerate(queries):
            started = time.perf_counter()
            function(query)
            best[i] = min(best[i], time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    workdir = tempfile.TemporaryDirectory(prefix="bench-search-")
    os.environ["DATA_DIR"] = workdir.name
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "papers.settings")
    import django

    django.setup()
    from tantivy import Index

    from search.analysis import ENGLISH, EXACT, NAMES, analyzer
    from search.backends.tantivy import TantivyBackend

    documents = list(load_documents(args.data))
    backend = TantivyBackend("bench", {"PATH": str(Path(workdir.name) / "index")})
    started = time.perf_counter()
    backend.rebuild(documents)
    index_seconds = time.perf_counter() - started
    queries = sample_queries(documents, args.queries)

    raw = Index.open(str(backend.directory.current()))
    for name in (ENGLISH, EXACT, NAMES):
        raw.register_tokenizer(name, analyzer(name))
    raw_searcher = raw.searcher()

    def raw_tantivy(query: str) -> list[str]:
        parsed = raw.parse_query(query, ["text"])
        result = raw_searcher.search(parsed, 10, count=True)
        return [raw_searcher.doc(address).get_first("arxiv_id") for _, address in result.hits]

    def through_backend(query: str) -> list[str]:
        return [hit.arxiv_id for hit in backend.search(query)[:10]]

    def with_highlights(query: str) -> list[dict]:
        return [hit.highlights for hit in backend.search(query)[:10]]

    for function in (raw_tantivy, through_backend, with_highlights):
        timed(function, queries, 1)  # warm caches
    raw_times = timed(raw_tantivy, queries, args.rounds)
    backend_times = timed(through_backend, queries, args.rounds)
    highlight_times = timed(with_highlights, queries, args.rounds)
    raw_stats, backend_stats = percentiles(raw_times), percentiles(backend_times)
    print(
        json.dumps(
            {
                "papers": len(documents),
                "queries": len(queries),
                "index_seconds": round(index_seconds, 1),
                "raw_tantivy": raw_stats,
                "backend": backend_stats,
                "backend_with_highlights": percentiles(highlight_times),
                "p50_ratio": round(backend_stats["p50_ms"] / raw_stats["p50_ms"], 2),
                "p95_ratio": round(backend_stats["p95_ms"] / raw_stats["p95_ms"], 2),
                "goal": "backend p50 <= 3x raw tantivy and <= 10 ms",
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
