"""Keywords by Word2Vec prediction (METHODS.md section 1, kexue.fm/archives/4316).

A keyword of a text s is a word that predicts the whole text:

    score(w_i) = log p(s | w_i) = sum_k log p(w_k | w_i)

with p(w_k | w_i) from a skip-gram Word2Vec with hierarchical softmax trained on the corpus.
On top of that predictive core (all optional hyperparameters, each measured in bench/keywords.py):

- stop words are left out of both the candidates and the predicted words;
- a word prior, Bayes' rule p(w | s) ~ p(s | w) p(w): ``prior="logp"`` adds lambda*log p(w),
  ``prior="idf"`` adds lambda*idf(w), to the per-token score log p(s | w) / |s| (measured: both
  hurt once phrases are built, so the default is no prior);
- phrases: runs of up to ``max_phrase_words`` adjacent non-stop words are scored by the sum of
  their words' standardised scores, so a phrase made of good keywords beats its parts.

Keywords are always words or phrases of the text itself (lower-cased).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ml.versioning import check_format, format_header

FORMAT = "word2vec-keywords/1"
PRIORS = ("none", "logp", "idf")

_MATH = re.compile(r"\$\$.*?\$\$|\$[^$]*\$|\\\(.*?\\\)|\\\[.*?\\\]", re.S)
_COMMAND = re.compile(r"\\[A-Za-z]+")
# Segment boundaries: punctuation that never sits inside a key phrase.
_BOUNDARY = re.compile(r"[.,;:!?()\[\]{}\"'|/=<>~^*+&%#@$\\\n]|\s-\s|--")
_TOKEN = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")


def _english_stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    # Words that are never content in a scientific abstract, beyond sklearn's list.
    extra = {"using", "used", "use", "based", "paper", "propose", "proposed", "show", "shows",
             "results", "approach", "method", "methods", "new", "novel", "study", "present",
             "presents", "also", "however", "different", "various", "given", "two", "one",
             "well", "can", "may", "many", "several", "work", "problem", "existing", "via",
             "significantly", "recent", "recently", "like", "high", "large", "et", "al", "i",
             "e", "g", "ie", "eg", "de", "la"}  # fmt: skip
    return frozenset(ENGLISH_STOP_WORDS) | extra


STOP_WORDS = _english_stop_words()


def segments(text: str | None) -> list[list[str]]:
    """Lower-cased word tokens of ``text``, split into runs at punctuation and LaTeX math."""
    if not text:
        return []
    text = _COMMAND.sub(" ", _MATH.sub(" . ", str(text))).lower()
    out = []
    for part in _BOUNDARY.split(text):
        tokens = _TOKEN.findall(part)
        if tokens:
            out.append(tokens)
    return out


def tokenize(text: str | None) -> list[str]:
    """All word tokens of ``text`` in order (what the Word2Vec model is trained on)."""
    return [token for segment in segments(text) for token in segment]


class Word2VecKeywords:
    """Train skip-gram/hierarchical-softmax Word2Vec on a corpus and extract keywords from texts.

    Parameters
    ----------
    vector_size, window, min_count, epochs, workers, seed: passed to gensim's Word2Vec.
    stop_words: leave stop words out of the candidates and of the scored text.
    prior: ``none``, ``logp`` or ``idf``; prior_weight: lambda for the prior.
    max_phrase_words: 1 gives single words; n > 1 also scores phrases of up to n words.
    """

    def __init__(
        self,
        vector_size: int = 100,
        window: int = 5,
        min_count: int = 2,
        epochs: int = 10,
        workers: int = 2,
        seed: int = 0,
        stop_words: bool = True,
        prior: str = "none",
        prior_weight: float = 1.0,
        max_phrase_words: int = 3,
    ) -> None:
        self.vector_size = vector_size
        self.window = window
        self.min_count = min_count
        self.epochs = epochs
        self.workers = workers
        self.seed = seed
        self.stop_words = stop_words
        self.prior = prior
        self.prior_weight = prior_weight
        self.max_phrase_words = max_phrase_words

    # ----------------------------------------------------------------------------------- fit
    def fit(self, texts: Iterable[str]) -> Word2VecKeywords:
        """Train the Word2Vec model on ``texts`` and count document frequencies for the prior."""
        from gensim.models import Word2Vec

        if self.prior not in PRIORS:
            raise ValueError(f"prior must be one of {PRIORS}, got {self.prior!r}")
        sentences = [tokenize(t) for t in texts]
        sentences = [s for s in sentences if s]
        if not sentences:
            raise ValueError("cannot train keywords on texts without any words")
        model = Word2Vec(
            sentences,
            sg=1,
            hs=1,
            negative=0,
            vector_size=self.vector_size,
            window=self.window,
            min_count=self.min_count,
            epochs=self.epochs,
            workers=self.workers,
            seed=self.seed,
        )
        doc_freq = Counter(w for s in sentences for w in set(s))
        self._set_from_gensim(model, doc_freq, len(sentences))
        return self

    @classmethod
    def from_gensim(cls, model, texts: Iterable[str] = (), **params) -> Word2VecKeywords:
        """Wrap an already trained gensim ``Word2Vec(sg=1, hs=1, negative=0)`` model.

        ``texts`` (the training corpus, optional) give the document frequencies of the idf prior.
        """
        if not (model.sg and model.hs):
            raise ValueError("keywords need a skip-gram model with hierarchical softmax")
        sentences = [tokenize(t) for t in texts]
        doc_freq = Counter(w for s in sentences for w in set(s))
        keywords = cls(**params)
        keywords._set_from_gensim(model, doc_freq, len(sentences))
        return keywords

    def _set_from_gensim(self, model, doc_freq: Counter, n_docs: int) -> None:
        wv = model.wv
        if len(wv.index_to_key) < 2:
            raise ValueError("the corpus has fewer than 2 words above min_count")
        self.vocabulary_ = list(wv.index_to_key)
        self.vectors_ = np.asarray(wv.vectors, dtype=np.float32)
        self.syn1_ = np.asarray(model.syn1, dtype=np.float32)
        points = [np.asarray(p, dtype=np.int64) for p in wv.expandos["point"]]
        codes = [np.asarray(c, dtype=np.float32) for c in wv.expandos["code"]]
        self.path_offsets_ = np.concatenate([[0], np.cumsum([len(p) for p in points])])
        self.path_points_ = np.concatenate(points)
        self.path_codes_ = np.concatenate(codes)
        self.word_counts_ = np.asarray(wv.expandos["count"], dtype=np.int64)
        self.doc_freq_ = np.array([doc_freq.get(w, 0) for w in self.vocabulary_], dtype=np.int64)
        self.n_docs_ = int(n_docs)
        self._build_index()

    def _build_index(self) -> None:
        self._index = {w: i for i, w in enumerate(self.vocabulary_)}
        self._is_stop = np.array([w in STOP_WORDS for w in self.vocabulary_], dtype=bool)
        total = max(int(self.word_counts_.sum()), 1)
        self._log_prior = np.log(np.maximum(self.word_counts_, 1) / total)
        self._idf = np.log((1 + self.n_docs_) / (1 + self.doc_freq_)) + 1.0

    # ------------------------------------------------------------------------------ scoring
    def log_prob_matrix(self, given: Sequence[int], targets: Sequence[int]) -> np.ndarray:
        """log p(targets[k] | given[i]) for every pair, shape (len(given), len(targets))."""
        given = np.asarray(given, dtype=np.int64)
        targets = np.asarray(targets, dtype=np.int64)
        nodes, codes, owner = self._paths(targets)
        z = self.vectors_[given] @ self.syn1_[nodes].T
        node_lp = -(np.logaddexp(0.0, -z) + codes * z)
        out = np.zeros((len(given), len(targets)), dtype=np.float64)
        np.add.at(out.T, owner, node_lp.T)
        return out

    def _paths(self, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        starts = self.path_offsets_[targets]
        lengths = self.path_offsets_[targets + 1] - starts
        owner = np.repeat(np.arange(len(targets)), lengths)
        within = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        flat = np.repeat(starts, lengths) + within
        return self.path_points_[flat], self.path_codes_[flat], owner

    def text_log_likelihood(self, ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Distinct word ids of a text and each one's log p(s | w) = sum_k log p(w_k | w).

        One matrix product per text: candidates x (all Huffman nodes of the text's words),
        weighted by how often each word occurs.
        """
        ids = np.asarray(ids, dtype=np.int64)
        if ids.size == 0:
            return ids, np.zeros(0)
        unique, counts = np.unique(ids, return_counts=True)
        nodes, codes, owner = self._paths(unique)
        z = self.vectors_[unique] @ self.syn1_[nodes].T
        node_lp = -(np.logaddexp(0.0, -z) + codes * z)
        return unique, node_lp @ counts[owner].astype(np.float64)

    def word_scores(self, text: str) -> dict[str, float]:
        """Each distinct in-vocabulary candidate word of ``text`` with its ranking score."""
        ids = self._ids(tokenize(text))
        unique, loglik = self.text_log_likelihood(ids)
        if unique.size == 0:
            return {}
        score = loglik / len(ids)
        if self.prior == "logp":
            score = score + self.prior_weight * self._log_prior[unique]
        elif self.prior == "idf":
            score = score + self.prior_weight * self._idf[unique]
        return {self.vocabulary_[i]: float(s) for i, s in zip(unique, score, strict=True)}

    def _ids(self, tokens: Iterable[str]) -> list[int]:
        ids = (self._index.get(t) for t in tokens)
        if self.stop_words:
            return [i for i in ids if i is not None and not self._is_stop[i]]
        return [i for i in ids if i is not None]

    def extract(self, text: str, top_n: int = 10) -> list[tuple[str, float]]:
        """The ``top_n`` keywords (or key phrases) of ``text`` with their scores, best first."""
        self._check_fitted()
        scores = self.word_scores(text)
        if not scores:
            return []
        if self.max_phrase_words <= 1:
            ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
            return ranked[:top_n]
        values = np.fromiter(scores.values(), dtype=np.float64)
        mean, std = values.mean(), values.std()
        z = {w: float((s - mean) / std) if std > 0 else 0.0 for w, s in scores.items()}
        phrases: dict[str, float] = {}
        for segment in segments(text):
            run: list[str] = []
            for token in [*segment, None]:
                if token is not None and token in z:
                    run.append(token)
                    continue
                self._add_phrases(run, z, phrases)
                run = []
        ranked = sorted(phrases.items(), key=lambda kv: (-kv[1], kv[0]))
        return ranked[:top_n]

    def _add_phrases(self, run: list[str], z: dict[str, float], out: dict[str, float]) -> None:
        for n in range(1, min(self.max_phrase_words, len(run)) + 1):
            for start in range(len(run) - n + 1):
                words = run[start : start + n]
                if len(set(words)) < n:
                    continue
                out[" ".join(words)] = float(sum(z[w] for w in words))

    def transform(self, texts: Iterable[str], top_n: int = 10) -> list[list[str]]:
        """Keywords of each text, best first."""
        return [[k for k, _ in self.extract(t, top_n)] for t in texts]

    def _check_fitted(self) -> None:
        if not hasattr(self, "vectors_"):
            raise RuntimeError("Word2VecKeywords is not fitted; call fit() first")

    # -------------------------------------------------------------------------- save / load
    def get_params(self) -> dict:
        return {
            "vector_size": self.vector_size,
            "window": self.window,
            "min_count": self.min_count,
            "epochs": self.epochs,
            "workers": self.workers,
            "seed": self.seed,
            "stop_words": self.stop_words,
            "prior": self.prior,
            "prior_weight": self.prior_weight,
            "max_phrase_words": self.max_phrase_words,
        }

    def set_params(self, **params) -> Word2VecKeywords:
        """Change scoring hyperparameters of a fitted model without retraining."""
        for name, value in params.items():
            if name not in self.get_params():
                raise ValueError(f"unknown parameter {name!r}")
            setattr(self, name, value)
        return self

    def save(self, path: Path | str) -> None:
        """Write config.json, vocabulary.txt and arrays.npz (no pickles, no gensim needed)."""
        self._check_fitted()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        np.savez(
            path / "arrays.npz",
            vectors=self.vectors_,
            syn1=self.syn1_,
            path_offsets=self.path_offsets_,
            path_points=self.path_points_,
            path_codes=self.path_codes_,
            word_counts=self.word_counts_,
            doc_freq=self.doc_freq_,
        )
        (path / "vocabulary.txt").write_text("\n".join(self.vocabulary_) + "\n", encoding="utf-8")
        config = {**format_header(FORMAT), "params": self.get_params(), "n_docs": self.n_docs_}
        (path / "config.json").write_text(json.dumps(config, indent=2))

    @classmethod
    def load(cls, path: Path | str) -> Word2VecKeywords:
        path = Path(path)
        config = check_format(path, FORMAT)
        model = cls(**config["params"])
        with np.load(path / "arrays.npz") as arrays:
            model.vectors_ = arrays["vectors"]
            model.syn1_ = arrays["syn1"]
            model.path_offsets_ = arrays["path_offsets"]
            model.path_points_ = arrays["path_points"]
            model.path_codes_ = arrays["path_codes"]
            model.word_counts_ = arrays["word_counts"]
            model.doc_freq_ = arrays["doc_freq"]
        model.vocabulary_ = (path / "vocabulary.txt").read_text(encoding="utf-8").split("\n")[:-1]
        model.n_docs_ = config["n_docs"]
        model._build_index()
        return model
