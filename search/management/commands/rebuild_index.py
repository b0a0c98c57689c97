"""`manage.py rebuild_index`: rebuild the search index from the database, then swap it in."""

import sys
import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from papers.models import Paper
from search.backends.base import SearchError, get_search_backend


class Command(BaseCommand):
    help = "Rebuild the search index from the database (a new index, swapped in when complete)."

    def add_arguments(self, parser):
        parser.add_argument("--backend", help="SEARCH_BACKENDS alias (default: SEARCH_BACKEND)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, backend=None, no_progress=False, **options):
        search = get_search_backend(backend)
        started = time.monotonic()
        with tqdm(
            total=Paper.objects.count(),
            unit=" papers",
            desc="indexing",
            disable=no_progress,
            file=sys.stderr,
        ) as bar:
            try:
                written = search.rebuild(progress=bar.update)
            except SearchError as exc:
                raise CommandError(str(exc)) from exc
        seconds = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(f"Indexed {written} papers into {search.alias} in {seconds:.1f} s.")
        )
