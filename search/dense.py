"""The dense index: paper vectors, and the nearest papers to a vector.

Two layers. ``VectorStore``: raw encoder vectors on disk, one float16 matrix per encoder, row i
holds the paper with pk i. ``DenseIndex``: the whitened unit vectors of every embedded paper
under the current artifacts, searched by cosine (search.hybrid, related papers, For you).

Raw encoder output is stored, not whitened vectors: retraining the whitening (or the tagger)
then needs no re-encoding, and the current whitening is applied when vectors are read. A row of
zeros means "no vector" (encoder output has unit length). Writes are positional, so a batch that
is written twice (a redelivered task) leaves the same bytes, and workers writing different rows
do not interfere. The file lives in DATA_DIR, which every process of a deployment shares.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from django.conf import settings

from ml.artifacts import ArtifactSet
from ml.encoder import EMBEDDING_DIM
from papers.models import Paper

DTYPE = np.float16
_ROW_BYTES = EMBEDDING_DIM * np.dtype(DTYPE).itemsize


def store_path(encoder_id: str) -> Path:
    return Path(settings.DATA_DIR) / "vectors" / (encoder_id.replace("/", "__") + ".f16")


class VectorStore:
    """Raw vectors of one encoder, addressed by paper primary key."""

    def __init__(self, encoder_id: str) -> None:
        self.encoder_id = encoder_id
        self.path = store_path(encoder_id)

    def write(self, pks: Sequence[int], vectors: np.ndarray) -> None:
        """Store ``vectors[i]`` as the vector of paper ``pks[i]`` and flush it to disk."""
        vectors = np.asarray(vectors, dtype=DTYPE)
        if vectors.shape != (len(pks), EMBEDDING_DIM):
            raise ValueError(f"need one {EMBEDDING_DIM}-d vector per paper")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            for pk, row in zip(pks, vectors, strict=True):
                os.pwrite(fd, row.tobytes(), int(pk) * _ROW_BYTES)
            os.fsync(fd)
        finally:
            os.close(fd)

    def matrix(self) -> np.ndarray:
        """All rows as a read-only (n, 384) float16 view of the file (empty if none)."""
        if not self.path.exists():
            return np.zeros((0, EMBEDDING_DIM), dtype=DTYPE)
        rows = self.path.stat().st_size // _ROW_BYTES
        if rows == 0:
            return np.zeros((0, EMBEDDING_DIM), dtype=DTYPE)
        return np.memmap(self.path, dtype=DTYPE, mode="r", shape=(rows, EMBEDDING_DIM))

    def read(self, pks: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """(vectors as float32, found mask) for ``pks``; missing papers get zero rows."""
        matrix = self.matrix()
        pks = np.asarray(pks, dtype=np.int64)
        out = np.zeros((len(pks), EMBEDDING_DIM), dtype=np.float32)
        inside = pks < len(matrix)
        out[inside] = matrix[pks[inside]]
        found = np.abs(out).sum(axis=1) > 0
        return out, found

    def version_key(self) -> tuple[int, int] | None:
        """Changes whenever the file is written: (size, mtime_ns), or None without a file."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return stat.st_size, stat.st_mtime_ns


# ------------------------------------------------------------------------------- dense index
REFRESH_SECONDS = 30.0
SLOW_BUILD_SECONDS = 0.2
_lock = threading.Lock()
_cached: dict[str, object] = {}


class DenseIndex:
    """Whitened unit vectors of the embedded papers, searched by cosine."""

    def __init__(self, pks: np.ndarray, vectors: np.ndarray) -> None:
        self.pks = pks  # (n,) paper primary keys, ascending
        self.vectors = vectors  # (n, k) whitened unit vectors, float32

    def __len__(self) -> int:
        return len(self.pks)

    def row_of(self, pk: int) -> int | None:
        rows = self.rows_of([pk])
        return int(rows[0]) if len(rows) else None

    def rows_of(self, pks: Iterable[int]) -> np.ndarray:
        """Rows of the given papers that have a vector, in the order given."""
        pks = np.asarray(list(pks), dtype=np.int64)
        if not len(self.pks):
            return pks[:0]
        rows = np.minimum(np.searchsorted(self.pks, pks), len(self.pks) - 1)
        return rows[self.pks[rows] == pks]

    def vectors_of(self, pks: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
        """(whitened unit vectors float32 (len(pks), k), found mask); zero rows if not found."""
        pks = np.asarray(list(pks), dtype=np.int64)
        out = np.zeros((len(pks), self.vectors.shape[1]), dtype=np.float32)
        if not len(self.pks) or not len(pks):
            return out, np.zeros(len(pks), dtype=bool)
        rows = np.minimum(np.searchsorted(self.pks, pks), len(self.pks) - 1)
        found = self.pks[rows] == pks
        out[found] = self.vectors[rows[found]]
        return out, found

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` papers nearest to ``query`` (a whitened unit vector): (pks, cosines),
        best first."""
        k = min(int(k), len(self.pks))
        if k <= 0:
            return self.pks[:0], np.zeros(0, dtype=np.float32)
        sims = self.vectors @ np.asarray(query, dtype=np.float32)
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.argsort(-sims[top], kind="stable")]
        return self.pks[top], sims[top]


def dense_index(artifacts: ArtifactSet) -> DenseIndex:
    """The dense index for ``artifacts``, cached per process and rebuilt when the vector store
    or the artifacts change (while enrichment keeps writing, a slow build is reused for up to
    REFRESH_SECONDS)."""
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
        value = DenseIndex(pks[found], artifacts.whiten(raw[found]).astype(np.float32))
        now = time.monotonic()
        _cached.update(value=value, key=key, file=file_key, built=now, took=now - started)
        return value
