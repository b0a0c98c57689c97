"""Embeddings of benchmark corpora cached under /work/cache (outside any repo), keyed by variant.

Encoding is the slow step (tens of texts/s on 2 shared cores), so every benchmark reuses one
cache. Vectors are written in chunks, so an interrupted job resumes where it stopped; a tqdm bar
on stderr shows the encoding progress. Two processes may fill one entry at once: every file is
written under a name of its own process (and thread) and renamed into place, and a process that
finds the chunks gone (the other one joined them) reads the joined file.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ml.encoder import TextEncoder

CACHE_DIR = Path(os.environ.get("ML_BENCH_CACHE", "/work/cache")) / "embeddings"
CHUNK = 512


def _key(texts: Sequence[str]) -> str:
    digest = hashlib.sha1()
    for text in texts:
        digest.update(text.encode("utf-8", "replace"))
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def cached_embeddings(
    name: str, texts: Sequence[str], encoder: TextEncoder, verbose: bool = True
) -> np.ndarray:
    """Vectors for ``texts`` from the cache, encoding only the chunks not cached yet."""
    variant = encoder.encoder_id_.replace("/", "_")
    folder = CACHE_DIR / f"{name}-{variant}-{_key(texts)}"
    final = folder / "all.npy"
    if final.exists():
        return np.load(final)
    folder.mkdir(parents=True, exist_ok=True)
    starts = range(0, len(texts), CHUNK)
    done = sum(min(CHUNK, len(texts) - s) for s in starts if (folder / f"{s:08d}.npy").exists())
    parts = []
    with tqdm(
        total=len(texts), initial=done, desc=name, unit="text", disable=not verbose, file=sys.stderr
    ) as progress:
        for start in starts:
            part = folder / f"{start:08d}.npy"
            if not part.exists() and not final.exists():
                vectors = encoder.encode(list(texts[start : start + CHUNK]))
                _save(part, vectors)
                progress.update(len(vectors))
            try:
                parts.append(np.load(part))
            except FileNotFoundError:  # another filler joined the chunks meanwhile
                vectors = np.load(final)
                break
        else:
            vectors = np.concatenate(parts) if parts else np.zeros((0, 384), np.float32)
            _save(final, vectors)
    for start in starts:
        (folder / f"{start:08d}.npy").unlink(missing_ok=True)
    return vectors


def _save(path: Path, array: np.ndarray) -> None:
    """Write ``path`` whole or not at all, under a temporary name of this process's own."""
    tmp = path.with_name(f"{path.stem}.{os.getpid()}-{threading.get_ident()}.tmp.npy")
    np.save(tmp, array)
    tmp.replace(path)
