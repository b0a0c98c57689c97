"""Papers related to a paper, found two ways and each explained.

- by meaning: nearest whitened vectors (cosine), with the key phrases both papers share;
- by key phrases: the paper's keywords as a BM25 query, with the phrases the other paper uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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


def keyword_query(paper: Paper) -> str:
    """The paper's key phrases as one query in the search language (words rank by BM25)."""
    words = " ".join(paper.keywords or [])
    return re.sub(r"[^\w\s-]", " ", words)


def by_keywords(paper: Paper, n: int | None = None) -> list[RelatedPaper]:
    """The best BM25 matches for the paper's key phrases (empty without keywords)."""
    from search.backends.base import SearchError, get_search_backend

    n = n or settings.RELATED_PAPERS
    query = keyword_query(paper)
    if not query.strip():
        return []
    try:
        hits = get_search_backend().candidates(query, limit=n + 1)
    except SearchError:
        return []
    hits = [h for h in hits if h.arxiv_id != paper.arxiv_id][:n]
    others = Paper.objects.in_bulk([h.arxiv_id for h in hits], field_name="arxiv_id")
    out = []
    for hit in hits:
        other = others.get(hit.arxiv_id)
        if other is None or other.withdrawn:
            continue
        shared = phrases_in(paper.keywords, other)
        why = "uses " + ", ".join(shared[:4]) if shared else "matches this paper's key words"
        out.append(RelatedPaper(other, hit.score, why, shared))
    return out
