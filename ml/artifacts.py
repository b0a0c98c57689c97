"""The versioned set of fitted models the app loads: encoder id, whitening, keywords, tagger.

One directory::

    config.json        {"artifact_version": ..., "encoder": {...}, "trained": {...}}
    whitening/         ml.whitening.Whitening.save
    keywords/          ml.keywords.Word2VecKeywords.save
    tag_features/      ml.tagfeatures.TagFeatures.save (what the tagger reads: whitened
                       vectors beside the TF-IDF of the paper text and the authors' label
                       history)
    tagger/            ml.zlpr.ZLPRClassifier.save (over those features)

Stored vectors are only comparable with vectors from the same encoder and whitening, so the
set carries one ``version`` string (artifact format + encoder id + a fit id + the keyword
extractor's output version); store it next to every embedding and enrich again when it
changes. Loading a missing or mismatched set raises ArtifactMissing / ArtifactMismatch, whose
message names ``python manage.py train_models``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ml.encoder import EMBEDDING_DIM, TextEncoder, openvino_available
from ml.keywords import OUTPUT_VERSION as KEYWORDS_OUTPUT
from ml.keywords import Word2VecKeywords
from ml.tagfeatures import TFIDF, TagFeatures
from ml.versioning import (
    ArtifactCorrupt,
    ArtifactError,
    ArtifactMismatch,
    ArtifactMissing,
    read_config,
)
from ml.whitening import Whitening
from ml.zlpr import ZLPRClassifier, fit_with_validation, label_indicator

# 2: tagger with logit adjustment and calibrated confidences; 3: the tagger also reads TF-IDF;
# 4: and the authors' label history
ARTIFACT_FORMAT = 4
# Chosen on the SciFact train split (bench/dense.py whitening_table): beta=0, gamma=0.25 at
# k=256 matches raw vectors (0.661 vs 0.660 nDCG@10) at two thirds of the size.
WHITENING = {"beta": 0.0, "gamma": 0.25, "n_components": 256}
MIN_LABEL_COUNT = 10
# What the tagger reads (ml.tagfeatures) and how it is trained (ml.zlpr.ZLPRClassifier): the
# variant of bench/tagging.py with the best micro- + macro-F1 on the training part's own
# validation share (the whole 55k-paper part): whitened vectors beside TF-IDF and the authors'
# label history, ZLPR with a learnt threshold s_0 (0.7182 + 0.2777; plain ZLPR 0.7149 + 0.2693;
# without the history 0.7129 + 0.2744; whitened alone 0.6921 + 0.2673). Refit on the whole
# part, the history adds +0.008 micro-F1 and +0.027 macro-F1 on the test months at equal tau.
# The features are sparse, so minibatch Adam trains it; tau (logit adjustment) is chosen at
# each training on its own held-out share.
# The nearest training papers' labels beside them (weight 1, 30 neighbours, temperature 0.05):
# the best micro + macro on the held-out share, stacked (1.0469 against 1.0316 without; weights
# 2 and 4, k 10 / 100 and temperatures 0.02 / 0.1 scored lower); bench/tagging.py's headline
# 0.7149 / 0.2694 (tau 0.2) against 0.7041 / 0.2930 (tau 0.3) without.
TAG_FEATURES = {"tfidf": TFIDF, "embedding_weight": 0.35, "history_weight": 0.3,
                "neighbour_weight": 1.0}  # fmt: skip
# A stacked second stage reads the first stage's scores beside the features, so it learns which
# labels come together (ml/zlpr.py): +0.008 micro+macro on the held-out share at weight 0.3
# (0.1, 0.6 and 1.0 scored lower there); bench/tagging.py's headline 0.7041 / 0.293 against
# 0.7028 / 0.2807 in one stage.
# Its score is the mean of the two stages' (stack_blend 0.5): micro + macro on the held-out share
# 1.0286 against 1.0216 for the second stage alone and 1.0105 for the first (blends 0.25 to 0.75:
# 1.0226 to 1.0270; Adam seed 1: 1.0207 against 1.0054), and on all 13,800 test months' papers
# it gains with both seeds (+0.004, +0.011). bench/tagging.py's headline: 0.7131 / 0.2942 at its
# chosen tau 0.25 against 0.7156 / 0.2723 at tau 0.2 (ECE 0.020 against 0.033).
TAGGER = {"solver": "adam", "alpha": 1e-6, "epochs": 6, "min_steps": 1000, "learning_rate": 0.01,
          "adaptive_threshold": True, "stack_weight": 0.3, "stack_blend": 0.5}  # fmt: skip
KEYWORDS = {"epochs": 10, "min_count": 2, "vector_size": 100}


@dataclass
class ArtifactSet:
    """Everything the app needs to enrich papers and to embed queries, loaded as one unit."""

    encoder_variant: str
    encoder_id: str
    whitening: Whitening
    keywords: Word2VecKeywords
    tagger: ZLPRClassifier | None
    fit_id: str
    trained: dict = field(default_factory=dict)
    # What the tagger reads; None: the whitened vectors alone.
    tag_features: TagFeatures | None = None

    @property
    def version(self) -> str:
        """Identifies the vectors and models; store it with each paper's embedding. It names the
        keyword extractor's output version too: new keyword code enriches every paper again."""
        return f"v{ARTIFACT_FORMAT}:{self.encoder_id}:{self.fit_id}:kw{KEYWORDS_OUTPUT}"

    # Where OpenVINO encoders keep their converted model (TextEncoder cache_dir); set by the
    # app to a directory under DATA_DIR so no process converts the model twice. Not saved.
    encoder_cache_dir: Path | None = None

    # ----------------------------------------------------------------------------- use
    def encoder(self) -> TextEncoder:
        """An encoder producing the vectors this set was fitted on (loaded lazily, cached)."""
        if not hasattr(self, "_encoder"):
            _, variant, seq = self.encoder_id.split("/")
            if variant.startswith("openvino") and not openvino_available():
                # Every variant a set is trained with keeps cosine >= MIN_COSINE to fp32 (or is
                # fp32-exact), so stored vectors stay comparable with fp32 queries.
                variant = "fp32"
            self._encoder = TextEncoder(
                variant=variant, max_seq_length=int(seq[3:]), cache_dir=self.encoder_cache_dir
            )
        return self._encoder

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Whitened unit vectors (n, k) for paper texts (use ml.encoder.paper_text) or queries."""
        return self.whitening.transform(self.encoder().encode(list(texts)))

    def whiten(self, raw_vectors: np.ndarray) -> np.ndarray:
        """Whiten raw encoder vectors (from a batch encoded elsewhere)."""
        return self.whitening.transform(raw_vectors)

    def extract_keywords(self, text: str, top_n: int = 10) -> list[tuple[str, float]]:
        return self.keywords.extract(text, top_n=top_n)

    @property
    def tagger_reads_text(self) -> bool:
        return self.tag_features is not None and self.tag_features.uses_text

    def tag_inputs(
        self,
        whitened: np.ndarray,
        texts: Sequence[str] | None = None,
        authors: Sequence[Sequence[str]] | None = None,
    ):
        """The tagger's input rows for papers' whitened vectors, texts (paper_text) and author
        keys (None: authors unknown, no history)."""
        if self.tag_features is None:
            return whitened
        return self.tag_features.transform(whitened, texts, authors)

    def predict_tags(
        self,
        whitened: np.ndarray,
        texts: Sequence[str] | None = None,
        authors: Sequence[Sequence[str]] | None = None,
    ) -> list[list[tuple[str, float]]]:
        """Per paper, predicted (label, calibrated confidence) pairs; [] without a tagger.

        ``texts`` (paper_text of each paper) are needed when the tagger reads TF-IDF;
        ``authors`` (each paper's author keys) feed its authors' label history.
        """
        if self.tagger is None:
            return [[] for _ in range(len(whitened))]
        return self.tagger.predict_labels(self.tag_inputs(whitened, texts, authors))

    # ---------------------------------------------------------------------- save / load
    def save(self, path: Path | str) -> None:
        """Write the set to ``path`` atomically (a sibling temp dir renamed into place)."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        self.whitening.save(tmp / "whitening")
        self.keywords.save(tmp / "keywords")
        if self.tagger is not None:
            self.tagger.save(tmp / "tagger")
        if self.tag_features is not None:
            self.tag_features.save(tmp / "tag_features")
        config = {
            "artifact_format": ARTIFACT_FORMAT,
            "version": self.version,
            "encoder": {"variant": self.encoder_variant, "id": self.encoder_id},
            "fit_id": self.fit_id,
            "trained": self.trained,
        }
        (tmp / "config.json").write_text(json.dumps(config, indent=2))
        if path.exists():
            shutil.rmtree(path)
        tmp.rename(path)

    @classmethod
    def load(cls, path: Path | str, expected_version: str | None = None) -> ArtifactSet:
        """Load a saved set; ``expected_version`` (the one stored with the vectors) must match."""
        path = Path(path)
        if not path.is_dir():
            raise ArtifactMissing(f"no model artifacts at {path}")
        config = read_config(path)
        if config.get("artifact_format") != ARTIFACT_FORMAT:
            raise ArtifactMismatch(
                f"model artifacts at {path} have format {config.get('artifact_format')!r}, "
                f"this code reads format {ARTIFACT_FORMAT}"
            )
        if expected_version is not None and config.get("version") != expected_version:
            raise ArtifactMismatch(
                f"model artifacts at {path} are version {config.get('version')!r}, "
                f"expected {expected_version!r}"
            )
        tagger_dir = path / "tagger"
        features_dir = path / "tag_features"
        try:
            encoder_id = config["encoder"]["id"]
            return cls(
                encoder_variant=config["encoder"]["variant"],
                encoder_id=encoder_id,
                whitening=Whitening.load(path / "whitening", encoder_id=encoder_id),
                keywords=Word2VecKeywords.load(path / "keywords"),
                tagger=ZLPRClassifier.load(tagger_dir) if tagger_dir.exists() else None,
                fit_id=config["fit_id"],
                trained=config.get("trained", {}),
                tag_features=TagFeatures.load(features_dir) if features_dir.exists() else None,
            )
        except ArtifactError:
            raise
        except (OSError, EOFError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
            # A file cut short (full disk, interrupted copy) or overwritten.
            raise ArtifactCorrupt(
                f"model artifacts at {path} are unreadable ({type(exc).__name__}: {exc})"
            ) from exc


def label_classes(labels: Sequence[Sequence[str] | None], min_count: int) -> list[str]:
    """Labels carried by at least ``min_count`` labelled samples, sorted."""
    counts = Counter(label for sample in labels if sample for label in set(sample))
    return sorted(label for label, n in counts.items() if n >= min_count)


def train_artifacts(
    texts: Sequence[str],
    labels: Sequence[Sequence[str] | None] | None = None,
    *,
    vectors: np.ndarray | None = None,
    encoder: TextEncoder | None = None,
    whitening: dict | None = None,
    keywords: dict | None = None,
    tagger: dict | None = None,
    tag_features: dict | None = None,
    authors: Sequence[Sequence[str]] | None = None,
    min_label_count: int = MIN_LABEL_COUNT,
) -> ArtifactSet:
    """Fit whitening, keywords and tagger on a corpus of paper texts (title + abstract).

    labels[i] is the label list of texts[i], or None when its labels are unknown or incomplete
    (e.g. arXiv rows without categories_complete): such rows train nothing in the tagger.
    Give texts in time order: the tagger holds out the most recent labelled share to choose its
    logit adjustment and confidence calibration (ml.zlpr.fit_with_validation).
    ``authors[i]``: the author keys of texts[i] (one string per person, e.g.
    papers.names.author_keys of the names), for the tagger's authors' label history (None: no
    author is known, the history reads nothing).
    Pass ``vectors`` (raw encoder output for ``texts``) to skip encoding, with the ``encoder``
    that produced them. ``tagger`` and ``tag_features`` override TAGGER and TAG_FEATURES
    (``{"tfidf": None}``: the tagger reads the whitened vectors alone).
    """
    texts = list(texts)
    if len(texts) < 2:
        raise ValueError("training needs at least 2 texts")
    timings: dict[str, float] = {}
    encoder = encoder or TextEncoder("auto")
    start = time.perf_counter()
    if vectors is None:
        vectors = encoder.encode(texts)
        timings["encode_s"] = round(time.perf_counter() - start, 2)
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.shape != (len(texts), EMBEDDING_DIM):
        raise ValueError(f"vectors must have shape ({len(texts)}, {EMBEDDING_DIM})")

    start = time.perf_counter()
    params = {**WHITENING, **(whitening or {})}
    params["n_components"] = min(params["n_components"] or EMBEDDING_DIM, len(texts) - 1)
    white = Whitening(**params).fit(vectors, encoder_id=encoder.encoder_id_)
    whitened = white.transform(vectors)
    timings["whitening_s"] = round(time.perf_counter() - start, 2)

    start = time.perf_counter()
    kw = Word2VecKeywords(**{**KEYWORDS, **(keywords or {})}).fit(texts)
    timings["keywords_s"] = round(time.perf_counter() - start, 2)

    tag_model = features = None
    tag_report: dict = {}
    n_labelled = 0
    if labels is not None:
        if len(labels) != len(texts):
            raise ValueError("need one label list (or None) per text")
        rows = [i for i, sample in enumerate(labels) if sample]
        n_labelled = len(rows)
        classes = label_classes([labels[i] for i in rows], min_label_count)
        if authors is not None and len(authors) != len(texts):
            raise ValueError("need one author list (or None) per text")
        if classes:
            start = time.perf_counter()
            Y = label_indicator([labels[i] for i in rows], classes)
            row_texts = [texts[i] for i in rows]
            row_authors = [authors[i] or () if authors else () for i in rows]
            features = TagFeatures(**{**TAG_FEATURES, **(tag_features or {})})
            features.fit(row_texts, row_authors, Y, whitened[rows])
            inputs = features.transform(whitened[rows], row_texts, row_authors, own_labels=Y)
            timings["tag_features_s"] = round(time.perf_counter() - start, 2)
            start = time.perf_counter()
            tag_model, tag_report = fit_with_validation(
                inputs, Y, classes, {**TAGGER, **(tagger or {})}
            )
            timings["tagger_s"] = round(time.perf_counter() - start, 2)

    digest = hashlib.sha1(white.mean_.tobytes() + white.components_[:1].tobytes()).hexdigest()
    return ArtifactSet(
        encoder_variant=encoder.variant_,
        encoder_id=encoder.encoder_id_,
        whitening=white,
        keywords=kw,
        tagger=tag_model,
        fit_id=f"{time.strftime('%Y%m%d')}-{digest[:8]}",
        tag_features=features,
        trained={
            "n_texts": len(texts),
            "n_labelled": n_labelled,
            "classes": tag_model.classes_ if tag_model else [],
            "timings": timings,
            "whitening": white.get_params(),
            "keywords": kw.get_params(),
            "tagger": tag_model.get_params() if tag_model else None,
            "tag_features": features.get_params() if features else None,
            "tagger_validation": tag_report,
        },
    )
