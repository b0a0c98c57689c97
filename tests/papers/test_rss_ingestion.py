import datetime as dt

import httpx
import pytest
from django_celery_beat.models import PeriodicTask

from papers.ingest.records import PaperRecord
from papers.ingest.runs import execute_run, start_run
from papers.ingest.upsert import upsert_records
from papers.models import FeedSubscription, IngestionRun, Paper
from papers.tasks import ingest_daily_feeds
from tests.papers.conftest import feed

pytestmark = pytest.mark.django_db

CS_CL = feed("rss/cs.CL.xml")
FEED_URL = "https://rss.arxiv.org/rss/{}"
LISTING_DAY = dt.date(2026, 5, 29)


def _known_before_the_feed() -> None:
    upsert_records(
        [
            # Known only in its primary category until the cs.CL cross-list arrives.
            PaperRecord(
                "2605.28864",
                "The Cognitive Categorical Transformer",
                "",
                ["Al Kari"],
                ["cs.AI"],
                version=1,
                announced=LISTING_DAY,
            ),
            PaperRecord(
                "2605.15282",
                "Fluency and Faithfulness in Human and Machine Literary Translation",
                "Old abstract.",
                ["Sarah Griebel", "Ted Underwood"],
                ["cs.CL"],
                version=1,
                announced=dt.date(2026, 5, 18),
            ),
        ]
    )


def test_new_cross_and_replacement_items_update_the_right_records(respx_mock, http):
    _known_before_the_feed()
    respx_mock.get(FEED_URL.format("cs.CL")).respond(200, content=CS_CL)

    run = execute_run(start_run("rss", {"categories": ["cs.CL"]}).pk, http=http)

    assert run.status == "succeeded", run.error
    assert (run.new_count, run.updated_count, run.unchanged_count) == (3, 2, 0)
    for arxiv_id in ("2605.28824", "2605.28826"):
        paper = Paper.objects.get(arxiv_id=arxiv_id)
        assert (paper.version, paper.announced) == (1, LISTING_DAY)
    cross = Paper.objects.get(arxiv_id="2605.28864")
    assert cross.category_codes == ["cs.AI", "cs.CL"]
    assert sorted(cross.categories.values_list("code", flat=True)) == ["cs.AI", "cs.CL"]
    replaced = Paper.objects.get(arxiv_id="2605.15282")
    assert replaced.version == 2
    assert replaced.abstract.startswith("Literary translation requires")
    assert replaced.announced == dt.date(2026, 5, 18)
    assert list(replaced.versions.values_list("version", flat=True)) == [1, 2]
    replaced_cross = Paper.objects.get(arxiv_id="2605.16385")
    assert replaced_cross.version == 2
    assert replaced_cross.primary_category_id == "cs.CV"
    assert replaced_cross.announced is None
    assert replaced_cross.author_names == ["Ruoran Xu", "Haoyu Cheng", "Bin Dong", "Qiufeng Wang"]


def test_reingesting_the_same_feed_changes_nothing(respx_mock, http):
    respx_mock.get(FEED_URL.format("cs.CL")).respond(200, content=CS_CL)
    execute_run(start_run("rss", {"categories": ["cs.CL"]}).pk, http=http)
    before = list(Paper.objects.values_list("arxiv_id", "updated_at").order_by("arxiv_id"))

    again = execute_run(start_run("rss", {"categories": ["cs.CL"]}).pk, http=http)

    assert (again.new_count, again.updated_count, again.unchanged_count) == (0, 0, 5)
    assert list(Paper.objects.values_list("arxiv_id", "updated_at").order_by("arxiv_id")) == before


def test_a_truncated_feed_is_refused_other_feeds_are_kept_and_a_retry_fetches_only_it(
    respx_mock, http
):
    good = respx_mock.get(FEED_URL.format("cs.AI")).respond(200, content=CS_CL)
    broken = respx_mock.get(FEED_URL.format("cs.CL")).respond(200, content=CS_CL[:5000])

    run = execute_run(start_run("rss", {"categories": ["cs.AI", "cs.CL"]}).pk, http=http)

    assert run.status == "failed"
    assert run.error.startswith("malformed feed from https://rss.arxiv.org/rss/cs.CL")
    assert run.checkpoint == {"done": ["cs.AI"]}
    assert Paper.objects.count() == 5

    broken.respond(200, content=CS_CL)
    run = execute_run(run.pk, http=http)

    assert run.status == "succeeded"
    assert (good.call_count, broken.call_count) == (1, 2)


def test_a_missing_feed_fails_the_run_with_its_status(respx_mock, http):
    respx_mock.get(FEED_URL.format("cs.CL")).respond(404, text="Not found")

    run = execute_run(start_run("rss", {"categories": ["cs.CL"]}).pk, http=http)

    assert run.status == "failed"
    assert run.error == "HTTP 404 from https://rss.arxiv.org/rss/cs.CL"


def test_unknown_categories_cannot_be_requested():
    with pytest.raises(ValueError, match="unknown category code"):
        start_run("rss", {"categories": ["cs.CL", "cs.XX"]})


def test_the_daily_task_fetches_the_enabled_subscriptions(respx_mock, settings):
    settings.ARXIV_MIN_INTERVAL = 0
    FeedSubscription.objects.create(category="cs.CL")
    FeedSubscription.objects.create(category="cs.AI", enabled=False)
    cs_cl = respx_mock.get(FEED_URL.format("cs.CL")).respond(200, content=CS_CL)
    cs_ai = respx_mock.get(FEED_URL.format("cs.AI")).mock(return_value=httpx.Response(500))

    run_id = ingest_daily_feeds()

    assert (cs_cl.call_count, cs_ai.call_count) == (1, 0)
    assert Paper.objects.count() == 5
    run = IngestionRun.objects.get(pk=run_id)
    assert (run.source, run.parameters, run.status) == (
        "rss",
        {"categories": ["cs.CL"]},
        "succeeded",
    )


def test_the_daily_task_does_nothing_without_subscriptions():
    assert ingest_daily_feeds() is None


def test_the_daily_feeds_are_scheduled_after_arxivs_midnight_rebuild():
    task = PeriodicTask.objects.get(task="papers.tasks.ingest_daily_feeds")

    assert task.enabled
    assert (task.crontab.hour, task.crontab.minute, task.crontab.day_of_week) == (
        "0",
        "10,40",
        "1-5",
    )
    assert str(task.crontab.timezone) == "America/New_York"
