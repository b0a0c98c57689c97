import httpx
import pytest

from papers.ingest.api import ArxivApiClient, ArxivApiError, parse_api_feed
from papers.ingest.runs import execute_run, start_run
from papers.models import IngestionRun, Paper, PaperVersion
from tests.papers.conftest import API_URL, feed

pytestmark = pytest.mark.django_db

PAGES = {start: feed(f"api/q_testing_s{start}_m10.xml") for start in (0, 10, 20)}


def _distinct_ids(*pages: bytes) -> set[str]:
    return {r.arxiv_id for page in pages for r in parse_api_feed(page).records}


def _search_run(**extra) -> IngestionRun:
    return start_run("api", {"query": "testing", "max_results": 30, "page_size": 10, **extra})


def test_a_paged_search_stops_at_max_results_and_waits_three_seconds_between_calls(
    respx_mock, http, clock
):
    times = []

    def page(request):
        times.append(clock.now)
        return httpx.Response(200, content=PAGES[int(request.url.params["start"])])

    route = respx_mock.get(API_URL, params={"search_query": "testing"}).mock(side_effect=page)

    run = execute_run(_search_run().pk, http=http)

    assert run.status == "succeeded", run.error
    assert [int(c.request.url.params["start"]) for c in route.calls] == [0, 10, 20]
    assert all(c.request.url.params["max_results"] == "10" for c in route.calls)
    assert [b - a for a, b in zip(times, times[1:], strict=False)] == [3.0, 3.0]
    agent = route.calls[0].request.headers["User-Agent"]
    assert "coolpapers" in agent and "mailto:" in agent
    expected = _distinct_ids(*PAGES.values())
    assert set(Paper.objects.values_list("arxiv_id", flat=True)) == expected
    assert run.new_count == len(expected)
    assert run.expected_total == 30
    assert run.checkpoint == {"start": 30}


def test_the_api_error_feed_message_is_surfaced_on_the_run(respx_mock, http):
    respx_mock.get(API_URL, params={"id_list": "abc"}).respond(
        400, content=feed("api/id_abc_s0_m100.xml")
    )

    run = execute_run(start_run("api", {"id_list": ["abc"]}).pk, http=http)

    assert run.status == "failed"
    assert run.error == "arXiv API error: incorrect id format for abc"


def test_the_client_raises_the_error_feed_message(respx_mock, http):
    respx_mock.get(API_URL).respond(400, content=feed("api/id_abc_s0_m100.xml"))

    with pytest.raises(ArxivApiError, match="incorrect id format for abc"):
        ArxivApiClient(http).query(id_list=["abc"])


def test_an_id_lookup_stores_the_version_its_date_and_the_categories(respx_mock, http):
    respx_mock.get(API_URL, params={"id_list": "2104.12255v1"}).respond(
        200, content=feed("api/id_2104.12255v1_s0_m100.xml")
    )

    run = execute_run(start_run("api", {"id_list": "2104.12255v1"}).pk, http=http)

    assert (run.status, run.new_count) == ("succeeded", 1)
    paper = Paper.objects.get(arxiv_id="2104.12255")
    assert paper.version == 1
    assert paper.title == "0"
    assert paper.author_names == ["Quan Thoi Minh Nguyen"]
    assert paper.category_codes == ["cs.CR"]
    assert paper.submitted.isoformat() == "2021-04-20T16:07:14+00:00"
    assert list(PaperVersion.objects.values_list("version", flat=True)) == [1]


def test_an_old_style_id_is_stored_in_canonical_form(respx_mock, http):
    respx_mock.get(API_URL).respond(200, content=feed("api/id_astro-ph_0601001_s0_m100.xml"))

    execute_run(start_run("api", {"id_list": ["astro-ph/0601001"]}).pk, http=http)

    paper = Paper.objects.get(arxiv_id="astro-ph/0601001")
    assert paper.journal_ref == "ActaAstron.56:1-50,2006"
    assert paper.primary_category_id == "astro-ph"


def test_an_id_with_no_result_is_a_successful_run_that_adds_nothing(respx_mock, http):
    respx_mock.get(API_URL).respond(200, content=feed("api/id_0000.0000_s0_m100.xml"))

    run = execute_run(start_run("api", {"id_list": ["0000.0000"]}).pk, http=http)

    assert (run.status, run.new_count, Paper.objects.count()) == ("succeeded", 0, 0)


def test_acm_and_msc_terms_become_other_classes_not_unknown_categories():
    xml = feed("api/id_1605.08386_s0_m100.xml").replace(
        b"<arxiv:primary_category",
        b'<category term="I.2.6" scheme="http://arxiv.org/schemas/atom"/>'
        b'<category term="68T05" scheme="http://arxiv.org/schemas/atom"/><arxiv:primary_category',
    )

    (record,) = parse_api_feed(xml).records

    assert record.other_classes == ["I.2.6", "68T05"]
    assert "I.2.6" not in record.categories


def test_an_unknown_category_fails_that_entry_and_keeps_the_others():
    page = PAGES[0].replace(b'term="cs.SE"', b'term="cs.XX"', 1)

    parsed = parse_api_feed(page)

    assert len(parsed.failures) == 1
    assert "unknown category code(s) cs.XX" in parsed.failures[0].reason
    assert len(parsed.records) == 9


def test_malformed_xml_fails_the_run_keeps_earlier_pages_and_a_retry_resumes(respx_mock, http):
    broken = PAGES[10][: len(PAGES[10]) // 2]
    served = {0: PAGES[0], 10: broken, 20: PAGES[20]}
    route = respx_mock.get(API_URL).mock(
        side_effect=lambda r: httpx.Response(200, content=served[int(r.url.params["start"])])
    )

    run = execute_run(_search_run().pk, http=http)

    assert run.status == "failed"
    assert "malformed XML" in run.error
    assert run.checkpoint == {"start": 10}
    assert Paper.objects.count() == len(_distinct_ids(PAGES[0]))

    served[10] = PAGES[10]
    run = execute_run(run.pk, http=http)

    assert run.status == "succeeded", run.error
    assert [int(c.request.url.params["start"]) for c in route.calls] == [0, 10, 10, 20]
    assert Paper.objects.count() == len(_distinct_ids(*PAGES.values()))
    assert run.attempts == 2


def test_http_5xx_is_retried_with_backoff(respx_mock, http, clock):
    respx_mock.get(API_URL).mock(
        side_effect=[
            httpx.Response(502),
            httpx.Response(500),
            httpx.Response(200, content=feed("api/id_2104.12255v1_s0_m100.xml")),
        ]
    )

    run = execute_run(start_run("api", {"id_list": ["2104.12255v1"]}).pk, http=http)

    assert run.status == "succeeded", run.error
    assert clock.sleeps == [5.0, 10.0]


def test_timeouts_that_outlast_the_retries_fail_the_run_with_a_clear_error(respx_mock, http):
    respx_mock.get(API_URL).mock(side_effect=httpx.ConnectTimeout("connect timed out"))

    run = execute_run(start_run("api", {"id_list": ["2104.12255v1"]}).pk, http=http)

    assert run.status == "failed"
    assert "timed out fetching https://export.arxiv.org/api/query" in run.error
    assert "gave up after 3 attempts" in run.error
