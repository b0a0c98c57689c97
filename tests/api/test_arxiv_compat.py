"""`/api/query` speaks arXiv's API: the `arxiv` client works against it unchanged."""

import datetime as dt

import arxiv
import pytest
from lxml import etree

from papers.api.arxiv_compat import translate_search_query
from papers.ingest.upsert import upsert_records
from search.backends.base import get_search_backend
from tests.papers.factories import record

UTC = dt.UTC


@pytest.fixture
def indexed():
    upsert_records(
        [
            record(
                arxiv_id="2605.00601v2",
                title="Quantum error correction with surface codes",
                abstract="Surface codes protect qubits.",
                authors=["Alice Quantum", "Bob Maestro"],
                categories=["quant-ph", "cs.IT"],
                comment="12 pages",
                journal_ref="Phys. Rev. X 1 (2026)",
                doi="10.1000/xyz",
                submitted=dt.datetime(2026, 5, 1, 12, tzinfo=UTC),
                updated=dt.datetime(2026, 5, 10, 12, tzinfo=UTC),
            ),
            record(
                arxiv_id="2605.00602",
                title="Classical codes for storage",
                abstract="Erasure codes in data centers.",
                authors=["Carol Storage"],
                categories=["cs.IT"],
            ),
            record(
                arxiv_id="hep-th/9901001",
                title="Strings and branes",
                abstract="Branes wrap cycles.",
                authors=["Ed Witten"],
                categories=["hep-th"],
            ),
        ]
    )
    get_search_backend().rebuild()


@pytest.mark.parametrize(
    ("arxiv_query", "ours"),
    [
        ("all:electron", "ti:electron OR abs:electron"),
        ("ti:quantum AND au:del_maestro", 'ti:quantum au:"del maestro"'),
        ('abs:"surface code" ANDNOT cat:hep-th', 'abs:"surface code" -cat:hep-th'),
        ("(ti:a OR ti:b) AND cat:cs.IT", "ti:a OR ti:b cat:cs.IT"),
        ("electron ANDNOT proton", "ti:electron OR abs:electron -ti:proton -abs:proton"),
    ],
)
def test_arxiv_query_syntax_translates_to_ours(arxiv_query, ours):
    assert translate_search_query(arxiv_query) == ours


@pytest.mark.django_db(transaction=True)
def test_the_arxiv_client_searches_and_looks_up_ids_against_our_server(live_server, indexed):
    client = arxiv.Client(delay_seconds=0, num_retries=0)
    client.query_url_format = f"{live_server.url}/api/query?{{}}"
    found = list(client.results(arxiv.Search(query="ti:codes AND cat:cs.IT", max_results=10)))
    assert {r.get_short_id() for r in found} == {"2605.00601v2", "2605.00602v1"}
    quantum = next(r for r in found if r.get_short_id().startswith("2605.00601"))
    assert quantum.primary_category == "quant-ph" and quantum.categories == ["quant-ph", "cs.IT"]
    assert [a.name for a in quantum.authors] == ["Alice Quantum", "Bob Maestro"]
    assert quantum.journal_ref == "Phys. Rev. X 1 (2026)" and quantum.doi == "10.1000/xyz"
    assert quantum.comment == "12 pages" and quantum.pdf_url.endswith("2605.00601v2")
    assert quantum.published == dt.datetime(2026, 5, 1, 12, tzinfo=UTC)
    by_id = list(client.results(arxiv.Search(id_list=["hep-th/9901001", "2605.00602"])))
    assert [r.title for r in by_id] == ["Strings and branes", "Classical codes for storage"]


@pytest.mark.django_db(transaction=True)
def test_the_client_pages_through_results(live_server, indexed):
    client = arxiv.Client(page_size=1, delay_seconds=0, num_retries=0)
    client.query_url_format = f"{live_server.url}/api/query?{{}}"
    found = list(client.results(arxiv.Search(query="all:codes", max_results=5)))
    assert len(found) == 2


