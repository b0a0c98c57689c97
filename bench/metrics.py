"""Ranking metrics against BEIR-style relevance judgements: nDCG@10 and Recall@100."""

from __future__ import annotations

import math

Rankings = dict[str, list[str]]  # query id -> doc ids, best first
Qrels = dict[str, dict[str, int]]  # query id -> {doc id: graded relevance}


def ndcg_at(ranking: list[str], relevant: dict[str, int], k: int) -> float:
    """nDCG@k with graded gains and a log2 discount."""
    dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranking[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(rel / math.log2(i + 2) for i, rel in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranking: list[str], relevant: dict[str, int], k: int) -> float:
    """Share of the relevant (gain > 0) documents found in the top k."""
    wanted = {d for d, rel in relevant.items() if rel > 0}
    return len(wanted & set(ranking[:k])) / len(wanted) if wanted else 0.0


def evaluate(rankings: Rankings, qrels: Qrels) -> dict[str, float]:
    """Mean nDCG@10 and Recall@100 over the judged queries; a query not ranked scores 0."""
    ids = list(qrels)
    if not ids:
        raise ValueError("no judged queries to evaluate")
    ndcg = sum(ndcg_at(rankings.get(q, []), qrels[q], 10) for q in ids) / len(ids)
    recall = sum(recall_at(rankings.get(q, []), qrels[q], 100) for q in ids) / len(ids)
    return {"ndcg@10": round(ndcg, 4), "recall@100": round(recall, 4)}
