"""ZLPR multi-label classifier (METHODS.md section 3, kexue.fm/archives/7359, arXiv 2208.02955).

For one sample with raw scores s, positives P and negatives N:

    L = log(1 + sum_{i in N} exp(s_i)) + log(1 + sum_{j in P} exp(-s_j))

computed stably as logsumexp([0, s_N]) + logsumexp([0, -s_P]). Soft targets t in [0, 1] give
L = log(1 + sum_i t_i e^{-s_i}) + log(1 + sum_i (1 - t_i) e^{s_i}), whose optimum is
t = sigmoid(2 s): that is the confidence to show. A label is predicted when s > 0, with no
per-class threshold.

Rare labels are the weak spot (a linear model learns the common ones first), so three global
remedies are built in, each one number for all labels:

- logit adjustment (Menon et al. 2020, kexue.fm/archives/7615): the score used is
  s - tau * log prior, prior being the label's share of the training samples; tau > 0 lifts
  rare labels more than common ones. Applied after training, so tau can be chosen on held-out
  data without refitting.
- class weights: each label's missed-positive term is weighted (median prior / prior)^power.
- a learnt threshold (``adaptive_threshold``): an extra output s_0(x) replaces the fixed 0,
  L = log(e^{s_0} + sum_N e^{s_i}) + log(e^{-s_0} + sum_P e^{-s_j}), and the score used is
  s - s_0 (still compared with 0).

Labels come together (a cs.LG paper with these words is also stat.ML), which one linear layer
scores independently. With ``stack_weight`` w > 0 a second stage learns it: a first ZLPR stage
(the same settings) scores every training paper out of fold (``stack_folds`` interleaved
folds, so no paper is scored by a model that saw it), and the model is trained on the features
beside sqrt(w) * tanh(s / 2) of all first-stage scores s; at prediction the first stage, fitted
on every row, gives those scores. It costs five fits instead of one; below MIN_STACK_ROWS
training rows (the shipped sample's first training among them) the model stays one stage, where
the gain was not measured and the extra minutes would fall on a first run.
The two stages err differently (the second learnt from out-of-fold first-stage scores, noisier
than those of the first stage refit on every row), and on held-out papers their mean scores
better than either: with ``stack_blend`` b the score used is (1 - b) * s_second + b * s_first,
both after their learnt thresholds (the mean at b = 0.5).

``confidence_scale`` c and ``confidence_offset`` b turn the adjusted score into the confidence
shown, sigmoid(c s + b): c = 2, b = 0 is ZLPR's own reading. fit_confidence() fits both on
held-out data (Platt scaling over the labels the model predicts there), so that a shown
confidence is the share of such predictions that are right. The logit adjustment predicts rare
labels on less evidence than even odds, so b comes out negative and a label just over the
threshold reads about 30%, not 50%; the prediction itself stays s > 0.

Label shift (Saerens et al. 2002): arXiv's category shares drift month to month (cs.IT was 1.3%
of the 2025-26 training papers, 4.7% of the last three months'), and a model fit on a year of
papers predicts with the year's shares. Rows given in time order, fit() also counts each label's
log-odds over the most recent ``recent_share`` of the rows; with ``prior_shift`` g > 0 the score
used is s + g * (recent log-odds - log-odds of all rows) - tau * log prior: the Bayes correction
of a classifier's prior to the recent one at g = 1. Like tau it is applied after training, so
fit_with_validation chooses it on the held-out part (g = 0 unless it gains MIN_SHIFT_GAIN
there).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ml.versioning import check_format, format_header, read_config

FORMAT = "zlpr-linear/4"
# /3: no stack blend (read as 0, the second stage alone); /2: nor a label shift (read as none)
_READS = (FORMAT, "zlpr-linear/3", "zlpr-linear/2")


def zlpr_loss_and_grad(
    scores: np.ndarray, targets: np.ndarray, pos_weight: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample ZLPR loss (n,) and its gradient d loss / d scores (n, L); targets may be soft.

    ``pos_weight`` (L,) optionally multiplies each label's e^{-s} term in the positive part
    (class weighting: a rare label's missed positives cost more). Stable: each logsumexp
    subtracts its row maximum (which includes the 0 of the "1 +").
    """
    s = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    t = np.atleast_2d(np.asarray(targets, dtype=np.float64))
    pos_loss, pos_grad = _log1p_sum_exp(-s, t if pos_weight is None else t * pos_weight)
    neg_loss, neg_grad = _log1p_sum_exp(s, 1.0 - t)
    return pos_loss + neg_loss, neg_grad - pos_grad


