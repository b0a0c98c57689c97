import datetime as dt

import pytest

from papers.ingest.records import PaperRecord
from papers.ingest.runs import execute_run, start_run
from papers.ingest.upsert import upsert_records
from papers.models import Author, Paper
from papers.signals import papers_changed
from tests.papers.conftest import FEEDS

pytestmark = pytest.mark.django_db

V1 = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)
V2 = dt.datetime(2026, 5, 20, 12, tzinfo=dt.UTC)


def _record(version: int, **changes) -> PaperRecord:
    fields = {
        "arxiv_id": f"2605.01234v{version}",
        "title": f"A title, version {version}",
        "abstract": f"Abstract {version}.",
        "authors": ["Ada Lovelace", "Alan Turing"],
        "categories": ["cs.LG"],
        "updated": V1 if version == 1 else V2,
        "submitted": V1,
    }
    return PaperRecord(**{**fields, **changes})


def test_a_newer_version_updates_the_record_and_keeps_the_version_history():
    upsert_records([_record(1)])

    result = upsert_records([_record(2, authors=["Ada Lovelace", "Grace Hopper"])])

    assert result.updated == ["2605.01234"]
    paper = Paper.objects.get(arxiv_id="2605.01234")
    assert (paper.version, paper.title, paper.updated) == (2, "A title, version 2", V2)
    assert [(v.version, v.submitted) for v in paper.versions.all()] == [(1, V1), (2, V2)]
    assert [a.author.name for a in paper.authorships.select_related("author")] == [
        "Ada Lovelace",
        "Grace Hopper",
    ]


def test_an_older_version_arriving_late_adds_history_but_does_not_overwrite():
    upsert_records([_record(2)])

    upsert_records([_record(1)])

    paper = Paper.objects.get(arxiv_id="2605.01234")
    assert (paper.version, paper.title) == (2, "A title, version 2")
    assert list(paper.versions.values_list("version", flat=True)) == [1, 2]


def test_a_cross_list_adds_categories_and_keeps_the_primary():
    upsert_records([_record(1)])

    upsert_records([_record(1, categories=["cs.LG", "cs.CL"])])
    upsert_records([_record(1, categories=["stat.ML"])])

    paper = Paper.objects.get(arxiv_id="2605.01234")
    assert paper.category_codes == ["cs.LG", "cs.CL", "stat.ML"]
    assert paper.primary_category_id == "cs.LG"
    assert paper.categories.count() == 3


def test_a_withdrawal_marks_the_paper_and_keeps_it():
    upsert_records([_record(1)])

    upsert_records([_record(2, comment="This paper has been withdrawn by the author")])

    paper = Paper.objects.get(arxiv_id="2605.01234")
    assert paper.withdrawn
    assert paper.versions.count() == 2


def test_the_same_author_spelled_twice_is_one_author():
    upsert_records(
        [
            _record(1, authors=["José García"]),
            PaperRecord("2605.04321", "Other", "", ["Jose Garcia"], ["cs.LG"]),
        ]
    )

    assert Author.objects.count() == 1


def test_new_and_changed_papers_are_announced_for_indexing_once_committed(
    django_capture_on_commit_callbacks,
):
    announced: list[list[str]] = []

    def receiver(sender, arxiv_ids, **kwargs):
        announced.append(sorted(arxiv_ids))

    papers_changed.connect(receiver)
    try:
        path = str(FEEDS / "snapshot" / "papers-20.jsonl")
        with django_capture_on_commit_callbacks(execute=True):
            execute_run(start_run("snapshot", {"path": path}).pk)
        with django_capture_on_commit_callbacks(execute=True):
            execute_run(start_run("snapshot", {"path": path}).pk)
    finally:
        papers_changed.disconnect(receiver)

    assert announced == [sorted(Paper.objects.values_list("arxiv_id", flat=True))]
