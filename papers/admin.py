"""Admin pages: the paper collection, and ingestion runs that staff start and watch."""

import uuid
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from papers.ingest.api import SORT_BY, SORT_ORDER
from papers.ingest.oai import METADATA_PREFIXES
from papers.ingest.runs import InvalidParameters, clean_parameters, queue_run, retry_run, start_run
from papers.models import (
    Author,
    Authorship,
    Category,
    FeedSubscription,
    IngestionRun,
    Paper,
    PaperVersion,
    TrainingRun,
)

Source = IngestionRun.Source


# --- The collection -----------------------------------------------------------------------
class PaperVersionInline(admin.TabularInline):
    model = PaperVersion
    extra = 0
    fields = ("version", "submitted", "size")


class AuthorshipInline(admin.TabularInline):
    model = Authorship
    extra = 0
    raw_id_fields = ("author",)
    fields = ("position", "author")


@admin.register(Paper)
class PaperAdmin(admin.ModelAdmin):
    list_display = (
        "arxiv_id",
        "short_title",
        "primary_category",
        "version",
        "announced",
        "withdrawn",
        "updated_at",
    )
    list_filter = ("withdrawn", "announced", "primary_category__group")
    search_fields = ("=arxiv_id", "title")
    date_hierarchy = "announced"
    list_select_related = ("primary_category",)
    readonly_fields = ("created_at", "updated_at")
    filter_horizontal = ("categories",)
    inlines = (PaperVersionInline, AuthorshipInline)

    @admin.display(description="title", ordering="title")
    def short_title(self, paper: Paper) -> str:
        return paper.title if len(paper.title) <= 90 else paper.title[:87] + "..."


@admin.register(Author)
class AuthorAdmin(admin.ModelAdmin):
    list_display = ("name", "key")
    search_fields = ("name", "=key")


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "group")
    list_filter = ("group",)
    search_fields = ("code", "name")


@admin.register(PaperVersion)
class PaperVersionAdmin(admin.ModelAdmin):
    list_display = ("__str__", "version", "submitted", "size")
    raw_id_fields = ("paper",)
    search_fields = ("=paper__arxiv_id",)
    list_select_related = ("paper",)


# --- Ingestion ----------------------------------------------------------------------------
class RunForm(forms.Form):
    """A form per source; clean() also applies the checks the command line gets."""

    source: str = ""

    def clean(self) -> dict:
        data = super().clean()
        try:
            self.parameters = clean_parameters(self.source, self.to_parameters(data))
        except InvalidParameters as exc:
            raise forms.ValidationError(str(exc)) from exc
        return data

    def to_parameters(self, data: dict) -> dict:
        return dict(data)


class ApiRunForm(RunForm):
    source = Source.API
    query = forms.CharField(required=False, help_text="search_query, e.g. cat:cs.CL AND ti:llm")
    id_list = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="arXiv ids, separated by spaces, commas or new lines.",
    )
    max_results = forms.IntegerField(required=False, min_value=1, help_text="Empty: all.")
    page_size = forms.IntegerField(initial=100, min_value=1, max_value=2000)
    sort_by = forms.ChoiceField(required=False, choices=[("", "---"), *((s, s) for s in SORT_BY)])
    sort_order = forms.ChoiceField(
        required=False, choices=[("", "---"), *((s, s) for s in SORT_ORDER)]
    )


class RssRunForm(RunForm):
    source = Source.RSS
    categories = forms.CharField(help_text="Category codes separated by spaces, e.g. cs.CL cs.LG")


class OaiRunForm(RunForm):
    source = Source.OAI
    metadata_prefix = forms.ChoiceField(choices=[(p, p) for p in METADATA_PREFIXES])
    set = forms.CharField(required=False, help_text="e.g. cs, math or physics:hep-th")
    from_date = forms.DateField(required=False, label="From", help_text="YYYY-MM-DD")
    until = forms.DateField(required=False, help_text="YYYY-MM-DD")

    def to_parameters(self, data: dict) -> dict:
        return {
            "metadata_prefix": data.get("metadata_prefix"),
            "set": data.get("set"),
            "from": data.get("from_date"),
            "until": data.get("until"),
        }


SNAPSHOT_SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".json.gz")


def import_dir() -> Path:
    """The only directory the admin may ingest files from (uploads are saved into it too)."""
    configured = settings.INGEST_IMPORT_DIR
    return Path(configured) if configured else Path(settings.DATA_DIR) / "import"


