"""The Celery app. Tasks live in each app's tasks.py and are found by autodiscovery."""

import os
import sys

from celery import Celery
from celery.signals import worker_ready, worker_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "papers.settings")

app = Celery("papers")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

_recovery = None


def worker_command(concurrency: int = 1, loglevel: str = "INFO", *options: str) -> list[str]:
    """The command line that runs a worker of this app with the current Python."""
    return [sys.executable, "-m", "celery", "-A", "papers", "worker",
            "--concurrency", str(concurrency), "--loglevel", loglevel, *options]  # fmt: skip


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
