"""Multi-label arXiv category tagging: ZLPR (threshold 0) vs BCE (threshold 0.5) vs TF-IDF + LR.

    python bench/tagging.py [--train FILE --test FILE] [--embeddings]

Default: a temporal split of ../shared/data/arxiv/papers.jsonl.gz (train on papers first seen
up to 2026-03, test on 2026-04 and 2026-05), only rows with ``categories_complete``. arXiv's
category aliases (cs.NA = math.NA, math.IT = cs.IT, cs.SY = eess.SY, ...) are folded into one
label. Labels: categories with at least 50 training papers; test papers without any of them
are left out.
Prints one JSON object with ``zlpr``, ``bce`` and ``tfidf_lr`` (each ``micro_f1``,
``macro_f1``, ``example_f1``) and ``variants`` (every feature set and penalty tried).

ZLPR and BCE share features (TF-IDF word 1-2 grams) and the trainer (full-batch L-BFGS, same
L2 penalty); only the loss and the decision rule differ. ``--embeddings`` adds variants on
whitened all-MiniLM-L6-v2 vectors (alone and next to TF-IDF) for the papers whose vectors are
cached: encoding all 69k papers takes about an hour on these 2 cores.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402
from sklearn.multiclass import OneVsRestClassifier  # noqa: E402

from bench.arxiv_data import (  # noqa: E402
    EMBED_TRAIN_RECENT,
    canonical_categories,
    load_papers,
    temporal_split,
)
from ml.encoder import paper_text  # noqa: E402
from ml.zlpr import ZLPRClassifier, fit_linear, fit_linear_adam, label_indicator  # noqa: E402

MIN_TRAIN_PAPERS = 50
# TF-IDF features: minibatch Adam (L-BFGS needs hundreds of passes over 200k x 46 weights).
ADAM = {"alpha": 1e-6, "epochs": 6, "learning_rate": 0.01}
EMBED_TEST_SAMPLE = 4_000


def bce_loss_and_grad(scores: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample binary cross-entropy summed over labels, and its gradient in the scores."""
    losses = (np.logaddexp(0, scores) - targets * scores).sum(axis=1)
    return losses, 1 / (1 + np.exp(-scores)) - targets


class LinearBCE:
    """The BCE baseline: same linear layer and trainers as ZLPR, sigmoid(s) > 0.5."""

    def __init__(self, alpha: float, solver: str = "lbfgs", max_iter: int = 200, **adam) -> None:
        self.alpha, self.solver, self.max_iter, self.adam = alpha, solver, max_iter, adam

    def fit(self, X, Y: np.ndarray) -> LinearBCE:
        if self.solver == "adam":
            self.coef_, self.intercept_, _ = fit_linear_adam(
                X, Y, bce_loss_and_grad, self.alpha, self.adam["epochs"],
                learning_rate=self.adam["learning_rate"],
            )  # fmt: skip
        else:
            self.coef_, self.intercept_, _ = fit_linear(
                X, Y, bce_loss_and_grad, self.alpha, self.max_iter, 1e-7
            )
        return self

    def predict(self, X) -> np.ndarray:
        return (np.asarray(X @ self.coef_) + self.intercept_ > 0).astype(np.int8)


def scores(Y: np.ndarray, P: np.ndarray) -> dict[str, float]:
    return {
        "micro_f1": round(float(f1_score(Y, P, average="micro", zero_division=0)), 4),
        "macro_f1": round(float(f1_score(Y, P, average="macro", zero_division=0)), 4),
        "example_f1": round(float(f1_score(Y, P, average="samples", zero_division=0)), 4),
    }


def tfidf_features(train_texts: list[str], test_texts: list[str]):
    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=200_000, sublinear_tf=True,
                          stop_words="english", dtype=np.float32)  # fmt: skip
    return vec.fit_transform(train_texts), vec.transform(test_texts)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", type=Path)
    parser.add_argument("--test", type=Path)
    parser.add_argument("--embeddings", action="store_true")
    args = parser.parse_args(argv)
    if args.train and args.test:
        train = [
            {**p, "categories": canonical_categories(p["categories"])}
            for p in load_papers(args.train)
            if p.get("categories_complete", True)
        ]
        test = [{**p, "categories": canonical_categories(p["categories"])}
                for p in load_papers(args.test) if p.get("categories_complete", True)]  # fmt: skip
    else:
        train, test = temporal_split(load_papers())
    counts = Counter(c for p in train for c in set(p["categories"]))
    classes = sorted(c for c, n in counts.items() if n >= MIN_TRAIN_PAPERS)
    test = [p for p in test if set(p["categories"]) & set(classes)]
    Y_train = label_indicator([p["categories"] for p in train], classes)
    Y_test = label_indicator([p["categories"] for p in test], classes)
    train_texts = [paper_text(p["title"], p["abstract"]) for p in train]
    test_texts = [paper_text(p["title"], p["abstract"]) for p in test]
    result: dict = {"n_train": len(train), "n_test": len(test), "n_labels": len(classes)}

    X_train, X_test = tfidf_features(train_texts, test_texts)
    variants: dict = {}

    start = time.time()
    lr = OneVsRestClassifier(LogisticRegression(max_iter=1000), n_jobs=1).fit(X_train, Y_train)
    result["tfidf_lr"] = {**scores(Y_test, lr.predict(X_test)), "fit_s": round(time.time() - start)}
    start = time.time()
    lr = OneVsRestClassifier(LogisticRegression(max_iter=1000, class_weight="balanced"))
    lr.fit(X_train, Y_train)
    variants["tfidf_lr_balanced"] = {**scores(Y_test, lr.predict(X_test)),
                                     "fit_s": round(time.time() - start)}  # fmt: skip

    start = time.time()
    zlpr = ZLPRClassifier(solver="adam", **ADAM).fit(X_train, Y_train, classes)
    result["zlpr"] = {**scores(Y_test, zlpr.predict(X_test)), "features": "tfidf",
                      **ADAM, "fit_s": round(time.time() - start)}  # fmt: skip
    start = time.time()
    bce = LinearBCE(solver="adam", **ADAM).fit(X_train, Y_train)
    result["bce"] = {**scores(Y_test, bce.predict(X_test)), "features": "tfidf",
                     **ADAM, "fit_s": round(time.time() - start)}  # fmt: skip

    if args.embeddings:
        variants.update(embedding_variants(train, test, train_texts, test_texts, classes))
    result["variants"] = variants
    print(json.dumps(result))
    return result