class SnapshotRunForm(RunForm):
    """A file from the import directory, or an upload saved there; never another path."""

    source = Source.SNAPSHOT
    path = forms.ChoiceField(required=False, label="File in the import directory")
    upload = forms.FileField(required=False, label="Or upload a file")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        root = import_dir()
        names = sorted(
            str(p.relative_to(root))
            for p in (root.rglob("*") if root.is_dir() else [])
            if p.is_file() and p.name.endswith(SNAPSHOT_SUFFIXES)
        )
        self.fields["path"].choices = [("", "---"), *((n, n) for n in names)]
        self.fields["path"].help_text = (
            f"Files in {root} (.jsonl or .jsonl.gz, in our format or that of arXiv's metadata "
            "snapshot, arxiv-metadata-oai-snapshot.json)."
        )

    def to_parameters(self, data: dict) -> dict:
        upload, name = data.get("upload"), data.get("path")
        if bool(upload) == bool(name):
            raise InvalidParameters("choose a file in the import directory or upload one")
        root = import_dir().resolve()
        if upload:
            if not upload.name.endswith(SNAPSHOT_SUFFIXES):
                raise InvalidParameters(f"uploads must end in {', '.join(SNAPSHOT_SUFFIXES)}")
            target = root / "uploads" / f"{uuid.uuid4().hex[:8]}-{Path(upload.name).name}"
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
            return {"path": str(target)}
        target = (root / name).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            raise InvalidParameters("choose a file in the import directory or upload one")
        return {"path": str(target)}


RUN_FORMS: dict[str, type[RunForm]] = {
    Source.API: ApiRunForm,
    Source.RSS: RssRunForm,
    Source.OAI: OaiRunForm,
    Source.SNAPSHOT: SnapshotRunForm,
}


