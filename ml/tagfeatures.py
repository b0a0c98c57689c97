"""What the tagger reads: a paper's whitened embedding, beside the TF-IDF of its words.

The embedding carries the topic; rare arXiv categories are often named by a few telling words
(``lattice``, ``auction``, ``spectroscopy``) that a 256-d sentence vector blurs, so the tagger
also reads the paper's TF-IDF (word 1-2 grams, the vocabulary fitted on the training texts).
Both parts have unit rows; they are weighted so the row keeps norm 1:

    x = [sqrt(embedding_weight) * whitened ; sqrt(1 - embedding_weight) * tfidf]

``tfidf=None`` reads the whitened embedding alone (the tagger before artifact format 3).
Saved as JSON (vectorizer settings, vocabulary) and one .npy (idf), no pickles.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from ml.versioning import check_format, format_header

FORMAT = "tag-features/1"
# sklearn TfidfVectorizer settings; the same as bench/tagging.py's TF-IDF + LR baseline, with
# the vocabulary capped so the tagger's weights stay tens of MB at 100k training papers.
TFIDF = {"ngram_range": [1, 2], "min_df": 2, "max_features": 50_000, "sublinear_tf": True,
         "stop_words": "english"}  # fmt: skip


class TagFeatures:
    """Builds the tagger's input rows from whitened vectors and paper texts."""

    def __init__(self, tfidf: dict | None = None, embedding_weight: float = 0.5) -> None:
        self.tfidf = None if tfidf is None else {**tfidf}
        self.embedding_weight = embedding_weight

    @property
    def uses_text(self) -> bool:
        return self.tfidf is not None

    def fit(self, texts: Sequence[str] | None) -> TagFeatures:
        """Fit the TF-IDF vocabulary on ``texts`` (ignored without TF-IDF)."""
        if self.uses_text:
            self.vectorizer_ = self._vectorizer().fit(list(texts))
        return self

    def _vectorizer(self) -> TfidfVectorizer:
        """An unfitted vectorizer with these settings (JSON keeps ngram_range as a list)."""
        settings = {**self.tfidf, "ngram_range": tuple(self.tfidf["ngram_range"])}
        return TfidfVectorizer(dtype=np.float32, **settings)

    def transform(
        self, whitened: np.ndarray, texts: Sequence[str] | None = None
    ) -> np.ndarray | sp.csr_matrix:
        """Tagger input for papers with these whitened vectors and texts (paper_text)."""
        whitened = np.asarray(whitened, dtype=np.float32)
        if not self.uses_text:
            return whitened
        if texts is None or len(texts) != len(whitened):
            raise ValueError("this tagger reads the paper texts: give one per vector")
        words = self.vectorizer_.transform(list(texts))
        return sp.hstack(
            [
                sp.csr_matrix(whitened * np.float32(np.sqrt(self.embedding_weight))),
                words * np.float32(np.sqrt(1.0 - self.embedding_weight)),
            ],
            format="csr",
            dtype=np.float32,
        )

    def get_params(self) -> dict:
        n_words = len(self.vectorizer_.vocabulary_) if hasattr(self, "vectorizer_") else None
        return {"tfidf": self.tfidf, "embedding_weight": self.embedding_weight,
                "n_words": n_words}  # fmt: skip

    def save(self, path: Path | str) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        config = {**format_header(FORMAT), "tfidf": self.tfidf,
                  "embedding_weight": self.embedding_weight}  # fmt: skip
        if self.uses_text:
            vocabulary = {term: int(i) for term, i in self.vectorizer_.vocabulary_.items()}
            (path / "vocabulary.json").write_text(json.dumps(vocabulary))
            np.save(path / "idf.npy", self.vectorizer_.idf_.astype(np.float32))
        (path / "config.json").write_text(json.dumps(config, indent=2))

    @classmethod
    def load(cls, path: Path | str) -> TagFeatures:
        path = Path(path)
        config = check_format(path, FORMAT)
        features = cls(config["tfidf"], config["embedding_weight"])
        if features.uses_text:
            vectorizer = features._vectorizer()
            vectorizer.vocabulary_ = json.loads((path / "vocabulary.json").read_text())
            vectorizer.idf_ = np.load(path / "idf.npy")
            if len(vectorizer.idf_) != len(vectorizer.vocabulary_):
                raise ValueError("idf.npy and vocabulary.json do not match")
            features.vectorizer_ = vectorizer
        return features
