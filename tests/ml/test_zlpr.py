import json
import math
import shutil

import numpy as np
import pytest

from ml.versioning import REBUILD_COMMAND, ArtifactMismatch, ArtifactMissing
from ml.zlpr import (
    MIN_SHIFT_GAIN,
    ZLPRClassifier,
    choose_adjustment,
    f1_scores,
    fit_with_validation,
    label_indicator,
    zlpr_loss,
    zlpr_loss_and_grad,
)


def _by_hand(s, t):
    neg = sum(math.exp(si) for si, ti in zip(s, t, strict=True) if ti == 0)
    pos = sum(math.exp(-si) for si, ti in zip(s, t, strict=True) if ti == 1)
    return math.log(1 + neg) + math.log(1 + pos)


@pytest.mark.parametrize(
    "scores, targets",
    [
        ([0.0, 0.0, 0.0], [1, 0, 0]),
        ([2.0, -1.0, 0.5], [1, 0, 1]),
        ([-3.0, 4.0], [0, 0]),
        ([1.5, 2.5], [1, 1]),
    ],
)
def test_loss_equals_the_formula_on_hand_made_cases(scores, targets):
    expected = _by_hand(scores, targets)
    assert zlpr_loss(np.array([scores]), np.array([targets]))[0] == pytest.approx(expected)


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    s = rng.normal(size=(4, 5)) * 3
    t = np.array([[1, 0, 0, 1, 0], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1], [0.3, 0.9, 0, 1, 0.5]])
    _, grad = zlpr_loss_and_grad(s, t)
    eps = 1e-6
    for i in range(4):
        for j in range(5):
            up, down = s.copy(), s.copy()
            up[i, j] += eps
            down[i, j] -= eps
            numeric = (zlpr_loss(up, t)[i] - zlpr_loss(down, t)[i]) / (2 * eps)
            assert grad[i, j] == pytest.approx(numeric, abs=1e-6)


def test_soft_loss_is_minimised_where_sigmoid_2s_equals_the_target():
    grid = np.linspace(-4, 4, 8001).reshape(-1, 1)
    for target in (0.05, 0.3, 0.5, 0.8, 0.97):
        losses = zlpr_loss(grid, np.full_like(grid, target))
        best = grid[int(losses.argmin()), 0]
        assert 1 / (1 + math.exp(-2 * best)) == pytest.approx(target, abs=1e-3)


def test_loss_and_gradient_are_finite_for_huge_scores():
    s = np.array([[1e4, -1e4, 5e3], [-1e4, 1e4, 0.0], [1e300, -1e300, 0.0]])
    t = np.array([[0, 1, 1], [1, 0, 0], [0, 1, 0]])
    losses, grad = zlpr_loss_and_grad(s, t)
    assert np.isfinite(losses).all() and np.isfinite(grad).all()
    np.testing.assert_allclose(losses[:2], [2e4, 2e4], rtol=1e-9)
    # Confidently right scores cost (almost) nothing.
    assert zlpr_loss(np.array([[1e4, -1e4]]), np.array([[1, 0]]))[0] == pytest.approx(0, abs=1e-9)


def test_separable_toy_data_is_predicted_exactly_with_threshold_zero():
    rng = np.random.default_rng(1)
    n, d = 300, 6
    X = rng.normal(size=(n, d))
    # Label j is on when feature j is positive: linearly separable, 0..3 labels per sample.
    y = (X[:, :3] > 0).astype(np.float32)
    X[:, :3] += np.sign(X[:, :3]) * 0.5  # margin
    model = ZLPRClassifier(alpha=1e-6, max_iter=300).fit(X, y, classes=["a", "b", "c"])
    np.testing.assert_array_equal(model.predict(X), y)
    assert model.loss_ < model.initial_loss_


def test_label_lists_confidences_and_empty_predictions():
    X = np.array([[3.0, 0], [0, 3.0], [-3.0, -3.0], [3.0, 3.0]] * 10)
    labels = [["cs.AI"], ["cs.LG"], [], ["cs.AI", "cs.LG"]] * 10
    model = ZLPRClassifier(alpha=1e-4).fit(X, labels)
    assert model.classes_ == ["cs.AI", "cs.LG"]
    picked = model.predict_labels(X[:4])
    assert [[label for label, _ in row] for row in picked[:3]] == [["cs.AI"], ["cs.LG"], []]
    assert sorted(label for label, _ in picked[3]) == ["cs.AI", "cs.LG"]
    proba = model.predict_proba(X[:4])
    scores = model.decision_function(X[:4]).astype(np.float64)
    np.testing.assert_allclose(proba, 1 / (1 + np.exp(-2 * scores)), rtol=1e-6)