@pytest.mark.django_db
def test_a_bad_id_gets_arxivs_error_feed(client, indexed):
    response = client.get("/api/query", {"id_list": "abc"})
    feed = etree.fromstring(response.content)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert response.status_code == 400
    assert feed.findtext("a:entry/a:title", namespaces=ns) == "Error"
    assert feed.findtext("a:entry/a:summary", namespaces=ns) == "incorrect id format for abc"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params",
    [
        {"search_query": "all:x", "start": "-1"},
        {"search_query": "all:x", "max_results": "many"},
        {"search_query": "all:x", "sortBy": "citations"},
        {"search_query": "all:x", "sortOrder": "up"},
    ],
)
def test_bad_parameters_get_an_error_feed(client, indexed, params):
    assert client.get("/api/query", params).status_code == 400


@pytest.mark.django_db
def test_totals_and_paging_are_in_opensearch_elements(client, indexed):
    response = client.get("/api/query", {"search_query": "cat:cs.IT", "start": 1, "max_results": 1})
    feed = etree.fromstring(response.content)
    ns = {"a": "http://www.w3.org/2005/Atom", "o": "http://a9.com/-/spec/opensearch/1.1/"}
    assert feed.findtext("o:totalResults", namespaces=ns) == "2"
    assert feed.findtext("o:startIndex", namespaces=ns) == "1"
    assert len(feed.findall("a:entry", ns)) == 1


NS = {"a": "http://www.w3.org/2005/Atom", "o": "http://a9.com/-/spec/opensearch/1.1/"}


def _entry_ids(response) -> list[str]:
    feed = etree.fromstring(response.content)
    return [
        e.findtext("a:id", namespaces=NS).rsplit("/abs/", 1)[1] for e in feed.findall("a:entry", NS)
    ]


@pytest.mark.django_db
def test_search_query_with_id_list_keeps_the_listed_papers_that_match(client, indexed):
    params = {"search_query": "all:codes", "id_list": "2605.00602,hep-th/9901001"}
    response = client.get("/api/query", params)
    assert response.status_code == 200
    assert _entry_ids(response) == ["2605.00602v1"]
    feed = etree.fromstring(response.content)
    assert feed.findtext("o:totalResults", namespaces=NS) == "1"
    # Many results asked for, both given: still one page of the normal search.
    both = client.get("/api/query", {**params, "max_results": 2000, "start": 0})
    assert both.status_code == 200 and _entry_ids(both) == ["2605.00602v1"]


@pytest.mark.django_db
def test_paging_a_search_reaches_across_search_pages(client, indexed, settings):
    settings.SEARCH_MAX_PAGE_SIZE = 1  # so two results need two pages of the search pipeline
    response = client.get("/api/query", {"search_query": "cat:cs.IT", "max_results": 5})
    assert sorted(_entry_ids(response)) == ["2605.00601v2", "2605.00602v1"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params",
    [
        {"id_list": "2605.00602\x01"},
        {"id_list": "\x00"},
        {"search_query": "all:co\x1bdes"},
        {"search_query": "all:codes", "sortBy": "relevance\x7f"},
        {"search_query\x02": "x"},
    ],
)
def test_control_characters_in_any_parameter_get_a_400_error_feed(client, indexed, params):
    response = client.get("/api/query", params)
    assert response.status_code == 400
    feed = etree.fromstring(response.content)  # well-formed XML, nothing echoed raw
    assert feed.findtext("a:entry/a:title", namespaces=NS) == "Error"


@pytest.mark.django_db
def test_max_results_is_capped_at_arxivs_2000_per_call(client, indexed):
    from papers.api.arxiv_compat import MAX_RESULTS

    response = client.get("/api/query", {"search_query": "all:codes", "max_results": 10**9})
    feed = etree.fromstring(response.content)
    assert MAX_RESULTS == 2000
    assert feed.findtext("o:itemsPerPage", namespaces=NS) == "2000"
    too_many = ",".join(f"2605.{n:05d}" for n in range(2001))
    assert client.get("/api/query", {"id_list": too_many}).status_code == 400
