"""Load a BEIR-format retrieval set (corpus.jsonl, queries.jsonl, qrels/<split>.tsv)."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from ml.encoder import paper_text


@dataclass
class BeirSet:
    corpus: dict[str, str]  # doc id -> title + abstract
    titles: dict[str, str]
    bodies: dict[str, str]
    queries: dict[str, str]  # only queries judged in the split
    qrels: dict[str, dict[str, int]]


def load_beir(folder: Path | str, split: str = "train") -> BeirSet:
    """Read the corpus, the judged queries of ``split`` and their relevance judgements."""
    folder = Path(folder)
    corpus, titles, bodies = {}, {}, {}
    with open(folder / "corpus.jsonl", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            doc_id = str(row["_id"])
            titles[doc_id] = row.get("title") or ""
            bodies[doc_id] = row.get("text") or ""
            corpus[doc_id] = paper_text(titles[doc_id], bodies[doc_id])
    qrels: dict[str, dict[str, int]] = {}
    with open(folder / "qrels" / f"{split}.tsv", encoding="utf-8") as fh:
        reader = csv.reader(fh, delimiter="\t")
        next(reader)
        for qid, doc_id, score in reader:
            if int(score) > 0:
                qrels.setdefault(qid, {})[doc_id] = int(score)
    queries = {}
    with open(folder / "queries.jsonl", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if str(row["_id"]) in qrels:
                queries[str(row["_id"])] = row["text"]
    qrels = {q: rel for q, rel in qrels.items() if q in queries}
    return BeirSet(corpus, titles, bodies, queries, qrels)
