"""A data directory holding the 73k-paper corpus, its database and search index, for benchmarks.

Prepared once (about a minute) and reused: `prepare(data_dir)` loads what is missing only.
Import this before Django is set up; it points DATA_DIR at the benchmark's directory.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# A worktree sits one level deeper than the checkout: BENCH_SNAPSHOT points at the corpus then.
DEFAULT_SNAPSHOT = Path(
    os.environ.get("BENCH_SNAPSHOT", ROOT.parent / "shared" / "data" / "arxiv" / "papers.jsonl.gz")
)
DEFAULT_DIR = Path(os.environ.get("BENCH_DATA_DIR", "/tmp/coolpapers-bench"))


def setup_django(data_dir: Path) -> None:
    if str(ROOT) not in sys.path[:1]:
        sys.path.insert(0, str(ROOT))
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["DATA_DIR"] = str(data_dir)
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("SEARCH_BACKEND", "tantivy")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "papers.settings")
    import django

    django.setup()


def prepare(data_dir: Path = DEFAULT_DIR, snapshot: Path = DEFAULT_SNAPSHOT) -> int:
    """Migrate, load the snapshot into an empty database and build the index if it is stale."""
    if not snapshot.exists():
        sys.exit(f"needs the corpus at {snapshot}")
    setup_django(data_dir)
    from django.core.management import call_command

    from papers.ingest.snapshot import load_snapshot
    from papers.models import Paper
    from search.backends.base import SearchError, get_search_backend

    call_command("migrate", verbosity=0)
    if not Paper.objects.exists():
        print(f"loading {snapshot} into {data_dir}", file=sys.stderr)
        load_snapshot(snapshot, batch_size=2000, announce=False)
    papers = Paper.objects.count()
    try:
        indexed = get_search_backend().count()
    except SearchError:
        indexed = -1
    if indexed != papers:
        print(f"indexing {papers} papers", file=sys.stderr)
        get_search_backend().rebuild()
    return papers


def prepare_models(max_papers: int = 5000) -> str:
    """Train model artifacts on the most recent ``max_papers`` papers unless some exist.

    Embedding all 73k papers takes about half an hour on 2 cores, so benchmarks that need
    models (hybrid reranking) train on a recent slice; only those papers get vectors. The cost
    of a rerank does not depend on how many candidates have one: all are read and whitened.
    """
    from django.conf import settings

    from papers.enrichment.artifacts import current_artifacts
    from papers.enrichment.training import execute_training
    from papers.models import TrainingRun

    artifacts = current_artifacts()
    if artifacts is None:
        print(f"training models on the {max_papers} most recent papers", file=sys.stderr)
        settings.ML_TRAIN_MAX_PAPERS = max_papers
        execute_training(TrainingRun.objects.create().pk, progress=True)
        artifacts = current_artifacts()
    return artifacts.version
