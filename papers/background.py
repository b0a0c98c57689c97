"""Background runs that finish exactly once: heartbeats while they work, recovery when they die.

A run is held by the worker that claimed it (BackgroundRun.claim sets a lease; every later
write is conditional on it). While it works, `heartbeat()` keeps a thread writing
`heartbeat_at`, so a fetch that retries for 45 minutes still looks alive. A worker that dies
stops beating; `recover()` then puts its run back in the queue, where the next worker resumes
it from its checkpoint. The same check notices enrichment that stopped making progress (a lost
or killed batch) and queues what is pending again, and indexes papers whose indexing task
was lost (search.reconcile over the papers changed since the previous check).

`recover()` runs where no beat is needed: when a worker starts, and every
RECOVERY_INTERVAL_SECONDS in each worker's main process (see papers.celery); beat runs it too.
Its writes are conditional UPDATEs, so two workers checking at once queue a run once.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, connection
from django.utils import timezone

from papers.models import BackgroundRun, IngestionRun, Paper, TrainingRun

logger = logging.getLogger(__name__)


@contextmanager
def heartbeat(run: BackgroundRun, interval: float | None = None) -> Iterator[threading.Event]:
    """Beat for `run` every `interval` seconds while the block runs.

    Yields an Event that is set when the run was taken over (the holder should stop).
    """
    interval = settings.RUN_HEARTBEAT_SECONDS if interval is None else interval
    lost = threading.Event()
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(interval):
                try:
                    if not run.beat():
                        lost.set()
                        return
                except Exception:  # a locked database now and then: try again next time
                    logger.warning("heartbeat of %s failed", run, exc_info=True)
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"heartbeat-{run}", daemon=True)
    if interval > 0:
        thread.start()
    try:
        yield lost
    finally:
        stop.set()
        if thread.is_alive():
            thread.join(timeout=60)


def recover() -> dict[str, int]:
    """Queue again what dead workers left behind; returns how many of each kind."""
    from papers.enrichment.tasks import train_models
    from papers.ingest.runs import queue_run

    counts = {"ingestion": 0, "training": 0, "enrichment": 0, "index": 0}
    for run in _requeue_stale(IngestionRun, settings.INGEST_STALE_AFTER_SECONDS):
        queue_run(run)
        counts["ingestion"] += 1
    for run in _requeue_stale(TrainingRun, settings.ML_TRAINING_STALE_AFTER_SECONDS):
        train_models.delay(run.pk)
        counts["training"] += 1
    counts["enrichment"] = _recover_enrichment()
    counts["index"] = _recover_index()
    if any(counts.values()):
        logger.warning("recovered work left by stopped workers: %s", counts)
    return counts


def _requeue_stale(model: type[BackgroundRun], stale_after: float) -> list[BackgroundRun]:
    """Runs whose worker died (stale heartbeat) and queued runs whose message was lost."""
    now = timezone.now()
    stale = now - dt.timedelta(seconds=stale_after)
    lost = now - dt.timedelta(seconds=settings.RUN_QUEUED_LOST_AFTER_SECONDS)
    requeued = []
    for run in model.objects.filter(status=model.Status.RUNNING, heartbeat_at__lt=stale):
        if model.requeue_stale(run.pk, stale_after):
            requeued.append(run)
    # A queued run nobody took for a long time: its message is gone (a broker that lost it).
    # The conditional update makes one checker queue it; a duplicate message finds it done.
    for run in model.objects.filter(status=model.Status.QUEUED, created_at__lt=lost).exclude(
        heartbeat_at__gte=lost
    ):
        if (
            model.objects.filter(pk=run.pk, status=model.Status.QUEUED)
            .exclude(heartbeat_at__gte=lost)
            .update(heartbeat_at=now)
        ):
            requeued.append(run)
    return requeued


_ENRICHMENT_KEY = "background:enriched-count"


def _recover_enrichment() -> int:
    """Queue pending enrichment again when none was done for a while.

    Progress is the number of papers carrying the current enrichment: ingestion adds pending
    papers but never enriched ones. Stalled means no progress for ENRICHMENT_STALLED_AFTER
    (a batch on a busy machine can take minutes); while an ingestion or training run is active
    the worker may simply be busy with it, so nothing is queued then. A batch queued twice is
    harmless: enrichment skips papers already done.
    """
    from papers.enrichment.artifacts import current_artifacts
    from papers.enrichment.enrich import pending
    from papers.enrichment.tasks import enrich_pending

    artifacts = current_artifacts()
    if artifacts is None:
        return 0
    left = pending(artifacts.version).count()
    done = Paper.objects.filter(enriched_version=artifacts.version).count()
    now = timezone.now().timestamp()
    seen = cache.get(_ENRICHMENT_KEY)
    if seen is None or seen["done"] != done or left == 0:
        cache.set(_ENRICHMENT_KEY, {"done": done, "since": now}, timeout=None)
        return 0
    quiet = max(settings.INGEST_STALE_AFTER_SECONDS, 5 * settings.RECOVERY_INTERVAL_SECONDS)
    if now - seen["since"] < quiet or _active_runs():
        return 0
    # Stalled: one checker queues the pending batches again, then waits as long again.
    if not cache.add(f"{_ENRICHMENT_KEY}:queued", 1, timeout=quiet):
        return 0
    cache.set(_ENRICHMENT_KEY, {"done": done, "since": now}, timeout=None)
    enrich_pending.delay()
    return left


def _active_runs() -> bool:
    fresh = timezone.now() - dt.timedelta(seconds=settings.INGEST_STALE_AFTER_SECONDS)
    return any(
        model.objects.filter(status=model.Status.RUNNING, heartbeat_at__gte=fresh).exists()
        for model in (IngestionRun, TrainingRun)
    )


_INDEX_KEY = "background:index-checked-until"


def _recover_index() -> int:
    """Index papers whose indexing task was lost; returns how many were repaired.

    Compares only papers changed since the previous check (a window that overlaps it by the
    stale period, for batches that committed late), once they are a check interval old so the
    normal path had its chance. The first check of a deployment compares everything.
    """
    from search.backends.base import SearchError
    from search.reconcile import reconcile

    now = timezone.now()
    until = now - dt.timedelta(seconds=settings.RECOVERY_INTERVAL_SECONDS)
    checked = cache.get(_INDEX_KEY)
    try:
        if checked is None:
            report = reconcile()
        else:
            since = checked - dt.timedelta(seconds=settings.INGEST_STALE_AFTER_SECONDS)
            report = reconcile(changed_between=(since, until))
    except SearchError as exc:  # busy or unreachable: the same window is checked next time
        logger.info("index check postponed: %s", exc)
        return 0
    cache.set(_INDEX_KEY, until, timeout=None)
    return report.drift


# Held while a check runs in a worker's main process, and by every fork of that process: the
# pool forks its processes from there, and a child forked while the check has the SQLite file
# open inherits the library's lock state for it and gets "disk I/O error" on every query.
_checking = threading.Lock()
os.register_at_fork(
    before=_checking.acquire,
    after_in_parent=_checking.release,
    after_in_child=_checking.release,
)


class RecoveryLoop:
    """The worker's own periodic recovery, so a deployment without beat still recovers."""

    def __init__(self, interval: float):
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="recovery", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while True:
            with _checking:  # no fork sees a check half done
                try:
                    close_old_connections()
                    recover()
                except Exception:
                    logger.warning("recovery check failed", exc_info=True)
                finally:
                    connection.close()
            if self._stop.wait(self.interval):
                return
