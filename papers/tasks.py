"""Celery tasks for ingestion: thin wrappers over papers.ingest.runs, which tests call directly."""

from celery import shared_task
from django.conf import settings

from papers.ingest.http import FetchError
from papers.ingest.runs import RunHeldElsewhere, execute_run, start_run
from papers.models import FeedSubscription, IngestionRun


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(FetchError,),
    retry_backoff=60,
    retry_backoff_max=3600,
    max_retries=5,
)
def ingest(self, run_id: int) -> str:
    """Carry out (or resume) one ingestion run; a redelivered message finds it done or claimed.

    A message redelivered while the run looks held (its worker was killed moments ago and the
    heartbeat is still fresh) is not dropped: it looks again once the heartbeat would be stale,
    and resumes the run then, unless the holder was alive and finished it.
    """
    try:
        return execute_run(run_id, raise_transient=True, raise_held=True).status
    except RunHeldElsewhere as exc:
        raise self.retry(
            exc=exc, countdown=settings.INGEST_STALE_AFTER_SECONDS + 1, max_retries=None
        ) from None


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


@shared_task(acks_late=True)
def recover_runs() -> dict[str, int]:
    """Queue again the runs and enrichment that stopped workers left (see papers.background)."""
    from papers.background import recover

    return recover()
