"""Related papers: do both columns of the paper page stay on the paper's topic?

    python bench/related.py [--papers 10000] [--sources 300] [--data-dir DIR]

Builds (once, reused) a data directory holding the ``--papers`` most recent papers of the
73k-paper corpus, trains the models on them and enriches every one of them the way the app does
(papers.enrichment: train, then enrich_papers, then the search index rebuilt with the keywords).
Embedding all 73k papers takes about half an hour on 2 cores, hence the recent slice.

Then, for ``--sources`` random papers, it calls the functions the paper page calls
(papers.enrichment.related.by_vector and by_keywords, RELATED_PAPERS results each) and a random
baseline (as many random other papers), and prints for each column, as JSON:

- ``category_share``: share of related papers with at least one arXiv category of the source;
- ``mean_cosine``: mean cosine of the whitened vectors (the ones the app stores) to the source;
- ``overlap_with_vector``: share of a column's papers that the vector column shows too.

``keyword_variants`` holds every way of ranking the key-phrase candidates that was tried
(by_keywords' ``ranking`` argument, same sources). Goal: the key-phrase column within 10 points
of the vector column on category share.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])
from bench.corpus import DEFAULT_SNAPSHOT, setup_django  # noqa: E402

DEFAULT_DIR = Path(tempfile.gettempdir()) / "coolpapers-related"


def recent_slice(snapshot: Path, n: int, out: Path) -> None:
    """Write the ``n`` most recently announced papers of ``snapshot`` to ``out`` (jsonl.gz)."""
    with gzip.open(snapshot, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    rows.sort(key=lambda r: (r.get("crawl_date_first") or "", r["id"]))
    with gzip.open(out, "wt", encoding="utf-8") as fh:
        for row in rows[-n:]:
            fh.write(json.dumps(row) + "\n")


def prepare(data_dir: Path, snapshot: Path, n_papers: int, retrain: bool = False) -> str:
    """Load, train, enrich and index the slice unless done already; the artifact version."""
    setup_django(data_dir)
    from django.conf import settings
    from django.core.management import call_command
    from tqdm import tqdm

    from papers.enrichment.artifacts import current_artifacts
    from papers.enrichment.enrich import enrich_papers, pending_batches
    from papers.enrichment.training import execute_training
    from papers.ingest.snapshot import load_snapshot
    from papers.models import Paper, TrainingRun
    from search.backends.base import get_search_backend

    call_command("migrate", verbosity=0)
    if not Paper.objects.exists():
        part = data_dir / f"recent-{n_papers}.jsonl.gz"
        recent_slice(snapshot, n_papers, part)
        load_snapshot(part, batch_size=2000, announce=False)
    artifacts = current_artifacts()
    if artifacts is None or retrain:  # vectors are kept: retraining encodes nothing again
        settings.ML_TRAIN_MAX_PAPERS = n_papers
        execute_training(TrainingRun.objects.create().pk, progress=True)
        artifacts = current_artifacts()
        # The same papers on the same day give the same version: enrich them all again anyway.
        Paper.objects.update(enriched_version="")
    todo = list(pending_batches(artifacts.version))
    if todo:
        for pks in tqdm(todo, desc="enriching", unit="batch", file=sys.stderr):
            enrich_papers(pks, artifacts)
        get_search_backend().rebuild()  # the index the app keeps: keywords included
    return artifacts.version


def category_share(source, papers) -> float | None:
    if not papers:
        return None
    mine = set(source.category_codes)
    return sum(bool(mine & set(p.category_codes)) for p in papers) / len(papers)


def summarise(rows: list[dict]) -> dict:
    def mean(key):
        values = [r[key] for r in rows if r[key] is not None]
        return round(sum(values) / len(values), 4) if values else None

    return {
        "category_share": mean("share"),
        "mean_cosine": mean("cosine"),
        "overlap_with_vector": mean("overlap"),
        "results_per_source": mean("n"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--snapshot", type=Path, default=DEFAULT_SNAPSHOT)
    parser.add_argument("--papers", type=int, default=10_000)
    parser.add_argument("--sources", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--retrain", action="store_true", help="fit the models again first")
    args = parser.parse_args()
    if not args.snapshot.exists():
        sys.exit(f"needs the corpus at {args.snapshot}")
    version = prepare(args.data_dir, args.snapshot, args.papers, args.retrain)

    import numpy as np
    from django.conf import settings

    from papers.enrichment import related
    from papers.enrichment.artifacts import current_artifacts
    from papers.models import Paper
    from search.dense import dense_index

    corpus = dense_index(current_artifacts(), wait=600)  # what the paper page reads
    rng = random.Random(args.seed)
    pool = list(
        Paper.objects.filter(pk__in=corpus.pks.tolist()).exclude(keywords=[]).order_by("pk")
    )
    sources = rng.sample(pool, min(args.sources, len(pool)))
    n = settings.RELATED_PAPERS

    def measure(source, papers, vector_pks) -> dict:
        rows = corpus.rows_of([p.pk for p in papers])
        own = corpus.rows_of([source.pk])
        cosine = None
        if len(rows) and len(own):
            cosine = float((corpus.vectors[rows] @ corpus.vectors[own[0]]).mean())
        overlap = sum(p.pk in vector_pks for p in papers) / len(papers) if papers else None
        return {"share": category_share(source, papers), "cosine": cosine,
                "overlap": overlap, "n": len(papers)}  # fmt: skip

    columns: dict[str, list[dict]] = {"by_vector": [], "random": []}
    variants = {name: [] for name in related.KEYWORD_RANKINGS}
    timings: dict[str, list[float]] = {name: [] for name in ["by_vector", *variants]}
    for source in sources:
        started = time.perf_counter()
        vector = [r.paper for r in related.by_vector(source, n=n)]
        timings["by_vector"].append(time.perf_counter() - started)
        vector_pks = {p.pk for p in vector}
        columns["by_vector"].append(measure(source, vector, vector_pks))
        others = rng.sample(pool, n + 1)
        randoms = [p for p in others if p.pk != source.pk][:n]
        columns["random"].append(measure(source, randoms, vector_pks))
        for name in variants:
            started = time.perf_counter()
            found = [r.paper for r in related.by_keywords(source, n=n, ranking=name)]
            timings[name].append(time.perf_counter() - started)
            variants[name].append(measure(source, found, vector_pks))
    shipped = related.KEYWORD_RANKING
    result = {
        "by_vector": summarise(columns["by_vector"]),
        "by_keywords": {**summarise(variants[shipped]), "ranking": shipped},
        "random": summarise(columns["random"]),
        "keyword_variants": {name: summarise(rows) for name, rows in variants.items()},
        "p50_ms": {k: round(1000 * float(np.median(v)), 1) for k, v in timings.items()},
        "sources": len(sources),
        "papers": Paper.objects.count(),
        "embedded": len(corpus.pks),
        "artifacts": version,
    }
    result["goal_gap_points"] = round(
        100 * (result["by_vector"]["category_share"] - result["by_keywords"]["category_share"]), 1
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
