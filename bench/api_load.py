"""Load on /api/v1/search: gunicorn on loopback over the 73k corpus, 8 concurrent clients.

    python bench/api_load.py [--seconds 20] [--concurrency 8] [--workers 3]

Starts gunicorn on 127.0.0.1 (a free port) with the benchmark data directory, then runs a fixed
list of queries from `--concurrency` client threads for a bounded time. Prints req/s, p50/p99
latency and error counts as JSON. The baseline, measured in the same run, is the same load on
paper lookups by id (no search). Goal on 2 cores: >= 150 req/s for search, zero errors.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])
from bench.corpus import DEFAULT_DIR, ROOT, prepare  # noqa: E402

QUERIES = [
    "large language models",
    "graph neural network",
    "diffusion model",
    "reinforcement learning",
    "quantum error correction",
    "federated learning privacy",
    "retrieval augmented generation",
    "vision transformer",
    "speech recognition",
    "protein structure",
    '"contrastive learning"',
    "ti:survey cat:cs.CL",
    "au:zhang",
    "robot manipulation -simulation",
    "code generation",
    "anomaly detection time series",
    "point cloud segmentation",
    "knowledge graph embedding",
    "neural radiance fields",
    "adversarial robustness",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load(base: str, paths: list[str], seconds: float, concurrency: int) -> dict:
    import httpx

    latencies: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(offset: int) -> None:
        with httpx.Client(base_url=base, timeout=10) as http:
            i = offset
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    status = http.get(paths[i % len(paths)]).status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    if status == 200:
                        latencies.append(elapsed)
                    else:
                        errors[str(status)] = errors.get(str(status), 0) + 1
                i += 1

    threads = [threading.Thread(target=client, args=(n * 7,)) for n in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "req_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 2) if latencies else None,
        "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))], 2) if latencies else None,
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=3)
    args = parser.parse_args()
    papers = prepare(args.data_dir)
    port = free_port()
    env = {**os.environ, "DATA_DIR": str(args.data_dir), "API_ANON_RATE": "", "API_USER_RATE": ""}
    env.pop("DATABASE_URL", None)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "papers.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        import httpx

        for _ in range(100):
            try:
                if httpx.get(f"{base}/api/v1/categories", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        search_paths = [f"/api/v1/search?q={q}&page_size=10" for q in QUERIES]
        from papers.models import Paper

        paper_paths = [
            f"/api/v1/papers/{i}" for i in Paper.objects.values_list("arxiv_id", flat=True)[:200]
        ]
        load(base, search_paths, 3, args.concurrency)  # warm every worker's index reader
        result = {
            "papers": papers,
            "concurrency": args.concurrency,
            "gunicorn_workers": args.workers,
            "seconds": args.seconds,
            "baseline_paper_by_id": load(base, paper_paths, args.seconds / 2, args.concurrency),
            "search_rerank_off": load(base, search_paths, args.seconds, args.concurrency),
            "goal": "search >= 150 req/s with zero errors",
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