def zlpr_loss(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per-sample ZLPR loss log(1 + sum t e^-s) + log(1 + sum (1-t) e^s), shape (n,)."""
    return zlpr_loss_and_grad(scores, targets)[0]


def _log1p_sum_exp(a: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log(1 + sum_i w_i e^{a_i}) per row and its gradient in a (w_i = 0 masks entry i)."""
    masked = np.where(w > 0, a, -np.inf)
    top = np.maximum(masked.max(axis=1, keepdims=True), 0.0)
    terms = w * np.exp(np.where(w > 0, a - top, -np.inf))
    total = np.exp(-top) + terms.sum(axis=1, keepdims=True)
    return (top + np.log(total))[:, 0], terms / total


def _with_threshold_column(loss_and_grad, scores: np.ndarray, targets: np.ndarray):
    """ZLPR with a learnt threshold: the last column of ``scores`` is s_0, targets' is unused."""
    s0 = scores[:, -1:]
    losses, grad = loss_and_grad(scores[:, :-1] - s0, targets[:, :-1])
    return losses, np.hstack([grad, -grad.sum(axis=1, keepdims=True)])


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
    solver: ``lbfgs`` (full batch; dense features of a few hundred dimensions) or ``adam``
        (minibatches with lazy sparse updates; large sparse features such as TF-IDF).
    max_iter, tol: L-BFGS iterations and relative loss change to stop at.
    epochs, learning_rate, batch_size, random_state: Adam settings.
    min_steps: Adam runs more epochs than ``epochs`` when needed to take at least this many
        minibatch steps (a few thousand samples make only a few steps per epoch).
    tau: logit adjustment, the score used is s - tau * log prior (may be changed after fit).
    prior_shift, recent_share: the label-shift correction (module docstring): its weight g
        (may be changed after fit) and the most recent share of the rows it counts.
    class_weight_power: weight of each label's positives, (median prior / prior)^power.
    adaptive_threshold: learn a per-sample threshold score s_0(x) instead of the fixed 0.
    confidence_scale, confidence_offset: confidence = sigmoid(scale * adjusted score + offset).
    stack_weight, stack_folds: weight of the first stage's scores in a stacked second stage,
        and the folds that score the training rows (0: one stage).
    stack_blend: share of the first stage's score in a stacked model's score (0: the second
        stage's alone; may be changed after fit).
    """

    def __init__(
        self,
        alpha: float = 1e-4,
        solver: str = "lbfgs",
        max_iter: int = 200,
        tol: float = 1e-7,
        epochs: int = 5,
        learning_rate: float = 0.01,
        batch_size: int = 256,
        random_state: int = 0,
        min_steps: int = 0,
        tau: float = 0.0,
        class_weight_power: float = 0.0,
        adaptive_threshold: bool = False,
        confidence_scale: float = 2.0,
        confidence_offset: float = 0.0,
        stack_weight: float = 0.0,
        stack_folds: int = 4,
        stack_blend: float = 0.0,
        prior_shift: float = 0.0,
        recent_share: float = 0.15,
    ) -> None:
        self.prior_shift = prior_shift
        self.recent_share = recent_share
        self.stack_weight = stack_weight
        self.stack_folds = stack_folds
        self.stack_blend = stack_blend
        self.tau = tau
        self.class_weight_power = class_weight_power
        self.adaptive_threshold = adaptive_threshold
        self.confidence_scale = confidence_scale
        self.confidence_offset = confidence_offset
        self.alpha = alpha
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.random_state = random_state
        self.min_steps = min_steps

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
        if self.stack_weight > 0 and self.stack_folds < 2:
            raise ValueError(f"stacking needs at least 2 folds, got {self.stack_folds}")
        if not 0.0 <= self.stack_blend <= 1.0:
            raise ValueError(f"stack_blend is a share from 0 to 1, got {self.stack_blend}")
        n_features = X.shape[1]
        self.first_ = None
        if self.stack_weight > 0 and X.shape[0] >= MIN_STACK_ROWS:
            X, self.first_ = self._fit_first_stage(X, targets, classes_)
        n_pos = targets.sum(axis=0).astype(np.float64)
        prior = (n_pos + 1.0) / (targets.shape[0] + 2.0)
        loss = zlpr_loss_and_grad
        if self.class_weight_power:
            weight = (np.median(prior) / prior) ** self.class_weight_power
            loss = partial(zlpr_loss_and_grad, pos_weight=weight)
        if self.adaptive_threshold:
            loss = partial(_with_threshold_column, loss)
            targets = np.hstack([targets, np.zeros((targets.shape[0], 1), np.float32)])
        if self.solver == "lbfgs":
            weight, bias, info = fit_linear(X, targets, loss, self.alpha, self.max_iter, self.tol)
        elif self.solver == "adam":
            batches = -(-X.shape[0] // self.batch_size)
            epochs = max(self.epochs, -(-self.min_steps // batches))
            weight, bias, info = fit_linear_adam(
                X, targets, loss, self.alpha, epochs, self.batch_size,
                self.learning_rate, self.random_state,
            )  # fmt: skip
        else:
            raise ValueError(f"solver must be 'lbfgs' or 'adam', got {self.solver!r}")
        self.log_prior_ = np.log(prior).astype(np.float32)
        self.label_shift_ = self._label_shift(targets[:, : len(classes_)])
        self.initial_loss_, self.loss_, self.n_iter_ = info
        self.coef_ = weight.T.astype(np.float32).copy()  # (L, d)
        self.intercept_ = bias.astype(np.float32)
        self.classes_ = classes_
        self.n_features_in_ = n_features
        return self

    def _label_shift(self, targets: np.ndarray) -> np.ndarray:
        """Recent log-odds minus all rows' log-odds per label (zeros below MIN_RECENT_ROWS)."""
        n_recent = int(targets.shape[0] * self.recent_share)
        if n_recent < MIN_RECENT_ROWS:
            return np.zeros(targets.shape[1], np.float32)

        def log_odds(rows: np.ndarray) -> np.ndarray:
            share = (rows.sum(axis=0, dtype=np.float64) + 1.0) / (rows.shape[0] + 2.0)
            return np.log(share / (1.0 - share))

        return (log_odds(targets[-n_recent:]) - log_odds(targets)).astype(np.float32)

    def _first_stage(self) -> ZLPRClassifier:
        params = {**self.get_params(), "tau": 0.0, "prior_shift": 0.0, "stack_weight": 0.0,
                  "stack_blend": 0.0}  # fmt: skip
        return ZLPRClassifier(**params)

    def _fit_first_stage(self, X, targets: np.ndarray, classes: list[str]):
        """The rows beside their out-of-fold first-stage scores, and the first stage fitted on
        every row (which scores the rows to predict)."""
        X = X.tocsr() if sp.issparse(X) else np.asarray(X)
        scores = np.zeros(targets.shape, np.float32)
        fold = np.arange(X.shape[0]) % self.stack_folds
        for k in range(self.stack_folds):
            held = fold == k
            part = self._first_stage().fit(X[~held], targets[~held], classes)
            scores[held] = part.raw_scores(X[held])
        first = self._first_stage().fit(X, targets, classes)
        return self._beside_scores(X, scores), first

    def _beside_scores(self, X, scores: np.ndarray):
        extra = np.tanh(scores / 2).astype(np.float32) * np.float32(np.sqrt(self.stack_weight))
        if sp.issparse(X):
            return sp.hstack([X, sp.csr_matrix(extra)], format="csr", dtype=np.float32)
        return np.hstack([np.asarray(X, dtype=np.float32), extra])

    def raw_scores(self, X: np.ndarray | sp.spmatrix) -> np.ndarray:
        """Scores s (minus the learnt threshold s_0 if any; a stacked model's blended with its
        first stage's by ``stack_blend``) before logit adjustment, (n, L)."""
        if not hasattr(self, "coef_"):
            raise RuntimeError("ZLPRClassifier is not fitted; call fit() first")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"expected {self.n_features_in_} features, got {X.shape[1]}")
        first = None
        if self.first_ is not None:
            first = self.first_.raw_scores(X)
            X = self._beside_scores(X, first)
        scores = np.asarray(X @ self.coef_.T, dtype=np.float32) + self.intercept_
        if self.adaptive_threshold:
            scores = scores[:, :-1] - scores[:, -1:]
        if first is not None and self.stack_blend:
            scores = (1.0 - self.stack_blend) * scores + self.stack_blend * first
        return scores

    def decision_function(self, X: np.ndarray | sp.spmatrix) -> np.ndarray:
        """Adjusted scores s + g * label shift - tau * log prior, shape (n, L); a label is
        predicted where > 0."""
        adjustment = self.prior_shift * self.label_shift_ - self.tau * self.log_prior_
        return self.raw_scores(X) + adjustment

    def predict(self, X: np.ndarray | sp.spmatrix) -> np.ndarray:
        """(n, L) 0/1 matrix: label predicted where its adjusted score is above 0."""
        return (self.decision_function(X) > 0).astype(np.int8)

    def predict_proba(self, X: np.ndarray | sp.spmatrix) -> np.ndarray:
        """Confidence sigmoid(confidence_scale * adjusted score + confidence_offset) per label."""
        return self._confidence(self.decision_function(X))

    def _confidence(self, scores: np.ndarray) -> np.ndarray:
        scores = scores.astype(np.float64)
        return 1.0 / (1.0 + np.exp(-(self.confidence_scale * scores + self.confidence_offset)))

    def fit_confidence(self, X: np.ndarray | sp.spmatrix, Y: np.ndarray) -> tuple[float, float]:
        """Set confidence_scale c and confidence_offset b to minimise the log loss of
        sigmoid(c s + b) over the (sample, label) pairs of (X, Y) the model predicts (all pairs
        when it predicts fewer than MIN_CALIBRATION_PAIRS): the pairs whose confidence is shown.
        Bounded, so that a held-out part where every prediction is right cannot send b to
        infinity. Returns (c, b)."""
        from scipy.optimize import minimize

        scores = self.decision_function(X).astype(np.float64)
        sign = 2.0 * np.asarray(Y, dtype=np.float64) - 1.0
        predicted = scores > 0
        if predicted.sum() >= MIN_CALIBRATION_PAIRS:
            scores, sign = scores[predicted], sign[predicted]
        scores, sign = scores.ravel(), sign.ravel()

        def log_loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            margin = sign * (theta[0] * scores + theta[1])
            # d/dm log(1 + e^-m) = -sigmoid(-m)
            slope = -sign / (1.0 + np.exp(margin))
            grad = np.array([(slope * scores).mean(), slope.mean()])
            return float(np.logaddexp(0.0, -margin).mean()), grad

        start = np.array([self.confidence_scale, self.confidence_offset])
        bounds = [(0.05, 10.0), (-5.0, 5.0)]
        theta = minimize(log_loss, start, jac=True, method="L-BFGS-B", bounds=bounds).x
        self.confidence_scale, self.confidence_offset = float(theta[0]), float(theta[1])
        return self.confidence_scale, self.confidence_offset

    def predict_labels(self, X: np.ndarray | sp.spmatrix) -> list[list[tuple[str, float]]]:
        """For each sample, its predicted (label, confidence) pairs, most confident first."""
        scores = self.decision_function(X)
        proba = self._confidence(scores)
        out = []
        for row, confidences in zip(scores, proba, strict=True):
            picked = np.flatnonzero(row > 0)
            picked = picked[np.argsort(-row[picked], kind="stable")]
            out.append([(self.classes_[i], float(confidences[i])) for i in picked])
        return out

    def get_params(self) -> dict:
        return {
            "alpha": self.alpha,
            "solver": self.solver,
            "max_iter": self.max_iter,
            "tol": self.tol,
            "epochs": self.epochs,
            "learning_rate": self.learning_rate,
            "batch_size": self.batch_size,
            "random_state": self.random_state,
            "min_steps": self.min_steps,
            "tau": self.tau,
            "class_weight_power": self.class_weight_power,
            "adaptive_threshold": self.adaptive_threshold,
            "confidence_scale": self.confidence_scale,
            "confidence_offset": self.confidence_offset,
            "stack_weight": self.stack_weight,
            "stack_folds": self.stack_folds,
            "stack_blend": self.stack_blend,
            "prior_shift": self.prior_shift,
            "recent_share": self.recent_share,
        }

    def save(self, path: Path | str) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        np.savez(
            path / "arrays.npz",
            coef=self.coef_,
            intercept=self.intercept_,
            log_prior=self.log_prior_,
            label_shift=self.label_shift_,
        )
        config = {
            **format_header(FORMAT),
            "params": self.get_params(),
            "classes": self.classes_,
            "n_features_in": self.n_features_in_,
        }
        if self.first_ is not None:
            self.first_.save(path / "first_stage")
        (path / "config.json").write_text(json.dumps(config, indent=2))

    @classmethod
    def load(cls, path: Path | str) -> ZLPRClassifier:
        path = Path(path)
        config = read_config(path)
        if config.get("format") not in _READS:
            check_format(path, FORMAT)  # raises ArtifactMismatch naming both formats
        model = cls(**config["params"])
        with np.load(path / "arrays.npz") as arrays:
            model.coef_ = arrays["coef"]
            model.intercept_ = arrays["intercept"]
            model.log_prior_ = arrays["log_prior"]
            shift = arrays["label_shift"] if "label_shift" in arrays else None
        model.label_shift_ = np.zeros_like(model.log_prior_) if shift is None else shift
        model.classes_ = list(config["classes"])
        model.n_features_in_ = config["n_features_in"]
        first = path / "first_stage"
        model.first_ = cls.load(first) if (first / "config.json").is_file() else None
        if model.first_ is None and model.coef_.shape[1] != model.n_features_in_:
            raise ValueError(f"{path} is a stacked tagger without its first stage")
        return model


# Logit adjustments tried on the held-out part; 0 is plain ZLPR. Steps of 0.05 up to 0.8:
# micro- and macro-F1 move by a point or more between 0.3 and 0.4.
TAUS = (*(round(0.05 * i, 2) for i in range(17)), 1.0, 1.25, 1.5)
# Label-shift weights g tried on the held-out part (0: the prior of all training rows).
PRIOR_SHIFTS = (0.0, 0.5, 1.0)
MIN_VALIDATION = 50
MIN_CALIBRATION_PAIRS = 20
MIN_STACK_ROWS = 10_000
# The label shift needs this many recent rows (fewer: a label's share there is mostly chance).
MIN_RECENT_ROWS = 500
# The label shift is applied only where it gains this much micro- + macro-F1 on the held-out
# share. In bench/tagging.py's variants (55k training papers), where it gained 0.001-0.003
# there (the shipped tagger among them) it lost 0.004-0.007 on the test months (micro up,
# macro down more); where it gained 0.007 (whitened L-BFGS) it won 0.016 there.
MIN_SHIFT_GAIN = 0.005
# Tau is chosen on micro-F1 plus macro-F1 over the labels with at least this many held-out
# papers: a label's F1 on fewer is mostly chance (one paper moves it by 0.1 or more), and the
# app's rarest labels (from MIN_LABEL_COUNT training papers) have one or two there.
MIN_HELD_OUT_POSITIVES = 10


def f1_scores(Y: np.ndarray, P: np.ndarray, min_positives: int = 1) -> dict[str, float]:
    """micro-F1, and macro-F1 over the labels that occur in Y at least ``min_positives`` times
    (threshold already applied)."""
    Y, P = np.asarray(Y, bool), np.asarray(P, bool)
    tp, fp, fn = (Y & P).sum(0), (~Y & P).sum(0), (Y & ~P).sum(0)
    micro = 2 * tp.sum() / max(2 * tp.sum() + fp.sum() + fn.sum(), 1)
    present = Y.sum(axis=0) >= max(min_positives, 1)
    per_label = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
    macro = per_label[present].mean() if present.any() else 0.0
    return {"micro_f1": round(float(micro), 4), "macro_f1": round(float(macro), 4)}


def choose_adjustment(
    model: ZLPRClassifier,
    X: np.ndarray | sp.spmatrix,
    Y: np.ndarray,
    taus: Sequence[float] = TAUS,
    prior_shifts: Sequence[float] = PRIOR_SHIFTS,
) -> dict[tuple[float, float], dict[str, float]]:
    """Set ``model``'s tau and prior_shift g to the pair with the best micro- + macro-F1 on the
    held-out rows (X, Y) (macro over the labels with MIN_HELD_OUT_POSITIVES of them or more),
    g > 0 only where it beats g = 0 by MIN_SHIFT_GAIN; returns every pair's scores."""
    raw = model.raw_scores(X)
    scored = {}
    for g in prior_shifts:
        for tau in taus:
            adjusted = raw + g * model.label_shift_ - tau * model.log_prior_
            scored[tau, g] = f1_scores(Y, adjusted > 0, MIN_HELD_OUT_POSITIVES)
    best = max(scored, key=lambda k: f1_sum(scored[k]))
    unshifted = max(
        (k for k in scored if k[1] == 0.0), key=lambda k: f1_sum(scored[k]), default=None
    )
    if unshifted and f1_sum(scored[best]) < f1_sum(scored[unshifted]) + MIN_SHIFT_GAIN:
        best = unshifted
    model.tau, model.prior_shift = best
    return scored


def f1_sum(scores: dict[str, float]) -> float:
    """micro- + macro-F1: what the held-out choices of tau and g maximise."""
    return scores["micro_f1"] + scores["macro_f1"]


def _best_tau(scored: dict, taus: Sequence[float], g: float) -> dict:
    tau = max(taus, key=lambda t: f1_sum(scored[t, g]))
    return {"tau": tau, **scored[tau, g]}


def fit_with_validation(
    X: np.ndarray | sp.spmatrix,
    Y: np.ndarray,
    classes: Sequence[str],
    params: dict | None = None,
    validation: float = 0.15,
    taus: Sequence[float] = TAUS,
    prior_shifts: Sequence[float] = PRIOR_SHIFTS,
) -> tuple[ZLPRClassifier, dict]:
    """Fit with ``params``, choosing tau, the label shift's weight g and the confidence
    calibration on the last rows held out.

    The rows are expected in time order: the last ``validation`` share is held out, a model fit
    on the rest picks the (tau, g) with the best sum of micro- and macro-F1 on it (macro over the
    labels with MIN_HELD_OUT_POSITIVES held-out papers or more; its label shift counted on its
    own most recent rows, so it predicts the held-out months from what came before them, as
    the refit model predicts the months after its rows) and calibrates its confidences there
    (fit_confidence), then the model is refit on all rows with those numbers. With fewer than
    MIN_VALIDATION held-out rows it fits once with ``params`` as given.
    Returns (model, report with the chosen numbers and every (tau, g)'s held-out scores).
    """
    params = dict(params or {})
    n_val = int(X.shape[0] * validation)
    if n_val < MIN_VALIDATION:
        return ZLPRClassifier(**params).fit(X, Y, classes), {"validated": False}
    cut = X.shape[0] - n_val
    held_out = ZLPRClassifier(**params).fit(X[:cut], Y[:cut], classes)
    Y_val = Y[cut:]
    scored = choose_adjustment(held_out, X[cut:], Y_val, taus, prior_shifts)
    tau, g = held_out.tau, held_out.prior_shift
    scale, offset = held_out.fit_confidence(X[cut:], Y_val)
    model = ZLPRClassifier(**{**params, "tau": tau, "prior_shift": g,
                              "confidence_scale": scale, "confidence_offset": offset})  # fmt: skip
    report = {
        "validated": True,
        "n_validation": n_val,
        "tau": tau,
        "prior_shift": g,
        "confidence_scale": round(scale, 4),
        "confidence_offset": round(offset, 4),
        "validation": {str(t): scored[t, g] for t in taus},  # at the chosen g
        # each g's best tau and scores there
        "by_prior_shift": {str(s): _best_tau(scored, taus, s) for s in prior_shifts},
    }
    return model.fit(X, Y, classes), report


def fit_linear(
    X: np.ndarray | sp.spmatrix,
    targets: np.ndarray,
    loss_and_grad,
    alpha: float,
    max_iter: int,
    tol: float,
) -> tuple[np.ndarray, np.ndarray, tuple[float, float, int]]:
    """Full-batch L-BFGS (scipy) for a linear layer X W + b under a per-sample loss.

    ``loss_and_grad(scores, targets)`` returns per-sample losses (n,) and d loss / d scores.
    The objective is the mean loss plus alpha * ||W||^2. Returns W (d, L), b (L,) and
    (initial objective, final objective, iterations).
    """
    from scipy.optimize import minimize

    X = X.tocsr() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    t = np.asarray(targets, dtype=np.float64)
    n, d = X.shape
    n_labels = t.shape[1]

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        weight = theta[: d * n_labels].reshape(d, n_labels)
        bias = theta[d * n_labels :]
        scores = np.asarray(X @ weight) + bias
        losses, grad_scores = loss_and_grad(scores, t)
        grad_scores /= n
        grad_w = np.asarray(X.T @ grad_scores) + 2 * alpha * weight
        value = losses.mean() + alpha * float((weight * weight).sum())
        return value, np.concatenate([grad_w.ravel(), grad_scores.sum(axis=0)])

    theta0 = np.zeros(d * n_labels + n_labels)
    initial = objective(theta0)[0]
    result = minimize(
        objective,
        theta0,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter, "ftol": tol, "gtol": 1e-9},
    )
    weight = result.x[: d * n_labels].reshape(d, n_labels)
    return weight, result.x[d * n_labels :], (float(initial), float(result.fun), int(result.nit))


