"""Soak: 16 clients on pages and the API for 60 s while an ingestion and an enrichment run.

    python bench/soak.py [--seconds 60] [--concurrency 16] [--port 8100] [--workdir DIR]

Prepares a data directory (the embedded default: SQLite, tantivy, the file broker) holding the
first `--initial` papers of the shipped sample, indexed, with models trained on a small slice
(kept in `--workdir` and reused). Then starts gunicorn on 127.0.0.1:`--port` and a Celery worker,
queues an ingestion of the rest of the sample and the enrichment of every paper, and runs the
load on the search, paper and daily-list pages and the JSON API. Prints JSON: req/s, p50/p99,
the count of 5xx answers and of "database is locked" (in answers and in the server and worker
logs), and, once the background work has drained, the papers missing from or stale in the
index (search.reconcile): at the first check, and once it has converged (index updates that
found the index busy are retried inside the worker, up to 120 s more). The baseline measured
in the same run is the same load before the background work starts. Goal: zero 5xx, zero
"database is locked", zero missing and stale.
"""

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.http_load import load  # noqa: E402

QUERIES = [
    "language models",
    "graph neural network",
    "diffusion",
    "reinforcement learning",
    "quantum",
    '"neural network"',
    "ti:survey",
    "cat:cs.CL transformer",
    "robot -simulation",
    "speech recognition",
]


def setup(workdir: Path, initial: int) -> tuple[Path, Path]:
    """The data directory (prepared once) and the snapshot of the papers still to ingest."""
    data = workdir / "data"
    os.environ.update(DATA_DIR=str(data), SEARCH_BACKEND="tantivy", HF_HUB_OFFLINE="1")
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"):
        os.environ.pop(name, None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "papers.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    with gzip.open(settings.SAMPLE_PATH, "rt") as f:
        lines = f.readlines()
    first, rest = workdir / "first.jsonl", workdir / "rest.jsonl"
    first.write_text("".join(lines[:initial]))
    rest.write_text("".join(lines[initial:]))
    prepared = workdir / "prepared"
    if not prepared.exists():
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True)
        call_command("migrate", verbosity=0)
        from papers.ingest.snapshot import load_snapshot

        load_snapshot(str(first), announce=False)
        _train_small_models()
        prepared.mkdir()
    # Every run starts from the same state: the first papers only, none enriched, indexed.
    from papers.models import IngestionRun, Paper

    Paper.objects.exclude(pk__in=Paper.objects.order_by("pk")[:initial].values("pk")).delete()
    Paper.objects.update(enriched_version="", keywords=[], tags=[])
    IngestionRun.objects.all().delete()
    shutil.rmtree(data / "broker", ignore_errors=True)
    from search.backends.base import get_search_backend

    get_search_backend().rebuild()
    return data, rest


