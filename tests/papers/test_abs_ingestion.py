import pytest

from papers.ingest.abs import parse_abs
from papers.ingest.records import RecordError
from papers.ingest.runs import execute_run, start_run
from papers.models import Paper
from tests.papers.conftest import FEEDS

pytestmark = pytest.mark.django_db

ABS = FEEDS / "abs"


def test_odd_abs_files_are_recorded_with_their_reason_and_good_ones_kept():
    run = execute_run(start_run("abs", {"paths": [str(ABS)]}).pk)

    assert run.status == "succeeded"
    failures = {f["where"].split("abs/", 1)[1]: f for f in run.failures}
    # Older versions' files (orig/) predate the Categories line; they cannot make a paper.
    assert set(failures) == {
        "ftp/math-ph/papers/0509/0509037.abs",
        "orig/math-ph/papers/0702/0702031v1.abs",
        "orig/hep-th/papers/9901/9901001v1.abs",
        "orig/cs/papers/0011/0011004v1.abs",
        "orig/math/papers/0202/0202001v1.abs",
    }
    assert (
        "header and abstract sections are missing"
        in failures["ftp/math-ph/papers/0509/0509037.abs"]["reason"]
    )
    assert failures["orig/math-ph/papers/0702/0702031v1.abs"]["arxiv_id"] == "math-ph/0702031"
    assert (
        "unknown category code(s) math-ph.MP"
        in failures["orig/math-ph/papers/0702/0702031v1.abs"]["reason"]
    )
    assert "missing Categories" in failures["orig/hep-th/papers/9901/9901001v1.abs"]["reason"]
    assert set(Paper.objects.values_list("arxiv_id", flat=True)) == {
        "0704.0001",
        "0704.0374",
        "cs/0011004",
        "math/0202001",
    }


def test_versions_of_an_abs_file_become_version_history_and_withdrawals_are_marked():
    execute_run(start_run("abs", {"paths": [str(ABS)]}).pk)

    survey = Paper.objects.get(arxiv_id="math/0202001")
    assert survey.version == 4
    assert [(v.version, v.size) for v in survey.versions.all()] == [
        (1, "391kb"),
        (2, "439kb"),
        (3, "441kb"),
        (4, "442kb"),
    ]
    assert survey.journal_ref.startswith("Fractals in Graz 2001")
    assert Paper.objects.get(arxiv_id="0704.0374").withdrawn


def test_an_abs_file_without_an_identifier_is_refused():
    text = (ABS / "ftp/cs/papers/0011/0011004.abs").read_text().replace("arXiv:cs/0011004", "")

    with pytest.raises(RecordError, match="missing the arXiv: identifier line"):
        parse_abs(text)
