"""Search latency on the path users take, against raw tantivy on the same index, in one run.

    python bench/search.py [--queries 200] [--rounds 3] [--no-hybrid]

Uses the prepared 73k-paper data directory (bench/corpus.py: the snapshot upserted into the
database, the index built from it, models trained on a recent slice) and times 200 queries of
2-4 consecutive words taken from random titles and abstracts:
- `raw_tantivy`: tantivy's own query parser over the same `text` field, top 10 hits, their ids;
- `bm25`: `search.service.run_search(query, rerank=False, page_size=10)`, what the search page
  and the API run with "words only" (count of all-words matches, ranking, papers from the
  database, highlights);
- `hybrid`: the same with hybrid ranking on (BM25 and dense candidates, fusion), the default;
  query vectors are cached per process as in the app, so the first round encodes every query
  and later rounds do not: `hybrid_first_round` is reported apart.
Every sample of every round counts: medians over all rounds. Goals (issue #11): hybrid p50 <=
30 ms, bm25 p50 <= 3x raw tantivy.
"""

import argparse
import json
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # this file is bench/search.py: keep it from shadowing the search app
_WORD_RE = re.compile(r"^[A-Za-z]{3,}$")


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


def timed(function, queries: list[str], rounds: int) -> list[list[float]]:
    """Every query's time in every round (the rounds interleave all queries)."""
    out = []
    for _ in range(rounds):
        times = []
        for query in queries:
            started = time.perf_counter()
            function(query)
            times.append(time.perf_counter() - started)
        out.append(times)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-hybrid", dest="hybrid", action="store_false")
    args = parser.parse_args()

    from bench.corpus import DEFAULT_DIR, prepare, prepare_models

    papers = prepare(DEFAULT_DIR)
    version = prepare_models() if args.hybrid else None
    from tantivy import Index

    from papers.enrichment.artifacts import current_artifacts
    from papers.models import Paper
    from search.analysis import ENGLISH, EXACT, NAMES, analyzer
    from search.backends.base import get_search_backend
    from search.hybrid import query_vectors
    from search.service import run_search

    documents = list(Paper.objects.values("title", "abstract")[:20000])
    queries = sample_queries(documents, args.queries)
    raw = Index.open(str(get_search_backend().directory.current()))
    for name in (ENGLISH, EXACT, NAMES):
        raw.register_tokenizer(name, analyzer(name))
    raw_searcher = raw.searcher()

    def raw_tantivy(query: str) -> list[str]:
        parsed = raw.parse_query(query, ["text"])
        result = raw_searcher.search(parsed, 10, count=True)
        return [raw_searcher.doc(address).get_first("arxiv_id") for _, address in result.hits]

    def bm25(query: str) -> list[str]:
        return [r.hit.highlights for r in run_search(query, rerank=False, page_size=10).rows]

    def hybrid(query: str) -> list[str]:
        result = run_search(query, page_size=10)
        reranked.append(result.reranked)
        return [r.hit.highlights for r in result.rows]

    reranked: list[bool] = []
    timed(raw_tantivy, queries, 1)  # warm caches
    timed(bm25, queries, 1)
    report: dict = {"papers": papers, "queries": len(queries), "rounds": args.rounds}
    raw_stats = percentiles([t for r in timed(raw_tantivy, queries, args.rounds) for t in r])
    bm25_stats = percentiles([t for r in timed(bm25, queries, args.rounds) for t in r])
    report.update(raw_tantivy=raw_stats, bm25=bm25_stats)
    report["bm25_p50_ratio"] = round(bm25_stats["p50_ms"] / raw_stats["p50_ms"], 2)
    if args.hybrid:
        query_vectors.wait(current_artifacts())
        rounds = timed(hybrid, queries, args.rounds)
        report["models"] = version
        report["papers_with_vectors"] = Paper.objects.exclude(embedded_with="").count()
        report["hybrid"] = percentiles([t for r in rounds for t in r])
        report["hybrid_first_round"] = percentiles(rounds[0])
        report["hybrid_reranked_share"] = round(sum(reranked) / max(1, len(reranked)), 3)
    report["goals"] = {"bm25_p50_within_3x_raw_tantivy": report["bm25_p50_ratio"] <= 3.0}
    if args.hybrid:
        report["goals"]["hybrid_p50_at_most_30_ms"] = report["hybrid"]["p50_ms"] <= 30.0
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
