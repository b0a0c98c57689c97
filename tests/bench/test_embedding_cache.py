"""bench/embedding_cache.py: encode once, and two fillers of one entry at a time."""

import threading

import numpy as np

from bench import embedding_cache

TEXTS = ["x", "y", "z", "w", "v"]


class FakeEncoder:
    """Row i of a text's vector is its position in TEXTS (so joined chunks can be checked)."""

    encoder_id_ = "fake/fp32/seq8"

    def __init__(self, barrier: threading.Barrier | None = None) -> None:
        self.calls = 0
        self.barrier = barrier

    def encode(self, texts):
        self.calls += 1
        if self.barrier is not None and self.calls == 1:
            self.barrier.wait(timeout=10)  # both fillers are now encoding the same first chunk
        return np.array([[TEXTS.index(t), 1.0, 0.0] for t in texts], dtype=np.float32)


def expected() -> np.ndarray:
    return np.array([[i, 1.0, 0.0] for i in range(len(TEXTS))], dtype=np.float32)


def test_cached_embeddings_encode_once(tmp_path, monkeypatch):
    monkeypatch.setattr(embedding_cache, "CACHE_DIR", tmp_path)
    monkeypatch.setattr(embedding_cache, "CHUNK", 2)
    encoder = FakeEncoder()
    first = embedding_cache.cached_embeddings("t", TEXTS[:3], encoder, verbose=False)
    again = embedding_cache.cached_embeddings("t", TEXTS[:3], encoder, verbose=False)
    assert np.array_equal(first, expected()[:3]) and np.array_equal(first, again)
    assert encoder.calls == 2  # two chunks, then read back from the cache


def test_two_fillers_of_one_entry_both_get_every_vector(tmp_path, monkeypatch):
    monkeypatch.setattr(embedding_cache, "CACHE_DIR", tmp_path)
    monkeypatch.setattr(embedding_cache, "CHUNK", 2)
    barrier = threading.Barrier(2)
    results, errors = {}, []

    def fill(name):
        try:
            results[name] = embedding_cache.cached_embeddings(
                "t", TEXTS, FakeEncoder(barrier), verbose=False
            )
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=fill, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(results) == ["a", "b"]
    for vectors in results.values():
        assert np.array_equal(vectors, expected())
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert len(left) == 1 and left[0].endswith("/all.npy"), left  # no chunk or temporary file
