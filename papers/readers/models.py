"""What readers do with papers beyond marking them: visits, digests, imported libraries."""

from django.conf import settings
from django.db import models

from papers.models import Paper


class PaperViews(models.Model):
    """How many times a paper's page was opened on a day (UTC). Who opened it is not kept."""

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="daily_views")
    day = models.DateField()
    views = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "paper views"
        constraints = [
            models.UniqueConstraint(fields=["paper", "day"], name="one_views_row_per_paper_day")
        ]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.paper_id} {self.day}: {self.views}"


class MutedSeed(models.Model):
    """A starred paper the reader asked For you not to learn from (the star itself stays)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="muted_seeds"
    )
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "paper"], name="one_mute_per_paper")]

    def __str__(self) -> str:
        return f"{self.user} mutes {self.paper_id}"


class DigestSubscription(models.Model):
    """A reader's choice of email digest."""

    class Frequency(models.TextChoices):
        OFF = "off", "No email"
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly (Mondays)"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest"
    )
    frequency = models.CharField(max_length=8, choices=Frequency.choices, default=Frequency.OFF)
    changed = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user}: {self.frequency}"


class DigestSend(models.Model):
    """One digest for one reader and period, claimed before it is sent.

    The unique constraint is what makes sending idempotent: a second worker (or a rerun after a
    killed one) cannot claim the same reader and period again, so nothing is mailed twice.
    """

    class Status(models.TextChoices):
        SENDING = "sending", "Sending (if old: interrupted, not resent)"
        SENT = "sent", "Sent"
        EMPTY = "empty", "Nothing to send"
        FAILED = "failed", "Failed"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest_sends"
    )
    period = models.CharField(max_length=32, help_text="daily:YYYY-MM-DD or weekly:YYYY-Www")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.SENDING)
    picks = models.PositiveIntegerField(default=0)
    claimed = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-claimed"]
        constraints = [
            models.UniqueConstraint(fields=["user", "period"], name="one_digest_per_period")
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.period} {self.status}"


class LibraryImport(models.Model):
    """Papers of an imported library that were not in the database, fetched from arXiv."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="library_imports"
    )
    arxiv_ids = models.JSONField(default=list)
    run = models.ForeignKey(
        "papers.IngestionRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    starred = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"import by {self.user}: {len(self.arxiv_ids)} papers to fetch"
