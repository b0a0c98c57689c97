"""Dense, whitened and hybrid retrieval on a BEIR set, with BM25 (tantivy) as the baseline.

    python bench/dense.py [--data DIR] [--split NAME]

Prints one JSON object: ``bm25``, ``dense_raw``, ``dense_w256``, ``dense_w128``, ``dense_w64``
(whitened with the chosen beta/gamma, fitted on that corpus) and ``hybrid`` (top-100 BM25
candidates reranked by fusing BM25 with whitened cosines), each with ``ndcg@10`` and
``recall@100``; plus ``whitening_table`` (every beta/gamma/k tried) and ``fusion_table``.

Every system is a function (corpus, queries) -> {qid: [doc ids, best first]}, and
``fused_rankings`` reranks any BM25 candidates, so that bench/relevance.py can run them next to
the search backend's systems.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bench.beir import load_beir  # noqa: E402
from bench.embedding_cache import cached_embeddings  # noqa: E402
from bench.metrics import evaluate  # noqa: E402
from ml.artifacts import WHITENING  # noqa: E402
from ml.encoder import TextEncoder  # noqa: E402
from ml.fusion import DEFAULT_METHOD, DEFAULT_WEIGHT, hybrid_rerank  # noqa: E402
from ml.whitening import Whitening  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "scifact"
# The shipped whitening, chosen on the SciFact train split from the whitening_table below:
# beta=0, gamma=0.25 is the best setting at k=384 and k=256 and within 0.001 of the best at 128.
CHOSEN_BETA, CHOSEN_GAMMA = WHITENING["beta"], WHITENING["gamma"]
CHOSEN_FUSION = {"method": DEFAULT_METHOD, "weight": DEFAULT_WEIGHT, "k": WHITENING["n_components"]}
CANDIDATES = 100

Run = dict[str, list[str]]
Scored = dict[str, list[tuple[str, float]]]  # query id -> [(doc id, lexical score)], best first
Encode = Callable[[str, list[str]], np.ndarray]

_NON_WORD = re.compile(r"[^0-9a-zA-Z]+")


# ------------------------------------------------------------------------------------ systems
def bm25_scored(corpus: dict[str, str], queries: dict[str, str], top_k: int = CANDIDATES) -> Scored:
    """BM25 (tantivy, English stemming) top_k per query as {qid: [(doc id, score)]}."""
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("doc_id", stored=True, tokenizer_name="raw")
    builder.add_text_field("body", stored=False, tokenizer_name="en_stem")
    schema = builder.build()
    index = tantivy.Index(schema)
    writer = index.writer(heap_size=100_000_000, num_threads=1)
    for doc_id, text in corpus.items():
        writer.add_document(tantivy.Document(doc_id=doc_id, body=text))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    searcher = index.searcher()
    out = {}
    for qid, text in queries.items():
        words = _NON_WORD.sub(" ", text).lower().split()
        if not words:
            out[qid] = []
            continue
        query = index.parse_query(" ".join(words), ["body"])
        hits = searcher.search(query, top_k).hits
        out[qid] = [(searcher.doc(addr)["doc_id"][0], float(score)) for score, addr in hits]
    return out


def bm25_system(corpus: dict[str, str], queries: dict[str, str]) -> Run:
    return {q: [d for d, _ in hits] for q, hits in bm25_scored(corpus, queries).items()}


def default_encode(name: str, texts: list[str]) -> np.ndarray:
    """all-MiniLM-L6-v2 vectors (auto variant), cached under /work/cache."""
    return cached_embeddings(name, texts, TextEncoder("auto"))


def dataset_encode(name: str, split: str) -> Encode:
    """default_encode caching under the dataset's own names, so every bench shares one cache."""
    cache_names = {"beir-corpus": f"{name}-corpus", "beir-queries": f"{name}-queries-{split}"}

    def encode(key: str, texts: list[str]) -> np.ndarray:
        return default_encode(cache_names[key], texts)

    return encode


def dense_system(
    beta: float | None = None,
    gamma: float | None = None,
    k: int | None = None,
    encode: Encode = default_encode,
    dataset: str = "beir",
) -> Callable[[dict[str, str], dict[str, str]], Run]:
    """Exact cosine search on raw (beta=None) or whitened vectors fitted on the corpus."""

    def run(corpus: dict[str, str], queries: dict[str, str]) -> Run:
        doc_ids, qids = list(corpus), list(queries)
        docs = encode(f"{dataset}-corpus", list(corpus.values()))
        qs = encode(f"{dataset}-queries", list(queries.values()))
        if beta is not None:
            white = Whitening(beta, gamma, k).fit(docs)
            docs, qs = white.transform(docs), white.transform(qs)
        return _top(qs @ docs.T, qids, doc_ids, CANDIDATES)

    return run


