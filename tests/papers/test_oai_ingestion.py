import httpx
import pytest

from papers.ingest.oai import ArxivOaiHarvester, parse_list_records
from papers.ingest.records import PaperRecord, PayloadError
from papers.ingest.runs import execute_run, start_run
from papers.ingest.upsert import upsert_records
from papers.models import Paper, PaperVersion
from tests.papers.conftest import OAI_URL, feed, recording

pytestmark = pytest.mark.django_db

HEP_TH = {"1412.8323", "1507.07790", "1607.01710"}
HEP_EX = {"1706.05371", "1706.09418", "1707.00874"}


def _oai_error(code: str, message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
        "<responseDate>2026-05-29T12:00:00Z</responseDate>"
        f'<request verb="ListRecords">{OAI_URL}</request>'
        f'<error code="{code}">{message}</error></OAI-PMH>'
    ).encode()


def test_a_503_with_retry_after_is_honoured(respx_mock, http, clock):
    first, second = recording("oai/arxiv-listrecords-503-then-200.json")
    assert (first.status_code, first.headers["Retry-After"]) == (503, "10")
    route = respx_mock.get(OAI_URL).mock(side_effect=[first, second])
    run = start_run(
        "oai", {"metadata_prefix": "arXiv", "from": "2015-01-01", "until": "2015-01-03"}
    )

    run = execute_run(run.pk, http=http)

    assert run.status == "succeeded", run.error
    assert clock.sleeps == [10.0]
    params = route.calls[0].request.url.params
    assert dict(params) == {
        "verb": "ListRecords",
        "metadataPrefix": "arXiv",
        "from": "2015-01-01",
        "until": "2015-01-03",
    }
    assert set(Paper.objects.values_list("arxiv_id", flat=True)) == {"1412.8544", "hep-th/9504118"}
    paper = Paper.objects.get(arxiv_id="1412.8544")
    assert paper.author_names == ["Sander Uijlen", "Bas Westerbaan"]
    assert paper.doi == "10.4204/EPTCS.172.11"
    assert paper.journal_ref == "EPTCS 172, 2014, pp. 154-164"


def test_an_interrupted_harvest_resumes_from_its_last_token_not_the_start(respx_mock, http):
    first_page = respx_mock.get(OAI_URL, params={"metadataPrefix": "arXiv"}).respond(
        200, content=feed("oai/listrecords-page1-with-token.xml")
    )
    next_page = respx_mock.get(OAI_URL, params={"resumptionToken": "6960524|1001"}).mock(
        return_value=httpx.Response(500)
    )
    run = start_run("oai", {"set": "physics:hep-th", "from": "2017-12-14"})

    run = execute_run(run.pk, http=http)

    assert run.status == "failed"
    assert "HTTP 500" in run.error
    assert run.checkpoint == {"resumption_token": "6960524|1001", "done": False}
    assert (run.new_count, run.expected_total) == (3, 6)
    assert set(Paper.objects.values_list("arxiv_id", flat=True)) == HEP_TH

    next_page.mock(
        return_value=httpx.Response(200, content=feed("oai/hepcrawl-listrecords-hep-ex.xml"))
    )
    run = execute_run(run.pk, http=http)

    assert run.status == "succeeded", run.error
    assert first_page.call_count == 1
    assert dict(next_page.calls[-1].request.url.params) == {
        "verb": "ListRecords",
        "resumptionToken": "6960524|1001",
    }
    assert set(Paper.objects.values_list("arxiv_id", flat=True)) == HEP_TH | HEP_EX
    assert run.new_count == 6
    assert run.checkpoint["done"] is True


def test_a_finished_harvest_run_again_asks_for_nothing(respx_mock, http):
    route = respx_mock.get(OAI_URL).respond(
        200, content=feed("oai/hepcrawl-listrecords-hep-ex.xml")
    )
    run = execute_run(start_run("oai", {}).pk, http=http)
    run.status = "failed"  # as if the worker died after the last page committed
    run.save()

    run = execute_run(run.pk, http=http)

    assert run.status == "succeeded"
    assert route.call_count == 1


def test_arxivraw_records_keep_every_version_and_withdrawn_papers_are_marked(respx_mock, http):
    upsert_records(
        [PaperRecord("hep-th/9901001", "String Junctions and Their Duals", "", [], ["hep-th"])]
    )
    respx_mock.get(OAI_URL).respond(200, content=feed("oai/arxivraw-listrecords.xml"))

    run = execute_run(start_run("oai", {"metadata_prefix": "arXivRaw"}).pk, http=http)

    assert run.status == "succeeded", run.error
    assert (run.new_count, run.updated_count) == (2, 1)
    withdrawn = Paper.objects.get(arxiv_id="0704.0374")
    assert withdrawn.withdrawn and withdrawn.version == 2
    assert [(v.version, v.size) for v in withdrawn.versions.all()] == [(1, "15kb"), (2, "0kb")]
    survey = Paper.objects.get(arxiv_id="math/0202001")
    assert survey.version == 4
    assert survey.author_names == [
        "Laurent Bartholdi",
        "Rostislav I. Grigorchuk",
        "Volodymyr V. Nekrashevych",
    ]
    assert survey.other_classes == ["20E08", "37B10", "28A80"]
    assert PaperVersion.objects.filter(paper=survey).count() == 4
    # A deleted record is marked withdrawn; the paper stays.
    assert Paper.objects.get(arxiv_id="hep-th/9901001").withdrawn


def test_a_broken_record_is_recorded_and_the_good_ones_in_the_page_kept(respx_mock, http):
    respx_mock.get(OAI_URL).respond(200, content=feed("oai/hepcrawl-sample-records.xml"))

    run = execute_run(start_run("oai", {}).pk, http=http)

    assert run.status == "succeeded"
    assert run.failed_count == 1
    assert run.failed_ids == ["1601.03238"]
    assert "unsupported metadata format" in run.failures[0]["reason"]
    assert run.new_count == Paper.objects.count() == 11


def test_an_oai_error_is_recorded_with_its_code(respx_mock, http):
    respx_mock.get(OAI_URL).respond(
        200, content=_oai_error("badResumptionToken", "The token is expired.")
    )

    run = execute_run(start_run("oai", {}).pk, http=http)

    assert run.status == "failed"
    assert run.error == "OAI-PMH error badResumptionToken: The token is expired."


def test_no_records_match_is_an_empty_successful_harvest(respx_mock, http):
    respx_mock.get(OAI_URL).respond(200, content=_oai_error("noRecordsMatch", "Nothing."))

    run = execute_run(start_run("oai", {"from": "2030-01-01"}).pk, http=http)

    assert (run.status, run.new_count) == ("succeeded", 0)


def test_malformed_oai_xml_raises_a_clear_error(respx_mock, http):
    content = feed("oai/hepcrawl-listrecords-hep-th.xml")[:-200]
    respx_mock.get(OAI_URL).respond(200, content=content)

    with pytest.raises(PayloadError, match="malformed XML from the arXiv OAI-PMH service"):
        list(ArxivOaiHarvester(http).batches())


def test_the_arxiv_format_has_no_versions_but_keeps_dates():
    page = parse_list_records(feed("oai/hepcrawl-listrecords-hep-th.xml"))

    record = page.records[0]
    assert record.arxiv_id == "1412.8323"
    assert record.version is None
    assert record.submitted.date().isoformat() == "2014-12-29"
    assert record.updated.date().isoformat() == "2017-12-13"
    assert record.categories[0] == "quant-ph"