@admin.register(IngestionRun)
class IngestionRunAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "source",
        "status",
        "new_count",
        "updated_count",
        "unchanged_count",
        "failed_count",
        "progress",
        "started_at",
        "duration",
        "created_by",
    )
    list_filter = ("source", "status")
    actions = ("retry_failed_runs",)
    fieldsets = (
        (None, {"fields": ("source", "parameters", "status", "progress", "error")}),
        (
            "Counts",
            {"fields": ("new_count", "updated_count", "unchanged_count", "failed_count")},
        ),
        ("Failed records", {"fields": ("failures_table",)}),
        (
            "Timings and resuming",
            {
                "fields": (
                    "created_by",
                    "created_at",
                    "started_at",
                    "finished_at",
                    "duration",
                    "attempts",
                    "checkpoint",
                )
            },
        ),
    )
    # Runs are records of what happened: every field shown is read-only.
    readonly_fields = tuple(name for _, options in fieldsets for name in options["fields"])

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # runs are started with the per-source forms, see start_view

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # a run's record is what happened; it is not edited

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Whoever may start runs may watch them.
        return super().has_view_permission(request, obj) or self.can_start_runs(request)

    @admin.display(description="progress")
    def progress(self, run: IngestionRun) -> str:
        if run.expected_total:
            return f"{run.processed_count:,} of {run.expected_total:,}"
        return f"{run.processed_count:,}"

    @admin.display(description="failed records")
    def failures_table(self, run: IngestionRun) -> str:
        """Counts per reason, then the first failed records: one table however many failed."""
        if not run.failed_count:
            return "None"
        reasons = sorted(run.failure_reasons.items(), key=lambda item: -item[1])
        by_reason = format_html_join(
            "", "<tr><td>{}</td><td>{}</td></tr>", ((f"{n:,}", r) for r, n in reasons)
        )
        first = format_html_join(
            ", ",
            '<span title="{}: {}">{}</span>',
            ((f["where"], f["reason"], f["arxiv_id"] or f["where"]) for f in run.failures),
        )
        return format_html(
            "<table><tr><th>records</th><th>reason</th></tr>{}</table><p>First {} of {}: {}</p>",
            by_reason,
            len(run.failures),
            f"{run.failed_count:,}",
            first,
        )

    def get_urls(self) -> list:
        start = self.admin_site.admin_view(self.start_view)
        return [
            path("start/<str:source>/", start, name="papers_ingestionrun_start"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        extra_context = {
            **(extra_context or {}),
            "run_sources": [(s, Source(s).label) for s in RUN_FORMS],
            "can_start_runs": self.can_start_runs(request),
            "auto_refresh": IngestionRun.objects.filter(
                status__in=[IngestionRun.Status.QUEUED, IngestionRun.Status.RUNNING]
            ).exists(),
        }
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self.get_object(request, object_id)
        extra_context = {**(extra_context or {}), "auto_refresh": bool(run and run.is_active)}
        return super().change_view(request, object_id, form_url, extra_context)

    def can_start_runs(self, request: HttpRequest) -> bool:
        return (
            request.user.is_active
            and request.user.is_staff
            and request.user.has_perm("papers.add_ingestionrun")
        )

    def start_view(self, request: HttpRequest, source: str) -> HttpResponse:
        """Start a run from a source's form; it goes to a Celery worker once committed."""
        if not self.can_start_runs(request):
            raise PermissionDenied
        form_class = RUN_FORMS.get(source)
        if form_class is None:
            raise PermissionDenied
        initial = {}
        if source == Source.RSS:
            subscribed = FeedSubscription.objects.filter(enabled=True)
            initial["categories"] = " ".join(s.category for s in subscribed)
        form = form_class(request.POST or None, request.FILES or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            with transaction.atomic():
                run = start_run(source, form.parameters, user=request.user)
                queue_run(run)
            self.message_user(request, f"Started {run}.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:papers_ingestionrun_change", args=[run.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Start a run: {Source(source).label}",
            "form": form,
            "source": source,
        }
        return render(request, "admin/papers/ingestionrun/start.html", context)

    @admin.action(description="Retry the selected failed or stuck runs from where they stopped")
    def retry_failed_runs(self, request: HttpRequest, queryset) -> None:
        if not self.can_start_runs(request):
            raise PermissionDenied
        retried = sum(retry_run(run) for run in queryset)
        self.message_user(request, f"Queued {retried} run(s) again.", messages.SUCCESS)


@admin.register(FeedSubscription)
class FeedSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("category", "category_name", "enabled", "created_at")
    list_editable = ("enabled",)
    list_filter = ("enabled",)
    search_fields = ("category",)
    actions = ("fetch_now",)

    @admin.display(description="name")
    def category_name(self, subscription: FeedSubscription) -> str:
        from papers.taxonomy import CATEGORIES

        return CATEGORIES.get(subscription.category, "?")

    @admin.action(description="Fetch the selected feeds now")
    def fetch_now(self, request: HttpRequest, queryset) -> None:
        if not request.user.has_perm("papers.add_ingestionrun"):
            raise PermissionDenied
        with transaction.atomic():
            run = start_run(
                Source.RSS, {"categories": [s.category for s in queryset]}, request.user
            )
            queue_run(run)
        self.message_user(request, f"Started {run}.", messages.SUCCESS)


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    """Model training runs, the current version and how far enrichment has got."""

    list_display = ("id", "status", "progress", "version", "n_papers", "started_at", "duration")
    list_filter = ("status",)
    readonly_fields = [f.name for f in TrainingRun._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def can_train(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_staff and request.user.is_superuser

    def get_urls(self) -> list:
        start = self.admin_site.admin_view(self.start_view)
        return [path("start/", start, name="papers_trainingrun_start"), *super().get_urls()]

    @admin.display(description="progress")
    def progress(self, run: TrainingRun) -> str:
        """The phase and how far it got: embedding n/N, fitting; "done" once trained."""
        stats = run.stats or {}
        if run.status == TrainingRun.Status.SUCCEEDED:
            return "done"
        if run.status != TrainingRun.Status.RUNNING:
            return "-"
        if stats.get("total"):
            return f"{stats.get('phase', '')} {stats['done']:,}/{stats['total']:,}"
        return stats.get("phase") or "starting"

    def get_list_display(self, request: HttpRequest):
        """The current models' run shows "enriching n/N" while the worker enriches with them."""
        from papers.enrichment.artifacts import current_artifacts
        from papers.enrichment.enrich import enrichment_status

        artifacts = current_artifacts()
        status = enrichment_status(artifacts.version) if artifacts else None

        @admin.display(description="progress")
        def progress(run: TrainingRun) -> str:
            if status and status["pending"] and run.version == artifacts.version:
                return f"enriching {status['enriched']:,}/{status['papers']:,}"
            return self.progress(run)

        return [progress if name == "progress" else name for name in self.list_display]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        from papers.enrichment.artifacts import current_artifacts
        from papers.enrichment.enrich import enrichment_status

        artifacts = current_artifacts()
        version = artifacts.version if artifacts else None
        extra_context = {
            **(extra_context or {}),
            "can_train": self.can_train(request),
            "current_version": version,
            "status": enrichment_status(version),
            "auto_refresh": TrainingRun.objects.filter(
                status__in=[TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING]
            ).exists(),
        }
        return super().changelist_view(request, extra_context)

    def start_view(self, request: HttpRequest) -> HttpResponse:
        """POST: queue a training run (one at a time); the worker trains, then enriches."""
        from papers.enrichment.training import start_training

        if request.method != "POST" or not self.can_train(request):
            raise PermissionDenied
        run, new = start_training(request.user)
        if new:
            self.message_user(request, f"Queued {run}.", messages.SUCCESS)
        else:
            self.message_user(request, f"{run} is already under way.", messages.WARNING)
        return HttpResponseRedirect(reverse("admin:papers_trainingrun_changelist"))
