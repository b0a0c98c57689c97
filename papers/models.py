"""Papers as arXiv shapes them: ids without versions, ordered authors, a primary category."""

import datetime as dt
import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone

from papers.taxonomy import is_known_category


class Category(models.Model):
    code = models.CharField(max_length=32, primary_key=True)
    name = models.CharField(max_length=200)
    group = models.CharField(max_length=16, db_index=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"

    def get_absolute_url(self) -> str:
        return reverse("category_list", args=[self.code])


class Author(models.Model):
    name = models.CharField(max_length=300)
    key = models.CharField(max_length=300, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("author", args=[self.key])


class Paper(models.Model):
    arxiv_id = models.CharField("arXiv id", max_length=64, unique=True)
    version = models.PositiveSmallIntegerField(default=1, help_text="Latest version we have.")
    title = models.TextField()
    abstract = models.TextField(blank=True)
    # Ordered names for display and indexing; `authors` links the same people for author pages.
    author_names = models.JSONField(default=list)
    authors = models.ManyToManyField(Author, through="Authorship", related_name="papers")
    primary_category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="primary_papers"
    )
    # Ordered codes, primary first, as arXiv lists them; `categories` is the same set for joins.
    category_codes = models.JSONField(default=list)
    categories = models.ManyToManyField(Category, related_name="papers")
    categories_complete = models.BooleanField(
        default=True, help_text="False when a source kept only some of the categories."
    )
    other_classes = models.JSONField(default=list, blank=True, help_text="ACM / MSC codes.")
    comment = models.TextField(blank=True)
    journal_ref = models.TextField("journal reference", blank=True)
    doi = models.CharField("DOI", max_length=255, blank=True)
    submitted = models.DateTimeField(null=True, blank=True, help_text="First version submitted.")
    updated = models.DateTimeField(null=True, blank=True, help_text="Latest version submitted.")
    announced = models.DateField(
        null=True, blank=True, db_index=True, help_text="First announced in a daily listing."
    )
    withdrawn = models.BooleanField(default=False)
    # Written by papers.enrichment from the current model artifacts (ml.artifacts.ArtifactSet).
    keywords = models.JSONField(default=list, blank=True, help_text="Extracted key phrases.")
    tags = models.JSONField(
        default=list, blank=True, help_text="Predicted [category, confidence] pairs, best first."
    )
    enriched_version = models.CharField(
        max_length=200, blank=True, db_index=True, help_text="Artifact version of keywords/tags."
    )
    embedded_with = models.CharField(
        max_length=200, blank=True, help_text="Encoder id of the stored vector; empty if none."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-announced", "-arxiv_id"]
        indexes = [models.Index(fields=["announced", "primary_category"])]

    def __str__(self) -> str:
        return f"{self.arxiv_id}: {self.title}"

    def get_absolute_url(self) -> str:
        return f"/paper/{self.arxiv_id}"  # not reverse(): lists call this hundreds of times

    @property
    def title_text(self) -> str:
        """The title as plain text: LaTeX text macros and maths flattened (papers.texmacros)."""
        from papers.texmacros import to_text

        return to_text(self.title)

    @property
    def title_html(self) -> str:
        """The title as HTML, maths left for KaTeX (papers.texmacros)."""
        from papers.texmacros import to_html

        return to_html(self.title)

    @property
    def versioned_id(self) -> str:
        return f"{self.arxiv_id}v{self.version}"

    @property
    def abs_url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv_id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.versioned_id}"


class Authorship(models.Model):
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="authorships")
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="authorships")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["paper", "position"], name="one_author_per_position")
        ]

    def __str__(self) -> str:
        return f"{self.position + 1}. {self.author_id} on {self.paper_id}"


class PaperVersion(models.Model):
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveSmallIntegerField()
    submitted = models.DateTimeField(null=True, blank=True)
    size = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["version"]
        constraints = [
            models.UniqueConstraint(fields=["paper", "version"], name="one_row_per_version")
        ]

    def __str__(self) -> str:
        return f"{self.paper.arxiv_id}v{self.version}"


class LeaseLost(Exception):
    """Another worker took the run over (this one was presumed dead); stop without writing."""


