"""Ingestion runs: start one, carry it out batch by batch, and record how it went.

Every source yields Batches. Each batch is upserted in one transaction together with the run's
counts and checkpoint, so the row always describes exactly what is committed: a run that stops
(an error, a killed worker) is retried from its checkpoint, and nothing is half-written.
"""

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from papers.background import heartbeat
from papers.ingest import abs as abs_files
from papers.ingest import rss
from papers.ingest.api import SORT_BY, SORT_ORDER, ArxivApiClient
from papers.ingest.http import ArxivHttpClient, FetchError
from papers.ingest.oai import METADATA_PREFIXES, ArxivOaiHarvester
from papers.ingest.records import Batch, PayloadError
from papers.ingest.snapshot import snapshot_batches
from papers.ingest.upsert import mark_withdrawn, upsert_records
from papers.models import IngestionRun, LeaseLost
from papers.signals import announce_changed
from papers.taxonomy import is_known_category

logger = logging.getLogger(__name__)
Source = IngestionRun.Source
Status = IngestionRun.Status
Progress = Callable[[IngestionRun, Batch], None]


class InvalidParameters(ValueError):
    """The parameters of a run request make no sense; the message says which and why."""


def clean_parameters(source: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """Check and normalise what a run is asked to do, before it is queued."""
    p = {k: v for k, v in parameters.items() if v not in (None, "", [], ())}
    if source == Source.API:
        ids = p.get("id_list", [])
        if isinstance(ids, str):
            ids = ids.replace(",", " ").split()
        p["id_list"] = list(ids)
        if not p.get("query") and not ids:
            raise InvalidParameters("give a search query, a list of arXiv ids, or both")
        for name in ("max_results", "page_size"):
            if name in p and (not str(p[name]).isdigit() or int(p[name]) < 1):
                raise InvalidParameters(f"{name} must be a positive number")
            if name in p:
                p[name] = int(p[name])
        if p.get("page_size", 0) > 2000:
            raise InvalidParameters("the arXiv API returns at most 2000 results per call")
        if p.get("sort_by", "relevance") not in SORT_BY:
            raise InvalidParameters(f"sort_by must be one of {', '.join(SORT_BY)}")
        if p.get("sort_order", "descending") not in SORT_ORDER:
            raise InvalidParameters(f"sort_order must be one of {', '.join(SORT_ORDER)}")
    elif source == Source.RSS:
        categories = p.get("categories", [])
        if isinstance(categories, str):
            categories = categories.replace(",", " ").split()
        if not categories:
            raise InvalidParameters("give at least one category")
        unknown = [c for c in categories if not is_known_category(c)]
        if unknown:
            raise InvalidParameters(f"unknown category code(s): {', '.join(unknown)}")
        p["categories"] = list(dict.fromkeys(categories))
    elif source == Source.OAI:
        p.setdefault("metadata_prefix", "arXiv")
        if p["metadata_prefix"] not in METADATA_PREFIXES:
            raise InvalidParameters(
                f"metadata_prefix must be one of {', '.join(METADATA_PREFIXES)}"
            )
        for name in ("from", "until"):
            if name in p:
                try:
                    p[name] = dt.date.fromisoformat(str(p[name])).isoformat()
                except ValueError:
                    raise InvalidParameters(f"{name} must be a date, YYYY-MM-DD") from None
    elif source == Source.SNAPSHOT:
        path = str(p.get("path", ""))
        if not path:
            raise InvalidParameters("give the path of a snapshot file, or - for standard input")
        if path != "-" and (not Path(path).exists() or Path(path).is_dir()):  # a pipe is fine
            raise InvalidParameters(f"no such file: {path}")
        p["path"] = path
    elif source == Source.ABS:
        paths = p.get("paths", [])
        if isinstance(paths, str):
            paths = paths.split()
        missing = [path for path in paths if not Path(path).exists()]
        if not paths or missing:
            raise InvalidParameters(f"no such file or directory: {', '.join(missing) or '(none)'}")
        p["paths"] = [str(path) for path in paths]
    else:
        raise InvalidParameters(f"unknown source {source!r}")
    return p


def start_run(source: str, parameters: dict[str, Any], user: Any = None) -> IngestionRun:
    """Record a queued run; the caller executes it here or queues `papers.tasks.ingest`."""
    return IngestionRun.objects.create(
        source=source,
        parameters=clean_parameters(source, parameters),
        created_by=user if getattr(user, "pk", None) else None,
    )


def queue_run(run: IngestionRun) -> None:
    """Hand the run to a Celery worker once the transaction that created it has committed."""
    from papers.tasks import ingest

    transaction.on_commit(lambda: ingest.delay(run.pk))


class RunHeldElsewhere(Exception):
    """Another worker holds the run and is alive; a redelivered task should look again later."""


def execute_run(
    run_id: int,
    *,
    http: ArxivHttpClient | None = None,
    progress: Progress | None = None,
    raise_transient: bool = False,
    raise_held: bool = False,
) -> IngestionRun:
    """Carry out a run from its checkpoint; a run another worker is doing is left alone.

    Bad input ends the run as failed with the reason; batches committed before stay, and a
    retry resumes after them. Network trouble that outlasted the HTTP retries is recorded the
    same way and, with `raise_transient`, re-raised so a Celery task can retry later. A run
    another live worker holds is returned as it is, or with `raise_held` RunHeldElsewhere is
    raised (a redelivered task retries until that worker has finished or is presumed dead).
    """
    run = IngestionRun.claim(
        run_id, settings.INGEST_STALE_AFTER_SECONDS, attempts=F("attempts") + 1
    )
    if run is None:
        current = IngestionRun.objects.get(pk=run_id)
        if raise_held and current.status == Status.RUNNING:
            raise RunHeldElsewhere(f"{current} is held by another worker")
        return current
    own_http = http is None
    http = http or ArxivHttpClient()
    try:
        with heartbeat(run) as taken_over:
            for batch in _batches(run, http):
                if taken_over.is_set():
                    raise LeaseLost(f"{run} was taken over by another worker")
                _commit(run, batch)
                if progress:
                    progress(run, batch)
    except LeaseLost:
        logger.warning("ingestion run %s was taken over; this worker stops", run.pk)
        return IngestionRun.objects.get(pk=run_id)
    except FetchError as exc:
        _finish(run, Status.FAILED, str(exc))
        if raise_transient:
            raise
    except (PayloadError, InvalidParameters, OSError, ValueError) as exc:
        _finish(run, Status.FAILED, str(exc))
    except Exception as exc:
        logger.exception("ingestion run %s failed unexpectedly", run.pk)
        _finish(run, Status.FAILED, f"unexpected {type(exc).__name__}: {exc}")
        raise
    else:
        _finish_counted(run)
    finally:
        if own_http:
            http.close()
    return run


def _retryable() -> Q:
    stale = timezone.now() - dt.timedelta(seconds=settings.INGEST_STALE_AFTER_SECONDS)
    return Q(status=Status.FAILED) | Q(status=Status.RUNNING, heartbeat_at__lt=stale)


def is_retryable(run: IngestionRun) -> bool:
    """Failed, or stuck: running without a heartbeat for INGEST_STALE_AFTER_SECONDS."""
    return IngestionRun.objects.filter(_retryable(), pk=run.pk).exists()


def retry_run(run: IngestionRun) -> bool:
    """Queue a failed or stuck run again; it resumes from its checkpoint.

    Stuck means running with a heartbeat older than INGEST_STALE_AFTER_SECONDS (its worker
    died). False when the run is neither (it succeeded, or a live worker holds it).
    """
    if not IngestionRun.objects.filter(_retryable(), pk=run.pk).update(
        status=Status.QUEUED, lease="", heartbeat_at=timezone.now()
    ):
        return False
    queue_run(run)
    return True


def _batches(run: IngestionRun, http: ArxivHttpClient) -> Iterator[Batch]:
    p, checkpoint = run.parameters, run.checkpoint or {}
    batch_size = settings.INGEST_BATCH_SIZE
    if run.source == Source.API:
        client = ArxivApiClient(http, page_size=p.get("page_size", 100))
        return client.batches(
            search_query=p.get("query", ""),
            id_list=p.get("id_list", []),
            limit=p.get("max_results"),
            start=checkpoint.get("start", 0),
            sort_by=p.get("sort_by", ""),
            sort_order=p.get("sort_order", ""),
        )
    if run.source == Source.RSS:
        return rss.fetch_batches(p["categories"], http, done=checkpoint.get("done", []))
    if run.source == Source.OAI:
        if checkpoint.get("done"):
            return iter(())
        return ArxivOaiHarvester(http).batches(
            metadata_prefix=p.get("metadata_prefix", "arXiv"),
            set_spec=p.get("set", ""),
            from_date=p.get("from", ""),
            until=p.get("until", ""),
            resumption_token=checkpoint.get("resumption_token", ""),
        )
    if run.source == Source.SNAPSHOT:
        if p["path"] == "-" and run.attempts > 1:
            raise InvalidParameters(
                "a run that read standard input cannot be resumed; pipe the file again"
            )
        return snapshot_batches(p["path"], batch_size, skip_lines=checkpoint.get("line", 0))
    if run.source == Source.ABS:
        return abs_files.abs_batches(p["paths"], batch_size, skip=checkpoint.get("files", 0))
    raise InvalidParameters(f"unknown source {run.source!r}")


# Distinct failure reasons counted one by one on a run; rarer ones are counted as "other".
MAX_FAILURE_REASONS = 50


def _commit(run: IngestionRun, batch: Batch) -> None:
    """Upsert one batch and record its outcome on the run, in one transaction.

    The run's row is written only while this worker holds it: a worker that was presumed dead
    and replaced gets LeaseLost here, and its batch is rolled back with it.
    """
    with transaction.atomic():
        result = upsert_records(batch.records)
        withdrawn = mark_withdrawn(batch.withdrawn_ids) if batch.withdrawn_ids else []
        # A record a batch holds twice is merged by the upsert; its second copy is unchanged.
        changed = len(result.new) + len(result.updated)
        unchanged = len(batch.records) - changed + len(batch.withdrawn_ids) - len(withdrawn)
        room = settings.INGEST_MAX_RECORDED_FAILURES - len(run.failures)
        reasons = dict(run.failure_reasons)
        for failure in batch.failures:
            key = failure.reason[:200]
            if key not in reasons and len(reasons) >= MAX_FAILURE_REASONS:
                key = "other"
            reasons[key] = reasons.get(key, 0) + 1
        fields = {
            "new_count": run.new_count + len(result.new),
            "updated_count": run.updated_count + len(result.updated) + len(withdrawn),
            "unchanged_count": run.unchanged_count + unchanged,
            "failed_count": run.failed_count + len(batch.failures),
            "failures": run.failures
            + [
                {"arxiv_id": f.arxiv_id, "where": f.where, "reason": f.reason}
                for f in batch.failures[: max(room, 0)]
            ],
            "failure_reasons": reasons,
        }
        if batch.checkpoint is not None:
            fields["checkpoint"] = batch.checkpoint
        if batch.total is not None:
            fields["expected_total"] = batch.total
        run.save_held(**fields)
        announce_changed(result.changed + withdrawn)


def _finish_counted(run: IngestionRun) -> None:
    """End a run that read its whole source: failed if no record could be used."""
    used = run.new_count + run.updated_count + run.unchanged_count
    if run.failed_count and not used:
        _finish(run, Status.FAILED, f"every record failed ({run.failed_count:,}): {_top(run)}")
    elif run.mostly_failed:
        _finish(
            run,
            Status.SUCCEEDED,
            f"mostly failed: {run.failed_count:,} of {run.processed_count:,} records could not "
            f"be used ({_top(run)})",
        )
    else:
        _finish(run, Status.SUCCEEDED, "")


def _top(run: IngestionRun) -> str:
    reasons = sorted(run.failure_reasons.items(), key=lambda item: -item[1])[:3]
    return "; ".join(f"{count:,} × {reason}" for reason, count in reasons)


def _finish(run: IngestionRun, status: str, error: str) -> None:
    try:
        run.save_held(status=status, error=error, finished_at=timezone.now())
    except LeaseLost:
        logger.warning("ingestion run %s was taken over before it finished here", run.pk)
