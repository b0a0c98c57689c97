"""Loading snapshot files: the shipped sample, broken lines and broken files."""

import gzip
import io
import json
import os
import threading

import pytest
from django.conf import settings
from django.core.management import call_command

from papers.ingest.snapshot import SnapshotError, iter_snapshot, load_snapshot, open_snapshot
from papers.models import Author, IngestionRun, Paper

pytestmark = pytest.mark.django_db


def _lines(n: int) -> list[bytes]:
    with gzip.open(settings.SAMPLE_PATH) as f:
        return [next(f) for _ in range(n)]


def _gzip(lines: list[bytes]) -> bytes:
    return gzip.compress(b"".join(lines))


def test_the_shipped_sample_is_a_few_thousand_real_papers():
    report = load_snapshot(settings.SAMPLE_PATH)
    assert report.error is None and report.skipped == []
    assert 2000 <= Paper.objects.count() <= 6000
    paper = Paper.objects.get(arxiv_id=json.loads(_lines(1)[0])["id"])
    assert paper.title and paper.abstract and paper.announced
    assert paper.primary_category_id == paper.category_codes[0]
    assert list(paper.authorships.values_list("author__name", flat=True)) == paper.author_names


def test_loading_the_same_file_again_changes_nothing():
    first = load_snapshot(io.BytesIO(_gzip(_lines(50))))
    again = load_snapshot(io.BytesIO(_gzip(_lines(50))))
    assert len(first.result.new) == 50
    assert again.result.new == [] and again.result.updated == []
    assert again.result.unchanged == 50
    assert Paper.objects.count() == 50


def test_malformed_lines_are_skipped_and_reported_by_line_number():
    lines = _lines(5)
    bad = [lines[0], b"{not json\n", lines[1], b'{"id": "2605.00001", "title": "x"}\n', lines[2]]
    report = load_snapshot(io.BytesIO(b"".join(bad)))
    assert [s.line for s in report.skipped] == [2, 4]
    assert "invalid JSON" in report.skipped[0].reason
    assert "missing field" in report.skipped[1].reason and report.skipped[1].arxiv_id
    assert Paper.objects.count() == 3


def test_an_unknown_category_code_is_a_skipped_line_with_the_code_named():
    record = json.loads(_lines(1)[0])
    record["categories"] = ["cs.NOPE"]
    (skipped,) = list(iter_snapshot([json.dumps(record)]))
    assert "cs.NOPE" in skipped.reason


def test_a_truncated_gzip_keeps_whole_lines_and_reports_where_it_broke():
    data = _gzip(_lines(120))
    report = load_snapshot(io.BytesIO(data[: len(data) // 2]), batch_size=25)
    assert isinstance(report.error, SnapshotError)
    assert "truncated" in str(report.error) and report.error.line > 0
    # Every paper read before the break is whole, with its authors: nothing half-way.
    assert 0 < Paper.objects.count() < 120
    assert not Paper.objects.filter(authorships=None).exists()
    # Loading the repaired file finishes the job.
    load_snapshot(io.BytesIO(data))
    assert Paper.objects.count() == 120


def test_arxivs_own_metadata_snapshot_format_is_understood():
    record = {
        "id": "0704.0001",
        "submitter": "Pavel Nadolsky",
        "authors": "C. Bal\\'azs, E. L. Berger, P. M. Nadolsky, C.-P. Yuan",
        "title": "Calculation of prompt diphoton production cross sections at Tevatron"
        " and\n  LHC energies",
        "comments": "37 pages, 15 figures; published version",
        "journal-ref": "Phys.Rev.D76:013009,2007",
        "doi": "10.1103/PhysRevD.76.013009",
        "categories": "hep-ph",
        "abstract": "  A fully differential calculation in perturbative quantum chromodynamics"
        " is\npresented.",
        "versions": [
            {"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"},
            {"version": "v2", "created": "Tue, 24 Jul 2007 20:10:27 GMT"},
        ],
        "update_date": "2008-11-13",
        "authors_parsed": [
            ["Balázs", "C.", ""],
            ["Berger", "E. L.", ""],
            ["Nadolsky", "P. M.", ""],
            ["Yuan", "C. -P.", ""],
        ],
    }
    report = load_snapshot(io.BytesIO(json.dumps(record).encode()))
    paper = Paper.objects.get(arxiv_id="0704.0001")
    assert report.result.new == ["0704.0001"]
    assert paper.version == 2 and paper.versions.count() == 2
    assert paper.title.startswith("Calculation of prompt diphoton") and "\n" not in paper.title
    assert paper.author_names[0] == "C. Balázs"
    assert paper.journal_ref == "Phys.Rev.D76:013009,2007" and paper.doi
    assert paper.submitted.year == 2007 and paper.updated.month == 7


def test_plain_and_gzipped_files_read_the_same():
    lines = _lines(3)
    for data in (b"".join(lines), _gzip(lines)):
        with open_snapshot(io.BytesIO(data)) as stream:
            assert stream.read() == b"".join(lines)


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzipped"])
def test_a_named_pipe_loads_like_a_file(tmp_path, compress):
    """`ingest snapshot <(zcat ...)`: a pipe can be read only once, so it is opened once."""
    lines = _lines(5)
    pipe = tmp_path / "papers.jsonl"
    os.mkfifo(pipe)
    data = _gzip(lines) if compress else b"".join(lines)
    writer = threading.Thread(target=pipe.write_bytes, args=(data,))
    writer.start()
    call_command("ingest", "snapshot", str(pipe), stdout=io.StringIO(), stderr=io.StringIO())
    writer.join(timeout=10)
    run = IngestionRun.objects.get()
    assert (run.status, run.new_count, run.failed_count) == ("succeeded", 5, 0)
    assert Paper.objects.count() == 5


def test_bootstrap_loads_the_sample_once_and_then_starts_without_reloading(capsys):
    call_command("bootstrap", verbosity=0)
    count = Paper.objects.count()
    authors = Author.objects.count()
    assert count > 2000
    call_command("bootstrap", verbosity=0)
    assert Paper.objects.count() == count and Author.objects.count() == authors
    assert f"{count} papers in the database" in capsys.readouterr().out


def test_bootstrap_queues_no_indexing_since_it_builds_the_index_itself(
    django_capture_on_commit_callbacks,
):
    from papers.signals import papers_changed

    announced = []

    def listener(sender, arxiv_ids, **kwargs):
        announced.extend(arxiv_ids)

    papers_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            load_snapshot(io.BytesIO(_gzip(_lines(3))))
        assert len(announced) == 3
        Paper.objects.all().delete()
        announced.clear()
        with django_capture_on_commit_callbacks(execute=True):
            call_command("bootstrap", verbosity=0)
        assert Paper.objects.count() > 2000 and announced == []
    finally:
        papers_changed.disconnect(listener)
