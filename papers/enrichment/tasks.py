"""Celery tasks for training and enrichment: thin wrappers over plain functions tests call."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from ml.versioning import ArtifactMissing
from papers.enrichment import enrich, training
from papers.enrichment.artifacts import current_artifacts
from papers.models import Paper


@shared_task(acks_late=True)
def train_models(run_id: int) -> str:
    """Train and install a new artifact set, then enrich every paper with it."""
    run = training.execute_training(run_id)
    if run.status == run.Status.SUCCEEDED:
        enrich_pending.delay()
    return run.status


@shared_task(acks_late=True)
def enrich_papers(pks: list[int]) -> int:
    """Enrich one batch; a message redelivered after a crash redoes what is not yet saved."""
    try:
        return enrich.enrich_papers(pks)
    except ArtifactMissing:
        return 0  # nothing trained yet: training enriches every paper when it finishes


@shared_task(acks_late=True)
def enrich_pending() -> int:
    """Queue one enrichment task per batch of papers the current models have not seen."""
    artifacts = current_artifacts()
    if artifacts is None:
        return 0
    queued = 0
    for batch in enrich.pending_batches(artifacts.version):
        enrich_papers.delay(batch)
        queued += len(batch)
    return queued


@shared_task(acks_late=True)
def maintain_enrichment() -> str:
    """The periodic check: train when there are papers but no models, else catch up."""
    if current_artifacts() is None:
        if (
            settings.ML_AUTO_TRAIN
            and Paper.objects.count() >= settings.ML_MIN_TRAIN_PAPERS
            and training.active_run() is None
        ):
            training.start_training()
            return "training"
        return "waiting"
    enrich_pending.delay()
    return "enriching"


def queue_enrichment(arxiv_ids: list[str], sender: Any = None, **kwargs: Any) -> None:
    """papers_changed receiver: enrich new and changed papers when models exist."""
    if sender == enrich.SENDER or current_artifacts() is None:
        return
    pks = list(Paper.objects.filter(arxiv_id__in=arxiv_ids).values_list("pk", flat=True))
    size = settings.ML_ENRICH_BATCH_SIZE
    for start in range(0, len(pks), size):
        enrich_papers.delay(pks[start : start + size])
