"""Format versions of saved ml/ components and the errors raised when one cannot be loaded."""

from __future__ import annotations

import json
from pathlib import Path

REBUILD_COMMAND = "python manage.py train_models"


class ArtifactError(RuntimeError):
    """A saved model cannot be used; the message says how to rebuild it."""

    def __init__(self, message: str) -> None:
        super().__init__(f"{message}. Rebuild the models with `{REBUILD_COMMAND}`.")


class ArtifactMissing(ArtifactError, FileNotFoundError):
    """No saved model where one was expected."""


class ArtifactMismatch(ArtifactError):
    """A saved model was written by another format version or for other vectors."""


class ArtifactCorrupt(ArtifactError):
    """A saved model's files exist but cannot be read (cut short, overwritten)."""


def format_header(fmt: str) -> dict:
    return {"format": fmt}


def read_config(path: Path) -> dict:
    """config.json of a saved component, or ArtifactMissing/ArtifactMismatch."""
    config_file = Path(path) / "config.json"
    if not config_file.is_file():
        raise ArtifactMissing(f"no saved model at {path} (missing config.json)")
    try:
        return json.loads(config_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactMismatch(f"unreadable config.json in {path}: {exc}") from exc


def check_format(path: Path, fmt: str) -> dict:
    """Read config.json and check it was written by this code's format ``fmt``."""
    config = read_config(path)
    if config.get("format") != fmt:
        raise ArtifactMismatch(
            f"model at {path} has format {config.get('format')!r}, this code reads {fmt!r}"
        )
    return config