def fused_rankings(
    lexical: Scored,
    corpus: dict[str, str],
    queries: dict[str, str],
    beta: float = CHOSEN_BETA,
    gamma: float = CHOSEN_GAMMA,
    k: int = CHOSEN_FUSION["k"],
    method: str = CHOSEN_FUSION["method"],
    weight: float = CHOSEN_FUSION["weight"],
    encode: Encode = default_encode,
    dataset: str = "beir",
) -> Run:
    """Each query's lexical candidates reranked by ml.fusion.hybrid_rerank with whitened cosines.

    The whitening is fitted on the corpus; ``lexical`` may come from any BM25 (ours or tantivy's).
    """
    row = {d: i for i, d in enumerate(corpus)}
    query_row = {q: i for i, q in enumerate(queries)}
    white = Whitening(beta, gamma, k)
    docs = white.fit_transform(encode(f"{dataset}-corpus", list(corpus.values())))
    qs = white.transform(encode(f"{dataset}-queries", list(queries.values())))
    out = {}
    for qid, hits in lexical.items():
        ids = [d for d, _ in hits]
        vectors = docs[[row[d] for d in ids]]
        fused = hybrid_rerank(
            ids, [s for _, s in hits], qs[query_row[qid]], vectors, weight, method
        )
        out[qid] = [d for d, _ in fused]
    return out


def hybrid_system(
    beta: float = CHOSEN_BETA,
    gamma: float = CHOSEN_GAMMA,
    k: int = CHOSEN_FUSION["k"],
    method: str = CHOSEN_FUSION["method"],
    weight: float = CHOSEN_FUSION["weight"],
    encode: Encode = default_encode,
    dataset: str = "beir",
) -> Callable[[dict[str, str], dict[str, str]], Run]:
    """BM25 top-100 candidates (bm25_scored) reranked by fused_rankings."""

    def run(corpus: dict[str, str], queries: dict[str, str]) -> Run:
        lexical = bm25_scored(corpus, queries)
        return fused_rankings(
            lexical, corpus, queries, beta, gamma, k, method, weight, encode, dataset
        )

    return run


def _top(scores: np.ndarray, qids: list[str], doc_ids: list[str], k: int) -> Run:
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return {q: [doc_ids[j] for j in top[i]] for i, q in enumerate(qids)}


# ------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--split", default="train")
    args = parser.parse_args(argv)
    data = load_beir(args.data, args.split)
    encode = dataset_encode(args.data.name, args.split)
    corpus, queries, qrels = data.corpus, data.queries, data.qrels
    result: dict = {"n_docs": len(corpus), "n_queries": len(queries)}
    result["bm25"] = evaluate(bm25_system(corpus, queries), qrels)
    result["dense_raw"] = evaluate(dense_system(encode=encode)(corpus, queries), qrels)

    table = []
    for beta in (0.0, 0.5, 1.0):
        for gamma in (0.0, 0.1, 0.2, 0.25, 0.3, 0.5, 1.0):
            for k in (384, 256, 128, 64):
                run = dense_system(beta, gamma, k, encode=encode)(corpus, queries)
                table.append({"beta": beta, "gamma": gamma, "k": k, **evaluate(run, qrels)})
    result["whitening_table"] = table
    for k in (256, 128, 64):
        run = dense_system(CHOSEN_BETA, CHOSEN_GAMMA, k, encode=encode)(corpus, queries)
        result[f"dense_w{k}"] = {**evaluate(run, qrels), "beta": CHOSEN_BETA, "gamma": CHOSEN_GAMMA}

    fusion = []
    for method, weights in (("zscore", (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)),
                            ("minmax", (0.3, 0.5, 0.7)), ("rrf", (0.5, 0.7))):  # fmt: skip
        for weight in weights:
            for k in (256, 128):
                system = hybrid_system(CHOSEN_BETA, CHOSEN_GAMMA, k, method, weight, encode)
                fusion.append({"method": method, "weight": weight, "k": k,
                               **evaluate(system(corpus, queries), qrels)})  # fmt: skip
    result["fusion_table"] = fusion
    result["hybrid"] = {**evaluate(hybrid_system(encode=encode)(corpus, queries), qrels),
                        **CHOSEN_FUSION}  # fmt: skip
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
