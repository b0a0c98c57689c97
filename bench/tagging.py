"""Multi-label arXiv category tagging: the shipped tagger vs TF-IDF + LR, and every variant tried.

    python bench/tagging.py [--train FILE --test FILE] [--subset-only] [--train-months N]
                            [--test-sample N] [--encoder VARIANT] [--no-embeddings]

Default: a temporal split of ../shared/data/arxiv/papers.jsonl.gz (train on papers first seen
up to 2026-03, test on 2026-04 and 2026-05), only rows with ``categories_complete``, arXiv's
category aliases folded as the app folds them (papers.taxonomy.canonical_categories). Scored
labels: categories with at least 50 training papers; test papers without any are left out.
Macro-F1 is sklearn's, over every scored label.

Headline ``zlpr`` is the shipped tagger: ml.artifacts.train_artifacts (the code train_models
runs: whitening, tag features, label set, tagger settings, held-out choice of the logit
adjustment tau, of the label-shift weight g and of the confidence calibration) fitted on the
whole training part (train_models fits the 100k most recent papers, all of them at this size)
and scored on the whole test part (``--test-sample N``: N of its papers drawn at random, for
a quicker run; the default scores every tagger on the papers TF-IDF + LR is scored on, and the
labels with a handful of test papers, which decide macro-F1, on all they have);
``shifted``: the same model at the g > 0 with the best held-out score, at its own tau.
Diagnostics of the headline, never used to choose anything: ``tau_on_test``, its scores on
the test papers at each of TEST_TAUS and at the chosen tau (is there a tau where both goals
hold?), and ``per_label``, each scored label's test papers and F1 (where macro-F1 is lost).
Vectors come from the embedding cache (bench/embedding_cache.py, encoder ``--encoder``), one
entry per training month, so ``--train-months N`` (the N most recent months) reuses them.
Keywords, which this bench does not score, are fitted with one epoch to save minutes.
``tfidf_lr`` (TF-IDF word 1-2 grams + one-vs-rest logistic regression, threshold 0.5) is fitted
on the same training papers and scored on the whole test part and on the sample (``sample``).
``variants``: every tagger configuration tried (features: whitened vectors, TF-IDF, both, both
beside the authors' label history, and also beside the nearest training papers' labels; logit
adjustment, learnt threshold s_0, a stacked second stage, alone or blended with its first
stage; class weights lost in every earlier run and are tried no more), each fitted on the app's
label set (the headline's, as train_models chooses it, scored on the bench's labels) and the first
85% of the training papers (time order) with tau and the label-shift weight g chosen on the
last 15% as ml.zlpr.choose_adjustment chooses them for the app (the training part's own
validation part: ``validation``, ``validation_tau0``; ``prior_shift`` is g, ``shifted`` the
best pair with g > 0), then scored on the test papers. The author history is counted over
the whole training part, each paper's own labels left out, as train_artifacts counts it; a
validation paper's history so includes its co-authors' other validation papers, which test
papers do not see of each other. The label neighbours are likewise found among all training
papers (each paper's own row left out).
``chosen_on_validation`` names the variant with the best micro- + macro-F1 on that validation
part; ``shipped_variant`` the one ml/artifacts.py TAG_FEATURES and TAGGER ship.
``--subset-only``: the quick mode, everything on the EMBED_TRAIN_RECENT most recent training
papers. Prints one JSON object (progress on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from itertools import groupby
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402
from sklearn.multiclass import OneVsRestClassifier  # noqa: E402

from bench.arxiv_data import EMBED_TRAIN_RECENT, load_papers, temporal_split  # noqa: E402
from ml.encoder import paper_text  # noqa: E402
from ml.zlpr import ZLPRClassifier, choose_adjustment, f1_sum, label_indicator  # noqa: E402
from papers.names import author_keys  # noqa: E402
from papers.taxonomy import canonical_categories  # noqa: E402

MIN_TRAIN_PAPERS = 50
# 0: the whole test part (13,800 papers; its vectors are cached once). The 4,000-paper sample
# of earlier runs left 10 of the 43 scored labels with 7 test papers or fewer, where one paper
# found or missed moves macro-F1 by about 0.01.
TEST_SAMPLE = 0
# Taus at which the headline is also scored on the test months (a diagnostic only).
TEST_TAUS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4)
VALIDATION = 0.15


def scores(Y: np.ndarray, P: np.ndarray) -> dict[str, float]:
    """micro, macro (over every scored label, as sklearn counts it) and example F1."""
    return {
        "micro_f1": round(float(f1_score(Y, P, average="micro", zero_division=0)), 4),
        "macro_f1": round(float(f1_score(Y, P, average="macro", zero_division=0)), 4),
        "example_f1": round(float(f1_score(Y, P, average="samples", zero_division=0)), 4),
    }


# Tagger configurations tried (ZLPRClassifier parameters; tau is chosen on the validation part).
CONFIGS = {
    "plain": {},
    "class_weight_0.5": {"class_weight_power": 0.5},
    "learnt_threshold": {"adaptive_threshold": True},
    "learnt_threshold+class_weight_0.5": {"adaptive_threshold": True, "class_weight_power": 0.5},
    "learnt_threshold+stacked": {"adaptive_threshold": True, "stack_weight": 0.3},
    "learnt_threshold+stacked+blend": {
        "adaptive_threshold": True,
        "stack_weight": 0.3,
        "stack_blend": 0.5,
    },
}


def feature_kinds() -> dict[str, tuple[dict, dict]]:
    """Features tried: name -> (TagFeatures parameters, ZLPR training parameters)."""
    from ml.tagfeatures import TFIDF

    # Minibatch Adam for all (L-BFGS needs hundreds of passes over 50k x L weights).
    adam = {"solver": "adam", "alpha": 1e-6, "epochs": 6, "min_steps": 1000,
            "learning_rate": 0.01}  # fmt: skip
    return {
        "whitened": ({"tfidf": None}, adam),
        "tfidf+whitened": ({"tfidf": TFIDF, "embedding_weight": 0.5}, adam),
        "tfidf+whitened+history": (
            {"tfidf": TFIDF, "embedding_weight": 0.35, "history_weight": 0.3},
            adam,
        ),
        "tfidf+whitened+history+neighbours": (
            {
                "tfidf": TFIDF,
                "embedding_weight": 0.35,
                "history_weight": 0.3,
                "neighbour_weight": 1.0,
            },
            adam,
        ),
        "tfidf+whitened+history_0.5": (
            {"tfidf": TFIDF, "embedding_weight": 0.25, "history_weight": 0.5},
            adam,
        ),
        "tfidf": ({"tfidf": TFIDF, "embedding_weight": 0.0}, adam),
        # The tagger shipped before artifact format 3: full-batch L-BFGS on the whitened vectors
        # (alpha 4e-7 on unit rows equals 1e-4 on unit-variance dimensions).
        "whitened_lbfgs": ({"tfidf": None}, {"alpha": 4e-7, "max_iter": 300}),
    }


def variant_grid() -> list[tuple[str, str]]:
    """(features, config) pairs tried: 11 fits at 47k papers. Class weights lost in every run of
    this bench before artifact format 4 (CONFIGS keeps them), so they are tried no more."""
    return [("tfidf+whitened+history+neighbours", "learnt_threshold+stacked+blend"),
            ("tfidf+whitened+history+neighbours", "learnt_threshold+stacked"),
            ("tfidf+whitened+history+neighbours", "learnt_threshold"),
            ("tfidf+whitened+history", "plain"), ("tfidf+whitened+history", "learnt_threshold"),
            ("tfidf+whitened+history", "learnt_threshold+stacked"),
            ("tfidf+whitened+history_0.5", "plain"), ("tfidf+whitened", "plain"),
            ("whitened", "plain"), ("tfidf", "plain"),
            ("whitened_lbfgs", "learnt_threshold")]  # fmt: skip


def shipped_variant() -> str | None:
    """The variant name matching ml/artifacts.py's TAG_FEATURES and TAGGER, if any."""
    from ml.artifacts import TAG_FEATURES, TAGGER

    for feature, (params, training) in feature_kinds().items():
        if params.get("tfidf") != TAG_FEATURES.get("tfidf"):
            continue
        weights = ("embedding_weight", "history_weight", "neighbour_weight")
        if params.get("tfidf") and any(params.get(w, 0) != TAG_FEATURES.get(w, 0) for w in weights):
            continue
        for name, config in CONFIGS.items():
            if {**training, **config} == TAGGER:
                return f"{feature}/{name}"
    return None


