"""Popular now: stars, read marks and page visits of the last weeks, decayed by age.

A paper's score is the sum over its events of weight(kind) * 0.5 ** (age in days / half-life),
with stars weighing more than read marks and read marks more than visits
(settings.POPULARITY_WEIGHTS, POPULARITY_HALF_LIFE_DAYS). Stars and read marks are the readers'
marks (their `created` time); visits are counted per paper and day, without recording who came.

Visits never write a row per page view on the request path: each process adds them up in memory
and writes them as one transaction of `views = views + n` updates every few seconds
(POPULARITY_FLUSH_SECONDS) and when it exits. The update is atomic in the database, so
processes flushing at the same time neither lose nor double count a visit. (The shared cache is
not used as the counter: its file backend has no atomic increment across processes.)
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, F, Sum
from django.utils import timezone

from papers.library.models import Mark
from papers.models import Paper
from papers.readers.models import PaperViews

logger = logging.getLogger(__name__)

# The windows of the /popular page: name -> days counted back from today (today included).
WINDOWS = {"today": 1, "week": 7, "month": 30}
_CACHE_KEY = "popularity:{window}"


class ViewCounter:
    """Visits added up in this process, written to the database in batches."""

    def __init__(self, flush_seconds: float | None = None) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[int, dt.date]] = Counter()
        self._pid = os.getpid()
        self._flush_seconds = flush_seconds
        self._last_flush = time.monotonic()

    def add(self, paper_pk: int, day: dt.date | None = None) -> None:
        """Count one visit; flushes when the last flush is older than the flush interval."""
        day = day or timezone.now().date()
        with self._lock:
            if self._pid != os.getpid():
                # A forked child starts empty: the parent's visits are the parent's to write.
                self._counts.clear()
                self._pid = os.getpid()
            self._counts[(paper_pk, day)] += 1
            interval = self._flush_seconds
            if interval is None:
                interval = settings.POPULARITY_FLUSH_SECONDS
            due = time.monotonic() - self._last_flush >= interval
        if due:
            self.flush()

    def pending(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def flush(self) -> int:
        """Write the visits counted so far; returns how many. Kept for the next try on failure."""
        with self._lock:
            batch, self._counts = self._counts, Counter()
            self._last_flush = time.monotonic()
        if not batch:
            return 0
        try:
            write_views(batch)
        except Exception:
            with self._lock:
                self._counts.update(batch)
            raise
        return sum(batch.values())


def write_views(batch: Counter[tuple[int, dt.date]]) -> None:
    """Add visit counts to the per-day rows in one transaction (atomic `views + n` updates)."""
    existing = set(
        Paper.objects.filter(pk__in={pk for pk, _ in batch}).values_list("pk", flat=True)
    )
    batch = Counter({key: n for key, n in batch.items() if key[0] in existing})
    with transaction.atomic():
        PaperViews.objects.bulk_create(
            [PaperViews(paper_id=pk, day=day) for pk, day in batch], ignore_conflicts=True
        )
        for (pk, day), n in sorted(batch.items()):
            PaperViews.objects.filter(paper_id=pk, day=day).update(views=F("views") + n)


views = ViewCounter()


def _flush_at_exit() -> None:
    try:
        views.flush()
    except Exception:  # the database may already be gone at interpreter exit
        logger.exception("could not write %d counted visits at exit", views.pending())


atexit.register(_flush_at_exit)


def record_view(paper: Paper) -> None:
    """A visit to the paper's page, by anyone (nothing about the visitor is kept)."""
    try:
        views.add(paper.pk)
    except Exception:
        # Counting must never break the page; the visits stay buffered for the next flush.
        logger.exception("could not write counted visits")


@dataclass
class Activity:
    views: int = 0
    stars: int = 0
    reads: int = 0
    score: float = 0.0


def _decay(day: dt.date, today: dt.date) -> float:
    return 0.5 ** (max((today - day).days, 0) / settings.POPULARITY_HALF_LIFE_DAYS)


def activity(days: int, paper_pks: Iterable[int] | None = None) -> dict[int, Activity]:
    """Counts and decayed score of every paper with activity in the last ``days`` days."""
    today = timezone.now().date()
    since = today - dt.timedelta(days=days - 1)
    weights = settings.POPULARITY_WEIGHTS
    rows = PaperViews.objects.filter(day__gte=since)
    marks = Mark.objects.filter(
        kind__in=[Mark.Kind.STAR, Mark.Kind.READ],
        created__gte=dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC),
    )
    if paper_pks is not None:
        pks = list(paper_pks)
        rows, marks = rows.filter(paper_id__in=pks), marks.filter(paper_id__in=pks)
    out: dict[int, Activity] = {}
    for pk, day, n in rows.values_list("paper_id", "day").annotate(n=Sum("views")):
        item = out.setdefault(pk, Activity())
        item.views += n
        item.score += weights["view"] * n * _decay(day, today)
    marks_by_day = marks.values_list("paper_id", "kind", "created__date").annotate(n=Count("id"))
    for pk, kind, day, n in marks_by_day:
        item = out.setdefault(pk, Activity())
        if kind == Mark.Kind.STAR:
            item.stars += n
        else:
            item.reads += n
        item.score += weights[kind] * n * _decay(day, today)
    return out


def popular(window: str, limit: int = 100) -> list[tuple[Paper, Activity]]:
    """The most popular papers of a window (today, week, month), best first.

    Cached in the shared cache for POPULARITY_CACHE_SECONDS; the periodic task refreshes it.
    """
    if window not in WINDOWS:
        raise ValueError(f"window: one of {', '.join(WINDOWS)}")
    ranked = cache.get(_CACHE_KEY.format(window=window))
    if ranked is None:
        ranked = refresh(window)
    papers = Paper.objects.select_related("primary_category").in_bulk([pk for pk, *_ in ranked])
    return [
        (papers[pk], Activity(v, s, r, score))
        for pk, v, s, r, score in ranked[:limit]
        if pk in papers
    ]


def refresh(window: str) -> list[tuple]:
    """Recompute a window's ranking into the shared cache."""
    scores = activity(WINDOWS[window])
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1].score, -kv[0]))
    ranked = [(pk, a.views, a.stars, a.reads, a.score) for pk, a in ranked[:500]]
    cache.set(_CACHE_KEY.format(window=window), ranked, settings.POPULARITY_CACHE_SECONDS)
    return ranked


def sort_popular(papers: Sequence[Paper]) -> list[Paper]:
    """Papers by popularity over the score window, the given order breaking ties."""
    scores = activity(settings.POPULARITY_WINDOW_DAYS, [p.pk for p in papers])
    order = sorted(range(len(papers)), key=lambda i: -scores.get(papers[i].pk, Activity()).score)
    return [papers[i] for i in order]


def popular_order(arxiv_ids: Sequence[str]) -> list[str]:
    """arXiv ids re-sorted by popularity (the "Popular" sort of a search's matching set)."""
    pks = dict(Paper.objects.filter(arxiv_id__in=arxiv_ids).values_list("arxiv_id", "pk"))
    scores = activity(settings.POPULARITY_WINDOW_DAYS, pks.values())
    empty = Activity()
    return sorted(arxiv_ids, key=lambda a: -scores.get(pks.get(a), empty).score)
