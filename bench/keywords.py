"""Keyphrase extraction benchmark: Word2Vec keywords vs TF-IDF vs YAKE, F1@5 and F1@10.

    python bench/keywords.py [FILE ...]

Each FILE is jsonl with ``id``, ``text``, ``keyphrases`` (default: ../shared/data/keyphrases/*).
Matching: Porter-stemmed exact phrase match (phrases lower-cased, split on non-alphanumerics,
each word stemmed). Prints one JSON object keyed by file name, then method; ``word2vec_variants``
holds every scoring variant tried (same trained model, different scoring hyperparameters).

The Word2Vec model is trained once on the arXiv abstracts plus the texts of all given files
(no labels are used) and cached under /work/cache.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from gensim.parsing.porter import PorterStemmer  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402

from bench.arxiv_data import DEFAULT_ARXIV, load_papers  # noqa: E402
from ml.encoder import paper_text  # noqa: E402
from ml.keywords import Word2VecKeywords  # noqa: E402

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "keyphrases"
CACHE = Path("/work/cache/keywords")
_SPLIT = re.compile(r"[^a-z0-9]+")
_stemmer = PorterStemmer()

# (name, scoring hyperparameters) tried on the same trained model.
VARIANTS = {
    "su_as_written_words": dict(stop_words=False, prior="none", max_phrase_words=1),
    "su_no_stop_words": dict(stop_words=True, prior="none", max_phrase_words=1),
    "su_logp_prior_1.0_words": dict(stop_words=True, prior="logp", prior_weight=1.0,
                                    max_phrase_words=1),
    "su_logp_prior_-0.5_words": dict(stop_words=True, prior="logp", prior_weight=-0.5,
                                     max_phrase_words=1),
    "su_idf_0.5_words": dict(stop_words=True, prior="idf", prior_weight=0.5, max_phrase_words=1),
    "su_idf_1.0_words": dict(stop_words=True, prior="idf", prior_weight=1.0, max_phrase_words=1),
    "su_no_stop_phrases3": dict(stop_words=True, prior="none", max_phrase_words=3),
    "su_logp_prior_1.0_phrases3": dict(stop_words=True, prior="logp", prior_weight=1.0,
                                       max_phrase_words=3),
    "su_idf_0.25_phrases3": dict(stop_words=True, prior="idf", prior_weight=0.25,
                                 max_phrase_words=3),
    "su_idf_0.5_phrases3": dict(stop_words=True, prior="idf", prior_weight=0.5,
                                max_phrase_words=3),
    "su_idf_1.0_phrases3": dict(stop_words=True, prior="idf", prior_weight=1.0,
                                max_phrase_words=3),
    "su_idf_2.0_phrases3": dict(stop_words=True, prior="idf", prior_weight=2.0,
                                max_phrase_words=3),
    "su_idf_1.0_phrases2": dict(stop_words=True, prior="idf", prior_weight=1.0,
                                max_phrase_words=2),
    "su_logp_prior_-0.1_phrases3": dict(stop_words=True, prior="logp", prior_weight=-0.1,
                                        max_phrase_words=3),
    "su_no_stop_phrases4": dict(stop_words=True, prior="none", max_phrase_words=4),
}  # fmt: skip
# The shipped default (ml.keywords.Word2VecKeywords()): stop words out, no prior, phrases of up
# to 3 words like the TF-IDF (1-3 grams) and YAKE (n=3) baselines.
SHIPPED = "su_no_stop_phrases3"


def normalise(phrase: str) -> str:
    return " ".join(_stemmer.stem(w) for w in _SPLIT.split(phrase.lower()) if w)


def f1_at(predicted: list[list[str]], gold: list[list[str]], k: int) -> float:
    """Mean over documents of F1 between the top-k predicted and all gold phrases (stemmed)."""
    scores = []
    for pred, ref in zip(predicted, gold, strict=True):
        ref_set = {normalise(g) for g in ref} - {""}
        top: list[str] = []
        for p in pred:
            n = normalise(p)
            if n and n not in top:
                top.append(n)
            if len(top) == k:
                break
        hits = len(set(top) & ref_set)
        if not hits:
            scores.append(0.0)
            continue
        precision, recall = hits / len(top), hits / len(ref_set)
        scores.append(2 * precision * recall / (precision + recall))
    return float(np.mean(scores))


def tfidf_keyphrases(texts: list[str], k: int = 10) -> list[list[str]]:
    vec = TfidfVectorizer(ngram_range=(1, 3), stop_words="english")
    matrix = vec.fit_transform(texts).tocsr()
    names = vec.get_feature_names_out()
    out = []
    for row in range(matrix.shape[0]):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        idx, vals = matrix.indices[start:end], matrix.data[start:end]
        out.append([names[i] for i in idx[np.argsort(-vals, kind="stable")[:k]]])
    return out


def yake_keyphrases(texts: list[str], k: int = 10) -> list[list[str]]:
    import yake

    extractor = yake.KeywordExtractor(lan="en", n=3, top=k)
    return [[kw for kw, _ in extractor.extract_keywords(t)] for t in texts]


def train_word2vec(corpus: list[str]) -> Word2VecKeywords:
    digest = hashlib.sha1("\0".join(corpus).encode("utf-8", "replace")).hexdigest()[:16]
    folder = CACHE / f"w2v-{digest}"
    if (folder / "config.json").exists():
        return Word2VecKeywords.load(folder)
    start = time.time()
    model = Word2VecKeywords(vector_size=100, window=5, min_count=2, epochs=10).fit(corpus)
    print(f"word2vec trained on {len(corpus)} texts in {time.time() - start:.0f}s",
          file=sys.stderr)  # fmt: skip
    model.save(folder)
    return model


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--arxiv", type=Path, default=DEFAULT_ARXIV)
    args = parser.parse_args(argv)
    files = args.files or sorted(DEFAULT_DIR.glob("*.jsonl"))
    data = {f.stem: read_jsonl(f) for f in files}
    corpus = [paper_text(p["title"], p["abstract"]) for p in load_papers(args.arxiv)]
    for docs in data.values():
        corpus.extend(d["text"] for d in docs)
    model = train_word2vec(corpus)

    result: dict = {}
    for name, docs in data.items():
        texts = [d["text"] for d in docs]
        gold = [d["keyphrases"] for d in docs]
        entry = {}
        variants = {}
        for vname, params in VARIANTS.items():
            model.set_params(**params)
            start = time.time()
            pred = model.transform(texts, top_n=10)
            ms = 1000 * (time.time() - start) / len(texts)
            variants[vname] = {"f1@5": round(f1_at(pred, gold, 5), 4),
                               "f1@10": round(f1_at(pred, gold, 10), 4),
                               "ms_per_doc": round(ms, 2)}  # fmt: skip
        entry["word2vec"] = {**variants[SHIPPED], "variant": SHIPPED}
        pred = tfidf_keyphrases(texts)
        entry["tfidf"] = {"f1@5": round(f1_at(pred, gold, 5), 4),
                          "f1@10": round(f1_at(pred, gold, 10), 4)}  # fmt: skip
        pred = yake_keyphrases(texts)
        entry["yake"] = {"f1@5": round(f1_at(pred, gold, 5), 4),
                         "f1@10": round(f1_at(pred, gold, 10), 4)}  # fmt: skip
        entry["word2vec_variants"] = variants
        entry["n_docs"] = len(docs)
        result[name] = entry
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
