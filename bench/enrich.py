"""Enrichment throughput on this machine: embedding (per encoder variant), keywords, tagging.

    python bench/enrich.py [--papers FILE] [--n-embed N]

Uses the shipped sample (papers/sample/papers.jsonl.gz, ~3.7k papers). Prints one JSON object:
``embedding`` (papers/s and cosine to fp32 for fp32, bf16, openvino), ``train_artifacts``
(seconds to fit whitening, keywords and the tagger on the sample, as the first run does),
``keywords`` and ``tagging`` (papers/s), and ``first_run_estimate_s``.
Timings are wall-clock on 2 shared cores: other jobs on the machine make them noisy.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bench.arxiv_data import load_papers  # noqa: E402
from bench.embedding_cache import cached_embeddings  # noqa: E402
from ml.artifacts import train_artifacts  # noqa: E402
from ml.encoder import TextEncoder, cpu_has_native_bf16, openvino_available, paper_text  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "papers" / "sample" / "papers.jsonl.gz"


def measure_encoder(variant: str, texts: list[str]) -> tuple[dict, np.ndarray]:
    encoder = TextEncoder(variant)
    start = time.perf_counter()
    encoder.encode(texts[:8])  # load, convert and warm up
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    vectors = encoder.encode(texts)
    rate = len(texts) / (time.perf_counter() - start)
    return {"papers_per_s": round(rate, 1), "load_s": round(load_s, 1)}, vectors


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--papers", type=Path, default=SAMPLE)
    parser.add_argument("--n-embed", type=int, default=256)
    args = parser.parse_args(argv)
    papers = load_papers(args.papers)
    texts = [paper_text(p.get("title"), p.get("abstract")) for p in papers]
    result: dict = {
        "n_papers": len(texts),
        "cpu_native_bf16": cpu_has_native_bf16(),
        "auto_variant": TextEncoder("auto").variant_,
    }

    sample = texts[: args.n_embed]
    embedding = {}
    reference = None
    variants = ["fp32", "bf16"] + (["openvino"] if openvino_available() else [])
    for variant in variants:
        stats, vectors = measure_encoder(variant, sample)
        if reference is None:
            reference = vectors
        cos = (vectors * reference).sum(axis=1)
        stats.update(cos_to_fp32_min=round(float(cos.min()), 6),
                     cos_to_fp32_mean=round(float(cos.mean()), 6))  # fmt: skip
        embedding[variant] = stats
    result["embedding"] = embedding

    encoder = TextEncoder("auto")
    vectors = cached_embeddings("sample", texts, encoder)
    labels = [p["categories"] if p.get("categories_complete") else None for p in papers]
    start = time.perf_counter()
    artifacts = train_artifacts(texts, labels, vectors=vectors, encoder=encoder)
    result["train_artifacts"] = {
        "total_s": round(time.perf_counter() - start, 1),
        **artifacts.trained["timings"],
        "n_classes": len(artifacts.trained["classes"]),
    }

    start = time.perf_counter()
    for text in texts:
        artifacts.extract_keywords(text)
    result["keywords"] = {"papers_per_s": round(len(texts) / (time.perf_counter() - start), 1)}

    start = time.perf_counter()
    artifacts.predict_tags(artifacts.whiten(vectors))
    result["tagging"] = {"papers_per_s": round(len(texts) / (time.perf_counter() - start), 1)}

    embed_s = len(texts) / embedding[result["auto_variant"]]["papers_per_s"]
    result["first_run_estimate_s"] = round(
        embed_s
        + result["train_artifacts"]["total_s"]
        + len(texts) / result["keywords"]["papers_per_s"]
        + len(texts) / result["tagging"]["papers_per_s"],
        1,
    )
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
