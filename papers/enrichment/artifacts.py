"""Where the app keeps its trained model artifacts, and which set is current.

``DATA_DIR/models/<name>/`` holds one ml.artifacts.ArtifactSet; ``DATA_DIR/models/CURRENT``
names the set in use. A new set is written completely, then CURRENT is swapped atomically, so
readers never see half a set; the set it replaces is kept (a fallback and for comparison) and
older ones are removed. Each process caches the loaded set and reloads when CURRENT changes.
``DATA_DIR/models/encoders/`` keeps the converted OpenVINO encoder (ml.encoder.TextEncoder
cache_dir), shared by every set and process.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
import time
from pathlib import Path

from django.conf import settings

from ml.artifacts import ArtifactSet
from ml.versioning import ArtifactError, ArtifactMissing

log = logging.getLogger(__name__)
_KEEP = 2  # the current set and the one before it
# A set that failed to load is tried again after this many seconds (files may be repaired in
# place), and its error is logged once per try rather than on every request.
RETRY_FAILED_SECONDS = 30.0
_ENCODERS = "encoders"
_lock = threading.Lock()
_cache: dict[str, object] = {}


def models_dir() -> Path:
    return Path(settings.DATA_DIR) / "models"


def encoder_cache_dir() -> Path:
    """Where encoders keep converted models, so that no process converts one again."""
    return models_dir() / _ENCODERS


def _current_file() -> Path:
    return models_dir() / "CURRENT"


def install(artifacts: ArtifactSet) -> Path:
    """Save a complete set, make it current, and prune all but the previous one."""
    name = re.sub(r"[^A-Za-z0-9.-]+", "_", artifacts.version)
    path = models_dir() / name
    artifacts.save(path)
    tmp = _current_file().with_suffix(".tmp")
    tmp.write_text(name)
    os.replace(tmp, _current_file())
    sets = sorted(
        (
            p
            for p in models_dir().iterdir()
            if p.is_dir() and not p.name.endswith(".tmp") and p.name != _ENCODERS
        ),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in sets[_KEEP:]:
        shutil.rmtree(old, ignore_errors=True)
    return path


def load_current() -> ArtifactSet:
    """The current set, loaded once per process; ArtifactMissing/ArtifactMismatch otherwise."""
    current = _current_file()
    try:
        stat = current.stat()
        name = current.read_text().strip()
    except FileNotFoundError:
        raise ArtifactMissing(f"no trained models in {models_dir()}") from None
    key = f"{models_dir()}:{name}:{stat.st_mtime_ns}"
    with _lock:
        if _cache.get("key") != key:
            failed = _cache.get("failed")
            if failed and failed[0] == key and time.monotonic() - failed[1] < RETRY_FAILED_SECONDS:
                raise failed[2]
            try:
                artifacts = ArtifactSet.load(models_dir() / name)
            except ArtifactError as exc:
                log.error("model artifacts unusable: %s", exc)
                _cache["failed"] = (key, time.monotonic(), exc)
                raise
            artifacts.encoder_cache_dir = encoder_cache_dir()
            _cache.update(artifacts=artifacts, key=key, failed=None)
        return _cache["artifacts"]  # type: ignore[return-value]


def current_artifacts() -> ArtifactSet | None:
    """The current set, or None when there is none yet or it cannot be used (logged)."""
    try:
        return load_current()
    except ArtifactMissing:
        return None
    except ArtifactError:  # logged by load_current; search falls back to BM25
        return None
