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


# --- A cluster that accepts connections and never answers -------------------------------------


class SilentServer:
    """Accepts TCP connections on loopback and never sends a byte; counts the attempts."""

    def __init__(self) -> None:
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections.append(conn)

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)
        for conn in self.connections:
            conn.close()
        self.sock.close()


@pytest.fixture
def hung_elasticsearch(settings):
    server = SilentServer()
    settings.SEARCH_ENGINE_TIMEOUT = 0.3
    settings.SEARCH_ENGINE_RETRIES = 1
    settings.SEARCH_BACKEND = "hung"
    settings.SEARCH_BACKENDS = {
        **settings.SEARCH_BACKENDS,
        "hung": {
            "BACKEND": "search.backends.elasticsearch.ElasticsearchBackend",
            "URLS": [f"http://127.0.0.1:{server.port}"],
        },
    }
    yield server
    server.close()


def test_the_search_budget_stays_below_the_web_workers_timeout():
    import runpy
    from pathlib import Path

    from django.conf import settings

    gunicorn = runpy.run_path(str(Path(__file__).resolve().parents[2] / "gunicorn.conf.py"))
    budget = settings.SEARCH_ENGINE_TIMEOUT * (1 + settings.SEARCH_ENGINE_RETRIES)
    assert 0 < budget < gunicorn["timeout"] / 2


@pytest.mark.django_db
def test_a_hung_cluster_gets_a_503_with_retry_after_on_every_surface(client, hung_elasticsearch):
    from django.contrib.auth.models import User

    from papers.library.models import SavedSearch

    api = client.get("/api/v1/search", {"q": "graph"})
    assert api.status_code == 503 and api["Retry-After"] == "30"
    assert api.json()["code"] == "unavailable"
    # One attempt and the configured retry, each given up after its timeout: nothing more.
    assert len(hung_elasticsearch.connections) == 2

    page = client.get("/search", {"q": "graph"})
    assert page.status_code == 503 and page["Retry-After"] == "30"
    assert b"Search is unavailable" in page.content

    arxiv = client.get("/api/query", {"search_query": "all:graph"})
    assert arxiv.status_code == 503 and arxiv["Retry-After"] == "30"
    assert b"<title>Error</title>" in arxiv.content

    user = User.objects.create_user("reader")
    saved = SavedSearch.objects.create(user=user, query="graph", name="graph")
    feed = client.get(f"/search/feed/{saved.feed_token}")
    assert feed.status_code == 503 and feed["Retry-After"] == "30"
