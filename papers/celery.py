"""The Celery app. Tasks live in each app's tasks.py and are found by autodiscovery."""

import os

from celery import Celery
from celery.signals import worker_ready, worker_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "papers.settings")

app = Celery("papers")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

_recovery = None


@worker_ready.connect
def _start_recovery(**kwargs) -> None:
    """Every worker resumes what dead workers left, at start and then periodically (no beat)."""
    global _recovery
    from django.conf import settings

    from papers.background import RecoveryLoop

    if settings.RECOVERY_INTERVAL_SECONDS > 0:
        _recovery = RecoveryLoop(settings.RECOVERY_INTERVAL_SECONDS)
        _recovery.start()


@worker_shutdown.connect
def _stop_recovery(**kwargs) -> None:
    if _recovery is not None:
        _recovery.stop()
