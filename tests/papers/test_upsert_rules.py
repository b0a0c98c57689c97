"""How one upsert merges what different sources say about the same paper."""

import datetime as dt

import pytest

from papers.ingest.records import RecordError
from papers.ingest.upsert import upsert_records
from papers.models import Author, Paper

from .factories import record

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def test_a_newer_version_updates_the_paper_and_keeps_the_history():
    v1 = record(arxiv_id="2605.00001", version=1, updated=dt.datetime(2026, 5, 1, tzinfo=UTC))
    upsert_records([v1])
    v2 = record(
        arxiv_id="2605.00001v2",
        title="A better title",
        updated=dt.datetime(2026, 5, 9, tzinfo=UTC),
        announced=dt.date(2026, 5, 12),
    )
    result = upsert_records([v2])
    paper = Paper.objects.get(arxiv_id="2605.00001")
    assert result.updated == ["2605.00001"]
    assert paper.version == 2 and paper.title == "A better title"
    assert list(paper.versions.values_list("version", flat=True)) == [1, 2]
    # The announcement date is the first day any listing showed the paper.
    assert paper.announced == dt.date(2026, 5, 12)


def test_an_older_version_arriving_late_does_not_overwrite_the_newer_one():
    upsert_records([record(arxiv_id="2605.00002v3", title="Version three")])
    upsert_records([record(arxiv_id="2605.00002v1", title="Version one")])
    paper = Paper.objects.get(arxiv_id="2605.00002")
    assert paper.title == "Version three" and paper.version == 3
    assert sorted(paper.versions.values_list("version", flat=True)) == [1, 3]


def test_a_cross_list_adds_categories_and_keeps_the_primary():
    upsert_records([record(arxiv_id="2605.00003", categories=["cs.CL"])])
    upsert_records([record(arxiv_id="2605.00003", categories=["cs.LG", "stat.ML"])])
    paper = Paper.objects.get(arxiv_id="2605.00003")
    assert paper.category_codes == ["cs.CL", "cs.LG", "stat.ML"]
    assert paper.primary_category_id == "cs.CL"
    assert set(paper.categories.values_list("code", flat=True)) == {"cs.CL", "cs.LG", "stat.ML"}


def test_a_withdrawn_version_marks_the_paper_without_deleting_it():
    upsert_records([record(arxiv_id="2605.00004v1")])
    upsert_records([record(arxiv_id="2605.00004v2", comment="This paper has been withdrawn")])
    paper = Paper.objects.get(arxiv_id="2605.00004")
    assert paper.withdrawn and paper.version == 2


def test_empty_fields_from_a_thinner_source_never_erase_what_we_know():
    upsert_records([record(arxiv_id="2605.00005", journal_ref="J. Tests 1 (2026)", doi="10.1/x")])
    result = upsert_records([record(arxiv_id="2605.00005", journal_ref="", doi="")])
    paper = Paper.objects.get(arxiv_id="2605.00005")
    assert result.unchanged == 1
    assert paper.journal_ref == "J. Tests 1 (2026)" and paper.doi == "10.1/x"


def test_changed_author_lists_replace_the_authorships_in_order():
    upsert_records([record(arxiv_id="2605.00006v1", authors=["B. One", "C. Two"])])
    upsert_records([record(arxiv_id="2605.00006v2", authors=["C. Two", "D. Three", "B. One"])])
    paper = Paper.objects.get(arxiv_id="2605.00006")
    names = list(paper.authorships.values_list("author__name", flat=True))
    assert names == ["C. Two", "D. Three", "B. One"]
    assert Author.objects.get(name="B. One").papers.count() == 1


def test_one_author_spelled_two_ways_is_one_author_page():
    upsert_records([record(authors=["José García"]), record(authors=["Jose  Garcia"])])
    assert Author.objects.count() == 1
    assert Author.objects.get().papers.count() == 2


def test_a_record_without_title_or_with_unknown_categories_is_refused_with_the_reason():
    with pytest.raises(RecordError, match="missing title"):
        record(title="  ")
    with pytest.raises(RecordError, match="unknown category code.*xx.YY"):
        record(categories=["cs.AI", "xx.YY"])
