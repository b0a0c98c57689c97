"""Popular now: visits, read marks and stars make a decayed score; lists sort by it."""

import datetime as dt
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from papers.ingest.upsert import upsert_records
from papers.library.models import Mark
from papers.models import Paper
from papers.readers import popularity
from papers.readers.models import PaperViews
from tests.papers.factories import record

ROOT = Path(__file__).resolve().parents[2]
DAY = dt.date(2026, 5, 20)  # the factory default


@pytest.fixture
def papers(db):
    upsert_records(
        [
            record(arxiv_id="2605.00301", title="Quiet paper", categories=["cs.CL"]),
            record(
                arxiv_id="2605.00302", title="Starred paper", categories=["cs.CL"], announced=DAY
            ),
            record(
                arxiv_id="2605.00303", title="Visited paper", categories=["cs.CL"], announced=DAY
            ),
        ]
    )
    return {p.arxiv_id: p for p in Paper.objects.all()}


def _star(paper, name, kind=Mark.Kind.STAR, days_ago=0):
    user, _ = User.objects.get_or_create(username=name)
    mark = Mark.objects.create(user=user, paper=paper, kind=kind)
    if days_ago:
        Mark.objects.filter(pk=mark.pk).update(created=timezone.now() - dt.timedelta(days=days_ago))


def test_paper_page_visits_are_buffered_not_written_per_view(papers, fresh_view_counter, settings):
    settings.POPULARITY_FLUSH_SECONDS = 3600
    client = Client()
    for _ in range(5):
        assert client.get("/paper/2605.00303").status_code == 200
    assert not PaperViews.objects.exists()
    assert fresh_view_counter.pending() == 5
    assert fresh_view_counter.flush() == 5
    row = PaperViews.objects.get()
    assert (row.paper.arxiv_id, row.day, row.views) == ("2605.00303", timezone.now().date(), 5)


def test_a_due_flush_writes_the_visits_counted_so_far(papers, settings):
    settings.POPULARITY_FLUSH_SECONDS = 0
    Client().get("/paper/2605.00303")
    Client().get("/paper/2605.00303")
    assert PaperViews.objects.get().views == 2


def test_visits_to_a_deleted_paper_are_dropped_not_an_error(papers, fresh_view_counter):
    gone = papers["2605.00301"]
    fresh_view_counter.add(gone.pk)
    fresh_view_counter.add(papers["2605.00302"].pk)
    gone.delete()
    assert fresh_view_counter.flush() == 2
    assert list(PaperViews.objects.values_list("paper__arxiv_id", "views")) == [("2605.00302", 1)]


def test_stars_weigh_more_than_visits_and_old_activity_decays(papers, settings):
    settings.POPULARITY_HALF_LIFE_DAYS = 3
    starred, visited, quiet = (papers[i] for i in ("2605.00302", "2605.00303", "2605.00301"))
    _star(starred, "ann")
    popularity.write_views({(visited.pk, timezone.now().date()): 3})
    _star(quiet, "bob", days_ago=6)  # a quarter of a fresh star
    scores = popularity.activity(30)
    assert scores[starred.pk].score == pytest.approx(5.0)
    assert scores[visited.pk].score == pytest.approx(3.0)
    assert scores[quiet.pk].score == pytest.approx(1.25)
    assert popularity.popular_order(["2605.00301", "2605.00303", "2605.00302", "9999.99999"]) == [
        "2605.00302",
        "2605.00303",
        "2605.00301",
        "9999.99999",
    ]


def test_popular_page_counts_stars_reads_and_visits_per_window(papers):
    starred, visited = papers["2605.00302"], papers["2605.00303"]
    _star(starred, "ann")
    _star(starred, "bob", kind=Mark.Kind.READ)
    _star(visited, "cat", days_ago=10)
    popularity.write_views({(visited.pk, timezone.now().date()): 2})
    page = Client().get("/popular?window=week").content.decode()
    assert "1 star · 1 read · 0 visits" in page
    assert "0 stars · 0 reads · 2 visits" in page
    assert page.index("Starred paper") < page.index("Visited paper")
    month = Client().get("/popular?window=month").content.decode()
    assert "1 star · 0 reads · 2 visits" in month
    today = Client().get("/popular?window=today").content.decode()
    assert "Quiet paper" not in today and "Starred paper" in today


