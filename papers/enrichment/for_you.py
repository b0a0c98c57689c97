""" "For you": recent papers ranked for a reader by a linear model on their stars.

Starred papers are positives, not-interested ones negatives, and a sample of the library serves
as weighted-down background (ml.recommend.PaperRecommender, as arxiv-sanity does). Recent stars
count more: a star's weight halves every RECOMMENDATION_STAR_HALF_LIFE_DAYS (as
zotero-arxiv-daily does). Stars the reader muted (papers.readers.models.MutedSeed) stay stars
but are not learnt from. Each pick is explained by the starred papers nearest to it and the key
phrases it shares with them; the page shows what was learnt (`Learnt`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from ml.recommend import PaperRecommender
from papers.enrichment.artifacts import current_artifacts
from papers.enrichment.related import phrases_in
from papers.library.models import Mark
from papers.models import Paper
from papers.readers.models import MutedSeed
from search.dense import DenseIndexUnavailable, dense_index

MAX_SEEDS = 500
BACKGROUND = 1000
LEARNT_PHRASES = 8
LEARNT_SEEDS = 5


@dataclass
class Pick:
    paper: Paper
    score: float
    because: list[tuple[Paper, float]]  # starred papers nearest to this one, with cosines
    shared: list[str] = field(default_factory=list)  # their key phrases this paper uses


@dataclass
class Learnt:
    """What the model learnt, in the reader's terms."""

    liked: list[str] = field(default_factory=list)  # key phrases of stars, weighted by recency
    disliked: list[str] = field(default_factory=list)  # of not-interested papers, not of stars
    # The stars weighing most: (paper, recency weight, how many picks they explain)
    strongest: list[tuple[Paper, float, int]] = field(default_factory=list)


@dataclass
class ForYou:
    picks: list[Pick] = field(default_factory=list)
    seeds: list[Paper] = field(default_factory=list)  # the starred papers it learned from
    muted: list[Paper] = field(default_factory=list)  # starred, but not learnt from
    negatives: int = 0
    since: dt.date | None = None
    reason: str = ""  # why there are no picks
    learnt: Learnt = field(default_factory=Learnt)


def _marks(user, kind: str) -> list[Mark]:
    marks = Mark.objects.filter(user=user, kind=kind).select_related("paper")
    return list(marks[:MAX_SEEDS])


def star_weights(marks: list[Mark], now: dt.datetime | None = None) -> np.ndarray:
    """Each star's weight: 1 for a star made now, halving every half-life since."""
    now = now or timezone.now()
    half_life = settings.RECOMMENDATION_STAR_HALF_LIFE_DAYS
    ages = np.array([(now - m.created).total_seconds() / 86400 for m in marks], dtype=float)
    return 0.5 ** (np.maximum(ages, 0) / half_life)


def learnt_phrases(
    seeds: list[Paper], weights: np.ndarray, negatives: list[Paper]
) -> tuple[list[str], list[str]]:
    """The key phrases that speak most for (stars, weighted) and against (not interested)."""
    score: Counter[str] = Counter()
    for paper, weight in zip(seeds, weights, strict=True):
        for phrase in dict.fromkeys(paper.keywords or []):
            score[phrase] += float(weight)
    against: Counter[str] = Counter()
    for paper in negatives:
        for phrase in dict.fromkeys(paper.keywords or []):
            against[phrase] += 1.0
    net = Counter({p: score[p] - against[p] for p in score.keys() | against.keys()})
    ranked = sorted(net.items(), key=lambda kv: (-abs(kv[1]), kv[0]))
    liked = [p for p, s in ranked if s > 0][:LEARNT_PHRASES]
    disliked = [p for p, s in ranked if s < 0][:LEARNT_PHRASES]
    return liked, disliked


def recommend_for(user, n: int = 50, days: int | None = None) -> ForYou:
    """Up to ``n`` papers from the last ``days`` announcement days, best first."""
    days = days or settings.RECOMMENDATION_DAYS
    star_marks = _marks(user, Mark.Kind.STAR)
    muted = set(MutedSeed.objects.filter(user=user).values_list("paper_id", flat=True))
    result = ForYou(muted=[m.paper for m in star_marks if m.paper_id in muted])
    star_marks = [m for m in star_marks if m.paper_id not in muted]
    seeds = result.seeds = [m.paper for m in star_marks]
    negatives = [m.paper for m in _marks(user, Mark.Kind.NOT_INTERESTED)]
    result.negatives = len(negatives)
    if not seeds:
        result.reason = (
            "You asked For you not to learn from any of your stars: let it learn from some again."
            if result.muted
            else "Star a few papers you like: recommendations learn from your stars."
        )
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
    weights = dict(zip((p.pk for p in seeds), star_weights(star_marks), strict=True))
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
        positive_weights=np.array([weights[pk] for pk in index.pks[pos].tolist()]),
    )
    marked = {p.pk for p in seeds} | {p.pk for p in negatives} | muted
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
    result.learnt = _learnt(result, weights, negatives)
    return result


def _learnt(result: ForYou, weights: dict[int, float], negatives: list[Paper]) -> Learnt:
    seeds = result.seeds
    liked, disliked = learnt_phrases(seeds, np.array([weights[p.pk] for p in seeds]), negatives)
    explains = Counter(seed.pk for pick in result.picks for seed, _ in pick.because)
    strongest = sorted(seeds, key=lambda p: (-explains[p.pk], -weights[p.pk]))[:LEARNT_SEEDS]
    return Learnt(liked, disliked, [(p, weights[p.pk], explains[p.pk]) for p in strongest])
