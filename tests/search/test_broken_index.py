"""A tantivy index whose files are broken or gone answers 503 (logged, naming the repair
command) on every surface, and works again without a restart once the files are good."""

import logging
import shutil

import pytest

from papers.ingest.upsert import upsert_records
from search.backends import tantivy as tantivy_backend
from search.backends.base import get_search_backend
from tests.papers.factories import record

pytestmark = pytest.mark.django_db


@pytest.fixture
def index_dir(settings, tmp_path):
    upsert_records([record(arxiv_id="2605.00801", title="Robots learn to walk")])
    backend = get_search_backend()
    backend.rebuild()
    generation = backend.directory.current()
    backup = tmp_path / "backup"
    shutil.copytree(generation, backup)
    tantivy_backend._readers.clear()  # no reader has the files mapped while they are broken
    yield generation, backup
    tantivy_backend._readers.clear()


def _truncate_segments(generation):
    for path in generation.iterdir():
        if path.is_file() and path.name not in ("meta.json", ".managed.json") and path.suffix:
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])


def _garble_meta(generation):
    (generation / "meta.json").write_text('{"segments": [ not json')


def _delete(generation):
    shutil.rmtree(generation)


@pytest.mark.parametrize("damage", [_truncate_segments, _garble_meta, _delete])
def test_a_broken_index_gets_503s_then_recovers_once_restored(client, index_dir, damage, caplog):
    generation, backup = index_dir
    damage(generation)
    with caplog.at_level(logging.ERROR, logger="search.backends.tantivy"):
        api = client.get("/api/v1/search", {"q": "robots", "rerank": "false"})
        page = client.get("/search", {"q": "robots"})
        arxiv = client.get("/api/query", {"search_query": "all:robots"})
    assert api.status_code == 503 and api.json()["code"] == "unavailable"
    assert api["Retry-After"]
    assert page.status_code == 503 and arxiv.status_code == 503
    assert any("rebuild_index" in r.getMessage() for r in caplog.records)

    shutil.rmtree(generation, ignore_errors=True)
    shutil.copytree(backup, generation)
    again = client.get("/api/v1/search", {"q": "robots", "rerank": "false"})
    assert again.status_code == 200
    assert [r["id"] for r in again.json()["results"]] == ["2605.00801"]


def test_an_index_of_another_schema_version_gets_a_503_naming_the_command(client, index_dir):
    generation, _ = index_dir
    pointer = generation.parent / "CURRENT"
    pointer.write_text("v0-old")
    response = client.get("/api/v1/search", {"q": "robots"})
    assert response.status_code == 503
    assert response.json()["code"] == "unavailable"


def test_a_deleted_index_directory_is_a_503_until_rebuilt(client, index_dir, caplog):
    generation, _ = index_dir
    shutil.rmtree(generation.parent)
    with caplog.at_level(logging.ERROR, logger="search.backends.tantivy"):
        assert client.get("/api/v1/search", {"q": "robots"}).status_code == 503
    assert any("rebuild_index" in r.getMessage() for r in caplog.records)
    get_search_backend().rebuild()
    again = client.get("/api/v1/search", {"q": "robots", "rerank": "false"})
    assert again.status_code == 200 and again.json()["total"] == 1