def tfidf_features(train_texts: list[str], test_texts: list[str]):
    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=200_000, sublinear_tf=True,
                          stop_words="english", dtype=np.float32)  # fmt: skip
    return vec.fit_transform(train_texts), vec.transform(test_texts)


def tfidf_lr(train_texts, test_texts, Y_train, Y_test, sample, classes) -> dict:
    """The baseline: TF-IDF + one-vs-rest logistic regression, on the whole test part and sample
    (``calibration``: of its probabilities on the sample, as for the shipped tagger)."""
    start = time.time()
    X_train, X_test = tfidf_features(train_texts, test_texts)
    lr = OneVsRestClassifier(LogisticRegression(max_iter=1000), n_jobs=1).fit(X_train, Y_train)
    P = lr.predict(X_test)
    proba = lr.predict_proba(X_test[sample])
    return {**scores(Y_test, P), "sample": scores(Y_test[sample], P[sample]),
            "calibration": calibration(proba, P[sample], classes, classes, Y_test[sample]),
            "n_train": len(train_texts), "fit_s": round(time.time() - start)}  # fmt: skip


def monthly_embeddings(papers: list[dict], texts: list[str], rows: slice, encoder) -> np.ndarray:
    """Vectors of ``texts[rows]`` (papers in time order), cached one entry per first-seen month
    (only the months ``rows`` reaches are read or encoded)."""
    from bench.embedding_cache import cached_embeddings

    parts, start = [], 0
    first, stop = rows.start, rows.stop
    for month, group in groupby(papers, key=lambda p: p["crawl_date_first"][:7]):
        end = start + len(list(group))
        if end > first and start < stop:
            vectors = cached_embeddings(f"arxiv-train-{month}", texts[start:end], encoder)
            parts.append(vectors[max(first - start, 0) : min(stop, end) - start])
        start = end
    return np.concatenate(parts)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", type=Path)
    parser.add_argument("--test", type=Path)
    parser.add_argument("--no-embeddings", action="store_true", help="TF-IDF + LR only")
    parser.add_argument("--encoder", default="openvino-bf16", help="variant of cached vectors")
    parser.add_argument(
        "--subset-only",
        action="store_true",
        help=f"quick mode: the {EMBED_TRAIN_RECENT} most recent training papers",
    )
    parser.add_argument(
        "--train-months",
        type=int,
        default=0,
        help="train on the N most recent training months only (0: all)",
    )
    parser.add_argument(
        "--test-sample",
        type=int,
        default=TEST_SAMPLE,
        help="test papers the embedding taggers are scored on (0: all)",
    )
    args = parser.parse_args(argv)  # fmt: skip
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
    n_train_part = len(train)
    if args.train_months:
        months = sorted({p["crawl_date_first"][:7] for p in train})[-args.train_months :]
        train = [p for p in train if p["crawl_date_first"][:7] >= months[0]]
    if args.subset_only:
        train_rows = slice(max(0, len(train) - EMBED_TRAIN_RECENT), len(train))
    else:
        train_rows = slice(0, len(train))
    train_texts = [paper_text(p["title"], p["abstract"]) for p in train]
    test_texts = [paper_text(p["title"], p["abstract"]) for p in test]
    Y_test = label_indicator([p["categories"] for p in test], classes)
    rng = np.random.default_rng(0)
    n_sample = min(args.test_sample or len(test), len(test))
    sample = np.sort(rng.choice(len(test), n_sample, replace=False))
    Y = label_indicator([p["categories"] for p in train[train_rows]], classes)
    result: dict = {
        "n_train": Y.shape[0], "n_train_part": n_train_part, "n_test": len(test),
        "n_test_sample": n_sample, "n_labels": len(classes),
        "train_months": [train[train_rows][0]["crawl_date_first"][:7],
                         train[train_rows][-1]["crawl_date_first"][:7]],
        "mode": "subset" if args.subset_only else "whole training part",
    }  # fmt: skip
    result["tfidf_lr"] = tfidf_lr(train_texts[train_rows], test_texts, Y, Y_test, sample, classes)
    print(json.dumps(result), file=sys.stderr, flush=True)  # progress
    if not args.no_embeddings:
        result.update(embedding_results(args, train, train_rows, train_texts, test, test_texts,
                                        sample, classes, Y_test[sample]))  # fmt: skip
    print(json.dumps(result))
    return result