def _train_small_models() -> None:
    from ml.artifacts import train_artifacts
    from ml.encoder import paper_text
    from papers.enrichment.artifacts import install
    from papers.models import Paper

    papers = list(Paper.objects.order_by("pk")[:300])
    install(
        train_artifacts(
            [paper_text(p.title, p.abstract) for p in papers],
            [p.category_codes for p in papers],
            keywords={"epochs": 3},
            min_label_count=5,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--baseline-seconds", type=float, default=15)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument(
        "--worker-concurrency", type=int, default=2, help="Celery pool processes (compose: 2)"
    )
    parser.add_argument("--initial", type=int, default=1500, help="papers before the soak")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/coolpapers-soak"))
    parser.add_argument("--drain-timeout", type=float, default=900)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    data, rest = setup(args.workdir, args.initial)
    import httpx

    from papers.celery import worker_command
    from papers.models import IngestionRun, Paper

    ids = list(Paper.objects.values_list("arxiv_id", flat=True)[:200])
    paths = []
    for n, q in enumerate(QUERIES):
        paths += [
            f"/search?q={quote(q)}",
            f"/api/v1/search?q={quote(q)}&page_size=10",
            f"/paper/{ids[n]}",
            f"/api/v1/papers/{ids[n + 50]}",
            "/arxiv/cs.CL" if n % 2 else "/arxiv/cs.LG",
        ]
    # Batches of 100 (not 1,000) so that the ingestion commits all through the load; no rate
    # limits (every client comes from one address).
    env = {**os.environ, "INGEST_BATCH_SIZE": "100"}
    env.update(dict.fromkeys(("API_ANON_RATE", "API_USER_RATE", "SEARCH_RATE"), ""))
    logs = {name: args.workdir / f"{name}.log" for name in ("gunicorn", "worker")}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "papers.wsgi",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=logs["gunicorn"].open("w"),
        stderr=subprocess.STDOUT,
    )
    worker = subprocess.Popen(
        worker_command(args.worker_concurrency),
        cwd=ROOT,
        env=env,
        stdout=logs["worker"].open("w"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{args.port}"
    result: dict = {"initial_papers": args.initial, "concurrency": args.concurrency}
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/api/v1/categories", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        load(base, paths, 5, args.concurrency)  # warm every gunicorn worker
        result["baseline_idle"] = load(base, paths, args.baseline_seconds, args.concurrency)
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run(
            [*manage, "ingest", "--queue", "snapshot", str(rest)],
            env=env,
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [*manage, "train_models", "--enrich-only", "--queue"],
            env=env,
            check=True,
            capture_output=True,
        )
        result["soak"] = load(base, paths, args.seconds, args.concurrency)
        run = IngestionRun.objects.get()
        result["ingestion_when_load_ended"] = f"{run.status}, {run.processed_count} processed"
        result["enriched_when_load_ended"] = Paper.objects.exclude(enriched_version="").count()
        started = time.monotonic()
        result["drift_after_drain"] = _drift_after_drain(data, args.drain_timeout)
        result["drain_seconds"] = round(time.monotonic() - started, 1)
    finally:
        for process in (server, worker):
            process.terminate()
        for process in (server, worker):
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:  # a worker finishing a long batch
                process.kill()
                process.wait()
    run = IngestionRun.objects.get()
    result["ingestion"] = {"status": run.status, "new": run.new_count, "failed": run.failed_count}
    result["papers"] = Paper.objects.count()
    result["enriched"] = Paper.objects.exclude(enriched_version="").count()
    result["database_is_locked_in_logs"] = sum(
        path.read_text(errors="replace").count("database is locked") for path in logs.values()
    )
    soak, drift = result["soak"], result["drift_after_drain"]
    result["goals"] = {
        "zero_5xx": soak["5xx"] == 0,
        "zero_database_is_locked": soak["database_is_locked_in_answers"] == 0
        and result["database_is_locked_in_logs"] == 0,
        "zero_missing_or_stale": drift["missing"] == 0 and drift["stale"] == 0,
    }
    print(json.dumps(result, indent=2))


def _drift_after_drain(data: Path, timeout: float, settle: float = 120) -> dict:
    """Wait for the background work to end (no message queued, the run over, every paper
    enriched, the last task's index update landed), then compare index and database."""
    from papers.models import IngestionRun, Paper
    from search.reconcile import reconcile

    queue = data / "broker" / "queue"
    deadline = time.monotonic() + timeout

    def busy() -> bool:
        return (
            any(queue.glob("*.msg"))
            or IngestionRun.objects.filter(status__in=["queued", "running"]).exists()
            or Paper.objects.filter(enriched_version="").exists()
        )

    while time.monotonic() < deadline:
        if not busy():
            time.sleep(5)  # the index update the last task queued, taken and done
            if not busy():
                break
        time.sleep(1)
    # Index updates retried after a busy index wait in the worker, not in the queue: the index
    # has converged when a check finds nothing to repair (the worker's own periodic check
    # repairs what was lost). Reported: the first check, and the last within `settle` seconds.
    first = reconcile(repair=False)
    report, started = first, time.monotonic()
    while (report.missing or report.stale) and time.monotonic() - started < settle:
        time.sleep(2)
        report = reconcile(repair=False)
    return {
        "missing": report.missing,
        "stale": report.stale,
        "orphaned": report.orphaned,
        "examples": report.examples,
        "at_first_check": {"missing": first.missing, "stale": first.stale},
        "converged_after_s": round(time.monotonic() - started, 1),
    }


if __name__ == "__main__":
    main()
