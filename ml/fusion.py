"""Hybrid reranking: fuse BM25 scores of candidates with cosines of their whitened vectors.

Pure functions, no state: the search backend hands over its BM25 candidates (ids and scores),
the stored whitened vectors of those candidates and the whitened query vector.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

METHODS = ("zscore", "minmax", "rrf")
# Tuned on the SciFact train split with bench/dense.py (see its `fusion_table`).
DEFAULT_METHOD = "zscore"
DEFAULT_WEIGHT = 0.5
RRF_K = 60


def fuse(
    bm25_scores: Sequence[float],
    cosines: Sequence[float],
    weight: float = DEFAULT_WEIGHT,
    method: str = DEFAULT_METHOD,
) -> np.ndarray:
    """Fused score of each candidate: (1 - weight) * lexical + weight * dense, after normalising.

    ``zscore`` and ``minmax`` normalise each score list over the candidates; ``rrf`` uses
    reciprocal ranks 1 / (60 + rank). weight=0 keeps the BM25 order, weight=1 the dense order.
    """
    lexical = np.asarray(bm25_scores, dtype=np.float64)
    dense = np.asarray(cosines, dtype=np.float64)
    if lexical.shape != dense.shape or lexical.ndim != 1:
        raise ValueError("bm25_scores and cosines must be 1-d and the same length")
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must be in [0, 1], got {weight}")
    if method == "rrf":
        lexical, dense = _reciprocal_rank(lexical), _reciprocal_rank(dense)
    elif method == "zscore":
        lexical, dense = _zscore(lexical), _zscore(dense)
    elif method == "minmax":
        lexical, dense = _minmax(lexical), _minmax(dense)
    else:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return (1.0 - weight) * lexical + weight * dense


def hybrid_rerank(
    candidate_ids: Sequence,
    bm25_scores: Sequence[float],
    query_vector: np.ndarray,
    candidate_vectors: np.ndarray,
    weight: float = DEFAULT_WEIGHT,
    method: str = DEFAULT_METHOD,
) -> list[tuple[object, float]]:
    """Candidates reordered by fused score, best first, as (id, fused score) pairs.

    Vectors are whitened and unit-length (Whitening(normalize=True)), so dot = cosine.
    A candidate whose vector is missing may be given a zero row: its cosine is then 0.
    """
    if len(candidate_ids) == 0:
        return []
    vectors = np.asarray(candidate_vectors, dtype=np.float32)
    if vectors.shape[0] != len(candidate_ids):
        raise ValueError("need one vector per candidate")
    cosines = vectors @ np.asarray(query_vector, dtype=np.float32).reshape(-1)
    fused = fuse(bm25_scores, cosines, weight=weight, method=method)
    # Stable sort keeps BM25 order among ties.
    order = np.argsort(-fused, kind="stable")
    return [(candidate_ids[i], float(fused[i])) for i in order]


def _zscore(x: np.ndarray) -> np.ndarray:
    std = x.std()
    return (x - x.mean()) / std if std > 0 else np.zeros_like(x)


def _minmax(x: np.ndarray) -> np.ndarray:
    span = x.max() - x.min() if x.size else 0.0
    return (x - x.min()) / span if span > 0 else np.zeros_like(x)


def _reciprocal_rank(x: np.ndarray) -> np.ndarray:
    ranks = np.empty(len(x))
    ranks[np.argsort(-x, kind="stable")] = np.arange(1, len(x) + 1)
    return 1.0 / (RRF_K + ranks)
