"""Paper vectors on disk: one float16 matrix per encoder, row i holds the paper with pk i.

Raw encoder output is stored, not whitened vectors: retraining the whitening (or the tagger)
then needs no re-encoding, and the current whitening is applied when vectors are read. A row of
zeros means "no vector" (encoder output has unit length). Writes are positional, so a batch that
is written twice (a redelivered task) leaves the same bytes, and workers writing different rows
do not interfere. The file lives in DATA_DIR, which every process of a deployment shares.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from django.conf import settings

from ml.encoder import EMBEDDING_DIM

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
