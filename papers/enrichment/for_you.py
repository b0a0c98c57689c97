""" "For you": recent papers ranked for a reader by a linear model on their stars.

Starred papers are positives, not-interested ones negatives, and a sample of the library serves
as weighted-down background (ml.recommend.PaperRecommender, as arxiv-sanity does). Each pick is
explained by the starred papers nearest to it and the key phrases it shares with them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db.models import Max

from ml.recommend import PaperRecommender
from papers.enrichment.artifacts import current_artifacts
from papers.enrichment.related import phrases_in
from papers.library.models import Mark
from papers.models import Paper
from search.dense import DenseIndexUnavailable, dense_index

MAX_SEEDS = 500
BACKGROUND = 1000


@dataclass
class Pick:
    paper: Paper
    score: float
    because: list[tuple[Paper, float]]  # starred papers nearest to this one, with cosines
    shared: list[str] = field(default_factory=list)  # their key phrases this paper uses


@dataclass
class ForYou:
    picks: list[Pick] = field(default_factory=list)
    seeds: list[Paper] = field(default_factory=list)  # the starred papers it learned from
    negatives: int = 0
    since: dt.date | None = None
    reason: str = ""  # why there are no picks


def _marked(user, kind: str) -> list[Paper]:
    marks = Mark.objects.filter(user=user, kind=kind).select_related("paper")
    return [m.paper for m in marks[:MAX_SEEDS]]


def recommend_for(user, n: int = 50, days: int | None = None) -> ForYou:
    """Up to ``n`` papers from the last ``days`` announcement days, best first."""
    days = days or settings.RECOMMENDATION_DAYS
    seeds = _marked(user, Mark.Kind.STAR)
    result = ForYou(seeds=seeds)
    if not seeds:
        result.reason = "Star a few papers you like: recommendations learn from your stars."
        return result
    artifacts = current_artifacts()
    if artifacts is None:
        result.reason = "Recommendations start once the models are trained (a few minutes)."
        return result
    try:
        index = dense_index(artifacts)
    except DenseIndexUnavailable:
        result.reason = "Recommendations are being prepared; try again in a minute."
        return result
    negatives = _marked(user, Mark.Kind.NOT_INTERESTED)
    pos = index.rows_of(p.pk for p in seeds)
    neg = index.rows_of(p.pk for p in negatives)
    if not len(pos):
        result.reason = "Your starred papers are still being analysed; try again shortly."
        return result
    latest = Paper.objects.aggregate(latest=Max("announced"))["latest"]
    result.since = latest - dt.timedelta(days=days) if latest else None
    candidates = Paper.objects.filter(withdrawn=False)
    if result.since:
        candidates = candidates.filter(announced__gt=result.since)
    rows = index.rows_of(candidates.values_list("pk", flat=True))
    if not len(rows):
        result.reason = "No recent papers to recommend yet."
        return result
    rng = np.random.default_rng(user.pk)
    background = rng.choice(len(index.pks), size=min(BACKGROUND, len(index.pks)), replace=False)
    model = PaperRecommender().fit(
        index.vectors[pos],
        index.pks[pos].tolist(),
        index.vectors[neg] if len(neg) else None,
        index.vectors[background],
    )
    marked = {p.pk for p in seeds} | {p.pk for p in negatives}
    recs = model.recommend(
        index.vectors[rows], index.pks[rows].tolist(), top_n=n, exclude=list(marked)
    )
    papers = Paper.objects.in_bulk([r.paper_id for r in recs])
    by_pk = {p.pk: p for p in seeds}
    for rec in recs:
        paper = papers[rec.paper_id]
        because = [(by_pk[pk], cos) for pk, cos in rec.because]
        seed_phrases = list(dict.fromkeys(k for seed, _ in because for k in seed.keywords or []))
        result.picks.append(Pick(paper, rec.score, because, phrases_in(seed_phrases, paper)))
    result.negatives = len(neg)
    return result
