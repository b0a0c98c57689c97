"""Training the models on the papers in the database and enriching papers with them.

These run the real encoder and fit real models on a slice of the shipped sample, so they are
marked slow; the model set is trained once per session and installed into each test's data dir.
"""

import datetime as dt
import gzip
import io
import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from ml.artifacts import ArtifactSet, train_artifacts
from ml.encoder import MIN_COSINE, paper_text
from ml.versioning import ArtifactMismatch, ArtifactMissing
from papers.enrichment import enrich, tasks, training
from papers.enrichment.artifacts import (
    current_artifacts,
    encoder_cache_dir,
    install,
    load_current,
    models_dir,
)
from papers.ingest.upsert import upsert_records
from papers.models import Paper, TrainingRun
from search.backends.base import get_search_backend
from search.dense import VectorStore
from search.query import SearchFilters, parse_query
from tests.conftest import load_sample, sample_lines
from tests.papers.factories import record

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _search(text: str) -> list[str]:
    results = get_search_backend().search(parse_query(text), SearchFilters())
    return [hit.arxiv_id for hit in results[:50]]


def test_a_training_run_embeds_fits_installs_and_then_enriches_every_paper(
    settings, django_capture_on_commit_callbacks
):
    settings.ML_MIN_TRAIN_PAPERS = 20
    load_sample(60)
    call_command("rebuild_index", no_progress=True)

    with django_capture_on_commit_callbacks(execute=True):
        run, new = training.start_training()

    run.refresh_from_db()
    assert new and run.status == TrainingRun.Status.SUCCEEDED, run.error
    assert run.n_papers == 60 and run.n_embedded == 60
    artifacts = load_current()
    assert run.version == artifacts.version
    assert not enrich.pending(artifacts.version).exists()
    paper = Paper.objects.exclude(abstract="").first()
    assert paper.keywords and all(isinstance(k, str) for k in paper.keywords)
    assert all(0.5 <= conf <= 1 for _, conf in paper.tags)
    vectors, found = VectorStore(paper.embedded_with).read([paper.pk])
    assert found.all() and abs(np.linalg.norm(vectors[0]) - 1) < 0.01
    # Keywords reach the search index.
    assert paper.arxiv_id in _search(f'kw:"{paper.keywords[0]}"')


def test_enrichment_skips_papers_already_done_for_the_current_version(models):
    load_sample(20)
    pks = list(Paper.objects.values_list("pk", flat=True))
    assert enrich.enrich_papers(pks) == 20
    Paper.objects.update(keywords=["kept"])

    assert enrich.enrich_papers(pks) == 0
    assert all(k == ["kept"] for k in Paper.objects.values_list("keywords", flat=True))


def test_new_keyword_code_makes_every_paper_enriched_again(models, monkeypatch):
    import ml.artifacts

    load_sample(10)
    pks = list(Paper.objects.values_list("pk", flat=True))
    assert enrich.enrich_papers(pks) == 10
    Paper.objects.update(keywords=["old phrase"])
    # The same saved models with an extractor whose output changed (ml.keywords.OUTPUT_VERSION).
    monkeypatch.setattr(ml.artifacts, "KEYWORDS_OUTPUT", ml.artifacts.KEYWORDS_OUTPUT + 1)

    assert enrich.pending(load_current().version).count() == 10
    assert enrich.enrich_papers(pks) == 10
    assert not enrich.pending(load_current().version).exists()
    assert ["old phrase"] not in list(Paper.objects.values_list("keywords", flat=True))


def test_enrichment_tags_papers_from_their_vectors_and_their_words(models, settings):
    load_sample(20)
    enrich.enrich_papers(list(Paper.objects.values_list("pk", flat=True)))
    artifacts = load_current()
    assert artifacts.tagger_reads_text
    papers = list(Paper.objects.order_by("pk"))
    raw, found = VectorStore(papers[0].embedded_with).read([p.pk for p in papers])
    assert found.all()
    texts = [paper_text(p.title, p.abstract) for p in papers]
    expected = artifacts.predict_tags(artifacts.whiten(raw), texts)
    assert [p.tags for p in papers] == [
        [[label, round(conf, 3)] for label, conf in row][: settings.ML_TAGS_PER_PAPER]
        for row in expected
    ]
    assert any(p.tags for p in papers)
    # The words count: the same vector read with another text scores otherwise.
    whitened = artifacts.whiten(raw[:1])
    own = artifacts.tagger.decision_function(artifacts.tag_inputs(whitened, texts[:1]))
    other = artifacts.tagger.decision_function(artifacts.tag_inputs(whitened, [texts[-1]]))
    assert np.abs(own - other).max() > 0.01