class BackgroundRun(models.Model):
    """What every recorded piece of background work has: a status, who asked, when it ran."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    created_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Set by claim(): only the worker holding this token may write to the run (save_held()).
    lease = models.CharField(max_length=32, blank=True, editable=False)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    @classmethod
    def claim(cls, pk: int, stale_after_seconds: float, **updates):
        """Take a run with a conditional UPDATE, so two workers never do the same one.

        Queued and failed runs can be taken, and running ones whose worker has not reported
        for ``stale_after_seconds``. Returns the run, or None when another worker holds it.
        """
        now = timezone.now()
        stale = now - dt.timedelta(seconds=stale_after_seconds)
        claimable = models.Q(status__in=[cls.Status.QUEUED, cls.Status.FAILED]) | models.Q(
            status=cls.Status.RUNNING, heartbeat_at__lt=stale
        )
        lease = uuid.uuid4().hex
        taken = cls.objects.filter(claimable, pk=pk).update(
            status=cls.Status.RUNNING,
            started_at=now,
            heartbeat_at=now,
            finished_at=None,
            error="",
            lease=lease,
            **updates,
        )
        return cls.objects.get(pk=pk) if taken else None

    def save_held(self, **fields) -> None:
        """Write these fields (and a heartbeat) only while this worker holds the run.

        A conditional UPDATE on the lease: a worker presumed dead whose run was taken over
        gets LeaseLost instead of overwriting the new holder's progress.
        """
        fields.setdefault("heartbeat_at", timezone.now())
        if not type(self).objects.filter(pk=self.pk, lease=self.lease).update(**fields):
            raise LeaseLost(f"{self} is now held by another worker")
        for name, value in fields.items():
            setattr(self, name, value)

    def beat(self) -> bool:
        """Record that the holder is alive; False when the run was taken over."""
        now = timezone.now()
        held = type(self).objects.filter(pk=self.pk, lease=self.lease, status=self.Status.RUNNING)
        return bool(held.update(heartbeat_at=now))

    @classmethod
    def requeue_stale(cls, pk: int, stale_after_seconds: float) -> bool:
        """Put a running run whose worker stopped reporting back in the queue (no lease)."""
        stale = timezone.now() - dt.timedelta(seconds=stale_after_seconds)
        return bool(
            cls.objects.filter(pk=pk, status=cls.Status.RUNNING, heartbeat_at__lt=stale).update(
                status=cls.Status.QUEUED, lease="", heartbeat_at=timezone.now()
            )
        )

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def duration(self) -> dt.timedelta | None:
        if not self.started_at:
            return None
        return (self.finished_at or timezone.now()) - self.started_at


class IngestionRun(BackgroundRun):
    """One harvest from one source: what was asked, how it went, and where a retry resumes."""

    class Source(models.TextChoices):
        API = "api", "arXiv API"
        RSS = "rss", "arXiv RSS feeds"
        OAI = "oai", "OAI-PMH"
        SNAPSHOT = "snapshot", "Snapshot file"
        ABS = "abs", ".abs files"

    source = models.CharField(max_length=16, choices=Source.choices)
    parameters = models.JSONField(default=dict, blank=True)
    new_count = models.PositiveIntegerField("new", default=0)
    updated_count = models.PositiveIntegerField("updated", default=0)
    unchanged_count = models.PositiveIntegerField("unchanged", default=0)
    failed_count = models.PositiveIntegerField("failed", default=0)
    # Items the source says the whole run holds (API totalResults, OAI completeListSize).
    expected_total = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, help_text="Why the run stopped, if it did.")
    # [{"arxiv_id", "where", "reason"}] of the first records that could not be used.
    failures = models.JSONField(default=list, blank=True)
    # {reason: count} over every failed record, so a run of a million failures stays one row.
    failure_reasons = models.JSONField(default=dict, blank=True)
    # What a retry resumes from: the API's next `start`, an OAI resumptionToken, a line number.
    checkpoint = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.get_source_display()} run #{self.pk} ({self.status})"

    @property
    def processed_count(self) -> int:
        return self.new_count + self.updated_count + self.unchanged_count + self.failed_count

    @property
    def mostly_failed(self) -> bool:
        """More than half of the records it saw could not be used."""
        return self.failed_count > 0 and self.failed_count * 2 > self.processed_count

    @property
    def failed_ids(self) -> list[str]:
        return [f["arxiv_id"] for f in self.failures if f.get("arxiv_id")]


class FeedSubscription(models.Model):
    """A category whose daily feed the scheduled ingestion fetches."""

    category = models.CharField(max_length=32, unique=True, help_text="e.g. cs.CL")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["category"]

    def __str__(self) -> str:
        return self.category

    def clean(self) -> None:
        if not is_known_category(self.category):
            raise ValidationError({"category": f"{self.category!r} is not an arXiv category"})


class TrainingRun(BackgroundRun):
    """One (re)training of the model artifacts: embedding the corpus, fitting, switching over."""

    version = models.CharField(max_length=200, blank=True, help_text="Artifact version made.")
    n_papers = models.PositiveIntegerField("papers", default=0)
    n_embedded = models.PositiveIntegerField("newly embedded", default=0)
    stats = models.JSONField(default=dict, blank=True, help_text="Timings and fitted settings.")
    error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"training run #{self.pk} ({self.status})"
