"""Shared fixtures: where the real PhysioNet data lives, skipping clearly when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_ROOT = Path(os.environ.get("ECG_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))


def _database_dir(name: str) -> Path:
    path = DATA_ROOT / name
    if not (path / "RECORDS").exists() and not any(path.glob("*.hea")):
        pytest.skip(f"{name} not found at {path} (set ECG_DATA_DIR to the folder holding it)")
    return path


@pytest.fixture(scope="session")
def mitdb_dir() -> Path:
    return _database_dir("mitdb")


@pytest.fixture(scope="session")
def nstdb_dir() -> Path:
    return _database_dir("nstdb")


@pytest.fixture(scope="session")
def svdb_dir() -> Path:
    return _database_dir("svdb-adapt")


def _model_available() -> str | None:
    """Why the app cannot analyse here (no checkpoint), or None."""
    location = os.environ.get("ECG_MODEL_LOCATION") or "diagnostic"
    folder = Path(location) if Path(location).is_dir() else REPO_ROOT / "checkpoints" / location
    if location.startswith("hf://") or (folder / "config.json").is_file():
        return None
    return f"no model checkpoint at {folder} (set ECG_MODEL_LOCATION or commit checkpoints/)"


@pytest.fixture(scope="session")
def app_module():
    """The app module (imported once: one Gradio Blocks can only be served once per process)."""
    import sys

    reason = _model_available()
    if reason:
        pytest.skip(reason)
    sys.path.insert(0, str(REPO_ROOT))
    import app

    return app