def test_ingested_papers_are_enriched_as_soon_as_models_exist(
    models, django_capture_on_commit_callbacks
):
    # Ingestion announces the new papers; enrichment is queued (and run: eager in tests).
    with django_capture_on_commit_callbacks(execute=True):
        load_sample(5)
    version = load_current().version
    assert set(Paper.objects.values_list("enriched_version", flat=True)) == {version}
    assert all(Paper.objects.values_list("keywords", flat=True))


def test_a_new_abstract_makes_the_paper_enriched_again(models, encoder):
    upsert_records([record(arxiv_id="2605.00002", version=1, abstract="Protein folding.")])
    enrich.enrich_papers(list(Paper.objects.values_list("pk", flat=True)))
    before = Paper.objects.get(arxiv_id="2605.00002")
    old_vector, _ = VectorStore(before.embedded_with).read([before.pk])

    upsert_records(
        [
            record(
                arxiv_id="2605.00002", version=2, abstract="Galaxy rotation curves and dark matter."
            )
        ]
    )
    stale = Paper.objects.get(arxiv_id="2605.00002")
    assert stale.enriched_version == "" and stale.embedded_with == ""

    enrich.enrich_papers([stale.pk])
    after = Paper.objects.get(arxiv_id="2605.00002")
    new_vector, _ = VectorStore(after.embedded_with).read([after.pk])
    assert after.enriched_version == load_current().version
    assert float(old_vector[0] @ new_vector[0]) < 0.9


def test_a_batch_stopped_midway_is_done_again_completely(models, monkeypatch):
    load_sample(10)
    pks = list(Paper.objects.values_list("pk", flat=True))
    artifacts = load_current()
    calls = {"n": 0}
    real = artifacts.extract_keywords

    def dies_on_the_fifth(text, top_n=10):
        calls["n"] += 1
        if calls["n"] == 5:
            raise SystemExit("worker killed")
        return real(text, top_n)

    monkeypatch.setattr(artifacts, "extract_keywords", dies_on_the_fifth)
    with pytest.raises(SystemExit):
        enrich.enrich_papers(pks, artifacts)
    assert enrich.pending(artifacts.version).count() == 10  # nothing half-saved
    monkeypatch.setattr(artifacts, "extract_keywords", real)

    assert enrich.enrich_papers(pks, artifacts) == 10
    assert not enrich.pending(artifacts.version).exists()


@pytest.mark.parametrize(
    "abstract",
    [
        "",
        "本文提出了一种新的图神经网络方法，用于分子性质预测。",
        r"Let $\mathcal{H}$ be a Hilbert space and $T:\mathcal{H}\to\mathcal{H}$ with "
        r"$\|T\|\le 1$. We show $\sigma(T)\subseteq\overline{\mathbb{D}}$ and "
        r"\[ \sum_{n\ge0} \|T^n x\|^2 < \infty \].",
        "transformer attention scaling " * 40_000,
    ],
    ids=["empty", "chinese", "latex", "very-long"],
)
def test_unusual_abstracts_are_enriched_without_failing(models, abstract):
    upsert_records([record(arxiv_id="2605.00003", abstract=abstract)])
    paper = Paper.objects.get(arxiv_id="2605.00003")

    assert enrich.enrich_papers([paper.pk]) == 1
    paper.refresh_from_db()
    assert paper.enriched_version == load_current().version
    assert not any("\\" in k or "$" in k for k in paper.keywords)


def test_without_models_enrichment_waits_and_the_command_names_the_fix():
    upsert_records([record()])
    assert current_artifacts() is None
    assert tasks.enrich_papers([Paper.objects.get().pk]) == 0
    with pytest.raises(CommandError, match="manage.py train_models"):
        call_command("train_models", enrich_only=True, verbosity=0)


def test_queued_enrich_only_queues_enrichment_and_never_trains(models, monkeypatch):
    queued_training, queued_enrichment = [], []
    monkeypatch.setattr(tasks.train_models, "delay", queued_training.append)
    monkeypatch.setattr(tasks.enrich_pending, "delay", lambda: queued_enrichment.append(1))
    runs = TrainingRun.objects.count()
    call_command("train_models", enrich_only=True, queue=True, stdout=io.StringIO())
    assert queued_enrichment == [1]
    assert queued_training == [] and TrainingRun.objects.count() == runs


def test_queued_enrich_only_without_models_names_the_fix():
    with pytest.raises(CommandError, match="manage.py train_models"):
        call_command("train_models", enrich_only=True, queue=True)


def test_models_from_another_format_are_refused_with_the_fix_named(models):
    config = models / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "artifact_format": 99}))
    (models_dir() / "CURRENT").write_text(models.name)  # new mtime: reload

    with pytest.raises(ArtifactMismatch, match="manage.py train_models"):
        load_current()
    assert current_artifacts() is None


def test_too_few_papers_fail_the_run_with_the_reason(settings):
    settings.ML_MIN_TRAIN_PAPERS = 50
    upsert_records([record() for _ in range(3)])
    run = TrainingRun.objects.create()

    with pytest.raises(training.NotEnoughPapers):
        training.execute_training(run.pk)
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.FAILED
    assert "at least 50 papers" in run.error
    with pytest.raises(ArtifactMissing):
        load_current()


