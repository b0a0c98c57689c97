"""ZLPR multi-label classifier (METHODS.md section 3, kexue.fm/archives/7359, arXiv 2208.02955).

For one sample with raw scores s, positives P and negatives N:

    L = log(1 + sum_{i in N} exp(s_i)) + log(1 + sum_{j in P} exp(-s_j))

computed stably as logsumexp([0, s_N]) + logsumexp([0, -s_P]). Soft targets t in [0, 1] give
L = log(1 + sum_i t_i e^{-s_i}) + log(1 + sum_i (1 - t_i) e^{s_i}), whose optimum is
t = sigmoid(2 s): that is the confidence to show. A label is predicted when s > 0, with no
per-class threshold.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ml.versioning import check_format, format_header

FORMAT = "zlpr-linear/1"


def zlpr_loss_numpy(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per-sample ZLPR loss for (n, L) raw scores and (soft) 0/1 targets, in numpy."""
    scores = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    targets = np.atleast_2d(np.asarray(targets, dtype=np.float64))
    with np.errstate(divide="ignore"):
        log_t, log_not_t = np.log(targets), np.log(1.0 - targets)
    zero = np.zeros((scores.shape[0], 1))
    pos = np.concatenate([zero, -scores + log_t], axis=1)
    neg = np.concatenate([zero, scores + log_not_t], axis=1)
    return _logsumexp(pos) + _logsumexp(neg)


def _logsumexp(a: np.ndarray) -> np.ndarray:
    top = a.max(axis=1, keepdims=True)
    return (top + np.log(np.exp(a - top).sum(axis=1, keepdims=True)))[:, 0]


def zlpr_loss(scores, targets):
    """Mean ZLPR loss over a batch, in torch (differentiable); targets may be soft."""
    import torch

    # A large negative instead of -inf keeps gradients finite for masked entries.
    masked = torch.finfo(scores.dtype).min / 4
    log_t = torch.where(targets > 0, torch.log(targets.clamp_min(1e-30)), masked)
    log_not_t = torch.where(targets < 1, torch.log((1 - targets).clamp_min(1e-30)), masked)
    zero = torch.zeros_like(scores[:, :1])
    pos = torch.logsumexp(torch.cat([zero, -scores + log_t], dim=1), dim=1)
    neg = torch.logsumexp(torch.cat([zero, scores + log_not_t], dim=1), dim=1)
    return (pos + neg).mean()


def label_indicator(labels: Sequence[Sequence[str]], classes: Sequence[str]) -> np.ndarray:
    """(n, L) 0/1 matrix of which of ``classes`` each sample carries; unknown labels ignored."""
    index = {c: i for i, c in enumerate(classes)}
    out = np.zeros((len(labels), len(classes)), dtype=np.float32)
    for row, sample in enumerate(labels):
        for label in sample:
            if label in index:
                out[row, index[label]] = 1.0
    return out


