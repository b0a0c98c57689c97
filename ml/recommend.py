"""Recommendations from a user's starred and not-interested papers (arxiv-sanity style).

A linear SVM on whitened vectors separates the user's positives from their negatives and from
background papers (a random sample of the library, weighted down because some of them would be
liked). Candidates are ranked by the SVM score; each pick is explained by the starred papers
nearest to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Recommendation:
    paper_id: object
    score: float
    because: list[tuple[object, float]]  # (starred paper id, cosine), nearest first


class PaperRecommender:
    """Per-user linear model over whitened, unit-length paper vectors.

    Parameters
    ----------
    C: inverse regularisation of the linear SVM.
    background_weight: sample weight of each background paper relative to an explicit negative.
    n_explanations: starred papers listed with each recommendation.
    """

    def __init__(
        self, C: float = 1.0, background_weight: float = 0.2, n_explanations: int = 3
    ) -> None:
        self.C = C
        self.background_weight = background_weight
        self.n_explanations = n_explanations

    def fit(
        self,
        positive_vectors: np.ndarray,
        positive_ids: Sequence,
        negative_vectors: np.ndarray | None = None,
        background_vectors: np.ndarray | None = None,
        positive_weights: np.ndarray | None = None,
    ) -> PaperRecommender:
        """Learn coef_ and intercept_ from starred (positive) vs negative and background papers.

        ``positive_weights`` (one per star, e.g. decaying with the star's age) say how much each
        star counts relative to the others; the positives as a whole keep the same total weight.
        """
        from sklearn.svm import LinearSVC

        pos = _matrix(positive_vectors)
        if pos.shape[0] == 0:
            raise ValueError("recommendations need at least one starred paper")
        if len(positive_ids) != pos.shape[0]:
            raise ValueError("need one id per positive vector")
        negatives = [m for m in (negative_vectors, background_vectors) if m is not None]
        neg = _matrix(negative_vectors, pos.shape[1])
        bg = _matrix(background_vectors, pos.shape[1])
        if not negatives or neg.shape[0] + bg.shape[0] == 0:
            raise ValueError("recommendations need negative or background papers to contrast")
        X = np.vstack([pos, neg, bg])
        y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg) + len(bg))])
        share = (
            np.ones(len(pos)) if positive_weights is None else np.asarray(positive_weights, float)
        )
        if share.shape != (len(pos),) or (share < 0).any() or share.sum() <= 0:
            raise ValueError("need one non-negative weight per positive vector, not all zero")
        weight = np.concatenate(
            [
                share / share.sum() * (len(neg) + len(bg)),
                np.ones(len(neg)),
                np.full(len(bg), self.background_weight),
            ]
        )
        svm = LinearSVC(C=self.C, max_iter=10_000)
        svm.fit(X, y, sample_weight=weight)
        self.coef_ = svm.coef_[0].astype(np.float32)
        self.intercept_ = float(svm.intercept_[0])
        self.positive_vectors_ = pos.astype(np.float32)
        self.positive_ids_ = list(positive_ids)
        return self

    def decision_function(self, vectors: np.ndarray) -> np.ndarray:
        """SVM score of each candidate vector (higher = more likely to be liked)."""
        return _matrix(vectors, len(self.coef_)) @ self.coef_ + self.intercept_

    def recommend(
        self,
        candidate_vectors: np.ndarray,
        candidate_ids: Sequence,
        top_n: int = 20,
        exclude: Sequence = (),
    ) -> list[Recommendation]:
        """The top_n candidates by score, skipping ``exclude`` and the starred papers."""
        vectors = _matrix(candidate_vectors, len(self.coef_))
        if len(candidate_ids) != vectors.shape[0]:
            raise ValueError("need one id per candidate vector")
        skip = set(exclude) | set(self.positive_ids_)
        scores = self.decision_function(vectors)
        out: list[Recommendation] = []
        for i in np.argsort(-scores, kind="stable"):
            if candidate_ids[i] in skip:
                continue
            out.append(Recommendation(candidate_ids[i], float(scores[i]), self.explain(vectors[i])))
            if len(out) == top_n:
                break
        return out

    def explain(self, vector: np.ndarray) -> list[tuple[object, float]]:
        """The starred papers most similar (cosine) to ``vector``, nearest first."""
        v = np.asarray(vector, dtype=np.float32).reshape(-1)
        sims = (
            self.positive_vectors_
            @ v
            / (np.linalg.norm(self.positive_vectors_, axis=1) * np.linalg.norm(v) + 1e-12)
        )
        top = np.argsort(-sims, kind="stable")[: self.n_explanations]
        return [(self.positive_ids_[i], float(sims[i])) for i in top]


def _matrix(vectors: np.ndarray | None, dim: int | None = None) -> np.ndarray:
    if vectors is None:
        return np.zeros((0, dim or 0), dtype=np.float64)
    out = np.asarray(vectors, dtype=np.float64)
    if out.ndim == 1:
        out = out.reshape(1, -1) if out.size else out.reshape(0, dim or 0)
    if dim is not None and out.shape[0] and out.shape[1] != dim:
        raise ValueError(f"expected {dim}-d vectors, got {out.shape[1]}-d")
    return out
