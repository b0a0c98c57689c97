"""Shared fixtures: every test gets its own data directory and runs Celery tasks eagerly."""

import gzip
import io
import json
from pathlib import Path

import pytest

from papers.celery import app as celery_app

FIXTURES = Path(__file__).parent / "fixtures"
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    """A fresh DATA_DIR (index, vectors, models) for each test."""
    path = tmp_path / "data"
    path.mkdir()
    settings.DATA_DIR = path
    # The shared cache is files in the data directory too (never the checkout's var/).
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(path / "cache"),
        }
    }
    return path


@pytest.fixture(autouse=True)
def no_automatic_training(settings):
    """Model training (minutes of encoding) happens only in the tests that ask for it."""
    settings.ML_AUTO_TRAIN = False


@pytest.fixture(autouse=True)
def fresh_cache(data_dir):
    """Rate-limit counters and cached pages never leak from one test into another."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def fresh_view_counter(monkeypatch):
    """Paper-page visits counted in one test are never written during another."""
    from papers.readers import popularity

    monkeypatch.setattr(popularity, "views", popularity.ViewCounter())
    return popularity.views


@pytest.fixture(autouse=True, scope="session")
def eager_celery():
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager = False


def shared_data(relative: str) -> Path:
    """A path under ../shared/data, or skip the test when that big data set is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"needs ../shared/data/{relative}, which this checkout does not have")
    return path


# --- Trained models, for tests of what the ML stack adds to the app (all marked slow) ----------
N_SAMPLE = 120


def sample_lines(n: int = N_SAMPLE) -> list[bytes]:
    """The first ``n`` lines of the shipped sample (real papers, one announcement day)."""
    from django.conf import settings

    with gzip.open(settings.SAMPLE_PATH) as f:
        return [next(f) for _ in range(n)]


def load_sample(n: int = N_SAMPLE) -> None:
    from papers.ingest.snapshot import load_snapshot

    report = load_snapshot(io.BytesIO(b"".join(sample_lines(n))))
    assert report.error is None


@pytest.fixture(scope="session")
def encoder():
    from django.conf import settings

    from ml.encoder import TextEncoder

    return TextEncoder(settings.ML_ENCODER)


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory, encoder):
    """One artifact set fitted on the sample slice, saved once for the whole session."""
    from ml.artifacts import train_artifacts
    from ml.encoder import paper_text

    rows = [json.loads(line) for line in sample_lines()]
    artifacts = train_artifacts(
        [paper_text(r["title"], r["abstract"]) for r in rows],
        [r["categories"] for r in rows],
        encoder=encoder,
        keywords={"epochs": 3},
        min_label_count=5,
    )
    path = tmp_path_factory.mktemp("artifacts") / "set"
    artifacts.save(path)
    return path


@pytest.fixture
def models(trained_dir):
    """The session's artifact set installed as this test's current models."""
    from ml.artifacts import ArtifactSet
    from papers.enrichment.artifacts import install

    return install(ArtifactSet.load(trained_dir))


@pytest.fixture
def enriched(models, django_capture_on_commit_callbacks):
    """The sample slice ingested, enriched and indexed, as a running site would have it."""
    with django_capture_on_commit_callbacks(execute=True):
        load_sample()
    from papers.enrichment.artifacts import current_artifacts
    from papers.models import Paper
    from search.hybrid import query_vectors

    query_vectors.wait(current_artifacts())  # as the web process's warm-up does at start
    return Paper.objects.all()
