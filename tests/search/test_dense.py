"""The dense index: exact nearest papers, a base shared by processes, refresh, broken files."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ml.artifacts import ArtifactSet
from ml.encoder import EMBEDDING_DIM
from ml.whitening import Whitening
from papers.models import Category, Paper
from search import dense
from search.dense import Base, DenseIndexUnavailable, VectorStore, dense_index, write_base

pytestmark = pytest.mark.django_db
ENCODER = "test/fp32/seq256"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def artifacts():
    rng = np.random.default_rng(1)
    whitening = Whitening(beta=0.0, gamma=0.25, n_components=32)
    whitening.fit(rng.normal(size=(500, EMBEDDING_DIM)).astype(np.float32))
    return ArtifactSet("fp32", ENCODER, whitening, keywords=None, tagger=None, fit_id="fit1")


def clustered(n, dim, seed, centres=20, spread=0.35):
    """Unit vectors around a few centres, like papers around topics."""
    rng = np.random.default_rng(seed)
    middle = rng.normal(size=(centres, dim))
    out = middle[rng.integers(0, centres, n)] + spread * rng.normal(size=(n, dim))
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def add_papers(n, seed=0):
    """``n`` embedded papers with stored raw vectors; returns their pks and raw vectors."""
    category, _ = Category.objects.get_or_create(
        code="cs.LG", defaults={"name": "ML", "group": "cs"}
    )
    start = Paper.objects.count()
    papers = Paper.objects.bulk_create(
        Paper(
            arxiv_id=f"2601.{start + i:05d}", title=f"paper {start + i}", primary_category=category
        )
        for i in range(n)
    )
    pks = [p.pk for p in papers]
    raw = clustered(n, EMBEDDING_DIM, seed)
    VectorStore(ENCODER).write(pks, raw)
    Paper.objects.filter(pk__in=pks).update(embedded_with=ENCODER)
    return np.array(pks), raw


def exact_top(vectors, pks, query, k):
    sims = vectors @ query
    order = np.argsort(-sims, kind="stable")[:k]
    return pks[order], sims[order]


def test_search_returns_the_exact_nearest_papers_best_first(artifacts):
    pks, raw = add_papers(300)
    whitened = artifacts.whiten(raw)
    index = dense_index(artifacts)

    for i in (0, 17, 299):
        expected, expected_sims = exact_top(whitened, pks, whitened[i], 10)
        found, sims = index.search(whitened[i], 10)
        assert len(expected) == 10
        assert found.tolist() == expected.tolist()
        np.testing.assert_allclose(sims, expected_sims, atol=2e-3)
        assert found[0] == pks[i]  # a paper is nearest to itself


def test_vectors_of_gives_whitened_vectors_and_a_found_mask(artifacts):
    pks, raw = add_papers(50)
    index = dense_index(artifacts)

    vectors, found = index.vectors_of([pks[3], 10**9, pks[0]])
    assert found.tolist() == [True, False, True]
    np.testing.assert_allclose(vectors[[0, 2]], artifacts.whiten(raw[[3, 0]]), atol=2e-3)
    assert not vectors[1].any()
    assert index.pks.tolist() == sorted(pks.tolist())
    assert index.row_of(10**9) is None
    np.testing.assert_allclose(index.vectors[index.row_of(pks[3])], vectors[0])


def test_new_vectors_are_searchable_after_a_refresh_without_rebuilding_the_base(artifacts):
    add_papers(100)
    first = dense_index(artifacts)
    pks, raw = add_papers(5, seed=7)

    index = dense_index(artifacts)
    assert index.base.path == first.base.path  # five new papers do not rebuild the base
    query = artifacts.whiten(raw[:1])[0]
    found, _ = index.search(query, 1)
    assert found.tolist() == [pks[0]]
    assert set(pks.tolist()) <= set(index.pks.tolist())
    assert index.vectors_of(pks)[1].all()


def test_a_rewritten_vector_replaces_the_one_in_the_base(artifacts):
    pks, raw = add_papers(100)
    dense_index(artifacts)
    VectorStore(ENCODER).write([pks[5]], raw[60:61])  # paper 5 re-embedded, now like paper 60

    index = dense_index(artifacts)
    found, sims = index.search(artifacts.whiten(raw[60:61])[0], 3)
    assert {pks[5], pks[60]} <= set(found[:2].tolist())
    assert len(set(found.tolist())) == 3  # paper 5 once, with its new vector
    np.testing.assert_allclose(
        index.vectors_of([pks[5]])[0], artifacts.whiten(raw[60:61]), atol=2e-3
    )


def test_a_grown_delta_is_folded_into_a_new_base_and_the_old_one_removed(artifacts, monkeypatch):
    monkeypatch.setattr(dense, "DELTA_MIN", 10)
    add_papers(50)
    old = dense_index(artifacts).base.path
    pks, _ = add_papers(30, seed=3)

    index = dense_index(artifacts)
    assert index.base.path != old
    assert not old.exists()
    assert not len(index.delta_pks)
    assert set(pks.tolist()) <= set(index.base.pks.tolist())


def test_new_artifacts_get_their_own_base(artifacts):
    add_papers(40)
    old = dense_index(artifacts)
    refit = ArtifactSet("fp32", ENCODER, artifacts.whitening, None, None, fit_id="fit2")

    new = dense_index(refit)
    assert new.base.path != old.base.path
    assert (
        json.loads((new.base.path / "meta.json").read_text())["artifacts_version"] == refit.version
    )


def test_a_truncated_base_file_is_rebuilt(artifacts):
    pks, raw = add_papers(80)
    path = dense_index(artifacts).base.path
    flat = path / "flat.faiss"
    flat.write_bytes(flat.read_bytes()[:1000])
    with pytest.raises(DenseIndexUnavailable):
        Base.open(path)
    dense._state.clear()  # a process starting now

    index = dense_index(artifacts)
    found, _ = index.search(artifacts.whiten(raw[:1])[0], 1)
    assert found.tolist() == [pks[0]]


def test_garbage_metadata_is_a_clear_error(tmp_path):
    write_base(tmp_path, "b", np.arange(3), [clustered(3, 8, 0)], 8, {"journal_offset": 0})
    (tmp_path / "b" / "meta.json").write_text("{not json")
    with pytest.raises(DenseIndexUnavailable, match="unreadable"):
        Base.open(tmp_path / "b")
    (tmp_path / "b" / "meta.json").write_text(
        json.dumps({"format": dense.FORMAT, "n": 4, "dim": 8})
    )
    with pytest.raises(DenseIndexUnavailable, match="inconsistent"):
        Base.open(tmp_path / "b")


def test_a_failed_build_raises_dense_index_unavailable(artifacts, monkeypatch):
    add_papers(10)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(dense, "write_base", disk_full)
    with pytest.raises(DenseIndexUnavailable, match="No space left"):
        dense_index(artifacts)


def test_a_caller_without_a_base_gives_up_while_another_process_builds(artifacts):
    add_papers(10)
    dense.dense_dir().mkdir(parents=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl,sys,time; f=open(sys.argv[1],'a'); "
            "fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(30)",
            str(dense.dense_dir() / ".lock"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(DenseIndexUnavailable, match="another process"):
            dense_index(artifacts, wait=0.2)
    finally:
        holder.kill()
        holder.wait()


def test_the_ivf_path_finds_what_exact_search_finds(tmp_path, monkeypatch):
    monkeypatch.setattr(dense, "EXACT_MAX", 1000)
    n, dim = 6000, 32
    vectors = clustered(n, dim, seed=5, centres=60, spread=0.5)
    pks = np.arange(n) * 3 + 1
    chunks = [vectors[i : i + 1000] for i in range(0, n, 1000)]
    write_base(tmp_path, "ivf", pks, chunks, dim, {"journal_offset": 0}, train=vectors)
    base = Base.open(tmp_path / "ivf")
    assert base.ivf is not None
    index = dense.DenseIndex(base)
    rng = np.random.default_rng(6)
    queries = vectors[rng.choice(n, 100)] + 0.1 * rng.normal(size=(100, dim))  # new papers
    queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)

    hits = 0
    for query in queries:
        expected, _ = exact_top(vectors, pks, query, 10)
        found, _ = index.search(query, 10)
        hits += len(set(found.tolist()) & set(expected.tolist()))
    assert hits / (10 * len(queries)) >= 0.95

    # A paper re-embedded since the base: found once, by its new vector.
    moved = dense.DenseIndex(base, pks[:1], queries[:1])
    found, sims = moved.search(queries[0], 10)
    assert found[0] == pks[0] and sims[0] == pytest.approx(1.0, abs=1e-5)
    assert len(set(found.tolist())) == 10


SMAPS_CHILD = """
import json, os, sys
import django
django.setup()
import numpy as np
from search.dense import Base, DenseIndex

