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
