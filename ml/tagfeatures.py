"""What the tagger reads: a paper's whitened embedding, the TF-IDF of its words, what its
authors published before, and how its nearest training papers are labelled.

The embedding carries the topic; rare arXiv categories are often named by a few telling words
(``lattice``, ``auction``, ``spectroscopy``) that a 256-d sentence vector blurs, so the tagger
also reads the paper's TF-IDF (word 1-2 grams, the vocabulary fitted on the training texts).
Which categories a paper is cross-listed in is partly a habit of its authors, which no text
shows, so it also reads their label history (AuthorHistory, over author keys). The parts are
weighted:

    x = [sqrt(w_e) * whitened ; sqrt(1 - w_e - w_h) * tfidf ; sqrt(w_h) * history]

with w_e = ``embedding_weight`` and w_h = ``history_weight``. The first two parts have unit
rows, the history rows a root-mean-square norm of 1 on the training papers (0 for authors never
seen), so a row without history has norm sqrt(1 - w_h).
A linear layer on these parts cannot see that papers near one another in meaning share their
categories wherever they lie (a corner of the space where cs.LG papers are also stat.ML), so
with ``neighbour_weight`` w_n > 0 the row also holds sqrt(w_n) times its nearest training
papers' label shares (LabelNeighbours), beside the parts above.
``tfidf=None`` and ``history_weight=0`` read the whitened embedding alone (the tagger before
artifact format 3). Saved as JSON (settings, vocabulary, author keys) and .npy / .npz arrays
(idf, label counts), no pickles.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from ml.encoder import unit_rows
from ml.versioning import check_format, format_header, read_config

FORMAT = "tag-features/3"
# Format 2 had no neighbour part; it reads as format 3 with neighbour_weight 0.
_READS = (FORMAT, "tag-features/2")
# sklearn TfidfVectorizer settings; the same as bench/tagging.py's TF-IDF + LR baseline, with
# the vocabulary capped so the tagger's weights stay tens of MB at 100k training papers.
TFIDF = {"ngram_range": [1, 2], "min_df": 2, "max_features": 50_000, "sublinear_tf": True,
         "stop_words": "english"}  # fmt: skip


HISTORY_FORMAT = "author-history/1"


class AuthorHistory:
    """The labels a paper's authors carried on the training papers, as one row per paper.

    Authors are given as keys, one per person (the app's papers.names.author_keys).

    The label counts c and the paper count n of all the paper's known authors are pooled (a
    paper with two authors who wrote together counts twice: each shared paper is evidence for
    each of them), and per label the row holds the smoothed lift over the prior

        h = log((c + m * prior) / (n + m)) - log(prior),        m = ``smoothing``

    which is 0 where no author is known and grows with the evidence. A training paper's own
    labels are left out of its row (``own_labels``): otherwise the tagger would learn to copy
    them from any author with a single paper. Rows are divided by the root-mean-square norm of
    the training rows.
    """

    def __init__(self, smoothing: float = 1.0) -> None:
        self.smoothing = smoothing

    def fit(self, authors: Sequence[Sequence[str]], Y: np.ndarray) -> AuthorHistory:
        """Count each author's labels over training papers (``authors[i]`` wrote row i of Y)."""
        Y = np.asarray(Y, dtype=np.float32)
        if len(authors) != len(Y):
            raise ValueError("need one author list per labelled paper")
        self.keys_: dict[str, int] = {}
        incidence = self._incidence(authors, grow=True)
        self.counts_ = sp.csr_matrix(incidence.T @ sp.csr_matrix(Y), dtype=np.float32)
        self.papers_ = np.asarray(incidence.sum(axis=0), dtype=np.float32).ravel()
        self.prior_ = ((Y.sum(axis=0) + 1.0) / (len(Y) + 2.0)).astype(np.float32)
        self.scale_ = 1.0
        rows = self.transform(authors, own_labels=Y)
        self.scale_ = float(np.sqrt((rows * rows).sum(axis=1).mean())) or 1.0
        return self

    def _incidence(self, authors: Sequence[Sequence[str]], grow: bool = False) -> sp.csr_matrix:
        """(papers, known authors) 0/1 matrix; ``grow`` adds unseen authors to keys_."""
        rows, cols = [], []
        for i, names in enumerate(authors):
            for key in set(names or ()):
                if grow:
                    self.keys_.setdefault(key, len(self.keys_))
                j = self.keys_.get(key)
                if j is not None:
                    rows.append(i)
                    cols.append(j)
        shape = (len(authors), len(self.keys_))
        return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape)

    def transform(
        self, authors: Sequence[Sequence[str]], own_labels: np.ndarray | None = None
    ) -> np.ndarray:
        """(n, labels) history rows; ``own_labels``: the papers' own labels, to leave out."""
        incidence = self._incidence(authors)
        counts = np.asarray((incidence @ self.counts_).todense(), dtype=np.float32)
        papers = np.asarray(incidence @ self.papers_, dtype=np.float32)
        if own_labels is not None:
            known = np.asarray(incidence.sum(axis=1), dtype=np.float32)  # (n, 1)
            counts -= known * np.asarray(own_labels, dtype=np.float32)
            papers -= known[:, 0]
        m = self.smoothing
        lift = np.log((counts + m * self.prior_) / (papers[:, None] + m)) - np.log(self.prior_)
        return (lift / self.scale_).astype(np.float32)

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        config = {**format_header(HISTORY_FORMAT), "smoothing": self.smoothing,
                  "scale": self.scale_}  # fmt: skip
        (path / "config.json").write_text(json.dumps(config))
        (path / "authors.json").write_text(json.dumps(sorted(self.keys_, key=self.keys_.get)))
        sp.save_npz(path / "counts.npz", self.counts_)
        np.save(path / "papers.npy", self.papers_)
        np.save(path / "prior.npy", self.prior_)

    @classmethod
    def load(cls, path: Path) -> AuthorHistory:
        config = check_format(path, HISTORY_FORMAT)
        history = cls(config["smoothing"])
        history.scale_ = config["scale"]
        keys = json.loads((path / "authors.json").read_text())
        history.keys_ = {key: i for i, key in enumerate(keys)}
        history.counts_ = sp.load_npz(path / "counts.npz").tocsr()
        history.papers_ = np.load(path / "papers.npy")
        history.prior_ = np.load(path / "prior.npy")
        shape = (len(keys), len(history.prior_))
        if history.counts_.shape != shape or history.papers_.shape != shape[:1]:
            raise ValueError("author history arrays do not match")
        return history


