"""The dense index: paper vectors, and the papers nearest to a vector.

``VectorStore`` holds raw encoder vectors on disk, one float16 matrix per encoder, row i holds
the paper with pk i. Raw encoder output is stored, not whitened vectors: retraining the whitening
(or the tagger) then needs no re-encoding. A row of zeros means "no vector" (encoder output has
unit length). Writes are positional, so a batch written twice (a redelivered task) leaves the
same bytes, and workers writing different rows do not interfere. Each write also appends its pks
to a journal beside the store (``<store>.pks``), which tells readers what changed since a point.

``DenseIndex`` is the whitened unit vectors of every embedded paper under the current
artifacts, searched by cosine (hybrid search, related papers, For you). Its bulk, the *base*, is
built once into ``DATA_DIR/dense/<artifacts version>-<journal offset>/`` and memory-mapped by
every process, so web workers share one copy in the page cache:

    meta.json    what was built from what (artifacts version, journal offset, sizes, kind)
    pks.npy      (n,) int64 paper pks, ascending; row i of the indexes holds paper pks[i]
    flat.faiss   faiss IndexScalarQuantizer(fp16, inner product): exact search and row access
    ivf.faiss    faiss IndexIVFScalarQuantizer(8 bit), only beyond EXACT_MAX papers: its
                 candidates are re-scored exactly from flat.faiss

A base is written to a temporary directory and renamed into place, under a file lock so one
process builds while the others keep using what they have; older bases are removed. Vectors
written after a base (the journal past its offset) form a small in-memory *delta* per process,
searched exactly and preferred over the base for papers in both; once the delta outgrows
REBUILD_FRACTION of the base (or DELTA_MAX papers), the next caller that gets the lock (usually
the enrichment worker, which refreshes after each batch) builds a new base. Files are never
modified once renamed; one that fails to open is removed and rebuilt, and if the index cannot
be had at all, DenseIndexUnavailable says why.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import faiss
import numpy as np
from django.conf import settings

from ml.artifacts import ArtifactSet
from ml.encoder import EMBEDDING_DIM
from papers.models import Paper

log = logging.getLogger(__name__)

DTYPE = np.float16
_ROW_BYTES = EMBEDDING_DIM * np.dtype(DTYPE).itemsize


def store_path(encoder_id: str) -> Path:
    return Path(settings.DATA_DIR) / "vectors" / (encoder_id.replace("/", "__") + ".f16")


class VectorStore:
    """Raw vectors of one encoder, addressed by paper primary key."""

    def __init__(self, encoder_id: str) -> None:
        self.encoder_id = encoder_id
        self.path = store_path(encoder_id)
        self.journal = self.path.with_suffix(".pks")  # every pk written, in order, int64

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
        self._log(pks)

    def _log(self, pks: Sequence[int]) -> None:
        """Append the written pks to the journal (after the vectors are on disk)."""
        with open(self.journal, "ab") as journal:
            fcntl.flock(journal, fcntl.LOCK_EX)  # writers append whole records, one at a time
            size = journal.seek(0, os.SEEK_END)
            if size % 8:  # a torn record from a writer killed mid-append
                journal.truncate(size - size % 8)
            journal.write(np.asarray(pks, dtype="<i8").tobytes())
            journal.flush()
            os.fsync(journal.fileno())

    def journal_size(self) -> int:
        """Bytes of whole records in the journal: grows with every write, never shrinks."""
        try:
            size = self.journal.stat().st_size
        except FileNotFoundError:
            return 0
        return size - size % 8

    def written_since(self, offset: int, end: int) -> np.ndarray:
        """The pks written between journal offsets ``offset`` and ``end``, unique, ascending."""
        if end <= offset:
            return np.zeros(0, dtype=np.int64)
        with open(self.journal, "rb") as journal:
            journal.seek(offset)
            data = journal.read(end - offset)
        return np.unique(np.frombuffer(data[: len(data) - len(data) % 8], dtype="<i8"))

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


# ------------------------------------------------------------------------------- dense index
FORMAT = 1
# Exact search up to this many papers; an IVF index beyond (bench/dense_scale.py chose it).
EXACT_MAX = 100_000
# IVF lists: about 2 sqrt(n) (k-means on 40 points per list, 10 iterations); probes: 1/16 of
# the lists, whose candidates (RERANK x k) are re-scored exactly (bench/dense_scale.py).
IVF_LISTS_PER_SQRT = 2.0
IVF_TRAIN_PER_LIST = 40
IVF_PROBE_FRACTION = 1 / 16
RERANK = 4
# A new base once the delta exceeds this share of the base, and at least DELTA_MIN papers; at
# most DELTA_MAX (each process holds the delta in memory: 1 KB per paper).
REBUILD_FRACTION = 0.1
DELTA_MIN = 2_000
DELTA_MAX = 50_000
BUILD_CHUNK = 65_536
BUILD_WAIT_SECONDS = 5.0  # how long a caller without any base waits for another process's build
_KEEP_VERSIONS = 2  # bases of the current artifacts and of the set before

faiss.omp_set_num_threads(1)  # one query per web worker thread; workers share the cores


class DenseIndexUnavailable(RuntimeError):
    """The dense index cannot be opened or built now (the message says why)."""


def dense_dir() -> Path:
    return Path(settings.DATA_DIR) / "dense"


def _slug(version: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "_", version)


@dataclass
class Base:
    """One built base, memory-mapped (read only)."""

    path: Path
    meta: dict
    pks: np.ndarray  # (n,) int64, ascending, memory-mapped
    flat: faiss.Index
    ivf: faiss.Index | None

    @property
    def offset(self) -> int:
        return int(self.meta["journal_offset"])

    @classmethod
    def open(cls, path: Path) -> Base:
        """Map a base; DenseIndexUnavailable if any part is missing, truncated or mismatched."""
        try:
            meta = json.loads((path / "meta.json").read_text())
            pks = np.load(path / "pks.npy", mmap_mode="r")
            flat = faiss.read_index(str(path / "flat.faiss"), faiss.IO_FLAG_MMAP_IFC)
            ivf = None
            if meta.get("kind") == "ivf":
                ivf = faiss.read_index(str(path / "ivf.faiss"), faiss.IO_FLAG_MMAP)
        except (OSError, ValueError, RuntimeError, KeyError, TypeError) as exc:
            raise DenseIndexUnavailable(f"dense index {path} is unreadable: {exc}") from exc
        n, dim = int(meta.get("n", -1)), int(meta.get("dim", -1))
        if (
            meta.get("format") != FORMAT
            or pks.shape != (n,)
            or pks.dtype != np.int64
            or flat.ntotal != n
            or flat.d != dim
            or (ivf is not None and (ivf.ntotal != n or ivf.d != dim))
        ):
            raise DenseIndexUnavailable(f"dense index {path} is inconsistent: {meta}")
        if ivf is not None:
            ivf.nprobe = int(meta["nprobe"])
        return cls(path, meta, pks, flat, ivf)

    def rows_for(self, pks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows, found) of ``pks`` in this base."""
        if not len(self.pks):
            return np.zeros(len(pks), dtype=np.int64), np.zeros(len(pks), dtype=bool)
        rows = np.minimum(np.searchsorted(self.pks, pks), len(self.pks) - 1)
        return rows, self.pks[rows] == pks

    def reconstruct(self, rows: np.ndarray) -> np.ndarray:
        if not len(rows):
            return np.zeros((0, self.flat.d), dtype=np.float32)
        return self.flat.reconstruct_batch(np.asarray(rows, dtype=np.int64))

    def search(
        self, query: np.ndarray, k: int, exclude: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cosines) of the ``k`` nearest rows, best first, leaving out rows ``exclude``."""
        k = min(k, len(self.pks) - len(exclude))
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        excluded = (
            faiss.IDSelectorBatch(np.asarray(exclude, dtype=np.int64)) if len(exclude) else None
        )
        selector = faiss.IDSelectorNot(excluded) if excluded is not None else None
        if self.ivf is None:
            params = faiss.SearchParameters(sel=selector) if selector else None
            sims, rows = self.flat.search(query, k, params=params)
            rows, sims = rows[0], sims[0]
        else:
            params = faiss.SearchParametersIVF(sel=selector, nprobe=self.ivf.nprobe)
            _, rows = self.ivf.search(query, k * RERANK, params=params)
            rows = rows[0][rows[0] >= 0]
            sims = self.reconstruct(rows) @ query[0]
            order = np.argsort(-sims, kind="stable")[:k]
            rows, sims = rows[order], sims[order]
        keep = rows >= 0
        return rows[keep], sims[keep]


class DenseIndex:
    """The whitened unit vectors of the embedded papers: a mapped base plus a small delta."""

    def __init__(
        self,
        base: Base | None,
        delta_pks: np.ndarray | None = None,
        delta: np.ndarray | None = None,
    ) -> None:
        self.base = base
        self.dim = base.flat.d if base is not None else (delta.shape[1] if delta is not None else 0)
        self.delta_pks = np.zeros(0, np.int64) if delta_pks is None else delta_pks  # ascending
        self.delta = np.zeros((0, self.dim), np.float32) if delta is None else delta
        if base is not None and len(self.delta_pks):
            rows, found = base.rows_for(self.delta_pks)
            self._superseded = rows[found]  # base rows whose paper has a newer vector
        else:
            self._superseded = np.zeros(0, dtype=np.int64)

    @cached_property
    def pks(self) -> np.ndarray:
        """(n,) pks of the papers with a vector, ascending."""
        base = self.base.pks if self.base is not None else np.zeros(0, np.int64)
        if not len(self.delta_pks):
            return base
        return np.union1d(base, self.delta_pks)

    def __len__(self) -> int:
        return len(self.pks)

    @property
    def vectors(self) -> _Rows:
        """Row access: ``index.vectors[rows]`` is float32 (len(rows), dim), rows of ``pks``."""
        return _Rows(self)

    def row_of(self, pk: int) -> int | None:
        rows = self.rows_of([pk])
        return int(rows[0]) if len(rows) else None

    def rows_of(self, pks: Iterable[int]) -> np.ndarray:
        """Rows (into ``pks``) of the given papers that have a vector, in the order given."""
        pks = np.fromiter(pks, dtype=np.int64)
        if not len(self.pks):
            return pks[:0]
        rows = np.minimum(np.searchsorted(self.pks, pks), len(self.pks) - 1)
        return rows[self.pks[rows] == pks]

    def vectors_of(self, pks: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
        """(whitened unit vectors float32 (len(pks), dim), found mask); zero rows if not found."""
        pks = np.fromiter(pks, dtype=np.int64)
        out = np.zeros((len(pks), self.dim), dtype=np.float32)
        found = np.zeros(len(pks), dtype=bool)
        if self.base is not None and len(pks):
            rows, found = self.base.rows_for(pks)
            out[found] = self.base.reconstruct(rows[found])
        if len(self.delta_pks) and len(pks):
            at = np.minimum(np.searchsorted(self.delta_pks, pks), len(self.delta_pks) - 1)
            newer = self.delta_pks[at] == pks
            out[newer] = self.delta[at[newer]]
            found |= newer
        return out, found

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` papers nearest to ``query`` (a whitened unit vector): (pks, cosines),
        best first."""
        k = int(k)
        query = np.asarray(query, dtype=np.float32)
        pks, sims = np.zeros(0, np.int64), np.zeros(0, np.float32)
        if k <= 0:
            return pks, sims
        if self.base is not None:
            rows, sims = self.base.search(query, k, self._superseded)
            pks = np.asarray(self.base.pks[rows], dtype=np.int64)
        if len(self.delta_pks):
            delta_sims = self.delta @ query
            top = np.argpartition(-delta_sims, min(k, len(delta_sims)) - 1)[:k]
            pks = np.concatenate([pks, self.delta_pks[top]])
            sims = np.concatenate([sims, delta_sims[top]])
            order = np.argsort(-sims, kind="stable")[:k]
            pks, sims = pks[order], sims[order]
        return pks, sims.astype(np.float32)


