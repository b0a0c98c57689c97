"""Elasticsearch specifics: rebuilds fill a new index and swap the alias."""

import pytest

from search.backends.elasticsearch import ElasticsearchBackend
from search.documents import document

pytestmark = pytest.mark.elasticsearch


@pytest.fixture
def es_backend(elasticsearch_params):
    backend = ElasticsearchBackend("elasticsearch", elasticsearch_params)
    yield backend
    backend.clear()


def aliased(backend) -> list[str]:
    return list(backend.client.indices.get_alias(name=backend.index_alias))


def test_first_write_creates_an_index_behind_the_alias(es_backend):
    es_backend.index([document("d1", "first paper")])
    (name,) = aliased(es_backend)
    assert name.startswith(f"{es_backend.index_alias}-")


def test_rebuild_swaps_the_alias_to_a_new_index_and_drops_the_old(es_backend):
    es_backend.index([document("d1", "old paper")])
    (old,) = aliased(es_backend)
    assert es_backend.rebuild([document("d2", "new paper")]) == 1
    (new,) = aliased(es_backend)
    assert new != old
    assert not es_backend.client.indices.exists(index=old)
    assert [hit.arxiv_id for hit in es_backend.search("paper")[:10]] == ["d2"]


def test_rebuild_replaces_a_concrete_index_named_like_the_alias(es_backend):
    es_backend.client.indices.create(index=es_backend.index_alias)
    es_backend.rebuild([document("d1", "paper")])
    assert len(aliased(es_backend)) == 1
    assert es_backend.count("paper") == 1