class ZLPRClassifier:
    """A linear layer trained with the ZLPR loss; predicts labels with score > 0.

    Parameters
    ----------
    alpha: L2 penalty on the weights (not the biases), added to the mean loss.
    max_iter: L-BFGS iterations (full batch).
    tol: stop when the loss changes less than this between iterations.
    """

    def __init__(self, alpha: float = 1e-4, max_iter: int = 200, tol: float = 1e-7) -> None:
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol

    def fit(
        self,
        X: np.ndarray | sp.spmatrix,
        y: np.ndarray | Sequence[Sequence[str]],
        classes: Sequence[str] | None = None,
    ) -> ZLPRClassifier:
        """Train on features X (dense or sparse) and y: label lists or an (n, L) 0/1 matrix."""
        if isinstance(y, np.ndarray) and y.ndim == 2:
            targets = y.astype(np.float32)
            classes_ = list(classes) if classes is not None else [str(i) for i in range(y.shape[1])]
        else:
            classes_ = list(classes) if classes is not None else sorted({c for s in y for c in s})
            targets = label_indicator(y, classes_)
        if targets.shape[0] != X.shape[0]:
            raise ValueError(f"X has {X.shape[0]} rows but y has {targets.shape[0]}")
        if not classes_:
            raise ValueError("no labels to learn")
        weight, bias, info = fit_linear(X, targets, zlpr_loss, self.alpha, self.max_iter, self.tol)
        self.initial_loss_, self.loss_, self.n_iter_ = info
        self.coef_ = weight.T.astype(np.float32).copy()  # (L, d)
        self.intercept_ = bias.astype(np.float32)
        self.classes_ = classes_
        self.n_features_in_ = X.shape[1]
        return self

    def decision_function(self, X: np.ndarray | sp.spmatrix) -> np.ndarray:
        """Raw scores s, shape (n, L)."""
        if not hasattr(self, "coef_"):
            raise RuntimeError("ZLPRClassifier is not fitted; call fit() first")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"expected {self.n_features_in_} features, got {X.shape[1]}")
        scores = X @ self.coef_.T
        return np.asarray(scores, dtype=np.float32) + self.intercept_

    def predict(self, X: np.ndarray | sp.spmatrix) -> np.ndarray:
        """(n, L) 0/1 matrix: label predicted where its score is above 0."""
        return (self.decision_function(X) > 0).astype(np.int8)

    def predict_proba(self, X: np.ndarray | sp.spmatrix) -> np.ndarray:
        """Calibrated confidence sigmoid(2 s) per label."""
        return 1.0 / (1.0 + np.exp(-2.0 * self.decision_function(X).astype(np.float64)))

    def predict_labels(self, X: np.ndarray | sp.spmatrix) -> list[list[tuple[str, float]]]:
        """For each sample, its predicted (label, confidence) pairs, most confident first."""
        proba = self.predict_proba(X)
        out = []
        for row in proba:
            picked = np.flatnonzero(row > 0.5)
            picked = picked[np.argsort(-row[picked], kind="stable")]
            out.append([(self.classes_[i], float(row[i])) for i in picked])
        return out

    def get_params(self) -> dict:
        return {"alpha": self.alpha, "max_iter": self.max_iter, "tol": self.tol}

    def save(self, path: Path | str) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        np.savez(path / "arrays.npz", coef=self.coef_, intercept=self.intercept_)
        config = {
            **format_header(FORMAT),
            "params": self.get_params(),
            "classes": self.classes_,
            "n_features_in": self.n_features_in_,
        }
        (path / "config.json").write_text(json.dumps(config, indent=2))

    @classmethod
    def load(cls, path: Path | str) -> ZLPRClassifier:
        path = Path(path)
        config = check_format(path, FORMAT)
        model = cls(**config["params"])
        with np.load(path / "arrays.npz") as arrays:
            model.coef_ = arrays["coef"]
            model.intercept_ = arrays["intercept"]
        model.classes_ = list(config["classes"])
        model.n_features_in_ = config["n_features_in"]
        return model


def fit_linear(
    X: np.ndarray | sp.spmatrix,
    targets: np.ndarray,
    loss_fn,
    alpha: float,
    max_iter: int,
    tol: float,
) -> tuple[np.ndarray, np.ndarray, tuple[float, float, int]]:
    """Full-batch L-BFGS for a linear layer X W + b under ``loss_fn(scores, targets)``.

    Returns W (d, L), b (L,) and (initial loss, final loss, iterations).
    """
    import torch

    features = _to_torch(X)
    t = torch.from_numpy(np.asarray(targets, dtype=np.float64))
    weight = torch.zeros(X.shape[1], t.shape[1], dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(t.shape[1], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS(
        [weight, bias],
        lr=1.0,
        max_iter=max_iter,
        tolerance_change=tol,
        history_size=20,
        line_search_fn="strong_wolfe",
    )

    def closure():
        optimizer.zero_grad()
        loss = loss_fn(features @ weight + bias, t) + alpha * (weight * weight).sum()
        loss.backward()
        return loss

    initial = float(closure())
    optimizer.step(closure)
    with torch.no_grad():
        final = float(loss_fn(features @ weight + bias, t) + alpha * (weight * weight).sum())
    n_iter = int(optimizer.state[weight].get("n_iter", 0))
    return weight.detach().numpy(), bias.detach().numpy(), (initial, final, n_iter)


def _to_torch(X):
    import torch

    if sp.issparse(X):
        coo = sp.coo_matrix(X)
        indices = torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64))
        values = torch.from_numpy(coo.data.astype(np.float64))
        return torch.sparse_coo_tensor(indices, values, coo.shape).coalesce().to_sparse_csr()
    return torch.from_numpy(np.asarray(X, dtype=np.float64))