def test_labels_over_the_threshold_are_predicted_whatever_their_confidence():
    X = np.array([[3.0, 0], [0, 3.0], [-3.0, -3.0], [3.0, 3.0], [0.4, 0.0]] * 10)
    labels = [["cs.AI"], ["cs.LG"], [], ["cs.AI", "cs.LG"], ["cs.AI"]] * 10
    model = ZLPRClassifier(alpha=1e-4, confidence_scale=0.1, confidence_offset=-3.0)
    model.fit(X, labels)
    picked = model.predict_labels(X[:5])
    predicted = model.predict(X[:5])
    assert [[label for label, _ in row] for row in picked] == [
        [model.classes_[j] for j in np.argsort(-model.decision_function(X[i : i + 1])[0])
         if predicted[i, j]]
        for i in range(5)
    ]  # fmt: skip
    confidences = [c for row in picked for _, c in row]
    assert confidences and min(confidences) < 0.5


def test_fitted_confidences_match_how_often_predictions_are_right():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(4000, 1))
    # True odds of the label: sigmoid(3 x - 1); a model predicting x > 0 is right less often
    # than even odds near the threshold.
    y = (rng.random(4000) < 1 / (1 + np.exp(-(3 * X[:, 0] - 1)))).astype(np.float32)[:, None]
    model = ZLPRClassifier(alpha=1e-4).fit(X, y, ["a"])
    model.coef_[:] = 1.0
    model.intercept_[:] = 0.0
    model.log_prior_[:] = 0.0
    scale, offset = model.fit_confidence(X, y)
    assert (scale, offset) == (model.confidence_scale, model.confidence_offset)
    assert abs(scale - 3) < 0.4 and abs(offset + 1) < 0.3

    import scipy.sparse as sp

    rng = np.random.default_rng(2)
    X = rng.normal(size=(80, 5))
    y = (X[:, :2] > 0).astype(np.float32)
    dense = ZLPRClassifier(alpha=1e-3).fit(X, y)
    sparse = ZLPRClassifier(alpha=1e-3).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(dense.coef_, sparse.coef_, atol=1e-3)


def test_save_load_round_trip(tmp_path):
    X = np.eye(4)
    model = ZLPRClassifier().fit(
        X, label_indicator([["x"], ["y"], ["x", "y"], []], ["x", "y"]), ["x", "y"]
    )
    model.save(tmp_path / "m")
    loaded = ZLPRClassifier.load(tmp_path / "m")
    assert loaded.classes_ == ["x", "y"]
    np.testing.assert_array_equal(loaded.decision_function(X), model.decision_function(X))
    with pytest.raises(ArtifactMissing):
        ZLPRClassifier.load(tmp_path / "missing")


def _words_and_labels(seed: int, rows: int, labels: int):
    """Bag-of-words-like sparse rows; label j is on exactly when word j occurs."""
    import scipy.sparse as sp

    X = (np.random.default_rng(seed).random((rows, 30)) < 0.15).astype(np.float64)
    return sp.csr_matrix(X), X[:, :labels].copy()


def test_adam_solver_learns_sparse_separable_data():
    X, y = _words_and_labels(3, 400, 4)
    model = ZLPRClassifier(solver="adam", epochs=100, learning_rate=0.1, alpha=1e-6)
    model.fit(X, y)
    np.testing.assert_array_equal(model.predict(X), y)
    assert model.loss_ < model.initial_loss_ / 10


def test_adam_runs_enough_epochs_for_min_steps_on_few_samples():
    X, y = _words_and_labels(4, 60, 3)
    short = ZLPRClassifier(solver="adam", epochs=2, learning_rate=0.1, alpha=1e-6)
    short.fit(X, y)
    enough = ZLPRClassifier(solver="adam", epochs=2, min_steps=300, learning_rate=0.1, alpha=1e-6)
    enough.fit(X, y)
    assert (short.n_iter_, enough.n_iter_) == (2, 300)  # one batch per epoch
    np.testing.assert_array_equal(enough.predict(X), y)
    assert (short.predict(X) != y).any()


def test_unknown_solver_is_rejected():
    with pytest.raises(ValueError):
        ZLPRClassifier(solver="sgd").fit(np.eye(3), np.eye(3))


