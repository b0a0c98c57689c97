"""The arXiv sample in ../shared/data and its temporal tagging split."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from papers.taxonomy import canonical_categories


def _shared_data() -> Path:
    """../shared/data beside the checkout (or beside a parent of it, for git worktrees)."""
    for parent in Path(__file__).resolve().parents[1:]:
        if (parent / "shared" / "data").is_dir():
            return parent / "shared" / "data"
    return Path(__file__).resolve().parents[2] / "shared" / "data"


DEFAULT_ARXIV = _shared_data() / "arxiv" / "papers.jsonl.gz"
TRAIN_LAST_MONTH = "2026-03"  # train on papers first seen up to this month, test on later ones
# bench/tagging.py --subset-only: the quick mode fits the embedding taggers on the most recent
# training papers only.
EMBED_TRAIN_RECENT = 5_000


def load_papers(path: Path | str = DEFAULT_ARXIV) -> list[dict]:
    """All rows of a papers.jsonl(.gz) file."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def temporal_split(papers: list[dict]) -> tuple[list[dict], list[dict]]:
    """Rows with complete, alias-folded categories, split by first-seen month (train <= 03/2026)."""
    rows = [
        {**p, "categories": canonical_categories(p["categories"])}
        for p in papers
        if p.get("categories_complete")
    ]
    rows.sort(key=lambda p: (p["crawl_date_first"], p["id"]))
    train = [p for p in rows if p["crawl_date_first"][:7] <= TRAIN_LAST_MONTH]
    test = [p for p in rows if p["crawl_date_first"][:7] > TRAIN_LAST_MONTH]
    return train, test
