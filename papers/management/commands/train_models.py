"""Train the model artifacts on the papers in the database and enrich every paper with them."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from papers.enrichment import enrich, training
from papers.enrichment.artifacts import current_artifacts, load_current
from papers.enrichment.tasks import enrich_pending
from papers.models import TrainingRun


class Command(BaseCommand):
    help = (
        "Embed the papers, fit whitening, keywords and tagger as a new model version, make it "
        "current, then enrich every paper. Runs here with progress, or --queue it to a worker."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--queue", action="store_true", help="Hand the run to a Celery worker and return."
        )
        parser.add_argument(
            "--enrich-only",
            action="store_true",
            help="Do not train: enrich the papers the current models have not seen.",
        )

    def handle(self, *args, queue: bool, enrich_only: bool, verbosity: int = 1, **options):
        progress = verbosity > 0
        if queue and enrich_only:
            if current_artifacts() is None:
                raise CommandError(
                    "no models to enrich with yet: run python manage.py train_models"
                )
            enrich_pending.delay()
            self.stdout.write("Enrichment of the papers the current models have not seen queued.")
            return
        if queue:
            run, new = training.start_training()
            state = "queued" if new else "already active"
            self.stdout.write(f"Training run #{run.pk} {state}; a worker carries it out.")
            return
        if not enrich_only:
            run = TrainingRun.objects.create()
            try:
                run = training.execute_training(run.pk, progress=progress)
            except Exception as exc:
                raise CommandError(f"training failed: {exc}") from exc
            self.stdout.write(f"Trained {run.version} on {run.n_papers} papers.")
        try:
            artifacts = load_current()
        except Exception as exc:
            raise CommandError(str(exc)) from exc
        batches = list(enrich.pending_batches(artifacts.version))
        done = 0
        with tqdm(
            total=sum(map(len, batches)), desc="enriching", unit="paper", disable=not progress
        ) as bar:
            for batch in batches:
                done += enrich.enrich_papers(batch, artifacts)
                bar.update(len(batch))
        self.stdout.write(f"Enriched {done} papers with {artifacts.version}.")
