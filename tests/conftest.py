"""Shared fixtures: every test gets its own data directory and runs Celery tasks eagerly."""

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
    return path


@pytest.fixture(autouse=True)
def no_automatic_training(settings):
    """Model training (minutes of encoding) happens only in the tests that ask for it."""
    settings.ML_AUTO_TRAIN = False


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate-limit counters and cached pages never leak from one test into another."""
    from django.core.cache import cache

    cache.clear()


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
