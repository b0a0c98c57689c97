"""The relevance benchmark's pure pieces: metrics, hybrid reranking of given candidates, goals."""

import math

import numpy as np
import pytest

from bench.dense import fused_rankings
from bench.metrics import evaluate, ndcg_at, recall_at
from bench.relevance import add_comparisons, gain

# Four 3-d "documents" and one query; the query points at doc "c", then "b".
VECTORS = {
    "a": [1.0, 0.0, 0.0],
    "b": [0.6, 0.8, 0.0],
    "c": [0.0, 1.0, 0.0],
    "d": [0.0, 0.0, 1.0],
    "q": [0.0, 1.0, 0.1],
    "other query": [1.0, 0.0, 0.0],
}


def fake_encode(key: str, texts: list[str]) -> np.ndarray:
    return np.array([VECTORS[t] for t in texts], dtype=np.float32)


def test_metrics_on_a_hand_made_ranking():
    relevant = {"b": 1, "d": 1}
    assert ndcg_at(["b", "x", "d"], relevant, 10) == pytest.approx(
        (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    )
    assert recall_at(["b", "x", "d"], relevant, 2) == 0.5
    # A judged query missing from the rankings counts as 0, not skipped.
    scores = evaluate({"q1": ["b", "d"]}, {"q1": relevant, "q2": {"a": 1}})
    assert scores == {"ndcg@10": 0.5, "recall@100": 0.5}


def test_fused_rankings_weight_zero_keeps_lexical_order_and_one_gives_cosine_order():
    corpus = {d: d for d in "abcd"}
    # Queries in a different order from the candidates, to catch row mix-ups.
    queries = {"q2": "other query", "q1": "q"}
    lexical = {"q1": [("a", 9.0), ("b", 5.0), ("c", 1.0)], "q2": [("c", 3.0), ("a", 2.0)]}

    def rank(weight: float) -> dict[str, list[str]]:
        return fused_rankings(
            lexical, corpus, queries, beta=0.0, gamma=0.0, k=3, weight=weight, encode=fake_encode
        )

    assert rank(0.0) == {"q1": ["a", "b", "c"], "q2": ["c", "a"]}
    assert rank(1.0) == {"q1": ["c", "b", "a"], "q2": ["a", "c"]}


def report(lexical: float, hybrid: float, raw: float, w128: float) -> dict:
    def scores(ndcg: float) -> dict:
        return {"ndcg@10": ndcg, "recall@100": 0.9}

    return {
        "bm25_stemmed": scores(lexical),
        "hybrid": scores(hybrid),
        "dense_raw": scores(raw),
        **{f"dense_w{k}": scores(w128) for k in (256, 128, 64)},
    }


def test_gain_is_rounded_like_the_metrics():
    assert gain({"ndcg@10": 0.7342, "recall@100": 0.9}, {"ndcg@10": 0.7, "recall@100": 0.95}) == {
        "ndcg@10": 0.0342,
        "recall@100": -0.05,
    }


def test_goals_are_met_at_the_issue_thresholds():
    done = add_comparisons(report(lexical=0.69, hybrid=0.72, raw=0.65, w128=0.64))
    assert done["hybrid"]["gain"] == {"ndcg@10": 0.03, "recall@100": 0.0}
    assert done["dense_w128"]["gain_over_raw"]["ndcg@10"] == -0.01
    assert all(done["goals"].values())


def test_goals_fail_below_the_thresholds():
    done = add_comparisons(report(lexical=0.69, hybrid=0.7199, raw=0.65, w128=0.6399))
    assert not any(done["goals"].values())