def test_popular_page_rejects_an_unknown_window(db):
    response = Client().get("/popular?window=year")
    assert response.status_code == 400
    assert "window: one of today, week, month" in response.content.decode()


def test_daily_list_sorts_by_popularity_on_request(papers):
    _star(papers["2605.00301"], "ann")
    newest = Client().get(f"/arxiv/cs.CL?date={DAY}").content.decode()
    assert newest.index("Visited paper") < newest.index("Quiet paper")
    popular = Client().get(f"/arxiv/cs.CL?date={DAY}&sort=popular").content.decode()
    assert popular.index("Quiet paper") < popular.index("Visited paper")
    assert f'href="?date={DAY}&amp;sort=newest"' in popular


def test_lists_reject_an_unknown_sort(papers):
    response = Client().get("/arxiv/cs.CL?sort=stars")
    assert response.status_code == 400
    assert "sort: one of newest, popular" in response.content.decode()


def test_author_and_library_pages_sort_by_popularity(papers):
    reader = User.objects.create_user("reader", password="pw")
    for paper in papers.values():
        Mark.objects.create(user=reader, paper=paper, kind=Mark.Kind.STAR)
    _star(papers["2605.00301"], "ann")
    client = Client()
    client.force_login(reader)
    page = client.get("/library?sort=popular").content.decode()
    assert page.index("Quiet paper") < page.index("Starred paper")
    author = papers["2605.00301"].authors.first()
    page = client.get(f"/author/{author.key}?sort=popular").content.decode()
    assert page.index("Quiet paper") < page.index("Visited paper")


WORKER = textwrap.dedent(
    """
    import sys, threading
    import django
    django.setup()
    from papers.models import Paper
    from papers.readers import popularity

    pks = sorted(Paper.objects.values_list("pk", flat=True))
    threads, per_thread = int(sys.argv[1]), int(sys.argv[2])

    def visit(t):
        for i in range(per_thread):
            popularity.record_view(Paper(pk=pks[(i + t) % len(pks)]))

    workers = [threading.Thread(target=visit, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    # What is still buffered is written at exit.
    """
)


def test_concurrent_visits_from_many_processes_and_threads_are_each_counted_once(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        DATA_DIR=str(tmp_path / "data"),
        DJANGO_SETTINGS_MODULE="papers.settings",
        POPULARITY_FLUSH_SECONDS="0.005",  # many small flushes racing each other
        PYTHONPATH=str(ROOT),
    )

    def run(*args):
        out = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        return out.stdout

    run(sys.executable, "manage.py", "migrate", "-v0")
    run(
        sys.executable,
        "manage.py",
        "shell",
        "-c",
        "from papers.ingest.upsert import upsert_records;"
        "from tests.papers.factories import record;"
        "upsert_records([record(arxiv_id=f'2605.0040{i}') for i in range(3)])",
    )
    processes, threads, per_thread = 4, 4, 150
    script = tmp_path / "visit.py"
    script.write_text(WORKER)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(threads), str(per_thread)],
            cwd=ROOT,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    for proc in procs:
        assert proc.wait(timeout=300) == 0, proc.stderr.read()
        assert "Traceback" not in proc.stderr.read()
    counts = run(
        sys.executable,
        "manage.py",
        "shell",
        "-c",
        "from papers.readers.models import PaperViews as V;"
        "print(sorted(V.objects.values_list('paper__arxiv_id', 'views')))",
    )
    total = processes * threads * per_thread  # 2400, spread evenly over 3 papers
    assert counts.strip().splitlines()[-1] == str([(f"2605.0040{i}", total // 3) for i in range(3)])


def test_the_periodic_task_refreshes_rankings_and_drops_old_visit_rows(papers, settings):
    from django.core.cache import cache

    from papers.readers.tasks import refresh_popularity

    today = timezone.now().date()
    old = today - dt.timedelta(days=settings.POPULARITY_KEEP_DAYS + 1)
    visited = papers["2605.00303"]
    popularity.write_views({(visited.pk, today): 1, (visited.pk, old): 4})
    assert refresh_popularity() == 1
    assert list(PaperViews.objects.values_list("day", flat=True)) == [today]
    assert [row[0] for row in cache.get("popularity:today")] == [visited.pk]
