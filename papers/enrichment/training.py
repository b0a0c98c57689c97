"""Train the model artifacts on the papers in the database, as a recorded TrainingRun.

Embedding the corpus is the slow part; it goes batch by batch into the vector store and marks
each paper, so a run that is stopped and started again only encodes what is still missing
(and enrichment later reuses the same vectors). Fitting is fast and done in one go; the new set
becomes current only once it is completely saved.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from tqdm import tqdm

from ml.artifacts import train_artifacts
from ml.encoder import (
    EncoderUnavailable,
    TextEncoder,
    choose_variant,
    measure_variants,
    paper_text,
    resolve_variant,
)
from papers.background import heartbeat
from papers.enrichment.artifacts import current_artifacts, encoder_cache_dir, install
from papers.enrichment.enrich import embed_missing, refresh_dense_index
from papers.models import LeaseLost, Paper, TrainingRun
from papers.names import author_keys
from papers.taxonomy import canonical_categories
from search.dense import VectorStore

logger = logging.getLogger(__name__)
Status = TrainingRun.Status
_EMBED_BATCH = 256
_FIELDS = (
    "pk",
    "title",
    "abstract",
    "author_names",
    "embedded_with",
    "category_codes",
    "categories_complete",
)


class NotEnoughPapers(ValueError):
    """Training needs more papers than the database holds."""


def active_run() -> TrainingRun | None:
    """A queued or running training that has reported recently, if any."""
    stale = timezone.now() - dt.timedelta(seconds=settings.ML_TRAINING_STALE_AFTER_SECONDS)
    return (
        TrainingRun.objects.filter(
            Q(status=Status.QUEUED, created_at__gte=stale)
            | Q(status=Status.RUNNING, heartbeat_at__gte=stale)
        )
        .order_by("-created_at")
        .first()
    )


def start_training(user=None) -> tuple[TrainingRun, bool]:
    """Queue a training run unless one is active; returns (the run, whether it is new)."""
    from papers.enrichment.tasks import train_models

    with transaction.atomic():
        running = active_run()
        if running:
            return running, False
        run = TrainingRun.objects.create(created_by=user if getattr(user, "pk", None) else None)
        transaction.on_commit(lambda: train_models.delay(run.pk))
    return run, True


def execute_training(run_id: int, progress: bool = False) -> TrainingRun:
    """Carry out a run; a run another worker holds (and keeps alive) is left alone."""
    run = TrainingRun.claim(run_id, settings.ML_TRAINING_STALE_AFTER_SECONDS)
    if run is None:
        return TrainingRun.objects.get(pk=run_id)
    try:
        with heartbeat(run):
            _train(run, progress)
    except LeaseLost:
        logger.warning("training run %s was taken over; this worker stops", run.pk)
    except Exception as exc:
        logger.exception("training run %s failed", run.pk)
        _save(run, status=Status.FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
    return run


def _save(run: TrainingRun, **fields) -> None:
    """Write progress while this worker holds the run (LeaseLost once it was taken over)."""
    fields["heartbeat_at"] = timezone.now()
    if fields.get("status") in (Status.SUCCEEDED, Status.FAILED):
        fields["finished_at"] = fields["heartbeat_at"]
    run.save_held(**fields)


def _phase(name: str, done: int | None = None, total: int | None = None) -> dict:
    """What a running training is doing, for the admin (TrainingRunAdmin.progress)."""
    return {"phase": name, "done": done, "total": total}


def _train(run: TrainingRun, progress: bool) -> None:
    pks = list(
        Paper.objects.order_by("-announced", "-pk").values_list("pk", flat=True)[
            : settings.ML_TRAIN_MAX_PAPERS
        ]
    )
    if len(pks) < settings.ML_MIN_TRAIN_PAPERS:
        raise NotEnoughPapers(
            f"training needs at least {settings.ML_MIN_TRAIN_PAPERS} papers, "
            f"the database has {len(pks)}"
        )
    pks.sort()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    encoder, choice = training_encoder(pks)
    timings["choose_encoder_s"] = round(time.perf_counter() - started, 1)
    embedded = 0
    bar = tqdm(total=len(pks), desc="embedding", unit="paper", disable=not progress)
    for start in range(0, len(pks), _EMBED_BATCH):
        batch = list(Paper.objects.filter(pk__in=pks[start : start + _EMBED_BATCH]).only(*_FIELDS))
        embedded += embed_missing(batch, encoder)
        bar.update(len(batch))
        done = min(start + _EMBED_BATCH, len(pks))
        _save(
            run, n_papers=len(pks), n_embedded=embedded, stats=_phase("embedding", done, len(pks))
        )
    bar.close()
    timings["embed_s"] = round(time.perf_counter() - started, 1)
    _save(run, stats=_phase("fitting"))

    # In announcement order (unknown first): train_artifacts takes the last rows as the most
    # recent papers, held out to choose the tagger's adjustment and its label-shift correction.
    order = (F("announced").asc(nulls_first=True), "pk")
    papers = list(Paper.objects.filter(pk__in=pks).order_by(*order).only(*_FIELDS))
    raw, found = VectorStore(encoder.encoder_id_).read([p.pk for p in papers])
    papers = [p for p, ok in zip(papers, found, strict=True) if ok]
    artifacts = train_artifacts(
        [paper_text(p.title, p.abstract) for p in papers],
        # Aliases folded (cs.SY = eess.SY, ...): one label per category, as the pages show it.
        [canonical_categories(p.category_codes) if p.categories_complete else None for p in papers],
        vectors=raw[found],
        encoder=encoder,
        authors=[author_keys(p.author_names) for p in papers],
    )
    artifacts.trained["encoder_choice"] = choice
    refresh_dense_index(artifacts)  # before web processes switch to the new set
    path = install(artifacts)
    timings.update(artifacts.trained.get("timings", {}))
    timings["total_s"] = round(time.perf_counter() - started, 1)
    stats = {
        "path": str(path),
        "timings": timings,
        "n_labelled": artifacts.trained["n_labelled"],
        "classes": len(artifacts.trained["classes"]),
        "encoder": choice,
    }
    _save(run, status=Status.SUCCEEDED, version=artifacts.version, stats=stats)
    logger.info("trained model artifacts %s on %d papers", artifacts.version, len(papers))


def training_encoder(pks: list[int]) -> tuple[TextEncoder, dict]:
    """The encoder a training embeds with, and how it was chosen (recorded in the artifacts).

    ML_ENCODER names one, or ``auto``: keep the current set's variant when it runs here (its
    vectors are stored already), else time every candidate on a few hundred of the papers and
    keep the fastest whose vectors match fp32 (ml.encoder.choose_variant).
    """

    def make(variant: str) -> TextEncoder:
        return TextEncoder(
            variant, batch_size=settings.ML_ENCODE_BATCH_SIZE, cache_dir=encoder_cache_dir()
        )

    if settings.ML_ENCODER != "auto":
        return make(settings.ML_ENCODER), {"variant": settings.ML_ENCODER, "by": "ML_ENCODER"}
    current = current_artifacts()
    if current is not None:
        try:
            variant = resolve_variant(current.encoder_variant)
        except (EncoderUnavailable, ValueError):
            pass
        else:
            return make(variant), {"variant": variant, "by": f"kept from {current.version}"}
    sample = pks[-settings.ML_ENCODER_MEASURE_TEXTS :]
    texts = [
        paper_text(title, abstract)
        for title, abstract in Paper.objects.filter(pk__in=sample).values_list("title", "abstract")
    ]
    measured = measure_variants(
        texts, batch_size=settings.ML_ENCODE_BATCH_SIZE, cache_dir=encoder_cache_dir()
    )
    variant = choose_variant(measured)
    logger.info("encoder %s chosen by measurement on %d papers: %s", variant, len(texts), measured)
    return make(variant), {"variant": variant, "by": "measured", "n_texts": len(texts),
                           "measured": measured}  # fmt: skip
