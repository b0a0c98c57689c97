"""The dense index (search.dense) at 100k, 1M and 3M papers: latency, recall, build, memory.

    python bench/dense_scale.py [--sizes 100000,1000000,3000000] [--queries 200]
                                [--workdir /tmp/dense-scale] [--keep]

Real vectors: raw encoder vectors of arXiv abstracts cached under /work/cache (any
``arxiv-*/all.npy``; else a few thousand abstracts from /work/shared/data/arxiv are encoded
once with the app's encoder), whitened as the app does (ml.artifacts.WHITENING). A held-out
part of them are the queries; the rest are tiled to each size, each copy perturbed with
Gaussian noise and re-normalised. The noise is chosen so that two copies of one paper are as
similar as a real paper is to its nearest real neighbour (median), so copies do not crowd the
true neighbours.

Per size: the base is written by search.dense.write_base (the builder the app uses, fed the
vectors instead of reading them from the store) and searched through search.dense.DenseIndex.
Ground truth is exact float32 search; the exact path (faiss fp16 flat) is measured at every
size too, and IVF (the path beyond EXACT_MAX) with a sweep over nprobe. ``extra_process`` is a
second process that maps the same base and runs the same queries while this one holds it:
growth of its RSS, PSS and private memory (/proc/self/smaps_rollup), and its PSS in the
index files. Prints one JSON object; files are removed afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "papers.settings")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

CACHE = Path(os.environ.get("ML_BENCH_CACHE", "/work/cache")) / "embeddings"
ARXIV = ROOT.parent / "shared" / "data" / "arxiv" / "papers.jsonl.gz"
ENCODE_FALLBACK = 4000
CHUNK = 65_536
K = 10


def real_raw_vectors() -> tuple[np.ndarray, str]:
    """Raw encoder vectors of real arXiv abstracts, and where they came from."""
    cached = sorted(CACHE.glob("arxiv-*/all.npy"))
    if cached:
        parts = [np.load(p) for p in cached]
        return np.concatenate(parts).astype(np.float32), ", ".join(p.parent.name for p in cached)
    from bench.embedding_cache import cached_embeddings
    from ml.encoder import TextEncoder, paper_text

    texts = []
    with gzip.open(ARXIV, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            texts.append(paper_text(row.get("title"), row.get("abstract")))
            if len(texts) >= ENCODE_FALLBACK:
                break
    encoder = TextEncoder("auto")
    return cached_embeddings("dense-scale-arxiv", texts, encoder), f"encoded {len(texts)}"


def percentile_ms(samples: list[float], q: float) -> float:
    return round(float(np.percentile(samples, q)) * 1000, 3)


class Synthetic:
    """n unit vectors: pool rows tiled and perturbed, generated chunk by chunk, reproducibly."""

    def __init__(self, pool: np.ndarray, n: int, sigma: float) -> None:
        self.pool, self.n, self.sigma = pool, n, sigma

    def chunk(self, start: int) -> np.ndarray:
        stop = min(start + CHUNK, self.n)
        rng = np.random.default_rng(start)
        dim = self.pool.shape[1]
        out = self.pool[np.arange(start, stop) % len(self.pool)].copy()
        out += (self.sigma / np.sqrt(dim)) * rng.standard_normal(out.shape, dtype=np.float32)
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out

    def chunks(self):
        for start in range(0, self.n, CHUNK):
            yield self.chunk(start)


def exact_truth(data: Synthetic, queries: np.ndarray, sample_rows: np.ndarray):
    """Exact float32 top-K rows per query, and the vectors at ``sample_rows`` (IVF training)."""
    best_sims = np.full((len(queries), K), -np.inf, dtype=np.float32)
    best_rows = np.zeros((len(queries), K), dtype=np.int64)
    sample = []
    for start in range(0, data.n, CHUNK):
        chunk = data.chunk(start)
        sims = queries @ chunk.T
        part = np.argpartition(-sims, K - 1, axis=1)[:, :K]
        all_sims = np.concatenate([best_sims, np.take_along_axis(sims, part, axis=1)], axis=1)
        all_rows = np.concatenate([best_rows, part + start], axis=1)
        top = np.argsort(-all_sims, axis=1, kind="stable")[:, :K]
        best_sims = np.take_along_axis(all_sims, top, axis=1)
        best_rows = np.take_along_axis(all_rows, top, axis=1)
        inside = sample_rows[(sample_rows >= start) & (sample_rows < start + len(chunk))]
        sample.append(chunk[inside - start])
    return best_rows, np.concatenate(sample)


def run_queries(index, queries: np.ndarray, truth_pks: np.ndarray) -> dict:
    latencies, hits = [], 0
    for query, truth in zip(queries, truth_pks, strict=True):
        started = time.perf_counter()
        pks, _ = index.search(query, K)
        latencies.append(time.perf_counter() - started)
        hits += len(set(pks.tolist()) & set(truth.tolist()))
    return {
        "p50_ms": percentile_ms(latencies, 50),
        "p95_ms": percentile_ms(latencies, 95),
        "recall@10": round(hits / truth_pks.size, 4),
        "queries": len(queries),
    }


CHILD = r"""
import json, os, sys, time
sys.path.insert(0, sys.argv[3])
import django
django.setup()
import numpy as np
from pathlib import Path
from search.dense import Base, DenseIndex

