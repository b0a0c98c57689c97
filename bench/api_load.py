"""Load on /api/v1/search: gunicorn on loopback over the 73k corpus, 8 concurrent clients.

    python bench/api_load.py [--seconds 20] [--concurrency 8] [--workers 3]

Starts gunicorn on 127.0.0.1 (a free port) with the benchmark data directory, then runs a fixed
list of queries from `--concurrency` client threads for a bounded time. Prints req/s, p50/p99
latency (medians over every request) and error counts as JSON, for search with rerank off (BM25)
and on (hybrid: BM25 and dense candidates fused; models trained on a recent slice, see
bench.corpus), the latter
twice: with the per-process query-vector cache, and with it off so every request encodes its
query. The baseline, measured in the same run, is the same load on paper lookups by id.
Goals on 2 cores: >= 150 req/s with rerank off, >= 50 req/s with rerank on, zero errors.
"""

import argparse
import contextlib
import functools
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

sys.path[0] = str(Path(__file__).resolve().parents[1])
from bench.corpus import DEFAULT_DIR, ROOT, prepare, prepare_models  # noqa: E402
from bench.http_load import load  # noqa: E402

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


@contextlib.contextmanager
def serve(data_dir: Path, workers: int, **env_overrides: str):
    """gunicorn on a free loopback port with the benchmark data; yields its base URL."""
    import httpx

    port = free_port()
    env = {**os.environ, "DATA_DIR": str(data_dir), "API_ANON_RATE": "", "API_USER_RATE": ""}
    env.update(env_overrides)
    env.pop("DATABASE_URL", None)
    command = [sys.executable, "-m", "gunicorn", "papers.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--log-level", "warning"]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/api/v1/categories", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def wait_until_reranked(base: str, path: str, workers: int, timeout: float = 180) -> None:
    """Until enough answers in a row are reranked that every worker has its encoder loaded."""
    import httpx

    deadline, in_a_row = time.monotonic() + timeout, 0
    while time.monotonic() < deadline and in_a_row < 4 * workers:
        in_a_row = in_a_row + 1 if httpx.get(base + path, timeout=30).json()["reranked"] else 0
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--model-papers", type=int, default=5000, help="papers to train on")
    args = parser.parse_args()
    papers = prepare(args.data_dir)
    version = prepare_models(args.model_papers)
    import httpx

    from papers.models import Paper

    def search_paths(rerank: bool) -> list[str]:
        flag = "true" if rerank else "false"
        return [f"/api/v1/search?q={quote(q)}&page_size=10&rerank={flag}" for q in QUERIES]

    paper_paths = [
        f"/api/v1/papers/{i}" for i in Paper.objects.values_list("arxiv_id", flat=True)[:200]
    ]
    run = functools.partial(load, seconds=args.seconds, concurrency=args.concurrency)
    result = {
        "papers": papers,
        "papers_with_vectors": Paper.objects.exclude(embedded_with="").count(),
        "models": version,
        "concurrency": args.concurrency,
        "gunicorn_workers": args.workers,
        "seconds": args.seconds,
    }
    with serve(args.data_dir, args.workers) as base:
        # Warm every worker: index readers, and the encoder each loads in the background at
        # start (until it is ready, searches answer by words only, `reranked: false`).
        wait_until_reranked(base, search_paths(True)[0], args.workers)
        load(base, search_paths(True), 5, args.concurrency)
        # Only a load whose responses really are reranked measures hybrid search.
        reranked = [httpx.get(base + path).json()["reranked"] for path in search_paths(True)]
        result["queries_reranked"] = f"{sum(reranked)} of {len(reranked)}"
        result["baseline_paper_by_id"] = run(base, paper_paths)
        result["search_rerank_off"] = run(base, search_paths(False))
        result["search_rerank_on"] = run(base, search_paths(True))
    with serve(args.data_dir, args.workers, SEARCH_QUERY_VECTOR_CACHE="0") as base:
        wait_until_reranked(base, search_paths(True)[0], args.workers)
        load(base, search_paths(True), 5, args.concurrency)
        result["search_rerank_on_uncached"] = run(base, search_paths(True))
    result["goals"] = {
        "rerank_off_150_req_s_zero_errors": result["search_rerank_off"]["req_per_s"] >= 150
        and not result["search_rerank_off"]["errors"],
        "rerank_on_50_req_s_zero_errors": result["search_rerank_on_uncached"]["req_per_s"] >= 50
        and not result["search_rerank_on_uncached"]["errors"],
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
