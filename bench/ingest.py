"""Benchmark: load arXiv's 73k-paper snapshot into a fresh SQLite database, then load it again.

    python bench/ingest.py [--path ../shared/data/arxiv/papers.jsonl.gz] [--prefix-lines 10000]

Prints one JSON object: papers/s and peak memory for the first load, for the re-ingest (the
no-op path), and for a first load of the file's first `--prefix-lines` lines. A streaming loader
peaks at about the same memory for both sizes. Each phase runs in its own process, so each peak
is its own; every run goes through the production path (a recorded IngestionRun).
"""

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PATH = ROOT.parent / "shared" / "data" / "arxiv" / "papers.jsonl.gz"


def _rss_mb() -> float:
    """Resident memory now (Linux /proc), in MiB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_phase(path: str, data_dir: str, migrate: bool) -> dict:
    """Inside a child process: one ingestion run of `path` into the database in `data_dir`."""
    os.environ["DATA_DIR"] = data_dir
    os.environ["DATABASE_URL"] = f"sqlite:///{data_dir}/db.sqlite3"
    os.environ.setdefault("SECRET_KEY", "benchmark")
    os.environ["DJANGO_SETTINGS_MODULE"] = "papers.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    if migrate:
        call_command("migrate", verbosity=0)
    from papers.ingest.runs import execute_run, start_run

    baseline = _rss_mb()
    started, cpu_started = time.perf_counter(), time.process_time()
    run = execute_run(start_run("snapshot", {"path": path}).pk)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "status": run.status,
        "records": run.processed_count,
        "new": run.new_count,
        "updated": run.updated_count,
        "unchanged": run.unchanged_count,
        "failed": run.failed_count,
        "seconds": round(seconds, 2),
        "papers_per_s": round(run.processed_count / seconds),
        # CPU time of this process alone: on a shared machine, wall time also counts waiting.
        "cpu_seconds": round(cpu_seconds, 2),
        "papers_per_cpu_s": round(run.processed_count / cpu_seconds),
        "peak_rss_mb": round(peak, 1),
        "rss_before_run_mb": round(baseline, 1),
        "peak_growth_mb": round(peak - baseline, 1),
    }


def _child(path: str, data_dir: str, migrate: bool) -> dict:
    command = [sys.executable, __file__, "--phase", path, data_dir]
    if migrate:
        command.append("--migrate")
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default=str(DEFAULT_PATH))
    parser.add_argument("--prefix-lines", type=int, default=10_000)
    parser.add_argument("--phase", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--migrate", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(run_phase(*args.phase, migrate=args.migrate)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        full, prefix = Path(tmp) / "full", Path(tmp) / "prefix"
        full.mkdir()
        prefix.mkdir()
        first = _child(args.path, str(full), migrate=True)
        again = _child(args.path, str(full), migrate=False)
        head = Path(tmp) / "head.jsonl"
        with gzip.open(args.path, "rb") as source, head.open("wb") as out:
            for number, line in enumerate(source):
                if number >= args.prefix_lines:
                    break
                out.write(line)
        small = _child(str(head), str(prefix), migrate=True)
    print(
        json.dumps(
            {
                "file": args.path,
                "cpus": os.cpu_count(),
                "first_load": first,
                "reingest": again,
                f"first_load_of_first_{args.prefix_lines}_lines": small,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
