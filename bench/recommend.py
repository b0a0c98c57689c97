"""Precision@20 of "For you" for simulated readers, against cosine-to-centroid and random.

Each simulated reader has one interest: a primary category (cs.CV) or a phrase (papers whose
title or abstract contain "reinforcement learning"). They star `--stars` papers drawn from that
interest; the other papers of the interest among the candidates are the targets. Our ranking is
`papers.enrichment.for_you.recommend_for`, the function the For you page calls, run on real
stars in the benchmark database (each reader is rolled back afterwards). Baselines, on the same
candidates and whitened vectors: cosine to the centroid of the stars (Rocchio with the
not-interested centroid subtracted at 0.5 when there are marks) and a random order.

"With not-interested marks": the reader also marks `--negatives` papers of the interest nearest
to theirs (by centroid cosine) that are not in theirs; the lists exclude them either way.

Embedding all 73k papers takes about half an hour here, so models are trained on the most
recent `--slice` papers (bench.corpus.prepare_models): only those have vectors, and For you
ranks the papers with vectors announced in its window.

    .venv/bin/python bench/recommend.py --workdir /tmp/readers-bench/data
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.corpus import DEFAULT_SNAPSHOT, prepare, prepare_models  # noqa: E402

K = 20
PHRASES = [
    "reinforcement learning",
    "large language model",
    "diffusion model",
    "graph neural network",
    "retrieval-augmented",
    "federated learning",
    "quantum",
    "speech",
    "robot",
    "medical imag",
    "point cloud",
    "black hole",
    "benchmark",
    "vision-language",
    "time series",
    "privacy",
]


def interests(papers: list, min_members: int) -> dict[str, set[int]]:
    """Interest name -> pks of its papers among the candidates."""
    out: dict[str, set[int]] = {}
    by_category: dict[str, set[int]] = {}
    for p in papers:
        by_category.setdefault(p.primary_category_id, set()).add(p.pk)
    for code, pks in sorted(by_category.items()):
        if len(pks) >= min_members:
            out[f"cat:{code}"] = pks
    for phrase in PHRASES:
        pattern = re.compile(rf"\b{re.escape(phrase)}", re.IGNORECASE)
        pks = {p.pk for p in papers if pattern.search(f"{p.title} {p.abstract}")}
        if len(pks) >= min_members:
            out[f"kw:{phrase}"] = pks
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/readers-bench/data"))
    parser.add_argument("--snapshot", type=Path, default=DEFAULT_SNAPSHOT)
    parser.add_argument("--slice", type=int, default=2500, help="most recent papers with vectors")
    parser.add_argument("--stars", type=int, default=10)
    parser.add_argument("--negatives", type=int, default=5)
    parser.add_argument("--readers", type=int, default=5, help="simulated readers per interest")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    prepare(args.workdir, args.snapshot)
    version = prepare_models(args.slice)

    import datetime as dt

    from django.conf import settings
    from django.contrib.auth.models import User
    from django.db import transaction
    from django.db.models import Max

    from papers.enrichment.artifacts import current_artifacts
    from papers.enrichment.for_you import recommend_for
    from papers.library.models import Mark
    from papers.models import Paper
    from search.dense import dense_index

    corpus = dense_index(current_artifacts())
    latest = Paper.objects.aggregate(latest=Max("announced"))["latest"]
    since = latest - dt.timedelta(days=settings.RECOMMENDATION_DAYS)
    window = Paper.objects.filter(withdrawn=False, announced__gt=since)
    rows = corpus.rows_of(window.values_list("pk", flat=True))
    cand_pks = corpus.pks[rows]
    cand_vecs = corpus.vectors[rows]
    papers = list(
        Paper.objects.filter(pk__in=cand_pks.tolist()).only(
            "pk", "title", "abstract", "primary_category_id"
        )
    )
    groups = interests(papers, min_members=args.stars + 2 * K)
    row_of = {int(pk): i for i, pk in enumerate(cand_pks)}
    centroid = {
        name: _unit(cand_vecs[[row_of[pk] for pk in pks]].mean(axis=0))
        for name, pks in groups.items()
    }

    def nearest_other(name: str) -> str:
        others = [o for o in groups if o != name]
        return max(others, key=lambda o: float(centroid[name] @ centroid[o]))

    rng = np.random.default_rng(args.seed)
    results: dict[str, dict[str, list[float]]] = {}
    timings: list[float] = []
    for name, members in groups.items():
        kind = name.split(":")[0]
        neighbour = nearest_other(name)
        pool = sorted(members)
        for r in range(args.readers):
            stars = [int(x) for x in rng.choice(pool, size=args.stars, replace=False)]
            targets = members - set(stars)
            negative_pool = sorted(groups[neighbour] - members)
            negatives = [
                int(x)
                for x in rng.choice(
                    negative_pool, size=min(args.negatives, len(negative_pool)), replace=False
                )
            ]
            for with_negatives in (False, True):
                marked_neg = negatives if with_negatives else []
                key = f"{'category' if kind == 'cat' else 'keyword'}" + (
                    "+not_interested" if with_negatives else ""
                )
                scores = results.setdefault(key, {"ours": [], "centroid": [], "random": []})
                with transaction.atomic():
                    user = User.objects.create_user(f"bench-{name}-{r}-{with_negatives}")
                    Mark.objects.bulk_create(
                        [Mark(user=user, paper_id=pk, kind=Mark.Kind.STAR) for pk in stars]
                        + [
                            Mark(user=user, paper_id=pk, kind=Mark.Kind.NOT_INTERESTED)
                            for pk in marked_neg
                        ]
                    )
                    started = time.perf_counter()
                    picks = recommend_for(user, n=K).picks
                    timings.append(time.perf_counter() - started)
                    transaction.set_rollback(True)
                assert len(picks) == K, f"For you gave {len(picks)} picks"
                scores["ours"].append(_precision([p.paper.pk for p in picks], targets))
                excluded = set(stars) | set(marked_neg)
                allowed = np.array([int(pk) not in excluded for pk in cand_pks])
                c_pos = _unit(cand_vecs[[row_of[pk] for pk in stars]].mean(axis=0))
                sims = cand_vecs @ c_pos
                if marked_neg:
                    sims = sims - 0.5 * (
                        cand_vecs @ _unit(cand_vecs[[row_of[pk] for pk in marked_neg]].mean(axis=0))
                    )
                order = [int(cand_pks[i]) for i in np.argsort(-sims, kind="stable") if allowed[i]]
                scores["centroid"].append(_precision(order[:K], targets))
                shuffled = [int(pk) for pk in rng.permutation(cand_pks) if int(pk) not in excluded]
                scores["random"].append(_precision(shuffled[:K], targets))

    summary = {
        key: {
            method: {
                "p@20_median": round(statistics.median(values), 3),
                "p@20_mean": round(statistics.fmean(values), 3),
            }
            for method, values in by_method.items()
        }
        for key, by_method in results.items()
    }
    print(
        json.dumps(
            {
                "models": version,
                "slice_papers_with_vectors": int(len(corpus.pks)),
                "candidates": int(len(cand_pks)),
                "window": f"announced after {since.isoformat()}",
                "stars_per_reader": args.stars,
                "not_interested_per_reader": args.negatives,
                "readers_per_interest": args.readers,
                "interests": {name: len(pks) for name, pks in groups.items()},
                "readers": {key: len(v["ours"]) for key, v in results.items()},
                "precision_at_20": summary,
                "recommend_for_ms_median": round(statistics.median(timings) * 1000, 1),
            },
            indent=2,
        )
    )


def _unit(v: np.ndarray) -> np.ndarray:
    return v / (np.linalg.norm(v) + 1e-12)


def _precision(picked: list[int], targets: set[int]) -> float:
    return sum(pk in targets for pk in picked[:K]) / K


if __name__ == "__main__":
    main()
