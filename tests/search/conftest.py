"""Backends for the contract tests: tantivy always, Elasticsearch on osmem-server or a real cluster.

Set ELASTICSEARCH_URL to run the Elasticsearch half against a real cluster (each test uses its
own index alias and removes it afterwards); otherwise osmem-server is started once per session
and each test gets a fresh clone of it.
"""

import datetime as dt
import os
import re
import uuid

import pytest
from elastic_transport import Urllib3HttpNode

from papers.ingest.records import PaperRecord
from papers.ingest.upsert import upsert_records
from papers.models import Paper
from search.backends.base import SearchBackend, get_search_backend

_VENDOR_MEDIA_TYPE = re.compile(r"application/vnd\.elasticsearch\+([\w-]+); compatible-with=\d+")


class JsonMediaTypeNode(Urllib3HttpNode):
    """Test-only: osmem-server answers 406 to the client's vendor media types; send plain JSON."""

    def perform_request(self, method, target, body=None, headers=None, **kwargs):
        if headers:
            headers = {k: _VENDOR_MEDIA_TYPE.sub(r"application/\1", v) for k, v in headers.items()}
        return super().perform_request(method, target, body=body, headers=headers, **kwargs)


@pytest.fixture(scope="session")
def osmem():
    if os.environ.get("ELASTICSEARCH_URL"):
        yield None
        return
    try:
        from osmem_server import OsmemError, OsmemServer
    except ImportError:
        pytest.skip("osmem-server is not installed (pip install -e .[dev])")
    try:
        server = OsmemServer.start(japanese=False)
    except OsmemError as exc:
        pytest.skip(f"osmem-server could not start: {exc}")
    yield server
    server.close()


@pytest.fixture
def elasticsearch_params(osmem):
    """SEARCH_BACKENDS entry for a fresh, empty Elasticsearch for this test."""
    params = {"BACKEND": "search.backends.elasticsearch.ElasticsearchBackend"}
    if osmem is None:
        url = os.environ["ELASTICSEARCH_URL"]
        yield {**params, "URLS": [url], "INDEX": f"test-papers-{uuid.uuid4().hex[:10]}"}
        return
    clone = osmem.clone()
    yield {
        **params,
        "URLS": [clone.url],
        "INDEX": "papers",
        "OPTIONS": {"node_class": JsonMediaTypeNode, "max_retries": 0},
    }
    clone.close()


TANTIVY = {"BACKEND": "search.backends.tantivy.TantivyBackend", "PATH": None}


@pytest.fixture(params=["tantivy", pytest.param("elasticsearch", marks=pytest.mark.elasticsearch)])
def backend(request, settings) -> SearchBackend:
    """The configured search backend, empty; tasks and commands use it too."""
    if request.param == "tantivy":
        params = TANTIVY
    else:
        params = request.getfixturevalue("elasticsearch_params")
    settings.SEARCH_BACKENDS = {request.param: params}
    settings.SEARCH_BACKEND = request.param
    search = get_search_backend()
    yield search
    search.clear()


@pytest.fixture
def tantivy_backend(settings) -> SearchBackend:
    settings.SEARCH_BACKENDS = {"tantivy": TANTIVY}
    settings.SEARCH_BACKEND = "tantivy"
    return get_search_backend()


def record(arxiv_id, title, abstract="", authors=("A. Author",), categories=("cs.LG",), day=None):
    return PaperRecord(
        arxiv_id=arxiv_id,
        title=title,
        abstract=abstract,
        authors=list(authors),
        categories=list(categories),
        announced=dt.date.fromisoformat(day) if day else None,
    )


# Hand-written papers; each test relies on the words noted next to it.
PAPERS = [
    record(
        "2501.00001",
        "Deep residual learning for image recognition",
        "Deeper neural networks are more difficult to train. We present a residual learning "
        "framework with $\\mathcal{O}(n)$ cost per layer.",
        ["Kaiming He", "Xiangyu Zhang"],
        ["cs.CV", "cs.LG"],
        "2025-01-06",
    ),
    record(
        "2502.00002",
        "Graph neural networks: a survey",
        "We survey graph neural networks for learning on graphs and point clouds.",
        ["Jure Leskovec"],
        ["cs.LG"],
        "2025-02-03",
    ),
    record(
        "2503.00003",
        "Attention is all you need",
        "The dominant sequence transduction models are based on recurrent or convolutional "
        "neural networks. We propose the Transformer, based solely on attention mechanisms.",
        ["Ashish Vaswani", "Noam Shazeer"],
        ["cs.CL", "cs.LG"],
        "2025-03-10",
    ),
    record(
        "2406.00004",
        "Protein structure prediction",
        "Networks of residues predict protein folding with deep learning.",
        ["José García"],
        ["q-bio.BM", "cs.LG"],
        "2024-06-12",
    ),
    record(
        "2407.00005",
        "Learning deep graph representations",
        "Representations of a graph with neural message passing.",
        ["Ada Lovelace"],
        ["cs.AI"],
        "2024-07-01",
    ),
    record(
        "hep-th/9901001",
        "String theory dualities",
        "Dualities relate string theories in ten dimensions.",
        ["Edward Witten"],
        ["hep-th"],
        "1999-01-04",
    ),
    record(
        "2504.00007",
        "Bounds for x < y & <b>tags</b> in transformers",
        "Transformers for vision, with attention over image patches.",
        ["Alexey Dosovitskiy"],
        ["cs.CV", "cs.AI"],
        "2025-04-01",
    ),
    record(
        "2505.00008",
        "Quantum error correction with surface codes",
        "Surface codes protect logical qubits.",
        ["Peter Shor"],
        ["quant-ph"],
        "2025-05-01",
    ),
]


@pytest.fixture
def papers(db) -> list[Paper]:
    """The hand-written papers in the database (not yet indexed)."""
    upsert_records(PAPERS)
    return list(Paper.objects.order_by("arxiv_id"))


@pytest.fixture
def indexed(backend, papers) -> SearchBackend:
    """The backend holding the hand-written papers."""
    backend.index(papers)
    return backend


def ids(results) -> list[str]:
    return [hit.arxiv_id for hit in results]