NEIGHBOURS_FORMAT = "label-neighbours/1"
# A training paper at this cosine or closer to the paper being tagged is that paper (or a copy
# of its text): its own labels are not a neighbour's (at training every row would find itself;
# at tagging, a paper the tagger was trained on would too). Below 1 by more than the float16
# rounding of the stored vectors (up to 5e-4 in a dot product of unit rows).
SAME_PAPER_COSINE = 0.999


class LabelNeighbours:
    """The labels of a paper's nearest training papers, as one row per paper.

    Neighbours are the ``k`` training papers of highest cosine between whitened vectors, each
    weighted by softmax(cosine / ``temperature``); per label the row holds the weighted share of
    them that carry it (so a row sums to about the mean number of labels per paper). Training
    papers at cosine >= SAME_PAPER_COSINE are left out: no paper reads its own labels. The
    training vectors are kept as float16 unit rows (100k papers x 256 dimensions: 51 MB, read
    from disk only when a paper is tagged; the process that tags keeps a float32 copy, 100 MB,
    for the matrix products) and their labels as a 0/1 uint8 matrix.
    """

    def __init__(self, k: int = 30, temperature: float = 0.05) -> None:
        self.k = k
        self.temperature = temperature

    def fit(self, whitened: np.ndarray, Y: np.ndarray) -> LabelNeighbours:
        if len(whitened) != len(Y):
            raise ValueError("need one whitened vector per labelled paper")
        if len(Y) < 2:
            raise ValueError("label neighbours need at least 2 training papers")
        self.vectors_ = unit_rows(whitened).astype(np.float16)
        self.labels_ = (np.asarray(Y) > 0).astype(np.uint8)
        return self

    def transform(self, whitened: np.ndarray, block: int = 512) -> np.ndarray:
        """(n, labels) weighted label shares of each paper's nearest training papers."""
        queries = unit_rows(whitened)
        k = min(self.k, len(self.labels_) - 1)
        out = np.zeros((len(queries), self.labels_.shape[1]), np.float32)
        for start in range(0, len(queries), block):
            sims = queries[start : start + block] @ self._reference.T
            sims[sims >= SAME_PAPER_COSINE] = -np.inf
            top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            near = np.take_along_axis(sims, top, axis=1)
            # -inf only where every paper was left out; exp(-inf) weighs a left-out paper 0.
            best = np.maximum(near.max(axis=1, keepdims=True), -1.0)
            weight = np.exp((near - best) / self.temperature)
            weight /= np.maximum(weight.sum(axis=1, keepdims=True), 1e-12)
            out[start : start + block] = np.einsum("nk,nkl->nl", weight, self.labels_[top])
        return out

    @cached_property
    def _reference(self) -> np.ndarray:
        return np.asarray(self.vectors_, dtype=np.float32)

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        config = {**format_header(NEIGHBOURS_FORMAT), "k": self.k,
                  "temperature": self.temperature}  # fmt: skip
        (path / "config.json").write_text(json.dumps(config))
        np.save(path / "vectors.npy", self.vectors_)
        np.save(path / "labels.npy", self.labels_)

    @classmethod
    def load(cls, path: Path) -> LabelNeighbours:
        config = check_format(path, NEIGHBOURS_FORMAT)
        neighbours = cls(config["k"], config["temperature"])
        neighbours.vectors_ = np.load(path / "vectors.npy", mmap_mode="r")
        neighbours.labels_ = np.load(path / "labels.npy")
        if len(neighbours.vectors_) != len(neighbours.labels_):
            raise ValueError("label neighbours' vectors and labels do not match")
        return neighbours


