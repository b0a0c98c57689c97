"""`manage.py reconcile_index`: compare the search index with the database and repair drift."""

import json

from django.core.management.base import BaseCommand, CommandError

from search.backends.base import SearchError, get_search_backend
from search.reconcile import reconcile


class Command(BaseCommand):
    help = (
        "Compare the search index with the database (ids and change markers) and repair "
        "missing, stale and orphaned documents; prints the counts as JSON."
    )

    def add_arguments(self, parser):
        parser.add_argument("--backend", help="SEARCH_BACKENDS alias (default: SEARCH_BACKEND)")
        parser.add_argument(
            "--check", action="store_true", help="only report; exit 1 when the index has drifted"
        )

    def handle(self, *args, backend=None, check=False, **options):
        try:
            report = reconcile(get_search_backend(backend), repair=not check)
        except SearchError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(report.as_dict(), indent=2))
        if check and report.drift:
            raise CommandError(f"the index has drifted from the database ({report.drift} papers)")
