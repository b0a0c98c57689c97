"""Whitening with hyperparameters beta, gamma, k (METHODS.md section 2, kexue.fm 8069 / 9079).

    mu = mean(x_i)
    Sigma = mean((x_i - beta*mu)^T (x_i - beta*mu)) = U Lambda U^T
    x~_i = (x_i - beta*mu) U Lambda^(-gamma/2), first k columns

beta = gamma = 1 is classic whitening; beta = gamma = 0 is a rotation (cosines unchanged at full
k) whose truncation is PCA-style dimension reduction.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ml.versioning import ArtifactMismatch, check_format, format_header

FORMAT = "whitening/1"
# Eigenvalues below this fraction of the largest are treated as this floor, so near-singular
# directions do not blow up when gamma > 0.
_EIG_FLOOR = 1e-10


class Whitening:
    """Fit mu, U, Lambda on corpus vectors; transform corpus and query vectors the same way.

    Parameters
    ----------
    beta: how much of the mean to subtract (0..1).
    gamma: how strongly to equalise variances (0 = rotation only, 1 = full whitening).
    n_components: k, the number of leading dimensions kept (None keeps all).
    normalize: L2-normalise the output rows, so dot products are cosines.
    """

    def __init__(
        self,
        beta: float = 1.0,
        gamma: float = 1.0,
        n_components: int | None = None,
        normalize: bool = True,
    ) -> None:
        self.beta = beta
        self.gamma = gamma
        self.n_components = n_components
        self.normalize = normalize

    def fit(self, X: np.ndarray, encoder_id: str | None = None) -> Whitening:
        """Learn mean_, components_ (U's first k columns) and explained_variance_ from X."""
        X = _as_matrix(X)
        if X.shape[0] < 2:
            raise ValueError("whitening needs at least 2 vectors to fit")
        k = X.shape[1] if self.n_components is None else int(self.n_components)
        if not 1 <= k <= X.shape[1]:
            raise ValueError(f"n_components must be in 1..{X.shape[1]}, got {k}")
        mean = X.mean(axis=0)
        centred = X - self.beta * mean
        sigma = centred.T @ centred / X.shape[0]
        # Sigma is symmetric PSD, so its SVD is its eigendecomposition; eigh is faster and exact.
        eigvals, eigvecs = np.linalg.eigh(sigma)
        order = np.argsort(eigvals)[::-1]
        eigvals = np.maximum(eigvals[order], _EIG_FLOOR * max(eigvals.max(), _EIG_FLOOR))
        eigvecs = eigvecs[:, order]
        # Fix each eigenvector's sign (largest entry positive) so refits are reproducible.
        signs = np.sign(eigvecs[np.abs(eigvecs).argmax(axis=0), np.arange(eigvecs.shape[1])])
        eigvecs = eigvecs * np.where(signs == 0, 1, signs)
        self.mean_ = mean
        self.components_ = eigvecs[:, :k].T.copy()  # (k, d), like sklearn's PCA
        self.explained_variance_ = eigvals[:k].copy()
        self.n_features_in_ = X.shape[1]
        self.encoder_id_ = encoder_id
        return self

    @property
    def projection_(self) -> np.ndarray:
        """The (d, k) matrix U_k Lambda_k^(-gamma/2)."""
        return self.components_.T * self.explained_variance_ ** (-self.gamma / 2)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Whitened vectors (n, k), float32; rows unit-length when normalize=True."""
        if not hasattr(self, "components_"):
            raise RuntimeError("Whitening is not fitted; call fit() first")
        X = _as_matrix(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"expected {self.n_features_in_}-d vectors, got {X.shape[1]}-d")
        out = (X - self.beta * self.mean_) @ self.projection_
        if self.normalize:
            out = out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out.astype(np.float32)

    def fit_transform(self, X: np.ndarray, encoder_id: str | None = None) -> np.ndarray:
        return self.fit(X, encoder_id=encoder_id).transform(X)

    def get_params(self) -> dict:
        return {
            "beta": self.beta,
            "gamma": self.gamma,
            "n_components": self.n_components,
            "normalize": self.normalize,
        }

    def save(self, path: Path | str) -> None:
        """Write config.json and arrays.npz to the directory ``path``."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        config = {
            **format_header(FORMAT),
            "params": self.get_params(),
            "encoder_id": self.encoder_id_,
            "n_features_in": self.n_features_in_,
        }
        np.savez(
            path / "arrays.npz",
            mean=self.mean_,
            components=self.components_,
            explained_variance=self.explained_variance_,
        )
        (path / "config.json").write_text(json.dumps(config, indent=2))

    @classmethod
    def load(cls, path: Path | str, encoder_id: str | None = None) -> Whitening:
        """Read a saved transform; when ``encoder_id`` is given it must match the fitted one."""
        path = Path(path)
        config = check_format(path, FORMAT)
        if encoder_id is not None and config["encoder_id"] != encoder_id:
            raise ArtifactMismatch(
                f"whitening in {path} was fitted on {config['encoder_id']!r} vectors, "
                f"not {encoder_id!r}"
            )
        model = cls(**config["params"])
        with np.load(path / "arrays.npz") as arrays:
            model.mean_ = arrays["mean"]
            model.components_ = arrays["components"]
            model.explained_variance_ = arrays["explained_variance"]
        model.n_features_in_ = config["n_features_in"]
        model.encoder_id_ = config["encoder_id"]
        return model


def _as_matrix(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"expected a 2-d array of vectors, got shape {X.shape}")
    return X
