"""Hybrid ranking: lexical and dense candidates merged, then ordered by fused scores.

Two candidate sources: the top BM25 papers for the query's words (one word is enough) and the
papers nearest the whitened query vector in the dense index (search.dense), so a question that
shares no word with a relevant paper still finds it. Every candidate is then scored both ways in
one lexical request (`score_papers`: BM25 for its words, its all-words flag, and whether it
passes the query's filters, phrases and exclusions, which dense candidates must too) and one
lookup of vectors, and ml.fusion mixes the two scores. The depths, the fusion and whether papers
holding every word come first are chosen on SciFact train by bench/relevance.py (see the
settings SEARCH_LEXICAL_CANDIDATES, SEARCH_DENSE_CANDIDATES, SEARCH_FUSION_*).

No search waits for a model: until this process has its query encoder loaded (loading starts in
the background at start, see warm_up), `rank` says it is not ready and callers rank by words.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from ml.artifacts import ArtifactSet
from ml.fusion import fuse
from papers.enrichment.artifacts import current_artifacts
from papers.models import Paper
from search.backends.base import Candidate, SearchBackend
from search.dense import DenseIndexUnavailable, dense_index
from search.query import ABSTRACT, ALL, KEYWORDS, TITLE, ParsedQuery, SearchFilters

log = logging.getLogger(__name__)
_SEMANTIC_FIELDS = {ALL, TITLE, ABSTRACT, KEYWORDS}
# Dense candidates fetched per wanted one when filters may reject some (categories, dates...).
_FILTERED_OVERFETCH = 5


def semantic_text(query: ParsedQuery) -> str:
    """The words and phrases that describe content (not authors, categories or dates)."""
    return " ".join(leaf.text for leaf in query.leaves() if leaf.field in _SEMANTIC_FIELDS)


class QueryVectors:
    """Whitened query vectors, remembered per artifact version (people repeat searches).

    The encoder is loaded once per process and version, in a background thread: until it is
    there, `get` answers None at once instead of making a search wait.
    """

    def __init__(self) -> None:
        self._cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._ready: set[str] = set()
        self._loading: dict[str, threading.Thread] = {}

    def ready(self, artifacts: ArtifactSet) -> bool:
        return artifacts.version in self._ready

    def load(self, artifacts: ArtifactSet) -> threading.Thread | None:
        """Start loading the encoder of ``artifacts`` unless it is loaded or loading."""
        with self._lock:
            if artifacts.version in self._ready:
                return None
            thread = self._loading.get(artifacts.version)
            if thread is None:
                thread = threading.Thread(
                    target=self._load, args=(artifacts,), name="encoder-load", daemon=True
                )
                self._loading[artifacts.version] = thread
                thread.start()
            return thread

    def _load(self, artifacts: ArtifactSet) -> None:
        started = time.perf_counter()
        try:
            artifacts.embed(["warm up"])
        except Exception:
            log.exception("could not load the query encoder of %s", artifacts.version)
            with self._lock:
                self._loading.pop(artifacts.version, None)
            return
        with self._lock:
            self._ready.add(artifacts.version)
            self._loading.pop(artifacts.version, None)
        log.info(
            "query encoder of %s ready in %.1f s", artifacts.version, time.perf_counter() - started
        )

    def wait(self, artifacts: ArtifactSet, timeout: float | None = None) -> bool:
        """Load the encoder and wait for it (benchmarks, commands); True once it is ready."""
        thread = self.load(artifacts)
        if thread is not None:
            thread.join(timeout)
        return self.ready(artifacts)

    def get(self, artifacts: ArtifactSet, text: str) -> np.ndarray | None:
        """The whitened vector of ``text``, or None while the encoder is still loading."""
        key = (artifacts.version, text)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        if not self.ready(artifacts):
            self.load(artifacts)
            return None
        vector = artifacts.embed([text])[0]
        with self._lock:
            self._cache[key] = vector
            while len(self._cache) > settings.SEARCH_QUERY_VECTOR_CACHE:
                self._cache.popitem(last=False)
        return vector


query_vectors = QueryVectors()


class Unranked(enum.Enum):
    """Why a query got no hybrid ranking."""

    NOT_APPLICABLE = "no models yet, or no content words to compare by meaning"
    WARMING_UP = "the query encoder or the dense index is still being prepared"


@dataclass(frozen=True)
class Ranking:
    """Candidates in hybrid order; `score` is the fused score."""

    hits: list[Candidate]


def rank(backend: SearchBackend, query: ParsedQuery, filters: SearchFilters) -> Ranking | Unranked:
    """The hybrid ranking of a relevance search, or why there is none."""
    text = semantic_text(query)
    artifacts = current_artifacts() if text else None
    if artifacts is None:
        return Unranked.NOT_APPLICABLE
    query_vector = query_vectors.get(artifacts, text)
    if query_vector is None:
        return Unranked.WARMING_UP
    try:
        dense = dense_index(artifacts)
    except DenseIndexUnavailable as exc:
        log.warning("hybrid ranking skipped: %s", exc)
        return Unranked.WARMING_UP
    lexical = backend.candidates(query, filters, limit=settings.SEARCH_LEXICAL_CANDIDATES)
    depth = settings.SEARCH_DENSE_CANDIDATES
    # Filters, phrases or exclusions may reject dense candidates: fetch more to keep `depth`.
    restricted = any(
        (
            query.required,
            query.exclude,
            filters.categories,
            filters.date_from,
            filters.date_to,
            filters.arxiv_ids,
        )
    )
    near_pks, _ = dense.search(query_vector, depth * (_FILTERED_OVERFETCH if restricted else 1))
    near = dict(Paper.objects.filter(pk__in=near_pks.tolist()).values_list("pk", "arxiv_id"))
    pool = list(
        dict.fromkeys(
            [c.arxiv_id for c in lexical] + [near[int(p)] for p in near_pks if int(p) in near]
        )
    )
    if not pool:
        return Ranking([])
    scored = backend.score_papers(query, filters, pool)
    # The candidates that pass the query's filters: lexical ones, then dense ones up to `depth`.
    lexical_ids = {c.arxiv_id for c in lexical}
    kept_dense = [a for a in pool if a not in lexical_ids and a in scored][:depth]
    pool = [c.arxiv_id for c in lexical if c.arxiv_id in scored] + kept_dense
    if len(pool) < 2:
        return Ranking([scored[a] for a in pool])
    pks = dict(Paper.objects.filter(arxiv_id__in=pool).values_list("arxiv_id", "pk"))
    vectors, found = dense.vectors_of([pks.get(a, -1) for a in pool])
    cosines = np.where(found, vectors @ query_vector, 0.0)
    fused = fuse(
        [scored[a].score for a in pool],
        cosines,
        weight=settings.SEARCH_FUSION_WEIGHT,
        method=settings.SEARCH_FUSION_METHOD,
    )
    all_terms = np.array([scored[a].all_terms for a in pool])
    if settings.SEARCH_ALL_WORDS_FIRST:
        order = np.lexsort((-fused, ~all_terms))
    else:
        order = np.argsort(-fused, kind="stable")
    return Ranking([Candidate(pool[i], float(fused[i]), bool(all_terms[i])) for i in order])


def warm_up(every: float = 30.0) -> None:
    """Keep the current models' query encoder loaded and their dense index mapped in this
    process, so no search waits for either.

    Runs in a daemon thread of each web process: loads at start, and again when new models
    appear (the first ones are trained minutes after a fresh install starts serving).
    """
    while True:
        artifacts = current_artifacts()
        if artifacts is not None:
            query_vectors.wait(artifacts)
            try:
                dense_index(artifacts)  # mapped now, not in a search
            except DenseIndexUnavailable as exc:
                log.warning("dense index not ready yet: %s", exc)
        time.sleep(every)
