"""Embeddings of benchmark corpora cached under /work/cache (outside any repo), keyed by variant.

Encoding is the slow step (tens of texts/s on 2 shared cores), so every benchmark reuses one
cache. Vectors are written in chunks, so an interrupted job resumes where it stopped; a tqdm bar
on stderr shows the encoding progress.
"""

from __future__ import annotations

import hashlib
import os
import sys
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
            if not part.exists():
                vectors = encoder.encode(list(texts[start : start + CHUNK]))
                np.save(part.with_suffix(".tmp.npy"), vectors)
                part.with_suffix(".tmp.npy").rename(part)
                progress.update(len(vectors))
            parts.append(np.load(part))
    vectors = np.concatenate(parts) if parts else np.zeros((0, 384), np.float32)
    np.save(final, vectors)
    for part in folder.glob("0*.npy"):
        part.unlink()
    return vectors
