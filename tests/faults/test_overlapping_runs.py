"""Two ingestion runs of overlapping files at once, in two processes, end with every paper once.

On PostgreSQL both transactions can insert the same new paper at the same moment; the second
must merge into the first's row instead of failing its batch. (SQLite runs one write
transaction at a time, so the race cannot happen there.)
"""

import gzip
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from papers.models import Authorship, IngestionRun, Paper
from tests.faults.conftest import ROOT, Deployment

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_overlapping_runs_at_once_end_with_every_paper_once(tmp_path, data_dir):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...)")
    with gzip.open(settings.SAMPLE_PATH, "rt") as source:
        lines = [next(source) for _ in range(400)]
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text("".join(lines[:300]))
    second.write_text("".join(reversed(lines[100:])))  # 200 papers in both, met head-on
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    deployment = Deployment(data_dir, tmp_path, None, database_url=url)
    deployment.env["INGEST_BATCH_SIZE"] = "25"
    processes = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "ingest", "snapshot", str(path)],
            cwd=tmp_path,
            env=deployment.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in (first, second)
    ]
    outputs = [p.communicate(timeout=600) for p in processes]
    for process, (_, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err[-3000:]
    runs = list(IngestionRun.objects.values_list("status", "failed_count"))
    assert runs == [("succeeded", 0), ("succeeded", 0)]
    assert Paper.objects.count() == 400
    assert Paper.objects.values("arxiv_id").distinct().count() == 400
    # Each paper's authors were written once, not once per run.
    per_paper = {p.pk: len(p.author_names) for p in Paper.objects.only("pk", "author_names")}
    counted = {}
    for paper_id in Authorship.objects.values_list("paper_id", flat=True):
        counted[paper_id] = counted.get(paper_id, 0) + 1
    assert sum(counted.values()) > 0
    assert all(counted.get(pk, 0) <= n for pk, n in per_paper.items())
    total_new = sum(IngestionRun.objects.values_list("new_count", flat=True))
    assert total_new == 400  # each paper counted new by exactly one of the runs
