import gzip
import io
import json

import pytest
from django.core.management import call_command
from django.db import DatabaseError

from papers.ingest import upsert
from papers.ingest.runs import execute_run, start_run
from papers.ingest.snapshot import load_snapshot
from papers.models import Paper, PaperVersion
from tests.papers.conftest import FEEDS

pytestmark = pytest.mark.django_db

OURS = FEEDS / "snapshot" / "papers-20.jsonl"
ARXIVS = FEEDS / "snapshot" / "arxiv-metadata-oai-snapshot-2.json"
LINES = OURS.read_bytes().splitlines(keepends=True)


def _snapshot_run(path) -> object:
    return execute_run(start_run("snapshot", {"path": str(path)}).pk)


def test_a_gzipped_snapshot_in_our_format_loads_every_paper(tmp_path):
    path = tmp_path / "papers.jsonl.gz"
    path.write_bytes(gzip.compress(OURS.read_bytes()))

    run = _snapshot_run(path)

    assert (run.status, run.new_count, run.failed_count) == ("succeeded", 20, 0)
    first = json.loads(LINES[0])
    paper = Paper.objects.get(arxiv_id=first["id"])
    assert paper.category_codes == first["categories"]
    assert paper.announced.isoformat() == first["crawl_date_first"]


def test_reingesting_the_same_snapshot_changes_nothing():
    _snapshot_run(OURS)
    before = list(Paper.objects.values_list("arxiv_id", "updated_at").order_by("arxiv_id"))

    again = _snapshot_run(OURS)

    assert (again.new_count, again.updated_count, again.unchanged_count) == (0, 0, 20)
    assert list(Paper.objects.values_list("arxiv_id", "updated_at").order_by("arxiv_id")) == before


def test_arxivs_metadata_snapshot_format_keeps_versions_and_marks_withdrawn():
    run = _snapshot_run(ARXIVS)

    assert (run.status, run.new_count) == ("succeeded", 2)
    withdrawn = Paper.objects.get(arxiv_id="0704.0374")
    assert withdrawn.withdrawn
    assert withdrawn.author_names == ["Boris A. Zon", "Igor Yu. Kretinin"]
    transfer = Paper.objects.get(arxiv_id="cs/0011004")
    assert transfer.version == 2
    assert list(PaperVersion.objects.filter(paper=transfer).values_list("version", flat=True)) == [
        1,
        2,
    ]


def test_invalid_json_missing_fields_and_unknown_categories_are_recorded_by_line(tmp_path):
    no_title = json.loads(LINES[1])
    del no_title["title"]
    odd_category = json.loads(LINES[2])
    odd_category["categories"] = ["cs.XX"]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(
        LINES[0]
        + b'{"id": "2605.00001", "title": "cut off\n'
        + json.dumps(no_title).encode()
        + b"\n"
        + json.dumps(odd_category).encode()
        + b"\n"
        + b"[1, 2]\n"
        + LINES[3]
    )

    run = _snapshot_run(path)

    assert run.status == "succeeded"
    assert (run.new_count, run.failed_count) == (2, 4)
    reasons = {f["where"]: f for f in run.failures}
    assert reasons["line 2"]["reason"].startswith("invalid JSON")
    assert reasons["line 3"] == {
        "arxiv_id": no_title["id"],
        "where": "line 3",
        "reason": "missing field 'title'",
    }
    assert "unknown category code(s) cs.XX" in reasons["line 4"]["reason"]
    assert reasons["line 5"]["reason"] == "expected a JSON object, got list"
    assert run.failed_ids == [no_title["id"], odd_category["id"]]


def test_a_truncated_gzip_keeps_whole_lines_fails_clearly_and_a_retry_resumes(tmp_path, settings):
    settings.INGEST_BATCH_SIZE = 5
    whole = gzip.compress(OURS.read_bytes())
    path = tmp_path / "papers.jsonl.gz"
    path.write_bytes(whole[: len(whole) * 2 // 3])

    run = _snapshot_run(path)

    assert run.status == "failed"
    assert "file is truncated or corrupt after this line" in run.error
    kept = Paper.objects.count()
    assert 0 < kept < 20
    assert run.checkpoint == {"line": kept}
    assert run.new_count == kept

    path.write_bytes(whole)
    run = execute_run(run.pk)

    assert (run.status, run.new_count, run.unchanged_count) == ("succeeded", 20, 0)
    assert Paper.objects.count() == 20


def test_a_batch_that_fails_to_write_leaves_nothing_half_written(monkeypatch, settings):
    settings.INGEST_BATCH_SIZE = 5
    calls = []
    write_categories = upsert._write_categories

    def failing_second_time(new, replaced):
        calls.append(1)
        write_categories(new, replaced)
        if len(calls) == 2:
            raise DatabaseError("disk I/O error")

    monkeypatch.setattr(upsert, "_write_categories", failing_second_time)
    run = start_run("snapshot", {"path": str(OURS)})

    with pytest.raises(DatabaseError):
        execute_run(run.pk)

    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error == "unexpected DatabaseError: disk I/O error"
    assert Paper.objects.count() == run.new_count == 5
    assert run.checkpoint == {"line": 5}
    assert not Paper.categories.through.objects.exclude(paper__in=Paper.objects.all()).exists()


def test_load_snapshot_still_loads_a_file_without_a_run():
    report = load_snapshot(OURS)

    assert (len(report.result.new), report.skipped, report.error) == (20, [], None)


def test_the_command_reads_a_snapshot_from_standard_input(monkeypatch):
    stdin = io.TextIOWrapper(io.BytesIO(gzip.compress(OURS.read_bytes())))
    monkeypatch.setattr("sys.stdin", stdin)
    out = io.StringIO()

    call_command("ingest", "snapshot", "-", stdout=out, stderr=io.StringIO())

    assert "succeeded): 20 new, 0 updated, 0 unchanged, 0 failed" in out.getvalue()
    assert Paper.objects.count() == 20