class _Rows:
    """``DenseIndex.vectors``: rows of ``index.pks``, read on demand from the mapped base."""

    def __init__(self, index: DenseIndex) -> None:
        self.index = index
        self.shape = (len(index.pks), index.dim)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows) -> np.ndarray:
        pks = self.index.pks[rows]
        vectors, _ = self.index.vectors_of(np.atleast_1d(pks))
        return vectors if np.ndim(pks) else vectors[0]


# ------------------------------------------------------------------------------------- build
def _ivf_shape(n: int) -> tuple[int, int]:
    lists = max(1, int(IVF_LISTS_PER_SQRT * np.sqrt(n)))
    return lists, max(1, int(np.ceil(lists * IVF_PROBE_FRACTION)))


def write_base(
    root: Path,
    name: str,
    pks: np.ndarray,
    chunks: Iterable[np.ndarray],
    dim: int,
    meta: dict,
    train: np.ndarray | None = None,
) -> Path:
    """Write a base for ``pks`` (ascending) from whitened unit vectors given in order, in chunks,
    into ``root/name`` (via a temporary sibling renamed into place); returns its path.

    Beyond EXACT_MAX papers an IVF index is trained on ``train`` (a sample of the vectors)."""
    n = len(pks)
    kind = "ivf" if n > EXACT_MAX else "exact"
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-{name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        flat = faiss.IndexScalarQuantizer(
            dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
        )
        ivf = None
        if kind == "ivf":
            if train is None or len(train) < 2:
                raise ValueError("an IVF base needs training vectors")
            lists, nprobe = _ivf_shape(n)
            quantizer = faiss.IndexFlatIP(dim)
            ivf = faiss.IndexIVFScalarQuantizer(
                quantizer, dim, lists, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
            )
            ivf.cp.niter = 10
            ivf.train(np.ascontiguousarray(train[: lists * IVF_TRAIN_PER_LIST], dtype=np.float32))
            meta = {**meta, "lists": lists, "nprobe": nprobe}
        added = 0
        for chunk in chunks:
            chunk = np.ascontiguousarray(chunk, dtype=np.float32)
            flat.add(chunk)
            if ivf is not None:
                ivf.add(chunk)
            added += len(chunk)
        if added != n:
            raise ValueError(f"got {added} vectors for {n} pks")
        np.save(tmp / "pks.npy", np.asarray(pks, dtype=np.int64))
        faiss.write_index(flat, str(tmp / "flat.faiss"))
        if ivf is not None:
            faiss.write_index(ivf, str(tmp / "ivf.faiss"))
        meta = {**meta, "format": FORMAT, "kind": kind, "n": n, "dim": dim}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
        final = root / name
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        return final
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _build(artifacts: ArtifactSet, store: VectorStore) -> Path:
    """Build a base from the store's vectors of every paper embedded with the encoder, or
    written to the journal before its offset (a paper whose vector is stored but not yet
    marked in the database is not lost between base and delta). The caller holds the build
    lock, so any temporary directory left is a crashed build's."""
    for stale in dense_dir().glob(".tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    started = time.monotonic()
    offset = store.journal_size()  # before reading rows: later writes go to the delta
    marked = np.fromiter(
        Paper.objects.filter(embedded_with=artifacts.encoder_id)
        .values_list("pk", flat=True)
        .iterator(chunk_size=BUILD_CHUNK),
        dtype=np.int64,
    )
    pks = np.union1d(marked, store.written_since(0, offset))
    found = np.zeros(len(pks), dtype=bool)
    for start in range(0, len(pks), BUILD_CHUNK):
        _, found[start : start + BUILD_CHUNK] = store.read(pks[start : start + BUILD_CHUNK])
    pks = pks[found]

    def chunks() -> Iterator[np.ndarray]:
        for start in range(0, len(pks), BUILD_CHUNK):
            raw, _ = store.read(pks[start : start + BUILD_CHUNK])
            yield artifacts.whiten(raw)

    train = None
    if len(pks) > EXACT_MAX:
        lists, _ = _ivf_shape(len(pks))
        sample = np.random.default_rng(0).choice(
            len(pks), size=min(len(pks), lists * IVF_TRAIN_PER_LIST), replace=False
        )
        train = artifacts.whiten(store.read(pks[np.sort(sample)])[0])
    dim = artifacts.whiten(np.ones((1, EMBEDDING_DIM), dtype=np.float32)).shape[1]
    meta = {
        "artifacts_version": artifacts.version,
        "encoder_id": artifacts.encoder_id,
        "journal_offset": offset,
    }
    path = write_base(
        dense_dir(), f"{_slug(artifacts.version)}-{offset:012d}", pks, chunks(), dim, meta, train
    )
    meta = json.loads((path / "meta.json").read_text())
    meta["seconds"] = round(time.monotonic() - started, 3)
    log.info("dense index built: %s", meta)
    return path


def _bases(slug: str) -> list[Path]:
    """Complete bases of an artifacts version, newest (largest journal offset) first."""
    try:
        names = os.listdir(dense_dir())
    except FileNotFoundError:
        return []
    pattern = re.compile(re.escape(slug) + r"-(\d{12})$")
    return sorted(
        (dense_dir() / name for name in names if pattern.match(name)),
        key=lambda p: p.name,
        reverse=True,
    )


def _prune(slug: str) -> None:
    """Keep the newest base of this version and of the one version before; drop the rest."""
    root = dense_dir()
    keep = {_bases(slug)[0].name} if _bases(slug) else set()
    others = sorted(
        (p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", slug + "-"))),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    keep |= {p.name for p in others[: _KEEP_VERSIONS - 1]}
    for path in root.iterdir():
        if path.is_dir() and path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)  # mapped files stay valid until unmapped


@contextlib.contextmanager
def _build_lock(wait: float) -> Iterator[bool]:
    """Hold the build lock (yields True), or yield False if another process holds it for
    longer than ``wait`` seconds."""
    dense_dir().mkdir(parents=True, exist_ok=True)
    with open(dense_dir() / ".lock", "a+") as handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.05)
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# ------------------------------------------------------------------------------ per process
_lock = threading.Lock()
_state: dict[str, object] = {}


def _open_newest(slug: str) -> Base | None:
    """The newest base that opens; bases that do not are removed (under the build lock)."""
    for path in _bases(slug):
        try:
            return Base.open(path)
        except DenseIndexUnavailable as exc:
            if not path.exists():
                continue  # removed by a newer build while we listed
            log.warning("%s; removing it to rebuild", exc)
            with _build_lock(BUILD_WAIT_SECONDS) as locked:
                if locked:
                    shutil.rmtree(path, ignore_errors=True)
    return None


def _needs_rebuild(base: Base | None, delta_size: int) -> bool:
    if base is None:
        return True
    return delta_size > min(max(DELTA_MIN, REBUILD_FRACTION * len(base.pks)), DELTA_MAX)


def dense_index(artifacts: ArtifactSet, wait: float | None = None) -> DenseIndex:
    """The dense index for ``artifacts``, cached per process.

    Each call costs a directory listing and a stat: a newer base is mapped when one appears,
    vectors written since are whitened into the delta, and a base is built when there is none
    (waiting up to ``wait`` seconds, BUILD_WAIT_SECONDS by default, for another process's build)
    or the delta has grown too big (only if no other process is building). Raises
    DenseIndexUnavailable when no base can be had."""
    wait = BUILD_WAIT_SECONDS if wait is None else wait
    store = VectorStore(artifacts.encoder_id)
    slug = _slug(artifacts.version)
    with _lock:
        index = _refresh(artifacts, store, slug)
        if not _needs_rebuild(index.base, len(index.delta_pks)):
            return index
        with _build_lock(wait if index.base is None else 0.0) as locked:
            if locked:
                # Another process may have built while we waited for the lock.
                index = _refresh(artifacts, store, slug)
                if _needs_rebuild(index.base, len(index.delta_pks)):
                    try:
                        _build(artifacts, store)
                    except (OSError, ValueError, RuntimeError) as exc:
                        if index.base is None:
                            raise DenseIndexUnavailable(
                                f"cannot build the dense index: {exc}"
                            ) from exc
                        log.warning("dense index not rebuilt, still using the last: %s", exc)
                    else:
                        _prune(slug)
                        index = _refresh(artifacts, store, slug)
        if index.base is None:
            raise DenseIndexUnavailable(
                "the dense index is being built by another process"
                if not locked
                else "the dense index could not be opened after building it"
            )
        return index


def _refresh(artifacts: ArtifactSet, store: VectorStore, slug: str) -> DenseIndex:
    """The cached index, updated to the newest base and the journal's end."""
    index: DenseIndex | None = _state.get("index")  # type: ignore[assignment]
    newest = _bases(slug)
    key = (str(dense_dir()), slug)
    if (
        index is None
        or _state.get("key") != key
        or (newest and (index.base is None or newest[0] != index.base.path))
    ):
        base = _open_newest(slug)
        index = DenseIndex(base) if base is not None else None
        _state.update(key=key, index=index, consumed=base.offset if base else 0)
        if index is None:
            return DenseIndex(None, delta=np.zeros((0, 0), np.float32))
    end = store.journal_size()
    consumed = int(_state["consumed"])  # type: ignore[arg-type]
    if end > consumed:
        new = store.written_since(consumed, end)
        raw, found = store.read(new)
        new = new[found]
        vectors = artifacts.whiten(raw[found])
        pks = np.concatenate([index.delta_pks, new])
        rows = np.concatenate([index.delta, vectors.astype(np.float32)])
        pks, last = np.unique(pks[::-1], return_index=True)  # the latest read of each pk wins
        index = DenseIndex(index.base, pks, rows[::-1][last])
        _state.update(index=index, consumed=end)
    return index