class TagFeatures:
    """Builds the tagger's input rows from whitened vectors, paper texts and author lists."""

    def __init__(
        self,
        tfidf: dict | None = None,
        embedding_weight: float = 0.5,
        history_weight: float = 0.0,
        history_smoothing: float = 1.0,
        neighbour_weight: float = 0.0,
        neighbours: int = 30,
        neighbour_temperature: float = 0.05,
    ) -> None:
        self.tfidf = None if tfidf is None else {**tfidf}
        self.embedding_weight = embedding_weight
        self.history_weight = history_weight
        self.history_smoothing = history_smoothing
        self.neighbour_weight = neighbour_weight
        self.neighbours = neighbours
        self.neighbour_temperature = neighbour_temperature

    @property
    def uses_text(self) -> bool:
        return self.tfidf is not None

    @property
    def uses_history(self) -> bool:
        return self.history_weight > 0

    @property
    def uses_neighbours(self) -> bool:
        return self.neighbour_weight > 0

    def fit(
        self,
        texts: Sequence[str] | None,
        authors: Sequence[Sequence[str]] | None = None,
        labels: np.ndarray | None = None,
        whitened: np.ndarray | None = None,
    ) -> TagFeatures:
        """Fit the TF-IDF vocabulary on ``texts``, the author history on ``authors`` and
        their papers' 0/1 ``labels``, the label neighbours on the papers' ``whitened`` vectors
        and ``labels`` (each ignored when not used)."""
        if self.uses_text:
            self.vectorizer_ = self._vectorizer().fit(list(texts))
        if self.uses_history:
            if authors is None or labels is None:
                raise ValueError("the author history needs the papers' authors and labels")
            self.history_ = AuthorHistory(self.history_smoothing).fit(authors, labels)
        if self.uses_neighbours:
            if whitened is None or labels is None:
                raise ValueError("label neighbours need the papers' whitened vectors and labels")
            neighbours = LabelNeighbours(self.neighbours, self.neighbour_temperature)
            self.neighbours_ = neighbours.fit(whitened, labels)
        return self

    def _vectorizer(self) -> TfidfVectorizer:
        """An unfitted vectorizer with these settings (JSON keeps ngram_range as a list)."""
        settings = {**self.tfidf, "ngram_range": tuple(self.tfidf["ngram_range"])}
        return TfidfVectorizer(dtype=np.float32, **settings)

    def transform(
        self,
        whitened: np.ndarray,
        texts: Sequence[str] | None = None,
        authors: Sequence[Sequence[str]] | None = None,
        own_labels: np.ndarray | None = None,
    ) -> np.ndarray | sp.csr_matrix:
        """Tagger input for papers with these whitened vectors, texts (paper_text) and author
        lists (None: authors unknown). ``own_labels``: the training papers' own labels, which
        their author history leaves out (the neighbours leave out each paper's own row)."""
        whitened = np.asarray(whitened, dtype=np.float32)
        if not (self.uses_text or self.uses_history or self.uses_neighbours):
            return whitened
        w_text = 1.0 - self.embedding_weight - self.history_weight
        parts = [sp.csr_matrix(whitened * np.float32(np.sqrt(self.embedding_weight)))]
        if self.uses_text:
            if texts is None or len(texts) != len(whitened):
                raise ValueError("this tagger reads the paper texts: give one per vector")
            parts.append(self.vectorizer_.transform(list(texts)) * np.float32(np.sqrt(w_text)))
        if self.uses_history:
            if authors is None:
                authors = [()] * len(whitened)
            if len(authors) != len(whitened):
                raise ValueError("give one author list per vector")
            history = self.history_.transform(authors, own_labels)
            parts.append(sp.csr_matrix(history * np.float32(np.sqrt(self.history_weight))))
        if self.uses_neighbours:
            shares = self.neighbours_.transform(whitened)
            parts.append(sp.csr_matrix(shares * np.float32(np.sqrt(self.neighbour_weight))))
        return sp.hstack(parts, format="csr", dtype=np.float32)

    def get_params(self) -> dict:
        n_words = len(self.vectorizer_.vocabulary_) if hasattr(self, "vectorizer_") else None
        n_authors = len(self.history_.keys_) if hasattr(self, "history_") else None
        return {"tfidf": self.tfidf, "embedding_weight": self.embedding_weight,
                "history_weight": self.history_weight,
                "history_smoothing": self.history_smoothing,
                "neighbour_weight": self.neighbour_weight, "neighbours": self.neighbours,
                "neighbour_temperature": self.neighbour_temperature, "n_words": n_words,
                "n_authors": n_authors}  # fmt: skip

    def save(self, path: Path | str) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        config = {**format_header(FORMAT), "tfidf": self.tfidf,
                  "embedding_weight": self.embedding_weight,
                  "history_weight": self.history_weight,
                  "history_smoothing": self.history_smoothing,
                  "neighbour_weight": self.neighbour_weight, "neighbours": self.neighbours,
                  "neighbour_temperature": self.neighbour_temperature}  # fmt: skip
        if self.uses_history:
            self.history_.save(path / "history")
        if self.uses_neighbours:
            self.neighbours_.save(path / "neighbours")
        if self.uses_text:
            vocabulary = {term: int(i) for term, i in self.vectorizer_.vocabulary_.items()}
            (path / "vocabulary.json").write_text(json.dumps(vocabulary))
            np.save(path / "idf.npy", self.vectorizer_.idf_.astype(np.float32))
        (path / "config.json").write_text(json.dumps(config, indent=2))

    @classmethod
    def load(cls, path: Path | str) -> TagFeatures:
        path = Path(path)
        config = read_config(path)
        if config.get("format") not in _READS:
            check_format(path, FORMAT)  # raises ArtifactMismatch naming both formats
        features = cls(
            config["tfidf"],
            config["embedding_weight"],
            config["history_weight"],
            config["history_smoothing"],
            config.get("neighbour_weight", 0.0),
            config.get("neighbours", 30),
            config.get("neighbour_temperature", 0.05),
        )
        if features.uses_history:
            features.history_ = AuthorHistory.load(path / "history")
        if features.uses_neighbours:
            features.neighbours_ = LabelNeighbours.load(path / "neighbours")
        if features.uses_text:
            vectorizer = features._vectorizer()
            vectorizer.vocabulary_ = json.loads((path / "vocabulary.json").read_text())
            vectorizer.idf_ = np.load(path / "idf.npy")
            if len(vectorizer.idf_) != len(vectorizer.vocabulary_):
                raise ValueError("idf.npy and vocabulary.json do not match")
            features.vectorizer_ = vectorizer
        return features
