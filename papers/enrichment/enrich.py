"""Enrich papers with the current models: a stored vector, keywords and predicted tags.

Plain functions the Celery tasks wrap. Every step is idempotent: papers already enriched for
the current artifact version are skipped, vectors are written by position, and the database
rows are updated last, so a batch interrupted anywhere is simply done again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from ml.artifacts import ArtifactSet
from ml.encoder import TextEncoder, paper_text
from papers.enrichment.artifacts import load_current
from papers.models import Paper
from papers.names import author_keys
from papers.signals import announce_changed
from search.dense import DenseIndexUnavailable, VectorStore, dense_index

log = logging.getLogger(__name__)
SENDER = "enrichment"  # papers_changed sender: the index should update, enrichment need not run


def pending(version: str) -> QuerySet[Paper]:
    """Papers not yet enriched by the artifact set ``version``."""
    return Paper.objects.exclude(enriched_version=version)


def pending_batches(version: str, batch_size: int | None = None) -> Iterator[list[int]]:
    """Primary keys of pending papers in ascending batches."""
    batch_size = batch_size or settings.ML_ENRICH_BATCH_SIZE
    pks = list(pending(version).order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(pks), batch_size):
        yield pks[start : start + batch_size]


def embed_missing(papers: Sequence[Paper], encoder: TextEncoder) -> int:
    """Encode and store vectors of papers that have none from ``encoder``; returns how many."""
    todo = [p for p in papers if p.embedded_with != encoder.encoder_id_]
    if not todo:
        return 0
    vectors = encoder.encode([paper_text(p.title, p.abstract) for p in todo])
    VectorStore(encoder.encoder_id_).write([p.pk for p in todo], vectors)
    for paper in todo:
        paper.embedded_with = encoder.encoder_id_
    Paper.objects.bulk_update(todo, ["embedded_with"])
    return len(todo)


def paper_keywords(extract: Callable[..., list[tuple[str, float]]], paper: Paper) -> list[str]:
    """The key phrases shown for a paper, from its title and abstract, by ``extract`` (an
    ArtifactSet's extract_keywords or a Word2VecKeywords' extract)."""
    text = paper_text(paper.title, paper.abstract)[: settings.ML_KEYWORDS_MAX_CHARS]
    found = extract(text, top_n=settings.ML_KEYWORDS_PER_PAPER)
    return [phrase for phrase, _ in found]


def enrich_papers(pks: Sequence[int], artifacts: ArtifactSet | None = None) -> int:
    """Enrich the given papers that still need it; returns how many were enriched."""
    artifacts = artifacts or load_current()
    papers = list(
        pending(artifacts.version)
        .filter(pk__in=list(pks))
        .only("pk", "arxiv_id", "title", "abstract", "author_names", "embedded_with")
        .order_by("pk")
    )
    if not papers:
        return 0
    encoder = artifacts.encoder()
    if embed_missing(papers, encoder):
        refresh_dense_index(artifacts)
    raw, _ = VectorStore(encoder.encoder_id_).read([p.pk for p in papers])
    texts = (
        [paper_text(p.title, p.abstract) for p in papers] if artifacts.tagger_reads_text else None
    )
    tags = artifacts.predict_tags(
        artifacts.whiten(raw), texts, [author_keys(p.author_names) for p in papers]
    )
    now = timezone.now()
    for paper, predicted in zip(papers, tags, strict=True):
        paper.keywords = paper_keywords(artifacts.extract_keywords, paper)
        paper.tags = [[label, round(conf, 3)] for label, conf in predicted][
            : settings.ML_TAGS_PER_PAPER
        ]
        paper.enriched_version = artifacts.version
        # Keywords are part of the search document: the change marker moves with them
        # (bulk_update does not apply auto_now).
        paper.updated_at = now
    Paper.objects.bulk_update(papers, ["keywords", "tags", "enriched_version", "updated_at"])
    announce_changed([p.arxiv_id for p in papers], sender=SENDER)
    return len(papers)


def refresh_dense_index(artifacts: ArtifactSet) -> None:
    """Fold new vectors (or new artifacts) into the shared dense index here, in the worker, so
    that web processes find a recent base mapped rather than build one in a request."""
    try:
        dense_index(artifacts, wait=0)
    except DenseIndexUnavailable as exc:
        log.info("dense index not refreshed: %s", exc)


def enrichment_status(version: str | None) -> dict[str, int]:
    """How many papers there are and how many carry the ``version`` enrichment."""
    total = Paper.objects.count()
    done = Paper.objects.filter(enriched_version=version).count() if version else 0
    return {"papers": total, "enriched": done, "pending": total - done}
