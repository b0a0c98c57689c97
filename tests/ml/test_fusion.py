import numpy as np
import pytest

from ml.fusion import fuse, hybrid_rerank


def test_weight_zero_keeps_bm25_order_and_one_gives_dense_order():
    bm25 = [9.0, 7.0, 5.0, 1.0]
    cos = [0.1, 0.9, 0.5, 0.3]
    for method in ("zscore", "minmax", "rrf"):
        assert list(np.argsort(-fuse(bm25, cos, 0.0, method))) == [0, 1, 2, 3]
        assert list(np.argsort(-fuse(bm25, cos, 1.0, method))) == [1, 2, 3, 0]


def test_a_strong_dense_match_overtakes_a_weak_lexical_lead():
    ids = ["a", "b", "c"]
    q = np.array([1.0, 0.0])
    vectors = np.array([[0.0, 1.0], [1.0, 0.0], [0.6, 0.8]])
    ranked = hybrid_rerank(ids, [10.0, 9.5, 3.0], q, vectors, weight=0.5)
    assert [d for d, _ in ranked][0] == "b"


def test_empty_and_degenerate_inputs():
    assert hybrid_rerank([], [], np.ones(3), np.zeros((0, 3))) == []
    # Equal scores (zero spread) must not divide by zero; order stays stable.
    ranked = hybrid_rerank(["x", "y"], [1.0, 1.0], np.ones(2), np.zeros((2, 2)))
    assert [d for d, _ in ranked] == ["x", "y"] and all(np.isfinite(s) for _, s in ranked)


def test_bad_arguments_raise():
    with pytest.raises(ValueError):
        fuse([1.0], [1.0, 2.0])
    with pytest.raises(ValueError):
        fuse([1.0], [1.0], weight=1.5)
    with pytest.raises(ValueError):
        fuse([1.0], [1.0], method="max")
    with pytest.raises(ValueError):
        hybrid_rerank(["a", "b"], [1.0, 2.0], np.ones(2), np.ones((3, 2)))