def embedding_results(args, train, rows, train_texts, test, test_texts, sample, classes,
                      Y_test) -> dict:  # fmt: skip
    """The shipped tagger, trained by the app's code, and every variant tried."""
    from bench.embedding_cache import cached_embeddings
    from ml.artifacts import WHITENING, train_artifacts
    from ml.encoder import TextEncoder
    from ml.tagfeatures import TagFeatures
    from ml.whitening import Whitening

    encoder = TextEncoder(args.encoder)
    V_train = monthly_embeddings(train, train_texts, rows, encoder)
    sub_test = [test_texts[i] for i in sample]
    V_test = cached_embeddings(f"arxiv-test-{len(sample)}", sub_test, encoder)
    texts = train_texts[rows]
    authors = [author_keys(p["authors"]) for p in train[rows]]
    sub_authors = [author_keys(test[i]["authors"]) for i in sample]
    out: dict = {"encoder": encoder.encoder_id_}

    # The shipped tagger, trained by the app's own code.
    start = time.time()
    labels = [p["categories"] for p in train[rows]]
    artifacts = train_artifacts(texts, labels, vectors=V_train, encoder=encoder,
                                keywords={"epochs": 1}, authors=authors)  # fmt: skip
    fit_s = time.time() - start
    tagger = artifacts.tagger
    inputs = artifacts.tag_inputs(artifacts.whiten(V_test), sub_test, sub_authors)

    def scored_labels(predicted: np.ndarray) -> np.ndarray:
        names = [[tagger.classes_[j] for j in np.flatnonzero(row)] for row in predicted]
        return label_indicator(names, classes)

    predicted = tagger.predict(inputs)
    P = scored_labels(predicted)
    proba = tagger.predict_proba(inputs)
    # The same model at the label-shift weight g > 0 with the best held-out sum, at its tau.
    validation = artifacts.trained["tagger_validation"]
    g, best = max(((float(g), v) for g, v in validation["by_prior_shift"].items() if float(g)),
                  key=lambda gv: f1_sum(gv[1]))  # fmt: skip
    chosen = tagger.tau, tagger.prior_shift
    tagger.tau, tagger.prior_shift = best["tau"], g
    shifted = {**scores(Y_test, scored_labels(tagger.predict(inputs))), "tau": best["tau"],
               "prior_shift": g, "validation": best}  # fmt: skip
    # Diagnostics, never used to choose: the same model at other taus on the test months (is
    # there a tau where both goals hold?), and each scored label's F1 at the chosen one.
    tau_on_test = {}
    for tau in sorted({*TEST_TAUS, chosen[0]}):  # the chosen tau too, as a check
        tagger.tau, tagger.prior_shift = tau, chosen[1]
        tau_on_test[str(tau)] = scores(Y_test, scored_labels(tagger.predict(inputs)))
    tagger.tau, tagger.prior_shift = chosen
    out["zlpr"] = {**scores(Y_test, P), "tau_on_test": tau_on_test,
                   "per_label": per_label(Y_test, P, classes),
                   "tag_features": artifacts.trained["tag_features"],
                   "params": tagger.get_params(), "n_app_labels": len(tagger.classes_),
                   "validation": validation, "shifted": shifted,
                   "confidence_of_predicted": confidence_spread(proba[predicted > 0]),
                   "calibration": calibration(proba, predicted, tagger.classes_, classes, Y_test),
                   "timings": artifacts.trained["timings"], "fit_s": round(fit_s)}  # fmt: skip
    print(json.dumps({"zlpr": out["zlpr"]}), file=sys.stderr, flush=True)

    # Every variant: fit on the first 85% of the training papers, tau on the last 15%, over the
    # app's label set as train_models fits it (the headline's), scored on the bench's labels.
    Y_app = label_indicator(labels, tagger.classes_)
    white = Whitening(**WHITENING).fit(V_train)
    W_train, W_test = white.transform(V_train), white.transform(V_test)
    cut = len(texts) - int(len(texts) * VALIDATION)
    kinds = feature_kinds()
    built: dict = {}
    variants: dict = {}
    for feature, name in variant_grid():
        params, training = kinds[feature]
        if feature not in built:
            features = TagFeatures(**params).fit(texts, authors, Y_app, W_train)
            built = {feature: (features.transform(W_train, texts, authors, own_labels=Y_app),
                               features.transform(W_test, sub_test, sub_authors))}  # fmt: skip
        A, B = built[feature]
        start = time.time()
        model = ZLPRClassifier(**training, **CONFIGS[name])
        model.fit(A[:cut], Y_app[:cut], tagger.classes_)
        fit_s = time.time() - start
        on_val = choose_adjustment(model, A[cut:], Y_app[cut:])  # (tau, g) as the app chooses
        test = scores(Y_test, scored_labels(model.predict(B)))
        chosen = model.tau, model.prior_shift
        # The best pair with a label shift g > 0, and no adjustment at all.
        model.tau, model.prior_shift = max(
            (k for k in on_val if k[1]), key=lambda k: f1_sum(on_val[k])
        )
        shifted = {
            **scores(Y_test, scored_labels(model.predict(B))),
            "tau": model.tau,
            "prior_shift": model.prior_shift,
            "validation": on_val[model.tau, model.prior_shift],
        }
        model.tau, model.prior_shift = 0.0, 0.0
        key = f"{feature}/{name}"
        variants[key] = {**test, "tau": chosen[0], "prior_shift": chosen[1],
                         "validation": on_val[chosen], "shifted": shifted,
                         "validation_tau0": on_val[0.0, 0.0],
                         "test_tau0": scores(Y_test, scored_labels(model.predict(B))),
                         "fit_s": round(fit_s)}  # fmt: skip
        print(json.dumps({key: variants[key]}), file=sys.stderr, flush=True)
    out["variants"] = variants
    out["n_validation"] = len(texts) - cut
    out["chosen_on_validation"] = max(variants, key=lambda k: _validation_sum(variants[k]))
    out["shipped_variant"] = shipped_variant()
    return out


