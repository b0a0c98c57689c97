"""Multi-label arXiv category tagging: the shipped ZLPR tagger vs TF-IDF + LR, and variants.

    python bench/tagging.py [--train FILE --test FILE] [--no-embeddings | --subset-only]
                            [--encoder VARIANT]

Default: a temporal split of ../shared/data/arxiv/papers.jsonl.gz (train on papers first seen
up to 2026-03, test on 2026-04 and 2026-05), only rows with ``categories_complete``, arXiv's
category aliases folded as the app folds them (papers.taxonomy.canonical_categories). Scored
labels: categories with at least 50 training papers; test papers without any are left out.

Headline ``zlpr`` is the shipped tagger: ml.artifacts.train_artifacts (the code train_models
runs, with its whitening, label set, tagger settings and held-out choice of the logit
adjustment tau) fitted on the most recent EMBED_TRAIN_RECENT training papers, scored on a
sample of EMBED_TEST_SAMPLE test papers: embedding every paper takes hours on these shared
cores, so those vectors come from the cache (bench/embedding_cache.py, encoder ``--encoder``).
``tfidf_lr`` (TF-IDF word 1-2 grams + one-vs-rest logistic regression) is fitted on the whole
training part and scored on the whole test part and on the same sample (``sample``);
``tfidf_lr_subset`` is fitted on the same subset as the shipped tagger.
``variants``: ZLPR / BCE on TF-IDF (whole training part), and on the subset every tagger
configuration tried (logit adjustment, class weights, learnt threshold s_0, TF-IDF beside the
embeddings), each fitted on the subset's first 85%, with tau chosen on its last 15% (the
training part's own validation part) and then scored on the test sample.
``chosen_on_validation`` names the configuration with the best mean of micro- and macro-F1 on
that validation part; ``shipped_config`` the best on the whitened vectors alone (what the app's
tagger reads), which the headline is trained with and ml/artifacts.py TAGGER ships.
Prints one JSON object.
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

from bench.arxiv_data import EMBED_TRAIN_RECENT, load_papers, temporal_split  # noqa: E402
from ml.encoder import paper_text  # noqa: E402
from ml.zlpr import (  # noqa: E402
    TAUS,
    ZLPRClassifier,
    f1_scores,
    fit_linear,
    fit_linear_adam,
    label_indicator,
)
from papers.taxonomy import canonical_categories  # noqa: E402

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
    """micro, macro (over every scored label, as sklearn counts it) and example F1."""
    return {
        "micro_f1": round(float(f1_score(Y, P, average="micro", zero_division=0)), 4),
        "macro_f1": round(float(f1_score(Y, P, average="macro", zero_division=0)), 4),
        "example_f1": round(float(f1_score(Y, P, average="samples", zero_division=0)), 4),
    }


# Tagger configurations tried on the embeddings (ZLPRClassifier parameters; tau is chosen on
# the validation part for each). The first is the plain ZLPR the app shipped before.
CONFIGS = {
    "plain": {},
    "class_weight_0.5": {"class_weight_power": 0.5},
    "class_weight_1": {"class_weight_power": 1.0},
    "learnt_threshold": {"adaptive_threshold": True},
    "learnt_threshold+class_weight_0.5": {"adaptive_threshold": True, "class_weight_power": 0.5},
}


def tfidf_features(train_texts: list[str], test_texts: list[str]):
    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=200_000, sublinear_tf=True,
                          stop_words="english", dtype=np.float32)  # fmt: skip
    return vec.fit_transform(train_texts), vec.transform(test_texts)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", type=Path)
    parser.add_argument("--test", type=Path)
    parser.add_argument("--no-embeddings", action="store_true", help="TF-IDF models only")
    parser.add_argument("--encoder", default="openvino-bf16", help="variant of cached vectors")
    parser.add_argument(
        "--subset-only",
        action="store_true",
        help="skip the models fitted on the whole training part (an hour of CPU on TF-IDF)",
    )
    args = parser.parse_args(argv)
    if args.train and args.test:
        train, test = (
            [{**p, "categories": canonical_categories(p["categories"])}
             for p in load_papers(path) if p.get("categories_complete", True)]
            for path in (args.train, args.test)
        )  # fmt: skip
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
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(len(test), min(EMBED_TEST_SAMPLE, len(test)), replace=False))

    variants: dict = {}
    if not args.subset_only:
        result["tfidf_lr"] = whole_training_part(
            train_texts, test_texts, Y_train, Y_test, classes, sample, variants
        )
    print(json.dumps({**result, "variants": variants}), file=sys.stderr)  # progress
    if not args.no_embeddings:
        result.update(embedding_results(train, test, sample, train_texts, test_texts, classes,
                                        args.encoder, variants))  # fmt: skip
    result["variants"] = variants
    print(json.dumps(result))
    return result


def whole_training_part(train_texts, test_texts, Y_train, Y_test, classes, sample, variants):
    """TF-IDF + LR (returned), ZLPR and BCE on TF-IDF (into variants), on all training papers."""
    X_train, X_test = tfidf_features(train_texts, test_texts)
    start = time.time()
    lr = OneVsRestClassifier(LogisticRegression(max_iter=1000), n_jobs=1).fit(X_train, Y_train)
    P_lr = lr.predict(X_test)
    baseline = {**scores(Y_test, P_lr), "sample": scores(Y_test[sample], P_lr[sample]),
                "fit_s": round(time.time() - start)}  # fmt: skip
    start = time.time()
    zlpr = ZLPRClassifier(solver="adam", **ADAM).fit(X_train, Y_train, classes)
    variants["zlpr_tfidf"] = {**scores(Y_test, zlpr.predict(X_test)),
                              **ADAM, "fit_s": round(time.time() - start)}  # fmt: skip
    start = time.time()
    bce = LinearBCE(solver="adam", **ADAM).fit(X_train, Y_train)
    variants["bce_tfidf"] = {**scores(Y_test, bce.predict(X_test)),
                             **ADAM, "fit_s": round(time.time() - start)}  # fmt: skip
    return baseline


def embedding_results(train, test, sample, train_texts, test_texts, classes, variant, variants):
    """The shipped tagger and the configurations tried, on the papers with cached vectors."""
    from bench.embedding_cache import cached_embeddings
    from ml.artifacts import TAGGER, WHITENING, train_artifacts
    from ml.encoder import TextEncoder
    from ml.whitening import Whitening

    encoder = TextEncoder(variant)
    train_rows = np.arange(max(0, len(train) - EMBED_TRAIN_RECENT), len(train))
    sub_train = [train_texts[i] for i in train_rows]
    sub_test = [test_texts[i] for i in sample]
    V_train = cached_embeddings("arxiv-train-recent", sub_train, encoder)
    V_test = cached_embeddings("arxiv-test-sample", sub_test, encoder)
    labels = [train[i]["categories"] for i in train_rows]
    Y_train = label_indicator(labels, classes)
    Y_test = label_indicator([test[i]["categories"] for i in sample], classes)
    subset = {"n_train": len(train_rows), "n_test": len(sample), "encoder": encoder.encoder_id_,
              "labels_with_train_papers": int((Y_train.sum(0) > 0).sum())}  # fmt: skip
    out: dict = {"subset": subset}

    start = time.time()
    T_train, T_test = tfidf_features(sub_train, sub_test)
    lr = OneVsRestClassifier(LogisticRegression(max_iter=1000)).fit(T_train, Y_train)
    out["tfidf_lr_subset"] = {**scores(Y_test, lr.predict(T_test)),
                              "fit_s": round(time.time() - start)}  # fmt: skip

    # Every configuration: fit on the first 85% of the subset, tau on the last 15%.
    white = Whitening(**WHITENING).fit(V_train)
    W_train, W_test = white.transform(V_train), white.transform(V_test)
    cut = int(len(train_rows) * 0.85)
    features = {"whitened": (W_train, W_test, {**TAGGER})}
    scale = 1 / np.sqrt(2)  # TF-IDF rows and whitened rows both have norm 1
    features["tfidf+whitened"] = (
        sp.hstack([T_train * scale, sp.csr_matrix(W_train * scale)]).tocsr(),
        sp.hstack([T_test * scale, sp.csr_matrix(W_test * scale)]).tocsr(),
        {"solver": "adam", **ADAM},
    )
    chosen, best = None, -1.0
    for feature, (A, B, base) in features.items():
        for name, config in CONFIGS.items():
            if feature != "whitened" and name not in ("plain", "class_weight_0.5"):
                continue
            start = time.time()
            model = ZLPRClassifier(**base, **config).fit(A[:cut], Y_train[:cut], classes)
            on_val = {}
            for tau in TAUS:
                model.tau = tau
                on_val[tau] = f1_scores(Y_train[cut:], model.predict(A[cut:]))
            tau = max(TAUS, key=lambda t: on_val[t]["micro_f1"] + on_val[t]["macro_f1"])
            model.tau = 0.0
            test_tau0 = scores(Y_test, model.predict(B))
            model.tau = tau
            key = f"subset_zlpr_{feature}_{name}"
            variants[key] = {**scores(Y_test, model.predict(B)), "tau": tau,
                             "validation": on_val[tau], "validation_tau0": on_val[0.0],
                             "test_tau0": test_tau0,
                             "fit_s": round(time.time() - start)}  # fmt: skip
            if _validation_mean(variants[key]) > best:
                chosen, best = key, _validation_mean(variants[key])
    out["chosen_on_validation"] = chosen
    # The app's tagger runs on the whitened vectors: it ships the best configuration on those.
    shipped = max(
        CONFIGS, key=lambda name: _validation_mean(variants[f"subset_zlpr_whitened_{name}"])
    )
    out["shipped_config"] = shipped

    # The shipped tagger, trained by the app's own code on the subset.
    start = time.time()
    artifacts = train_artifacts(
        sub_train, labels, vectors=V_train, encoder=encoder, tagger=CONFIGS[shipped]
    )
    tagger = artifacts.tagger
    predicted = tagger.predict(artifacts.whiten(V_test))
    P = label_indicator(
        [[tagger.classes_[j] for j in np.flatnonzero(row)] for row in predicted], classes
    )
    proba = tagger.predict_proba(artifacts.whiten(V_test))
    out["zlpr"] = {**scores(Y_test, P), "params": tagger.get_params(),
                   "n_app_labels": len(tagger.classes_),
                   "validation": artifacts.trained["tagger_validation"],
                   "confidence_of_predicted": confidence_spread(proba[predicted > 0]),
                   "fit_s": round(time.time() - start)}  # fmt: skip

    return out


def _validation_mean(variant: dict) -> float:
    return variant["validation"]["micro_f1"] + variant["validation"]["macro_f1"]


def confidence_spread(confidences: np.ndarray) -> dict:
    """How the confidences of predicted labels spread: quartiles and the share shown as 100%."""
    if not len(confidences):
        return {}
    q = np.quantile(confidences, [0.25, 0.5, 0.75])
    return {"q25": round(float(q[0]), 3), "median": round(float(q[1]), 3),
            "q75": round(float(q[2]), 3),
            "share_at_least_99.5": round(float((confidences >= 0.995).mean()), 3)}  # fmt: skip


if __name__ == "__main__":
    main()