def rollup():
    out = {}
    for line in open("/proc/self/smaps_rollup"):
        parts = line.split()
        if len(parts) == 3 and parts[2] == "kB":
            out[parts[0][:-1]] = int(parts[1])
    return out

def in_files(prefix):
    total, name = {"Rss": 0, "Pss": 0, "Private": 0}, None
    for line in open("/proc/self/smaps"):
        parts = line.split()
        if "-" in parts[0] and len(parts) >= 5:
            name = parts[5] if len(parts) >= 6 else ""
        elif name and name.startswith(prefix) and parts[-1] == "kB":
            key = parts[0][:-1]
            if key in ("Rss", "Pss"):
                total[key] += int(parts[1])
            elif key in ("Private_Clean", "Private_Dirty"):
                total["Private"] += int(parts[1])
    return total

queries = np.load(sys.argv[2])
before = rollup()
base = Base.open(Path(sys.argv[1]))
if sys.argv[4] == "exact":
    base.ivf = None
index = DenseIndex(base)
for q in queries:
    index.search(q, 10)
after = rollup()
mb = lambda kb: round(kb / 1024, 1)
print(json.dumps({
    "rss_added_mb": mb(after["Rss"] - before["Rss"]),
    "pss_added_mb": mb(after["Pss"] - before["Pss"]),
    "private_added_mb": mb(after["Private_Clean"] + after["Private_Dirty"]
                           - before["Private_Clean"] - before["Private_Dirty"]),
    "index_files_mb": {k: mb(v) for k, v in in_files(sys.argv[1]).items()},
}))
"""


def extra_process(base_path: Path, queries: np.ndarray, workdir: Path, kind: str) -> dict:
    np.save(workdir / "queries.npy", queries)
    env = {**os.environ, "DATA_DIR": str(workdir / "data")}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(base_path),
            str(workdir / "queries.npy"),
            str(ROOT),
            kind,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def one_size(n: int, pool, queries, sigma, workdir: Path, keep: bool, sweep: bool) -> dict:
    from search import dense

    data = Synthetic(pool, n, sigma)
    pks = np.arange(n, dtype=np.int64) * 2 + 1  # gaps, like real primary keys
    lists, _ = dense._ivf_shape(n)
    rng = np.random.default_rng(n)
    sample_rows = np.sort(
        rng.choice(n, size=min(n, lists * dense.IVF_TRAIN_PER_LIST), replace=False)
    )
    started = time.perf_counter()
    truth_rows, train = exact_truth(data, queries, sample_rows)
    truth_seconds = time.perf_counter() - started
    truth_pks = pks[truth_rows]
    out: dict = {"n": n, "exact_float32_truth_seconds": round(truth_seconds, 1)}
    root = workdir / "dense"

    started = time.perf_counter()
    for _ in data.chunks():
        pass
    generation = time.perf_counter() - started
    out["vector_generation_seconds"] = round(generation, 1)

    # One base with both indexes: the IVF path, and the exact path over its flat fp16 file
    # (what the app writes alone up to EXACT_MAX papers).
    exact_max = dense.EXACT_MAX
    dense.EXACT_MAX = 0
    try:
        started = time.perf_counter()
        path = dense.write_base(
            root, f"bench-{n}", pks, data.chunks(), pool.shape[1], {"journal_offset": 0}, train
        )
        seconds = time.perf_counter() - started
    finally:
        dense.EXACT_MAX = exact_max
    ivf = dense.DenseIndex(dense.Base.open(path))
    base = ivf.base
    exact = dense.DenseIndex(dense.Base(base.path, base.meta, base.pks, base.flat, None))
    files = {f.name: round(f.stat().st_size / 2**20, 1) for f in path.iterdir()}
    # Including generating the vectors again (the app reads and whitens them instead).
    out["build_seconds_ivf_and_flat"] = round(seconds, 1)
    out["disk_mb"] = files

    subset = queries if n <= 1_000_000 else queries[:50]
    out["exact"] = run_queries(exact, subset, truth_pks[: len(subset)])
    result = {"lists": base.meta["lists"], "nprobe": base.meta["nprobe"]}
    result.update(run_queries(ivf, queries, truth_pks))
    if sweep:
        table = []
        for nprobe in sorted({max(1, lists // d) for d in (64, 32, 16, 8, 4)}):
            base.ivf.nprobe = nprobe
            table.append({"nprobe": nprobe, **run_queries(ivf, queries, truth_pks)})
        base.ivf.nprobe = base.meta["nprobe"]
        result["nprobe_sweep"] = table
    out["ivf"] = result
    chosen = "ivf" if n > dense.EXACT_MAX else "exact"
    out["shipped_path"] = chosen
    index = ivf if chosen == "ivf" else exact
    for query in queries[:20]:  # this process holds the base, warm, as a running worker would
        index.search(query, K)
    out["extra_process"] = extra_process(path, queries, workdir, chosen)
    out["per_process_copy_mb_before"] = round(n * pool.shape[1] * 4 / 2**20, 1)
    del ivf, exact, index, base
    if not keep:
        shutil.rmtree(root, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000,3000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--workdir", default="/tmp/dense-scale")
    parser.add_argument("--keep", action="store_true", help="keep the built files")
    args = parser.parse_args(argv)
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ["DATA_DIR"] = str(workdir / "data")

    import django

    django.setup()
    from ml.artifacts import WHITENING
    from ml.whitening import Whitening
    from search import dense

    raw, source = real_raw_vectors()
    rng = np.random.default_rng(0)
    raw = raw[rng.permutation(len(raw))]
    whitened = Whitening(**WHITENING).fit(raw).transform(raw)
    queries, pool = whitened[: args.queries], whitened[args.queries :]
    sims = pool[:2000] @ pool.T
    np.fill_diagonal(sims[:, :2000], -np.inf)
    nn_cosine = float(np.median(sims.max(axis=1)))
    sigma = float(np.sqrt(1 / nn_cosine - 1))  # two copies: cosine 1 / (1 + sigma^2)
    result: dict = {
        "real_vectors": {"n": len(raw), "source": source, "dim": int(whitened.shape[1])},
        "median_nearest_real_cosine": round(nn_cosine, 3),
        "noise_sigma": round(sigma, 3),
        "exact_max": dense.EXACT_MAX,
        "faiss_threads": 1,
        "load_average_at_start": os.getloadavg()[0],
        "sizes": [],
    }
    sizes = [int(s) for s in args.sizes.split(",")]
    for n in sizes:
        print(f"size {n}...", file=sys.stderr, flush=True)
        result["sizes"].append(one_size(n, pool, queries, sigma, workdir, args.keep, sweep=True))
        print(json.dumps(result["sizes"][-1]), file=sys.stderr, flush=True)
    result["load_average_at_end"] = os.getloadavg()[0]
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
