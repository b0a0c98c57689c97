"""Keywords by Word2Vec prediction (METHODS.md section 1, kexue.fm/archives/4316).

A keyword of a text s is a word that predicts the whole text:

    score(w_i) = log p(s | w_i) = sum_k log p(w_k | w_i)

with p(w_k | w_i) from a skip-gram Word2Vec with hierarchical softmax trained on the corpus.
Around that predictive core (every choice measured in bench/keywords.py):

- tokens keep "3d", "k-means", "gpt-4", "text-to-speech"; LaTeX math and commands are removed
  before anything is scored (a short inline formula such as ``$k$``-means keeps its letters);
  numbers and one-letter tokens never start, end or sit inside a key phrase;
- stop words are left out of both the candidates and the predicted words;
- a word prior, Bayes' rule p(w | s) ~ p(s | w) p(w): ``prior="logp"`` adds lambda*log p(w),
  ``prior="idf"`` adds lambda*idf(w), to the per-token score log p(s | w) / |s|;
- candidates are shaped like terms: runs of up to ``max_phrase_words`` adjacent content words
  with no verb-like word in them (a word the corpus often puts right before "the", "a", "its",
  ... : "improves", "recovers") and ending in a word that ends term runs in the corpus (not an
  adjective such as "neural", which nearly always has a noun after it, nor a past participle in
  -ed), no "-ly" adverbs, no word in -s that never follows a determiner (a verb: "recovers").
  These word shapes are counted on the training corpus at fit time, no tagger needed;
- a phrase scores the sum (``phrase_score="sum"``) or mean of its words' standardised scores,
  plus ``tf_weight`` times the log of how often it occurs;
- the top list is diverse: a phrase that ``duplicates`` a better one (contains it or is contained
  in it, comparing stemmed word parts, so hyphenated compounds count their parts) is skipped,
  and ``mmr`` < 1 picks by maximal marginal relevance over phrase vectors (mean Word2Vec vectors
  of their words);
- the cost is bounded: only the first ``max_words`` tokens of a text are scored and supply the
  candidates (the title, abstract and introduction of a full paper), so the O(n^2) score never
  grows with a paper's length.

Keywords are always words or phrases of the text itself (lower-cased).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from ml.versioning import check_format, format_header

FORMAT = "word2vec-keywords/2"
# Bump whenever the phrases extract() gives a text change (tokens, candidates, scoring,
# diversity): it is part of ml.artifacts.ArtifactSet.version, so the app enriches every paper
# again with the new code even when the saved models are the same.
# 3: duplicates compare hyphenated word parts ("speech" / "text-to-speech"); 4: phrases of up to
# 4 words (bench/keywords.py: chosen on Inspec, confirmed on SemEval2017).
OUTPUT_VERSION = 4
# What the saved model was trained with. Every other parameter is scoring, chosen by measurement
# in bench/keywords.py: a loaded model scores with the code's defaults, not the ones saved.
TRAINING_PARAMS = ("vector_size", "window", "min_count", "epochs", "workers", "seed")
PRIORS = ("none", "logp", "idf")
PHRASE_SCORES = ("sum", "mean")

# Inline math made of a few letters or digits reads as part of a word: $k$-means, $3$D, $n$-gram.
_SHORT_MATH = re.compile(r"\$([A-Za-z0-9]{1,3})\$")
_MATH = re.compile(r"\$\$.*?\$\$|\$[^$]*\$|\\\(.*?\\\)|\\\[.*?\\\]", re.S)
# Accents keep their letter (Erd\H{o}s, G\"odel); other commands go.
_ACCENT = re.compile(r"\\[uvHcdbtk]\{([A-Za-z])\}|\\['\"`^~=.]\{?([A-Za-z])\}?")
_COMMAND = re.compile(r"\\[A-Za-z]+\*?|\\.")
# Segment boundaries: punctuation that never sits inside a key phrase.
_BOUNDARY = re.compile(r"[.,;:!?()\[\]{}\"'|/=<>~^*+&%#@$\\\n_]|\s-+\s|--|-\s|\s-")
_TOKEN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_HAS_LETTER = re.compile(r"[a-z]")
# Words that follow a verb far more often than a noun: a word the corpus often puts right
# before one of these is verb-like ("improves the", "recovers its", "outperforms them").
_AFTER_VERBS = frozenset("the a an this these those its their our his her them it us such each "
                         "both any".split())  # fmt: skip
# Words that come right before a verb ("we propose", "can serve", "to rely"), seldom a noun.
_BEFORE_VERBS = frozenset("we they can may will would could should must cannot to which who "
                          "also".split())  # fmt: skip
# Words that come right before a noun: a word ending in -s that never follows one is a verb
# ("recovers", "compromises"), not a plural noun ("the networks", "these models").
_DETERMINERS = _AFTER_VERBS - {"them", "it", "us"}
_NOT_VERB_S = ("ss", "us", "is", "ys")  # loss, corpus, analysis, always
# Words in -ly that are not adverbs (the -ly verbs, "apply", "rely", are no term's part anyway).
_LY_WORDS = frozenset("family anomaly assembly supply italy monopoly butterfly early daily weekly "
                      "monthly yearly quarterly poly firefly".split())  # fmt: skip
_MIN_EVIDENCE = 5  # occurrences in the corpus before a word's shape is trusted


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
    """Lower-cased word tokens of ``text``, split into runs at punctuation, numbers and LaTeX.

    A token has a letter ("3d", "gpt-4", "k-means", "text-to-speech" stay whole); a bare number
    ends a run like punctuation does.
    """
    if not text:
        return []
    text = _MATH.sub(" . ", _SHORT_MATH.sub(r"\1", str(text)))
    text = _ACCENT.sub(lambda m: m.group(1) or m.group(2), text)
    text = _COMMAND.sub(" ", text).lower()
    out = []
    for part in _BOUNDARY.split(text):
        run: list[str] = []
        for token in _TOKEN.findall(part):
            if _HAS_LETTER.search(token):
                run.append(token)
            elif run:
                out.append(run)
                run = []
        if run:
            out.append(run)
    return out


def tokenize(text: str | None) -> list[str]:
    """All word tokens of ``text`` in order (what the Word2Vec model is trained on)."""
    return [token for segment in segments(text) for token in segment]


def word_shapes(texts: Iterable[str]) -> dict[str, tuple[int, int, int, int]]:
    """Per word: (occurrences, times in a verb's place, times ending a term run, times right
    after a determiner).

    A verb's place: right before an object word ("the", "its", "them", ...) or right after a
    subject or modal ("we", "can", "to", ...).

    A term run is a maximal stretch of content words (not stop words, not one letter) inside a
    segment; its last word is what the next token (a stop word or punctuation) shows to be a
    run's end.
    """
    seen: Counter = Counter()
    verb_place: Counter = Counter()
    run_end: Counter = Counter()
    after_determiner: Counter = Counter()
    for text in texts:
        for segment in segments(text):
            for i, token in enumerate(segment):
                seen[token] += 1
                nxt = segment[i + 1] if i + 1 < len(segment) else None
                prev = segment[i - 1] if i else None
                if nxt in _AFTER_VERBS or prev in _BEFORE_VERBS:
                    verb_place[token] += 1
                if not _is_break(token) and (nxt is None or _is_break(nxt)):
                    run_end[token] += 1
                if prev in _DETERMINERS:
                    after_determiner[token] += 1
    return {w: (n, verb_place[w], run_end[w], after_determiner[w]) for w, n in seen.items()}


def _is_break(token: str) -> bool:
    return len(token) < 2 or token in STOP_WORDS


@lru_cache(maxsize=1)
def _porter():
    from gensim.parsing.porter import PorterStemmer

    return PorterStemmer()


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Porter stem of a word (how phrases are compared for containment)."""
    return _porter().stem(word)