def embedding_variants(train, test, train_texts, test_texts, classes) -> dict:
    """ZLPR and BCE on whitened vectors (+ TF-IDF), on the papers with cached vectors.

    Also trains the shipped tagger exactly as ml.artifacts.train_artifacts does.
    """
    from bench.embedding_cache import cached_embeddings
    from ml.artifacts import train_artifacts
    from ml.encoder import TextEncoder
    from ml.whitening import Whitening

    encoder = TextEncoder("auto")
    rng = np.random.default_rng(0)
    test_rows = np.sort(rng.choice(len(test), min(EMBED_TEST_SAMPLE, len(test)), replace=False))
    train_rows = np.arange(max(0, len(train) - EMBED_TRAIN_RECENT), len(train))
    sub_train = [train_texts[i] for i in train_rows]
    sub_test = [test_texts[i] for i in test_rows]
    V_train = cached_embeddings("arxiv-train-recent", sub_train, encoder)
    V_test = cached_embeddings("arxiv-test-sample", sub_test, encoder)
    Y_train = label_indicator([train[i]["categories"] for i in train_rows], classes)
    Y_test = label_indicator([test[i]["categories"] for i in test_rows], classes)
    out: dict = {
        "subset": {
            "n_train": len(train_rows),
            "n_test": len(test_rows),
            "labels_with_train_papers": int((Y_train.sum(0) > 0).sum()),
        }
    }

    # Full whitening without normalisation: unit-variance features, well conditioned.
    white = Whitening(1.0, 1.0, 256, normalize=False).fit(V_train)
    W_train, W_test = white.transform(V_train), white.transform(V_test)
    T_train, T_test = tfidf_features(sub_train, sub_test)
    scale = 1 / np.sqrt(W_train.shape[1])  # rows of norm ~1, like the TF-IDF rows
    C_train = sp.hstack([T_train, sp.csr_matrix(W_train * scale)]).tocsr()
    C_test = sp.hstack([T_test, sp.csr_matrix(W_test * scale)]).tocsr()
    for alpha in (1e-4, 1e-3):
        zlpr = ZLPRClassifier(alpha=alpha, max_iter=300).fit(W_train, Y_train, classes)
        out[f"subset_zlpr_whitened256_alpha{alpha}"] = scores(Y_test, zlpr.predict(W_test))
        bce = LinearBCE(alpha=alpha, max_iter=300).fit(W_train, Y_train)
        out[f"subset_bce_whitened256_alpha{alpha}"] = scores(Y_test, bce.predict(W_test))
    for name, (A, B) in {
        "tfidf": (T_train, T_test),
        "tfidf+whitened256": (C_train, C_test),
    }.items():
        zlpr = ZLPRClassifier(solver="adam", **ADAM).fit(A, Y_train, classes)
        out[f"subset_zlpr_{name}"] = scores(Y_test, zlpr.predict(B))
        bce = LinearBCE(solver="adam", **ADAM).fit(A, Y_train)
        out[f"subset_bce_{name}"] = scores(Y_test, bce.predict(B))

    labels = [train[i]["categories"] for i in train_rows]
    artifacts = train_artifacts(sub_train, labels, vectors=V_train, encoder=encoder,
                                min_label_count=MIN_TRAIN_PAPERS)  # fmt: skip
    predicted = artifacts.tagger.predict(artifacts.whiten(V_test))
    shipped = label_indicator(
        [[artifacts.tagger.classes_[j] for j in np.flatnonzero(row)] for row in predicted], classes
    )
    out["subset_shipped_tagger"] = {**scores(Y_test, shipped), **artifacts.trained["timings"]}
    return out


if __name__ == "__main__":
    main()
