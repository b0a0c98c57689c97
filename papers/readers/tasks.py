"""Periodic work for readers: popularity rankings, email digests, fetching imported papers."""

import datetime as dt

from celery import shared_task
from django.conf import settings
from django.utils import timezone


@shared_task(acks_late=True)
def refresh_popularity() -> int:
    """Recompute the /popular rankings into the shared cache and drop old visit rows."""
    from papers.readers import popularity
    from papers.readers.models import PaperViews

    for window in popularity.WINDOWS:
        popularity.refresh(window)
    cutoff = timezone.now().date() - dt.timedelta(days=settings.POPULARITY_KEEP_DAYS)
    deleted, _ = PaperViews.objects.filter(day__lt=cutoff).delete()
    return deleted


@shared_task(acks_late=True)
def send_digests() -> dict:
    """Send every due digest of the current period (a rerun sends only what is still due)."""
    from papers.readers.digests import send_due_digests

    return send_due_digests()


@shared_task(acks_late=True)
def fetch_imported_papers(import_id: int) -> int:
    """Fetch an import's missing papers through the arXiv API run, then star them."""
    from papers.readers.library_import import finish_import

    return finish_import(import_id)