base = Base.open(__import__("pathlib").Path(sys.argv[1]))
index = DenseIndex(base)
for i in range(20):
    index.search(index.vectors[i], 10)
mapped = {}
name = None
for line in open("/proc/self/smaps"):
    parts = line.split()
    if "-" in parts[0] and len(parts) >= 5:
        name = parts[5] if len(parts) >= 6 else ""
    elif name and name.startswith(sys.argv[1]) and parts[0].endswith(":") and parts[-1] == "kB":
        mapped.setdefault(os.path.basename(name), {}).setdefault(parts[0][:-1], 0)
        mapped[os.path.basename(name)][parts[0][:-1]] += int(parts[1])
print(json.dumps(mapped))
"""


def test_two_processes_share_one_mapped_copy_of_the_vectors(artifacts, settings):
    add_papers(2000)
    index = dense_index(artifacts)
    for i in range(20):  # touch the whole file in this process too
        index.search(index.vectors[i], 10)
    env = {**os.environ, "DATA_DIR": str(settings.DATA_DIR), "PYTHONPATH": str(ROOT)}
    env.setdefault("DJANGO_SETTINGS_MODULE", "coolpapers.settings")
    out = subprocess.run(
        [sys.executable, "-c", SMAPS_CHILD, str(index.base.path)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    mapped = json.loads(out.stdout.strip().splitlines()[-1])

    size_kb = (index.base.path / "flat.faiss").stat().st_size // 1024
    assert size_kb > 100
    flat = mapped["flat.faiss"]
    assert flat["Rss"] >= size_kb * 0.9  # the child reads every vector through the mapping
    assert flat["Private_Clean"] + flat["Private_Dirty"] == 0  # no private copy
    # The same pages as this process's (dirty while the new file is not yet written back).
    assert flat["Shared_Clean"] + flat["Shared_Dirty"] >= size_kb * 0.9
    assert flat["Pss"] <= flat["Rss"] * 0.6  # its proportional share: half, with two processes
    assert "pks.npy" in mapped


def test_the_worker_builds_the_base_so_web_processes_only_map_it(artifacts):
    from papers.enrichment.enrich import refresh_dense_index

    pks, _ = add_papers(30)
    refresh_dense_index(artifacts)
    bases = [p for p in dense.dense_dir().iterdir() if not p.name.startswith(".")]
    assert len(bases) == 1
    assert np.load(bases[0] / "pks.npy").tolist() == sorted(pks.tolist())


def test_a_vector_stored_before_its_paper_is_marked_is_not_lost_by_a_build(artifacts):
    pks, raw = add_papers(20)
    Paper.objects.filter(pk=pks[4]).update(embedded_with="")  # the worker stopped in between

    index = dense_index(artifacts)
    found, _ = index.search(artifacts.whiten(raw[4:5])[0], 1)
    assert found.tolist() == [pks[4]]