def per_label(Y: np.ndarray, P: np.ndarray, classes: list[str]) -> dict[str, dict]:
    """Each scored label's test papers and F1, rarest first: where macro-F1 is lost."""
    f1 = f1_score(Y, P, average=None, zero_division=0)
    n = Y.sum(axis=0)
    return {classes[j]: {"n": int(n[j]), "f1": round(float(f1[j]), 3)}
            for j in np.argsort(n, kind="stable")}  # fmt: skip


def _validation_sum(variant: dict) -> float:
    return f1_sum(variant["validation"])


def confidence_spread(confidences: np.ndarray) -> dict:
    """How the confidences of predicted labels spread: quartiles and the share shown as 100%."""
    if not len(confidences):
        return {}
    q = np.quantile(confidences, [0.25, 0.5, 0.75])
    return {"q25": round(float(q[0]), 3), "median": round(float(q[1]), 3),
            "q75": round(float(q[2]), 3),
            "share_at_least_99.5": round(float((confidences >= 0.995).mean()), 3)}  # fmt: skip


def calibration(proba, predicted, app_classes, classes, Y_test) -> dict:
    """Of the predicted (paper, label) pairs on scored labels, by confidence band: how many and
    the share that were right (calibrated confidences: the share is about the band's mean
    confidence); ``ece``: the mean gap between the two over ten equal bins, weighted by size."""
    index = {c: i for i, c in enumerate(classes)}
    conf, right = [], []
    for j, label in enumerate(app_classes):
        if label not in index:
            continue
        hit = predicted[:, j] > 0
        conf.append(proba[hit, j])
        right.append(Y_test[hit, index[label]])
    conf, right = np.concatenate(conf), np.concatenate(right)
    bands = {}
    for low, high in ((0.0, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 0.99), (0.99, 1.01)):
        in_band = (conf >= low) & (conf < high)
        if in_band.any():
            bands[f"{low}-{min(high, 1.0)}"] = {
                "n": int(in_band.sum()),
                "mean_confidence": round(float(conf[in_band].mean()), 3),
                "share_right": round(float(right[in_band].mean()), 3),
            }
    bins = np.minimum((conf * 10).astype(int), 9)
    gaps = [abs(conf[bins == b].mean() - right[bins == b].mean()) * (bins == b).sum()
            for b in range(10) if (bins == b).any()]  # fmt: skip
    bands["ece"] = round(float(sum(gaps) / max(len(conf), 1)), 4)
    return bands


if __name__ == "__main__":
    main()
