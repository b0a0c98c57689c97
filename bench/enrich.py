"""Enrichment throughput on this machine: embedding (per encoder variant), keywords, tagging.

    python bench/enrich.py [--papers FILE] [--n-embed N] [--rounds R] [--workdir DIR]

Uses the shipped sample (papers/sample/papers.jsonl.gz, ~3.7k papers). Prints one JSON object:
``embedding``: every encoder variant of ml/encoder.py timed by ml.encoder.measure_variants, the
function the first training uses to choose (papers/s as the median over ``--rounds`` parts of
the ``--n-embed`` texts, interleaved; cosine to fp32 min and mean; load seconds), ``chosen``
(choose_variant: the fastest with cosine >= MIN_COSINE), ``speedup_vs_fp32``;
``encoder_cache``: seconds to load the OpenVINO model converting it vs reading the converted
model from the cache (--workdir); ``train_artifacts`` (seconds to fit whitening, keywords and the
tagger on the sample, as the first run does), ``keywords`` and ``tagging`` (papers/s), and
``first_run_estimate_s`` (``--embedding-only`` stops after the encoders); ``cpu``: the CPU's
model and its bf16 / int8 vector and matrix (AMX) features. Timings are
wall-clock on 2 shared cores: other jobs make them noisy.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from bench.arxiv_data import load_papers  # noqa: E402
from bench.embedding_cache import cached_embeddings  # noqa: E402
from ml.artifacts import train_artifacts  # noqa: E402
from ml.encoder import (  # noqa: E402
    MIN_COSINE,
    VARIANTS,
    TextEncoder,
    choose_variant,
    cpu_description,
    cpu_has_native_bf16,
    measure_variants,
    openvino_available,
    paper_text,
)
from papers.names import author_keys  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "papers" / "sample" / "papers.jsonl.gz"


def cache_load_times(workdir: Path) -> dict:
    """Seconds to load an OpenVINO encoder: converting the torch model, then from the cache."""
    if not openvino_available():
        return {}
    cache = workdir / "encoders"
    shutil.rmtree(cache, ignore_errors=True)
    out = {}
    for name in ("convert_s", "from_cache_s"):
        start = time.perf_counter()
        TextEncoder("openvino-bf16", cache_dir=cache).load().encode(["warm up"])
        out[name] = round(time.perf_counter() - start, 2)
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--papers", type=Path, default=SAMPLE)
    parser.add_argument("--n-embed", type=int, default=384)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/coolpapers-enrich-bench"))
    parser.add_argument("--embedding-only", action="store_true", help="skip the fitting part")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    papers = load_papers(args.papers)
    texts = [paper_text(p.get("title"), p.get("abstract")) for p in papers]
    result: dict = {
        "n_papers": len(texts),
        "cpu_native_bf16": cpu_has_native_bf16(),
        "cpu": cpu_description(),
    }

    available = [v for v in VARIANTS if openvino_available() or not v.startswith("openvino")]
    embedding = measure_variants(
        texts[: args.n_embed], available, rounds=args.rounds, cache_dir=args.workdir / "encoders"
    )
    chosen = choose_variant(embedding)
    result["embedding"] = embedding
    result["chosen"] = {
        "variant": chosen,
        "min_cosine": MIN_COSINE,
        "speedup_vs_fp32": round(
            embedding[chosen]["papers_per_s"] / embedding["fp32"]["papers_per_s"], 2
        ),
    }
    result["encoder_cache"] = cache_load_times(args.workdir)
    if args.embedding_only:
        print(json.dumps(result))
        return result

    encoder = TextEncoder("auto")
    vectors = cached_embeddings("sample", texts, encoder)
    labels = [p["categories"] if p.get("categories_complete") else None for p in papers]
    authors = [author_keys(p["authors"]) for p in papers]
    start = time.perf_counter()
    artifacts = train_artifacts(texts, labels, vectors=vectors, encoder=encoder, authors=authors)
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
    artifacts.predict_tags(artifacts.whiten(vectors), texts, authors)
    result["tagging"] = {"papers_per_s": round(len(texts) / (time.perf_counter() - start), 1)}

    embed_s = len(texts) / embedding[chosen]["papers_per_s"]
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
