"""Whitened vectors of every embedded paper, kept in memory per process for similarity search.

Built from the vector store and the current whitening (73k papers: about 75 MB, well under a
second); rebuilt when either changes. While enrichment keeps writing, a build that took long is
reused for up to REFRESH_SECONDS instead of being redone after every batch.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from ml.artifacts import ArtifactSet
from papers.enrichment.vectors import VectorStore
from papers.models import Paper

REFRESH_SECONDS = 30.0
SLOW_BUILD_SECONDS = 0.2
_lock = threading.Lock()
_cached: dict[str, object] = {}


@dataclass(frozen=True)
class CorpusVectors:
    pks: np.ndarray  # (n,) paper primary keys, ascending
    vectors: np.ndarray  # (n, k) whitened unit vectors, float32

    def row_of(self, pk: int) -> int | None:
        rows = self.rows_of([pk])
        return int(rows[0]) if len(rows) else None

    def rows_of(self, pks) -> np.ndarray:
        """Rows of the given papers that have a vector, in the order given."""
        pks = np.asarray(list(pks), dtype=np.int64)
        rows = np.minimum(np.searchsorted(self.pks, pks), max(len(self.pks) - 1, 0))
        if not len(self.pks):
            return rows[:0]
        return rows[self.pks[rows] == pks]


def corpus_vectors(artifacts: ArtifactSet) -> CorpusVectors:
    store = VectorStore(artifacts.encoder_id)
    key = (str(store.path), artifacts.version)
    with _lock:
        cached = _cached.get("value")
        age = time.monotonic() - _cached.get("built", 0.0)  # type: ignore[operator]
        fresh = _cached.get("took", 0.0) > SLOW_BUILD_SECONDS and age < REFRESH_SECONDS  # type: ignore[operator]
        if (
            cached is not None
            and _cached.get("key") == key
            and (fresh or _cached.get("file") == store.version_key())
        ):
            return cached  # type: ignore[return-value]
        started = time.monotonic()
        file_key = store.version_key()
        pks = np.array(
            sorted(
                Paper.objects.filter(embedded_with=artifacts.encoder_id).values_list(
                    "pk", flat=True
                )
            ),
            dtype=np.int64,
        )
        raw, found = store.read(pks)
        value = CorpusVectors(pks[found], artifacts.whiten(raw[found]).astype(np.float32))
        now = time.monotonic()
        _cached.update(value=value, key=key, file=file_key, built=now, took=now - started)
        return value
