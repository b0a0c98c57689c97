"""Bring a fresh or existing installation up to date; fast when there is nothing to do."""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from papers.ingest.snapshot import load_snapshot
from papers.models import Paper


class Command(BaseCommand):
    help = "Migrate, load the shipped sample into an empty database and build what is missing."

    def add_arguments(self, parser):
        parser.add_argument(
            "--sample", default=str(settings.SAMPLE_PATH), help="Snapshot to load when empty."
        )

    def handle(self, *args, sample: str, verbosity: int = 1, **options):
        # Importing the settings writes nothing; the data directory is made here.
        settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        if not Paper.objects.exists():
            self.stdout.write(f"Loading the sample papers from {sample}")
            # The index is rebuilt below; announcing would make the worker index it all again.
            report = load_snapshot(sample, progress=verbosity > 0, announce=False)
            if report.error:
                raise CommandError(f"{sample}: {report.error}")
            self.stdout.write(f"Loaded {len(report.result.new)} papers.")
        else:
            self.stdout.write(f"{Paper.objects.count()} papers in the database.")
        self._ensure_search_index(verbosity)
        self._ensure_models()

    def _ensure_models(self) -> None:
        """Queue training when there are papers but no models; the worker enriches them."""
        from papers.enrichment import training
        from papers.enrichment.artifacts import current_artifacts

        artifacts = current_artifacts()
        if artifacts is not None:
            self.stdout.write(f"Models {artifacts.version} are current.")
        elif not settings.ML_AUTO_TRAIN:
            self.stdout.write("No trained models (ML_AUTO_TRAIN is off: manage.py train_models).")
        elif Paper.objects.count() >= settings.ML_MIN_TRAIN_PAPERS:
            run, new = training.start_training()
            state = "queued" if new else "in progress"
            self.stdout.write(
                f"Model training #{run.pk} {state}: the worker embeds the papers, trains "
                "keywords and tags and enriches every paper (a few minutes for the sample)."
            )

    def _ensure_search_index(self, verbosity: int) -> None:
        """Rebuild the index when it is missing or does not hold every paper."""
        from search.backends.base import SearchError, get_search_backend

        try:
            indexed = get_search_backend().count()
        except SearchError:
            indexed = None
        papers = Paper.objects.count()
        if indexed == papers:
            self.stdout.write(f"Search index holds all {papers} papers.")
            return
        self.stdout.write(f"Building the search index ({indexed or 0} of {papers} papers in it).")
        options = {} if verbosity > 0 else {"no_progress": True}
        call_command("rebuild_index", verbosity=verbosity, **options)
