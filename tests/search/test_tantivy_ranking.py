"""Ranking and index lifecycle, asserted on the embedded backend (its BM25 is Lucene's)."""

import math
import multiprocessing

import pytest

from search.analysis import ENGLISH, analyze
from search.backends.base import IndexBusy, SearchError
from search.backends.tantivy import TantivyBackend
from search.documents import document
from tests.search.conftest import ids

K1, B = 1.2, 0.75

CORPUS = [
    document("d1", "alpha alpha alpha alpha", "gamma"),
    document("d2", "alpha beta", "delta epsilon zeta theta iota kappa lambda"),
    document("d3", "beta gamma", "delta"),
    document("d4", "beta", "epsilon"),
    document("d5", "beta", "zeta"),
    document("d6", "beta omega", "kappa"),
]


def bm25(term: str, doc_id: str) -> float:
    """Lucene's BM25 times (k1 + 1), which is how tantivy scales it."""
    lengths = {d["arxiv_id"]: analyze(ENGLISH, f"{d['title']} {d['abstract']}") for d in CORPUS}
    average = sum(len(tokens) for tokens in lengths.values()) / len(lengths)
    having = sum(term in tokens for tokens in lengths.values())
    idf = math.log(1 + (len(CORPUS) - having + 0.5) / (having + 0.5))
    tf = lengths[doc_id].count(term)
    norm = K1 * (1 - B + B * len(lengths[doc_id]) / average)
    return idf * tf * (K1 + 1) / (tf + norm)


@pytest.fixture
def corpus(tantivy_backend) -> TantivyBackend:
    tantivy_backend.rebuild(CORPUS)
    return tantivy_backend


def test_scores_are_lucene_bm25(corpus):
    hits = corpus.search("alpha")[:10]
    assert ids(hits) == ["d1", "d2"]
    for hit in hits:
        assert hit.score == pytest.approx(bm25("alpha", hit.arxiv_id), rel=1e-4)


def test_scores_of_several_words_add_up(corpus):
    (candidate,) = [c for c in corpus.candidates("alpha beta") if c.arxiv_id == "d2"]
    assert candidate.score == pytest.approx(bm25("alpha", "d2") + bm25("beta", "d2"), rel=1e-4)


def test_papers_with_every_word_rank_above_higher_bm25(corpus):
    plain = [c.arxiv_id for c in corpus.candidates("alpha beta")]
    assert plain[0] == "d1"  # four alphas beat one alpha and a common beta
    ranked = ids(corpus.search("alpha beta"))
    assert ranked[0] == "d2"
    assert ranked[1] == "d1"


def test_hit_scores_do_not_include_the_all_words_bonus(corpus):
    hit = corpus.search("alpha beta")[0]
    candidate = next(c for c in corpus.candidates("alpha beta") if c.arxiv_id == hit.arxiv_id)
    assert hit.score == pytest.approx(candidate.score, rel=1e-4)


def test_newest_breaks_date_ties_by_later_id(tantivy_backend):
    tantivy_backend.rebuild(
        [document(i, "same day") for i in ("2501.00002", "2501.00010", "2501.00001")]
    )
    assert ids(tantivy_backend.search("same", sort="newest")) == [
        "2501.00010",
        "2501.00002",
        "2501.00001",
    ]


def test_reader_sees_later_commits(corpus):
    assert corpus.count("") == 6  # opens and caches the reader
    corpus.index([document("d7", "alpha rho")])
    assert corpus.count("") == 7
    assert "d7" in ids(corpus.search("rho"))


def test_rebuild_swaps_in_a_new_generation_and_keeps_one_old(corpus):
    root = corpus.directory.root
    before = corpus.directory.current()
    assert corpus.count("alpha") == 2
    corpus.rebuild([document("x1", "alpha only")])
    corpus.rebuild([document("x2", "alpha again")])
    assert corpus.directory.current() != before
    assert ids(corpus.search("alpha")) == ["x2"]
    generations = [p for p in root.iterdir() if p.is_dir()]
    assert len(generations) == 2
    assert not before.exists()


def _count_in_child(backend, ready, go, out):
    out.send(backend.count(""))
    ready.set()
    go.wait(30)
    out.send(backend.count(""))


def test_reader_in_another_process_sees_commits(corpus):
    context = multiprocessing.get_context("fork")
    ready, go = context.Event(), context.Event()
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_count_in_child, args=(corpus, ready, go, send))
    child.start()
    try:
        assert ready.wait(30)
        corpus.index([document("d8", "new paper")])
        go.set()
        assert receive.recv() == 6
        assert receive.recv() == 7
    finally:
        child.join(30)
    assert child.exitcode == 0


def test_a_second_writer_is_told_the_index_is_busy(corpus):
    index = corpus.directory.open_for_writing()
    writer = index.writer(15_000_000, 1)
    try:
        with pytest.raises(IndexBusy):
            corpus.index([document("d9", "blocked")])
    finally:
        writer.rollback()
        del writer


def test_an_index_of_another_version_asks_for_a_rebuild(corpus):
    corpus.directory.pointer.write_text("v0-20200101T000000-abcdef12")
    with pytest.raises(SearchError, match="rebuild_index"):
        corpus.search("alpha").count()
