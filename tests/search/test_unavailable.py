"""A dead Elasticsearch is reported as SearchUnavailable, never as a transport stack trace."""

import socket

import pytest

from search.backends.base import SearchUnavailable
from search.backends.elasticsearch import ElasticsearchBackend
from search.documents import document


@pytest.fixture
def dead_backend() -> ElasticsearchBackend:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return ElasticsearchBackend(
        "dead",
        {
            "URLS": [f"http://127.0.0.1:{port}"],
            "OPTIONS": {"max_retries": 1, "request_timeout": 2},
        },
    )


def test_search_on_a_dead_cluster_raises_search_unavailable(dead_backend):
    with pytest.raises(SearchUnavailable, match="unreachable"):
        dead_backend.search("graph")[:10]
    with pytest.raises(SearchUnavailable):
        dead_backend.search("graph").count()
    with pytest.raises(SearchUnavailable):
        dead_backend.facets("graph")
    with pytest.raises(SearchUnavailable):
        dead_backend.candidates("graph")


def test_writes_to_a_dead_cluster_raise_search_unavailable(dead_backend):
    with pytest.raises(SearchUnavailable):
        dead_backend.index([document("d1", "title")])
    with pytest.raises(SearchUnavailable):
        dead_backend.delete(["d1"])
    with pytest.raises(SearchUnavailable):
        dead_backend.rebuild([document("d1", "title")])
