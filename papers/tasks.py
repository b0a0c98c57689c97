"""Celery tasks for ingestion: thin wrappers over papers.ingest.runs, which tests call directly."""

from celery import shared_task

from papers.ingest.http import FetchError
from papers.ingest.runs import execute_run, start_run
from papers.models import FeedSubscription, IngestionRun


@shared_task(
    acks_late=True,
    autoretry_for=(FetchError,),
    retry_backoff=60,
    retry_backoff_max=3600,
    max_retries=5,
)
def ingest(run_id: int) -> str:
    """Carry out (or resume) one ingestion run; a redelivered message finds it done or claimed."""
    return execute_run(run_id, raise_transient=True).status


@shared_task(acks_late=True)
def ingest_daily_feeds() -> int | None:
    """The scheduled run: today's feeds of every enabled subscription, as one recorded run."""
    categories = list(
        FeedSubscription.objects.filter(enabled=True).values_list("category", flat=True)
    )
    if not categories:
        return None
    run = start_run(IngestionRun.Source.RSS, {"categories": categories})
    execute_run(run.pk)
    return run.pk