def test_positive_weights_scale_each_labels_missed_positive_term():
    s = np.array([[0.5, -1.0, 2.0]])
    t = np.array([[1, 1, 0]])
    weighted = zlpr_loss_and_grad(s, t, pos_weight=np.array([3.0, 0.5, 7.0]))[0][0]
    expected = math.log(1 + 3.0 * math.exp(-0.5) + 0.5 * math.exp(1.0)) + math.log(
        1 + math.exp(2.0)
    )
    assert weighted == pytest.approx(expected)
    unweighted = zlpr_loss_and_grad(s, t, pos_weight=np.ones(3))[0][0]
    assert unweighted == pytest.approx(zlpr_loss(s, t)[0])


def _long_tailed(n=1200, seed=4):
    """Noisy linear labels: one common (40%), one rare (3%); the rare one is under-predicted."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8))
    noise = rng.normal(size=(n, 2)) * 1.5
    y = np.stack([X[:, 0] + noise[:, 0] > 0.4, X[:, 1] + noise[:, 1] > 3.4], axis=1)
    return X, y.astype(np.float32)


def test_logit_adjustment_lifts_rare_labels_more_than_common_ones():
    X, y = _long_tailed()
    model = ZLPRClassifier(alpha=1e-4).fit(X, y, ["common", "rare"])
    assert model.log_prior_[1] < model.log_prior_[0] < 0
    plain = model.predict(X).sum(axis=0)
    model.tau = 0.5
    adjusted = model.predict(X).sum(axis=0)
    assert (adjusted >= plain).all() and adjusted[1] - plain[1] > 0
    assert adjusted[1] / max(plain[1], 1) > adjusted[0] / plain[0]


def test_logit_adjustment_chosen_on_held_out_rows_raises_rare_recall_on_unseen_data():
    X, y = _long_tailed(6000, seed=1)
    train, unseen = slice(0, 4000), slice(4000, None)
    plain = ZLPRClassifier(alpha=1e-4).fit(X[train], y[train], ["common", "rare"])
    adjusted, report = fit_with_validation(X[train], y[train], ["common", "rare"], {"alpha": 1e-4})
    assert report["tau"] > 0

    def rare_recall(model):
        return model.predict(X[unseen])[y[unseen, 1] > 0, 1].mean()

    assert rare_recall(adjusted) > rare_recall(plain) + 0.1
    assert (
        f1_scores(y[unseen], adjusted.predict(X[unseen]))["macro_f1"]
        > f1_scores(y[unseen], plain.predict(X[unseen]))["macro_f1"]
    )


def test_adjustment_and_confidence_scale_survive_save_and_load(tmp_path):
    X, y = _long_tailed(300)
    model = ZLPRClassifier(alpha=1e-4, tau=0.3, adaptive_threshold=True, class_weight_power=0.5)
    model.fit(X, y, ["common", "rare"])
    model.confidence_scale, model.confidence_offset = 1.3, -0.4
    model.save(tmp_path / "m")
    loaded = ZLPRClassifier.load(tmp_path / "m")
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), rtol=1e-6)
    assert loaded.get_params() == model.get_params()


def test_a_model_saved_before_the_confidence_offset_loads_with_none(tmp_path):
    X, y = _long_tailed(300)
    model = ZLPRClassifier(alpha=1e-4, confidence_scale=1.3).fit(X, y, ["common", "rare"])
    model.save(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    del config["params"]["confidence_offset"]
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    loaded = ZLPRClassifier.load(tmp_path / "m")
    scores = loaded.decision_function(X).astype(np.float64)
    assert loaded.confidence_offset == 0.0
    np.testing.assert_allclose(loaded.predict_proba(X), 1 / (1 + np.exp(-1.3 * scores)), rtol=1e-5)


def test_a_learnt_threshold_is_compared_with_zero_like_the_fixed_one():
    X = np.array([[3.0, 0], [0, 3.0], [-3.0, -3.0], [3.0, 3.0]] * 10)
    y = label_indicator([["a"], ["b"], [], ["a", "b"]] * 10, ["a", "b"])
    model = ZLPRClassifier(alpha=1e-4, adaptive_threshold=True).fit(X, y, ["a", "b"])
    assert model.coef_.shape == (3, 2)  # the two labels and the threshold s_0
    np.testing.assert_array_equal(model.predict(X), y)


def test_validation_picks_tau_and_calibrates_confidences_on_held_out_rows():
    X, y = _long_tailed(1500)
    model, report = fit_with_validation(X, y, ["common", "rare"], {"alpha": 1e-4})
    assert report["validated"] and report["n_validation"] == 225
    assert model.tau == report["tau"] and str(model.tau) in report["validation"]
    assert report["confidence_offset"] == round(model.confidence_offset, 4)
    # Noisy labels: calibrated confidences are softer than ZLPR's sigmoid(2s), and the logit
    # adjustment predicts the rare label on less than even odds, so the offset is negative.
    assert 0.05 < model.confidence_scale < 2.0
    assert model.tau > 0 and model.confidence_offset < 0
    # On unseen rows, a shown confidence is about the share of such predictions that are right.
    X_new, y_new = _long_tailed(6000, seed=9)
    predicted = model.predict(X_new) > 0
    shown = model.predict_proba(X_new)[predicted]
    right = y_new[predicted]
    assert len(shown) > 1000 and np.median(shown) < 0.99
    assert abs(shown.mean() - right.mean()) < 0.03
    confident = shown > 0.5
    assert 100 < confident.sum() < len(shown) - 100
    assert right[confident].mean() > right[~confident].mean() + 0.1
    tiny, small = fit_with_validation(X[:100], y[:100], ["common", "rare"], {"tau": 0.2})
    assert small == {"validated": False} and tiny.tau == 0.2


def test_f1_scores_count_only_labels_that_occur():
    Y = np.array([[1, 0, 0], [0, 1, 0]])
    P = np.array([[1, 0, 0], [1, 0, 0]])
    assert f1_scores(Y, P) == {"micro_f1": 0.5, "macro_f1": round((2 / 3 + 0) / 2, 4)}


def test_macro_f1_can_leave_out_labels_with_too_few_papers_to_judge():
    Y = np.zeros((12, 2), int)
    Y[:10, 0] = 1  # label 0 on ten papers, label 1 on one
    Y[11, 1] = 1
    P = Y.copy()
    P[11, 1] = 0  # the rare label missed
    assert f1_scores(Y, P)["macro_f1"] == 0.5
    assert f1_scores(Y, P, min_positives=10) == {"micro_f1": f1_scores(Y, P)["micro_f1"],
                                                 "macro_f1": 1.0}  # fmt: skip


def _either_of_two(n: int, seed: int):
    """Labels a (x0 > 0), b (x1 > 0) and c = a or b: c's region is not a half-space, so one
    linear layer cannot score it, but it is linear in the scores of a and b."""
    X = np.random.default_rng(seed).normal(size=(n, 5))
    a, b = X[:, 0] > 0, X[:, 1] > 0
    return X, np.stack([a, b, a | b], axis=1).astype(np.float32)


def test_a_stacked_second_stage_learns_labels_that_come_together():
    X, Y = _either_of_two(12_000, 0)
    X_new, Y_new = _either_of_two(2000, 1)
    one = ZLPRClassifier(alpha=1e-6).fit(X, Y, ["a", "b", "c"])
    stacked = ZLPRClassifier(alpha=1e-6, stack_weight=0.5).fit(X, Y, ["a", "b", "c"])
    assert one.first_ is None and stacked.first_ is not None
    right = {name: (model.predict(X_new)[:, 2] == Y_new[:, 2]).mean()
             for name, model in (("one", one), ("stacked", stacked))}  # fmt: skip
    assert right["one"] < 0.93  # the best half-space misses part of the L-shaped region
    assert right["stacked"] > right["one"] + 0.04


def test_a_stacked_model_gives_the_same_scores_after_save_and_load(tmp_path):
    X, Y = _either_of_two(12_000, 0)
    model = ZLPRClassifier(alpha=1e-6, stack_weight=0.3, tau=0.2).fit(X, Y, ["a", "b", "c"])
    model.save(tmp_path / "tagger")
    loaded = ZLPRClassifier.load(tmp_path / "tagger")
    assert loaded.first_ is not None
    np.testing.assert_allclose(loaded.decision_function(X), model.decision_function(X), atol=1e-5)
    assert loaded.get_params() == model.get_params()


def test_a_sample_sized_training_stays_one_stage_even_when_stacking_is_asked(tmp_path):
    X, Y = _either_of_two(4_000, 0)  # the shipped sample's size: its first run stays quick
    stacked = ZLPRClassifier(alpha=1e-4, stack_weight=0.3).fit(X, Y, ["a", "b", "c"])
    plain = ZLPRClassifier(alpha=1e-4).fit(X, Y, ["a", "b", "c"])
    assert stacked.first_ is None
    np.testing.assert_allclose(stacked.decision_function(X), plain.decision_function(X))
    stacked.save(tmp_path / "tagger")
    assert not (tmp_path / "tagger" / "first_stage").exists()
    assert ZLPRClassifier.load(tmp_path / "tagger").first_ is None


def test_a_blended_stacked_model_scores_the_share_weighted_mean_of_its_two_stages(tmp_path):
    X, Y = _either_of_two(12_000, 0)
    model = ZLPRClassifier(alpha=1e-6, stack_weight=0.3, stack_blend=0.25)
    model.fit(X, Y, ["a", "b", "c"])
    blended = model.raw_scores(X)
    first = model.first_.raw_scores(X)
    model.stack_blend = 0.0
    second = model.raw_scores(X)
    assert np.abs(second - first).max() > 0.5  # the stages differ, so the blend is seen
    np.testing.assert_allclose(blended, 0.75 * second + 0.25 * first, rtol=1e-5, atol=1e-5)
    # The blend is kept with the model and read back.
    model.stack_blend = 0.25
    model.save(tmp_path / "tagger")
    loaded = ZLPRClassifier.load(tmp_path / "tagger")
    assert loaded.stack_blend == 0.25
    np.testing.assert_allclose(loaded.raw_scores(X), blended, atol=1e-5)


def test_a_tagger_saved_before_the_stack_blend_loads_as_its_second_stage_alone(tmp_path):
    X, Y = _either_of_two(12_000, 0)
    model = ZLPRClassifier(alpha=1e-6, stack_weight=0.3).fit(X, Y, ["a", "b", "c"])
    model.save(tmp_path / "tagger")
    config = json.loads((tmp_path / "tagger" / "config.json").read_text())
    config["format"] = "zlpr-linear/3"
    del config["params"]["stack_blend"]
    (tmp_path / "tagger" / "config.json").write_text(json.dumps(config))
    old = ZLPRClassifier.load(tmp_path / "tagger")
    assert old.stack_blend == 0.0
    np.testing.assert_allclose(old.raw_scores(X), model.raw_scores(X), atol=1e-5)


@pytest.mark.parametrize("blend", [-0.1, 1.5])
def test_a_stack_blend_outside_zero_to_one_is_refused(blend):
    X, Y = _either_of_two(300, 0)
    with pytest.raises(ValueError, match="stack_blend is a share from 0 to 1"):
        ZLPRClassifier(stack_weight=0.3, stack_blend=blend).fit(X, Y, ["a", "b", "c"])


def test_stacking_with_fewer_than_two_folds_is_refused():
    X, Y = _either_of_two(300, 0)
    with pytest.raises(ValueError, match="at least 2 folds"):
        ZLPRClassifier(stack_weight=0.3, stack_folds=1).fit(X, Y, ["a", "b", "c"])


def test_a_stacked_model_missing_its_first_stage_is_refused_at_load(tmp_path):
    X, Y = _either_of_two(12_000, 0)
    ZLPRClassifier(alpha=1e-6, stack_weight=0.3).fit(X, Y, ["a", "b", "c"]).save(tmp_path / "t")
    shutil.rmtree(tmp_path / "t" / "first_stage")
    with pytest.raises(ValueError, match="without its first stage"):
        ZLPRClassifier.load(tmp_path / "t")


def _drifting(n=4000, seed=5, late_share=0.4):
    """Rows in time order; label "b" goes from 5% of the early rows to ``late_share`` of the
    last quarter, its evidence (a noisy feature) the same throughout. Label "a" does not drift."""
    rng = np.random.default_rng(seed)
    late = np.arange(n) >= n * 3 // 4
    b = rng.random(n) < np.where(late, late_share, 0.05)
    a = rng.random(n) < 0.3
    X = np.column_stack([a + rng.normal(0, 0.6, n), b + rng.normal(0, 0.6, n), rng.normal(0, 1, n)])
    return X, np.column_stack([a, b]).astype(np.float32)


def test_label_shift_is_the_recent_rows_log_odds_minus_all_rows():
    X, y = _drifting()
    model = ZLPRClassifier(alpha=1e-4, recent_share=0.15).fit(X, y, ["a", "b"])
    recent = y[-600:]

    def log_odds(rows):
        share = (rows.sum(axis=0) + 1) / (len(rows) + 2)
        return np.log(share / (1 - share))

    expected = log_odds(recent) - log_odds(y)
    assert expected[1] > 1.0  # b drifted up
    np.testing.assert_allclose(model.label_shift_, expected, rtol=1e-5)
    assert abs(model.label_shift_[0]) < 0.2  # a did not
    model.tau = 0.0
    plain = model.predict(X[-600:])[:, 1].sum()
    model.prior_shift = 1.0
    assert model.predict(X[-600:])[:, 1].sum() > plain  # shifted: b predicted more often
    few = ZLPRClassifier(alpha=1e-4).fit(X[:3000], y[:3000], ["a", "b"])  # 450 recent rows
    np.testing.assert_array_equal(few.label_shift_, np.zeros(2, np.float32))


def test_validation_applies_the_label_shift_where_a_label_drifted_and_it_helps_on_later_rows():
    X, y = _drifting(8000)
    model, report = fit_with_validation(X, y, ["a", "b"], {"alpha": 1e-4}, taus=(0.0,))
    assert report["prior_shift"] > 0 and model.prior_shift == report["prior_shift"]
    by_shift = report["by_prior_shift"]
    assert by_shift["0.0"]["macro_f1"] < by_shift[str(model.prior_shift)]["macro_f1"]
    X_new, y_new = _drifting(8000, seed=6, late_share=0.4)
    X_new, y_new = X_new[6000:], y_new[6000:]  # later rows, where b is 40%
    shifted = f1_scores(y_new, model.predict(X_new))
    model.prior_shift = 0.0
    assert f1_scores(y_new, model.predict(X_new))["macro_f1"] < shifted["macro_f1"] - 0.02


def test_a_label_shift_is_applied_only_where_it_gains_the_margin_on_the_held_out_rows():
    X, y = _drifting(8000, seed=4, late_share=0.07)  # b drifts from 5% to 7%: a faint shift
    model = ZLPRClassifier(alpha=1e-4).fit(X[:6800], y[:6800], ["a", "b"])

    def gain(scored, g):
        return sum(scored[0.0, g].values()) - sum(scored[0.0, 0.0].values())

    scored = choose_adjustment(model, X[6800:], y[6800:], taus=(0.0,), prior_shifts=(0.0, 0.5))
    assert 0 < gain(scored, 0.5) < MIN_SHIFT_GAIN
    assert model.prior_shift == 0.0
    scored = choose_adjustment(model, X[6800:], y[6800:], taus=(0.0,), prior_shifts=(0.0, 1.0))
    assert gain(scored, 1.0) >= MIN_SHIFT_GAIN
    assert model.prior_shift == 1.0


def test_rows_in_no_time_order_get_next_to_no_label_shift_and_it_is_not_applied():
    X, y = _long_tailed(3000)
    rng = np.random.default_rng(3)
    order = rng.permutation(len(y))  # no time order: recent rows are like all others
    model, report = fit_with_validation(X[order], y[order], ["common", "rare"], {"alpha": 1e-4})
    assert set(report["by_prior_shift"]) == {"0.0", "0.5", "1.0"}
    assert np.abs(model.label_shift_).max() < 0.5
    assert report["prior_shift"] == model.prior_shift == 0.0  # no clear gain: not applied


def test_the_label_shift_survives_save_and_load_and_an_older_model_loads_without_one(tmp_path):
    X, y = _drifting()
    model = ZLPRClassifier(alpha=1e-4, prior_shift=1.0, tau=0.1).fit(X, y, ["a", "b"])
    model.save(tmp_path / "m")
    loaded = ZLPRClassifier.load(tmp_path / "m")
    assert loaded.prior_shift == 1.0
    np.testing.assert_array_equal(loaded.decision_function(X), model.decision_function(X))
    # A zlpr-linear/2 model (before the label shift): no shift stored, none applied.
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    config["format"] = "zlpr-linear/2"
    for key in ("prior_shift", "recent_share"):
        del config["params"][key]
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    with np.load(tmp_path / "m" / "arrays.npz") as arrays:
        kept = {k: arrays[k] for k in ("coef", "intercept", "log_prior")}
    np.savez(tmp_path / "m" / "arrays.npz", **kept)
    old = ZLPRClassifier.load(tmp_path / "m")
    assert old.prior_shift == 0.0 and not old.label_shift_.any()
    model.prior_shift = 0.0
    np.testing.assert_array_equal(old.decision_function(X), model.decision_function(X))


def test_a_tagger_of_an_unknown_format_is_refused_with_the_rebuild_command(tmp_path):
    X, y = _drifting()
    ZLPRClassifier(alpha=1e-4).fit(X, y, ["a", "b"]).save(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    config["format"] = "zlpr-linear/1"
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ArtifactMismatch, match=REBUILD_COMMAND):
        ZLPRClassifier.load(tmp_path / "m")