_WORD_PARTS = re.compile(r"[a-z0-9]+")


def phrase_key(phrase: str) -> tuple[str, ...]:
    """The phrase's word parts, stemmed, as a reader compares phrases: "graph networks" and
    "graph network" share a key, and hyphenated compounds count their parts ("text-to-speech"
    is ("text", "to", "speech"), "gpt-4" is ("gpt", "4")); "3d" stays one part."""
    return tuple(stem(w) for w in _WORD_PARTS.findall(phrase.lower()))


def contains(longer: tuple[str, ...], shorter: tuple[str, ...]) -> bool:
    """Whether ``shorter`` is ``longer`` or a run of adjacent words inside it."""
    n = len(shorter)
    return any(longer[i : i + n] == shorter for i in range(len(longer) - n + 1))


def overlapping(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether one of two phrase keys contains the other (or both are the same)."""
    if not a or not b:
        return False
    return contains(a, b) if len(a) >= len(b) else contains(b, a)


def duplicates(a: str, b: str) -> bool:
    """THE definition of two key phrases that repeat each other, used by the extractor's
    diversity filter and by bench/keywords.py's dup_rate: after stemming, the word parts of one
    (split at spaces and hyphens) are a run of adjacent word parts of the other, in either
    direction ("speech" / "text-to-speech", "gpt" / "gpt-4 model", "speculative decoding" /
    "accelerating speculative decoding")."""
    return overlapping(phrase_key(a), phrase_key(b))


def has_duplicates(phrases: Sequence[str]) -> bool:
    """Whether any two phrases of the list are ``duplicates``."""
    keys = [phrase_key(p) for p in phrases]
    return any(
        overlapping(keys[i], keys[j]) for i in range(len(keys)) for j in range(i + 1, len(keys))
    )


class Word2VecKeywords:
    """Train skip-gram/hierarchical-softmax Word2Vec on a corpus and extract keywords from texts.

    Parameters
    ----------
    vector_size, window, min_count, epochs, workers, seed: passed to gensim's Word2Vec.
    stop_words: leave stop words out of the candidates and of the scored text.
    prior: ``none``, ``logp`` or ``idf``; prior_weight: lambda for the prior.
    max_phrase_words: 1 gives single words; n > 1 also scores phrases of up to n words.
    phrase_score: ``sum`` or ``mean`` of a phrase's standardised word scores.
    term_shape: keep only phrases shaped like terms (no verb-like word, a run-ending last word).
    verb_ratio: a word seen right before "the", "a", "its"... in more than this share of its
        occurrences is verb-like; end_ratio: a last word must end a term run at least this often.
    mmr: 1 ranks by score alone; below 1, maximal marginal relevance with this weight on score.
    max_words: only the first this many tokens of a text are scored (bounds the cost).
    tf_weight: adds this times log(occurrences of the phrase in the scored text).
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
        max_phrase_words: int = 4,
        phrase_score: str = "sum",
        term_shape: bool = True,
        verb_ratio: float = 0.1,
        end_ratio: float = 0.1,
        mmr: float = 1.0,
        max_words: int = 512,
        tf_weight: float = 0.0,
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
        self.phrase_score = phrase_score
        self.term_shape = term_shape
        self.verb_ratio = verb_ratio
        self.end_ratio = end_ratio
        self.mmr = mmr
        self.max_words = max_words
        self.tf_weight = tf_weight

    # ----------------------------------------------------------------------------------- fit
    def fit(self, texts: Iterable[str]) -> Word2VecKeywords:
        """Train the Word2Vec model on ``texts``; count document frequencies and word shapes."""
        from gensim.models import Word2Vec

        if self.prior not in PRIORS:
            raise ValueError(f"prior must be one of {PRIORS}, got {self.prior!r}")
        texts = list(texts)
        sentences = [tokenize(t) for t in texts]
        sentences = [s for s in sentences if s]
        counts = Counter(w for s in sentences for w in s)
        if not any(n >= self.min_count for n in counts.values()):
            raise ValueError(f"cannot train keywords: no word occurs {self.min_count} times")
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
        self._set_from_gensim(model, doc_freq, len(sentences), word_shapes(texts))
        return self

    @classmethod
    def from_gensim(cls, model, texts: Iterable[str] = (), **params) -> Word2VecKeywords:
        """Wrap an already trained gensim ``Word2Vec(sg=1, hs=1, negative=0)`` model.

        ``texts`` (the training corpus, optional) give the document frequencies of the idf prior
        and the word shapes (without them every phrase counts as shaped like a term).
        """
        if not (model.sg and model.hs):
            raise ValueError("keywords need a skip-gram model with hierarchical softmax")
        texts = list(texts)
        sentences = [tokenize(t) for t in texts]
        doc_freq = Counter(w for s in sentences for w in set(s))
        keywords = cls(**params)
        keywords._set_from_gensim(model, doc_freq, len(sentences), word_shapes(texts))
        return keywords

    def _set_from_gensim(self, model, doc_freq: Counter, n_docs: int, shapes: dict) -> None:
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
        self._set_shapes(shapes)

    def count_word_shapes(self, texts: Iterable[str]) -> Word2VecKeywords:
        """Count the word shapes of the term filter again on ``texts`` (fit does this)."""
        self._check_fitted()
        self._set_shapes(word_shapes(texts))
        return self

    def _set_shapes(self, shapes: dict) -> None:
        self.shapes_ = np.array(
            [shapes.get(w, (0, 0, 0, 0)) for w in self.vocabulary_], dtype=np.int64
        ).reshape(-1, 4)
        self._build_index()

    def _build_index(self) -> None:
        self._index = {w: i for i, w in enumerate(self.vocabulary_)}
        self._is_stop = np.array([_is_break(w) for w in self.vocabulary_], dtype=bool)
        total = max(int(self.word_counts_.sum()), 1)
        self._log_prior = np.log(np.maximum(self.word_counts_, 1) / total)
        self._idf = np.log((1 + self.n_docs_) / (1 + self.doc_freq_)) + 1.0
        seen = np.maximum(self.shapes_[:, 0], 1)
        known = self.shapes_[:, 0] >= _MIN_EVIDENCE
        self._verb_share = np.where(known, self.shapes_[:, 1] / seen, 0.0)
        self._end_share = np.where(known, self.shapes_[:, 2] / seen, 1.0)
        verb_s = np.array(
            [w.endswith("s") and not w.endswith(_NOT_VERB_S) for w in self.vocabulary_], bool
        )
        never_a_noun = known & verb_s & (self.shapes_[:, 3] == 0)
        adverb = np.array([w.endswith("ly") and w not in _LY_WORDS for w in self.vocabulary_])
        self._not_in_terms = adverb.astype(bool) | never_a_noun
        # A term never ends in a past participle ("generation cost required", "designed").
        self._not_last = np.array([w.endswith("ed") for w in self.vocabulary_], dtype=bool)

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

    def _head(self, text: str | None) -> list[list[str]]:
        """The segments of the first ``max_words`` tokens of ``text`` (what gets scored)."""
        out, left = [], self.max_words
        for segment in segments(text):
            if left <= 0:
                break
            out.append(segment[:left])
            left -= len(segment)
        return out

    def word_scores(self, text: str) -> dict[str, float]:
        """Each distinct in-vocabulary candidate word of ``text`` with its ranking score."""
        return self._word_scores(self._head(text))

    def _word_scores(self, head: list[list[str]]) -> dict[str, float]:
        ids = self._ids(token for segment in head for token in segment)
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
        if self.phrase_score not in PHRASE_SCORES:
            raise ValueError(f"phrase_score must be one of {PHRASE_SCORES}")
        head = self._head(text)
        scores = self._word_scores(head)
        if not scores:
            return []
        values = np.fromiter(scores.values(), dtype=np.float64)
        mean, std = values.mean(), values.std()
        z = {w: float((s - mean) / std) if std > 0 else 0.0 for w, s in scores.items()}
        if self.stop_words:  # one-letter tokens and stop words never sit in a phrase
            z = {w: v for w, v in z.items() if not self._is_stop[self._index[w]]}
        phrases: dict[str, float] = {}
        counts: Counter = Counter()
        for segment in head:
            run: list[str] = []
            for token in [*segment, None]:
                if token is not None and token in z:
                    run.append(token)
                    continue
                self._add_phrases(run, z, phrases, counts)
                run = []
        if self.tf_weight:
            phrases = {p: v + self.tf_weight * np.log(counts[p]) for p, v in phrases.items()}
        return self._diverse(phrases, top_n)

    def _add_phrases(
        self, run: list[str], z: dict[str, float], out: dict[str, float], counts: Counter
    ) -> None:
        longest = max(self.max_phrase_words, 1)
        for n in range(1, min(longest, len(run)) + 1):
            for start in range(len(run) - n + 1):
                words = run[start : start + n]
                if len(set(words)) < n or not self._term_shaped(words):
                    continue
                total = sum(z[w] for w in words)
                phrase = " ".join(words)
                out[phrase] = total / n if self.phrase_score == "mean" else total
                counts[phrase] += 1

    def _term_shaped(self, words: list[str]) -> bool:
        if not self.term_shape:
            return True
        ids = [self._index[w] for w in words]
        if any(self._verb_share[i] > self.verb_ratio or self._not_in_terms[i] for i in ids):
            return False
        last = ids[-1]
        return bool(self._end_share[last] >= self.end_ratio and not self._not_last[last])

    def _diverse(self, phrases: dict[str, float], top_n: int) -> list[tuple[str, float]]:
        """Best phrases first, none containing or contained in one ranked above it; with
        ``mmr`` < 1, each next pick trades score against similarity to the picks so far."""
        ranked = sorted(phrases.items(), key=lambda kv: (-kv[1], kv[0]))
        keys = {p: phrase_key(p) for p, _ in ranked}
        if self.mmr >= 1:
            chosen: list[tuple[str, float]] = []
            for phrase, score in ranked:
                if not any(overlapping(keys[phrase], keys[c]) for c, _ in chosen):
                    chosen.append((phrase, score))
                    if len(chosen) == top_n:
                        break
            return chosen
        pool = ranked[: 5 * top_n]
        vectors = np.stack([self._phrase_vector(p) for p, _ in pool])
        values = np.array([s for _, s in pool])
        spread = values.max() - values.min()
        relevance = (values - values.min()) / spread if spread > 0 else np.ones(len(pool))
        picked: list[int] = []
        alive = np.ones(len(pool), dtype=bool)
        while alive.any() and len(picked) < top_n:
            similarity = (vectors @ vectors[picked].T).max(axis=1) if picked else 0.0
            gain = np.where(alive, self.mmr * relevance - (1 - self.mmr) * similarity, -np.inf)
            best = int(np.argmax(gain))
            picked.append(best)
            for j in np.flatnonzero(alive):
                if overlapping(keys[pool[j][0]], keys[pool[best][0]]):
                    alive[j] = False
        return [pool[i] for i in picked]

    def _phrase_vector(self, phrase: str) -> np.ndarray:
        v = self.vectors_[[self._index[w] for w in phrase.split()]].mean(axis=0)
        norm = np.linalg.norm(v)
        return v / norm if norm > 0 else v

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
            "phrase_score": self.phrase_score,
            "term_shape": self.term_shape,
            "verb_ratio": self.verb_ratio,
            "end_ratio": self.end_ratio,
            "mmr": self.mmr,
            "max_words": self.max_words,
            "tf_weight": self.tf_weight,
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
            shapes=self.shapes_,
        )
        (path / "vocabulary.txt").write_text("\n".join(self.vocabulary_) + "\n", encoding="utf-8")
        config = {**format_header(FORMAT), "params": self.get_params(), "n_docs": self.n_docs_}
        (path / "config.json").write_text(json.dumps(config, indent=2))

    @classmethod
    def load(cls, path: Path | str) -> Word2VecKeywords:
        """A saved model; it scores with this code's default scoring parameters (the saved ones
        record how it scored when it was saved), so new keyword code applies to old models."""
        path = Path(path)
        config = check_format(path, FORMAT)
        model = cls(**{k: v for k, v in config["params"].items() if k in TRAINING_PARAMS})
        with np.load(path / "arrays.npz") as arrays:
            model.vectors_ = arrays["vectors"]
            model.syn1_ = arrays["syn1"]
            model.path_offsets_ = arrays["path_offsets"]
            model.path_points_ = arrays["path_points"]
            model.path_codes_ = arrays["path_codes"]
            model.word_counts_ = arrays["word_counts"]
            model.doc_freq_ = arrays["doc_freq"]
            model.shapes_ = arrays["shapes"]
        model.vocabulary_ = (path / "vocabulary.txt").read_text(encoding="utf-8").split("\n")[:-1]
        model.n_docs_ = config["n_docs"]
        model._build_index()
        return model
