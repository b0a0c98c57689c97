"""Model files cut short or garbled: search falls back to BM25, paper pages and recommendations
still answer, the error is logged naming the repair command, and a repaired set is used again
without a restart."""

import logging
import types

import numpy as np
import pytest
from django.contrib.auth.models import User

from ml.artifacts import train_artifacts
from ml.encoder import EMBEDDING_DIM
from papers.enrichment import artifacts as app_artifacts
from papers.ingest.upsert import upsert_records
from search.backends.base import get_search_backend
from tests.papers.factories import record

pytestmark = pytest.mark.django_db

WORDS = "robots learn walk grasp plan vision language model graph sparse attention".split()


@pytest.fixture
def installed(tmp_path):
    """A small real artifact set (fitted on random vectors; no encoder is loaded) made current."""
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(WORDS, 8)) for _ in range(30)]
    encoder = types.SimpleNamespace(encoder_id_="test/fp32/seq128", variant_="fp32")
    fitted = train_artifacts(
        texts, vectors=rng.normal(size=(30, EMBEDDING_DIM)), encoder=encoder, keywords={"epochs": 1}
    )
    path = app_artifacts.install(fitted)
    app_artifacts._cache.clear()
    upsert_records([record(arxiv_id="2605.00901", title="Robots learn to walk")])
    get_search_backend().rebuild()
    yield path
    app_artifacts._cache.clear()


@pytest.mark.parametrize("damaged", ["whitening/arrays.npz", "keywords/arrays.npz", "config.json"])
def test_damaged_model_files_degrade_to_bm25_and_recover(
    client, installed, damaged, caplog, monkeypatch
):
    target = installed / damaged
    good = target.read_bytes()
    target.write_bytes(good[: len(good) // 2])
    user = User.objects.create_user("reader")
    client.force_login(user)
    with caplog.at_level(logging.ERROR, logger="papers.enrichment.artifacts"):
        search = client.get("/api/v1/search", {"q": "robots"})
        assert search.status_code == 200
        assert search.json()["reranked"] is False
        assert [r["id"] for r in search.json()["results"]] == ["2605.00901"]
        assert client.get("/paper/2605.00901").status_code == 200
        assert client.get("/api/v1/papers/2605.00901/related").status_code == 200
        assert client.get("/for-you").status_code == 200
        assert client.get("/search", {"q": "robots"}).status_code == 200
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors and all("train_models" in e for e in errors)
    assert len(errors) == 1  # once per retry period, not on every request

    target.write_bytes(good)
    monkeypatch.setattr(app_artifacts, "RETRY_FAILED_SECONDS", 0.0)
    assert app_artifacts.current_artifacts() is not None