_ADAM_B1, _ADAM_B2 = 0.9, 0.999


def fit_linear_adam(
    X: np.ndarray | sp.spmatrix,
    targets: np.ndarray,
    loss_and_grad,
    alpha: float,
    epochs: int,
    batch_size: int = 256,
    learning_rate: float = 0.01,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, tuple[float, float, int]]:
    """Minibatch Adam for the objective of fit_linear; suits large sparse X such as TF-IDF.

    Every step updates all weights in place, in float32 (a batch of 256 abstracts touches most
    of a 50k-word vocabulary, so updating only the rows it touches costs more in gathering and
    scattering than it saves).
    """
    sparse = sp.issparse(X)
    X = X.tocsr().astype(np.float32) if sparse else np.asarray(X, dtype=np.float32)
    t = np.asarray(targets, dtype=np.float32)
    n, d = X.shape
    weight = np.zeros((d, t.shape[1]), np.float32)
    bias = np.zeros(t.shape[1], np.float32)
    moments = {"w": [np.zeros_like(weight), np.zeros_like(weight)],
               "b": [np.zeros_like(bias), np.zeros_like(bias)]}  # fmt: skip
    rng = np.random.default_rng(seed)
    step = 0

    def objective() -> float:
        losses = [loss_and_grad(np.asarray(X[i : i + 4096] @ weight) + bias, t[i : i + 4096])[0]
                  for i in range(0, n, 4096)]  # fmt: skip
        return float(np.concatenate(losses).mean() + alpha * float((weight * weight).sum()))

    def adam(param: np.ndarray, grad: np.ndarray, key: str) -> None:
        m, v = moments[key]
        m *= _ADAM_B1
        m += (1 - _ADAM_B1) * grad
        grad *= grad
        v *= _ADAM_B2
        v += (1 - _ADAM_B2) * grad
        # learning_rate * m_hat / (sqrt(v_hat) + eps), bias corrections as scalar factors.
        denominator = np.sqrt(v)
        denominator *= 1 / np.sqrt(1 - _ADAM_B2**step)
        denominator += 1e-8
        update = m * np.float32(learning_rate / (1 - _ADAM_B1**step))
        update /= denominator
        param -= update

    initial = objective()
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            rows = order[start : start + batch_size]
            xb = X[rows]
            scores, targets_b = np.asarray(xb @ weight) + bias, t[rows]
            _, grad_scores = loss_and_grad(scores, targets_b)
            grad_scores = (grad_scores / len(rows)).astype(np.float32)
            grad_w = np.asarray(xb.T @ grad_scores)
            grad_w += (2 * alpha) * weight
            step += 1
            adam(weight, grad_w, "w")
            adam(bias, grad_scores.sum(axis=0), "b")
    return weight, bias, (initial, objective(), epochs)
