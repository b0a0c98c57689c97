"""`manage.py ingest api|rss|oai|snapshot|abs ...`: run an ingestion here, with a progress bar."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from papers.ingest.api import SORT_BY, SORT_ORDER
from papers.ingest.oai import METADATA_PREFIXES
from papers.ingest.records import Batch
from papers.ingest.runs import (
    InvalidParameters,
    execute_run,
    is_retryable,
    queue_run,
    retry_run,
    start_run,
)
from papers.models import FeedSubscription, IngestionRun

Source = IngestionRun.Source


class Command(BaseCommand):
    help = "Ingest arXiv papers from the API, the daily feeds, OAI-PMH or a snapshot file."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--queue",
            action="store_true",
            help="hand the run to a Celery worker instead of running it here",
        )
        sources = parser.add_subparsers(dest="source", required=True, metavar="SOURCE")

        api = sources.add_parser("api", help="arXiv API: a search query and/or a list of ids")
        api.add_argument("--query", default="", help="search_query, e.g. 'cat:cs.CL AND ti:llm'")
        api.add_argument("--id", dest="id_list", nargs="+", default=[], metavar="ID")
        api.add_argument("--max-results", type=int, help="stop after this many results")
        api.add_argument("--page-size", type=int, default=100)
        api.add_argument("--sort-by", choices=SORT_BY)
        api.add_argument("--sort-order", choices=SORT_ORDER)

        rss = sources.add_parser("rss", help="today's category feeds")
        rss.add_argument("categories", nargs="*", metavar="CATEGORY")
        rss.add_argument(
            "--subscribed", action="store_true", help="the categories under Feed subscriptions"
        )

        oai = sources.add_parser("oai", help="OAI-PMH ListRecords harvest")
        oai.add_argument("--metadata-prefix", choices=METADATA_PREFIXES, default="arXiv")
        oai.add_argument("--set", dest="set_spec", default="", help="e.g. cs or physics:hep-th")
        oai.add_argument("--from", dest="from_date", default="", metavar="YYYY-MM-DD")
        oai.add_argument("--until", default="", metavar="YYYY-MM-DD")

        snapshot = sources.add_parser("snapshot", help="JSON lines file, gzipped or plain")
        snapshot.add_argument("path", help="the file, or - for standard input")

        abs_files = sources.add_parser("abs", help="arXiv .abs metadata files or directories")
        abs_files.add_argument("paths", nargs="+", metavar="PATH")

        retry = sources.add_parser(
            "retry", help="resume a failed or stuck (its worker died) run from its checkpoint"
        )
        retry.add_argument("run_id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        source = options["source"]
        if source == "retry":
            run = IngestionRun.objects.filter(pk=options["run_id"]).first()
            if run is None:
                raise CommandError(f"no ingestion run #{options['run_id']}")
            if not is_retryable(run):
                why = "held by a live worker" if run.status == "running" else run.status
                raise CommandError(
                    f"run #{run.pk} is {why}; only failed and stuck runs are retried"
                )
        else:
            try:
                run = start_run(source, self._parameters(source, options))
            except InvalidParameters as exc:
                raise CommandError(str(exc)) from exc
        if options["queue"]:
            if run.parameters.get("path") == "-":
                raise CommandError("a worker cannot read this terminal's standard input")
            if source == "retry":
                retry_run(run)
            else:
                queue_run(run)
            self.stdout.write(f"Queued {run}.")
            return
        run = self._run_here(run)
        summary = (
            f"{run}: {run.new_count} new, {run.updated_count} updated, "
            f"{run.unchanged_count} unchanged, {run.failed_count} failed in {run.duration}"
        )
        for failure in run.failures[:20]:
            self.stderr.write(
                f"  skipped {failure['arxiv_id'] or '?'} ({failure['where']}): {failure['reason']}"
            )
        if run.failed_count > 20:
            self.stderr.write(f"  ... and {run.failed_count - 20} more (see the admin)")
        if run.status != IngestionRun.Status.SUCCEEDED:
            raise CommandError(
                f"{summary}\n{run.error}\nResume with: manage.py ingest retry {run.pk}"
            )
        self.stdout.write(summary)

    def _run_here(self, run: IngestionRun) -> IngestionRun:
        with tqdm(unit=" papers", desc=str(run.get_source_display()), total=None) as bar:

            def progress(current: IngestionRun, batch: Batch) -> None:
                if current.expected_total and bar.total != current.expected_total:
                    bar.total = current.expected_total
                    bar.refresh()
                bar.update(batch.size)

            return execute_run(run.pk, progress=progress)

    def _parameters(self, source: str, options: dict[str, Any]) -> dict[str, Any]:
        if source == Source.API:
            return {
                "query": options["query"],
                "id_list": options["id_list"],
                "max_results": options["max_results"],
                "page_size": options["page_size"],
                "sort_by": options["sort_by"],
                "sort_order": options["sort_order"],
            }
        if source == Source.RSS:
            categories = list(options["categories"])
            if options["subscribed"]:
                categories += FeedSubscription.objects.filter(enabled=True).values_list(
                    "category", flat=True
                )
            return {"categories": categories}
        if source == Source.OAI:
            return {
                "metadata_prefix": options["metadata_prefix"],
                "set": options["set_spec"],
                "from": options["from_date"],
                "until": options["until"],
            }
        if source == Source.SNAPSHOT:
            return {"path": options["path"]}
        return {"paths": options["paths"]}
