"""Hybrid ranking: the top BM25 hits reordered by fusing their scores with vector cosines.

The lexical ranking stays in charge of what is found and of its promise that papers holding
every query word come first; within that, ml.fusion mixes z-scored BM25 with the cosine between
the whitened query vector and each paper's whitened vector (tuned on SciFact train).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
from django.conf import settings

from ml.artifacts import ArtifactSet
from ml.fusion import fuse
from papers.enrichment.artifacts import current_artifacts
from papers.models import Paper
from search.backends.base import ALL_TERMS_BONUS, SearchHit, unbonused
from search.dense import VectorStore
from search.query import ABSTRACT, ALL, KEYWORDS, TITLE, ParsedQuery

_SEMANTIC_FIELDS = {ALL, TITLE, ABSTRACT, KEYWORDS}


def semantic_text(query: ParsedQuery) -> str:
    """The words and phrases that describe content (not authors, categories or dates)."""
    return " ".join(leaf.text for leaf in query.leaves() if leaf.field in _SEMANTIC_FIELDS)


class QueryVectors:
    """Whitened query vectors, remembered per artifact version (people repeat searches)."""

    def __init__(self) -> None:
        self._cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._encoding = threading.Lock()

    def get(self, artifacts: ArtifactSet, text: str) -> np.ndarray:
        key = (artifacts.version, text)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        with self._encoding:  # one model load per process, even under concurrent first queries
            vector = artifacts.embed([text])[0]
        with self._lock:
            self._cache[key] = vector
            while len(self._cache) > settings.SEARCH_QUERY_VECTOR_CACHE:
                self._cache.popitem(last=False)
        return vector


query_vectors = QueryVectors()


def paper_vectors(artifacts: ArtifactSet, arxiv_ids: Sequence[str]) -> np.ndarray:
    """Whitened unit vectors for papers, in order; zero rows for papers without one."""
    encoder_id = artifacts.encoder_id
    pks = dict(
        Paper.objects.filter(arxiv_id__in=list(arxiv_ids), embedded_with=encoder_id).values_list(
            "arxiv_id", "pk"
        )
    )
    rows = [pks.get(a, -1) for a in arxiv_ids]
    known = np.array([r >= 0 for r in rows], dtype=bool)
    raw, found = VectorStore(encoder_id).read([r for r in rows if r >= 0])
    whitened = artifacts.whiten(raw)
    whitened[~found] = 0
    out = np.zeros((len(rows), whitened.shape[1]), dtype=np.float32)
    out[known] = whitened
    return out


def rerank(query: ParsedQuery, hits: list[SearchHit]) -> list[SearchHit] | None:
    """``hits`` (the top of a relevance ranking) in hybrid order, or None when it cannot apply:
    no models yet, no content words in the query, or too few hits to reorder."""
    text = semantic_text(query)
    artifacts = current_artifacts()
    if artifacts is None or not text or len(hits) < 2:
        return None
    vectors = paper_vectors(artifacts, [h.arxiv_id for h in hits])
    if not vectors.any():
        return None
    cosines = vectors @ query_vectors.get(artifacts, text)
    lexical = [unbonused(h.score or 0.0) for h in hits]
    fused = fuse(lexical, cosines)
    tier = np.array([(h.score or 0.0) >= ALL_TERMS_BONUS for h in hits])
    # Sort by tier (all query words first), then by fused score; stable for ties.
    order = np.lexsort((-fused, ~tier))
    out = []
    for i in order:
        hit = hits[i]
        hit.score = float(fused[i])
        out.append(hit)
    return out


def warm_up(every: float = 30.0) -> None:
    """Keep the current models and their encoder loaded, so no search waits for a load.

    Runs in a daemon thread of each web process: loads at start, and again when new models
    appear (the first ones are trained minutes after a fresh install starts serving).
    """
    warmed = None
    while True:
        artifacts = current_artifacts()
        if artifacts is not None and artifacts.version != warmed:
            query_vectors.get(artifacts, "warm up")
            warmed = artifacts.version
        time.sleep(every)