def test_installing_keeps_the_previous_set_and_drops_older_ones(trained_dir):
    names = []
    for fit_id in ("a", "b", "c"):
        artifacts = ArtifactSet.load(trained_dir)
        artifacts.fit_id = fit_id
        names.append(install(artifacts).name)

    kept = sorted(p.name for p in models_dir().iterdir() if p.is_dir())
    assert kept == sorted(names[1:])
    assert load_current().fit_id == "c"


def test_one_training_at_a_time(settings, monkeypatch):
    monkeypatch.setattr(tasks.train_models, "delay", lambda run_id: None)  # stays queued
    first, new_first = training.start_training()
    second, new_second = training.start_training()
    assert new_first and not new_second and first.pk == second.pk


def test_the_periodic_check_trains_when_papers_exist_but_models_do_not(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.ML_AUTO_TRAIN = True
    settings.ML_MIN_TRAIN_PAPERS = 2
    upsert_records([record() for _ in range(3)])
    queued = []
    monkeypatch.setattr(tasks.train_models, "delay", queued.append)

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.maintain_enrichment() == "training"
    assert queued == [TrainingRun.objects.get().pk]
    assert tasks.maintain_enrichment() == "waiting"  # the queued run is still active


def test_vectors_are_stored_by_row_and_rewriting_a_row_is_harmless():
    store = VectorStore("test/encoder")
    rng = np.random.default_rng(0)
    first = rng.normal(size=(2, 384)).astype(np.float32)
    store.write([3, 7], first)
    store.write([3], first[:1])

    vectors, found = store.read([3, 5, 7, 1000])
    assert found.tolist() == [True, False, True, False]
    np.testing.assert_allclose(vectors[[0, 2]], first, atol=1e-2)
    assert not vectors[[1, 3]].any()


def test_bootstrap_trains_and_enriches_a_fresh_installation(
    settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.ML_AUTO_TRAIN = True
    settings.ML_MIN_TRAIN_PAPERS = 20
    sample = tmp_path / "sample.jsonl.gz"
    sample.write_bytes(gzip.compress(b"".join(sample_lines(40))))

    with django_capture_on_commit_callbacks(execute=True):
        call_command("bootstrap", sample=str(sample), verbosity=0)

    version = load_current().version
    assert Paper.objects.count() == 40
    assert not enrich.pending(version).exists()
    assert TrainingRun.objects.get().status == TrainingRun.Status.SUCCEEDED


def test_train_models_command_trains_and_enriches(settings):
    settings.ML_MIN_TRAIN_PAPERS = 20
    settings.ML_ENCODER_MEASURE_TEXTS = 8
    load_sample(30)
    call_command("train_models", verbosity=0)
    artifacts = load_current()
    assert not enrich.pending(artifacts.version).exists()
    # The first training measured the encoder variants and kept one that matches fp32.
    choice = artifacts.trained["encoder_choice"]
    assert choice["by"] == "measured" and choice["n_texts"] == 8
    assert "fp32" in choice["measured"] and choice["variant"] in choice["measured"]
    assert choice["measured"][choice["variant"]]["cos_to_fp32_min"] >= MIN_COSINE
    assert f"/{choice['variant']}/" in artifacts.version
    if choice["variant"].startswith("openvino"):  # converted once, kept for every process
        assert list(encoder_cache_dir().glob("*/model.xml"))
    # A later training keeps the variant: the stored vectors stay usable.
    call_command("train_models", verbosity=0)
    assert load_current().trained["encoder_choice"]["by"] == f"kept from {artifacts.version}"


def test_training_reads_papers_in_announcement_order_so_the_held_out_rows_are_the_latest(
    settings, monkeypatch
):
    settings.ML_MIN_TRAIN_PAPERS = 20
    load_sample(30)
    # Loaded in one order, announced in the reverse one (a backfill of older papers, say).
    pks = list(Paper.objects.order_by("pk").values_list("pk", flat=True))
    for days, pk in enumerate(reversed(pks)):
        Paper.objects.filter(pk=pk).update(announced=dt.date(2026, 1, 1) + dt.timedelta(days))
    Paper.objects.filter(pk=pks[0]).update(announced=None)
    seen = []

    def recording(texts, *args, **kwargs):
        seen.append(list(texts))
        return train_artifacts(texts, *args, **kwargs)

    monkeypatch.setattr(training, "train_artifacts", recording)
    call_command("train_models", verbosity=0)
    by_text = {paper_text(p.title, p.abstract): p for p in Paper.objects.all()}
    order = [by_text[t].pk for t in seen[0]]
    assert len(order) == 30
    assert order == [pks[0], *reversed(pks[1:])]  # unknown date first, then oldest to newest
