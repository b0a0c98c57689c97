"""Papers related to a paper, found two ways and each explained.

- by meaning: nearest whitened vectors (cosine), with the key phrases both papers share;
- by key phrases: the paper's keywords as a BM25 query, with the phrases the other paper uses.
  BM25 alone drifts off topic (one shared word such as "dna" is enough to rank), so its best
  matches are ordered by their cosine to the paper (KEYWORD_RANKING, chosen with
  bench/related.py): papers that share key phrases, the closest in meaning first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings

from papers.enrichment.artifacts import current_artifacts
from papers.models import Paper
from search.dense import DenseIndexUnavailable, dense_index


@dataclass
class RelatedPaper:
    paper: Paper
    score: float
    why: str
    shared: list[str] = field(default_factory=list)  # key phrases the two papers share


def phrases_in(phrases: list[str], paper: Paper) -> list[str]:
    """The phrases that occur (as whole words, any case) in the paper's title, abstract or
    keywords."""
    text = f"{paper.title} {paper.abstract} {' '.join(paper.keywords or [])}".lower()
    return [p for p in phrases if re.search(rf"(?<!\w){re.escape(p.lower())}(?!\w)", text)]


def by_vector(paper: Paper, n: int | None = None) -> list[RelatedPaper]:
    """The papers nearest in embedding space (empty until models and vectors exist)."""
    n = n or settings.RELATED_PAPERS
    artifacts = current_artifacts()
    if artifacts is None or paper.embedded_with != artifacts.encoder_id:
        return []
    try:
        index = dense_index(artifacts)
    except DenseIndexUnavailable:
        return []
    vector, found = index.vectors_of([paper.pk])
    if not found[0]:
        return []
    pks, sims = index.search(vector[0], n + 1)
    keep = pks != paper.pk  # not itself
    pks, sims = pks[keep][:n], sims[keep][:n]
    others = Paper.objects.in_bulk(pks.tolist())
    out = []
    for pk, sim in zip(pks.tolist(), sims.tolist(), strict=True):
        other = others.get(pk)
        if other is None or other.withdrawn:
            continue
        shared = phrases_in(paper.keywords or [], other)
        why = f"similar in meaning (cosine {sim:.2f})"
        if shared:
            why += "; both about " + ", ".join(shared[:3])
        out.append(RelatedPaper(other, sim, why, shared))
    return out


def _cosines(paper: Paper, pks: list[int]) -> dict[int, float]:
    """Cosine of each paper in ``pks`` that has a vector to ``paper`` (empty without one)."""
    artifacts = current_artifacts()
    if artifacts is None or paper.embedded_with != artifacts.encoder_id:
        return {}
    try:
        index = dense_index(artifacts)
    except DenseIndexUnavailable:
        return {}
    vectors, found = index.vectors_of([paper.pk, *pks])
    if not found[0] or not pks:
        return {}
    sims = vectors[1:] @ vectors[0]
    return {pk: float(s) for pk, s, ok in zip(pks, sims, found[1:], strict=True) if ok}


# How the key-phrase column orders its BM25 candidates: (method, number of candidates).
# bm25: BM25 order alone; cosine: by cosine to the paper; rrf: reciprocal rank fusion of both.
KEYWORD_RANKINGS = {
    "bm25": ("bm25", 0),
    "rrf@50": ("rrf", 50),
    "cosine@20": ("cosine", 20),
    "cosine@50": ("cosine", 50),
    "cosine@100": ("cosine", 100),
}
KEYWORD_RANKING = "cosine@50"
_RRF_K = 60


def _rank(hits: list, cosines: dict[int, float], pks: dict[str, int], method: str) -> list:
    if method == "bm25" or not cosines:
        return hits

    def cosine(hit):
        return cosines.get(pks.get(hit.arxiv_id), -np.inf)

    by_cosine = sorted(hits, key=cosine, reverse=True)
    if method == "cosine":
        return by_cosine
    fused = {h.arxiv_id: 1 / (_RRF_K + i) for i, h in enumerate(hits)}
    for i, h in enumerate(by_cosine):
        if np.isfinite(cosine(h)):
            fused[h.arxiv_id] += 1 / (_RRF_K + i)
    return sorted(hits, key=lambda h: fused[h.arxiv_id], reverse=True)


def keyword_query(paper: Paper) -> str:
    """The paper's key phrases as one query in the search language (words rank by BM25)."""
    words = " ".join(paper.keywords or [])
    return re.sub(r"[^\w\s-]", " ", words)


def by_keywords(
    paper: Paper, n: int | None = None, ranking: str = KEYWORD_RANKING
) -> list[RelatedPaper]:
    """Papers matching the paper's key phrases by BM25, ordered as ``ranking`` says (empty
    without keywords)."""
    from search.backends.base import SearchError, get_search_backend

    n = n or settings.RELATED_PAPERS
    method, depth = KEYWORD_RANKINGS[ranking]
    query = keyword_query(paper)
    if not query.strip():
        return []
    try:
        hits = get_search_backend().candidates(query, limit=max(depth, n) + 1)
    except SearchError:
        return []
    hits = [h for h in hits if h.arxiv_id != paper.arxiv_id]
    others = Paper.objects.in_bulk([h.arxiv_id for h in hits], field_name="arxiv_id")
    hits = [h for h in hits if h.arxiv_id in others and not others[h.arxiv_id].withdrawn]
    pks = {h.arxiv_id: others[h.arxiv_id].pk for h in hits}
    cosines = _cosines(paper, list(pks.values())) if method != "bm25" else {}
    out = []
    for hit in _rank(hits, cosines, pks, method)[:n]:
        other = others[hit.arxiv_id]
        shared = phrases_in(paper.keywords, other)
        why = "uses " + ", ".join(shared[:4]) if shared else "matches this paper's key words"
        if other.pk in cosines:
            why += f" (cosine {cosines[other.pk]:.2f})"
        out.append(RelatedPaper(other, hit.score, why, shared))
    return out
