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


@pytest.fixture
def svdb_812_only(svdb_dir, tmp_path) -> Path:
    """A stand-in for the SVDB subset in the development scripts' tests: a folder holding
    record 812 alone (tall V beats whose R-wave tops touch the record's extreme value)."""
    folder = tmp_path / "svdb_812"
    folder.mkdir()
    for suffix in (".hea", ".dat", ".atr"):
        (folder / f"812{suffix}").symlink_to(svdb_dir / f"812{suffix}")
    return folder


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


#: The standard 12 leads, as the 12-lead records of the tests name them.
TWELVE_LEADS = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]


@pytest.fixture()
def twelve_lead_record(mitdb_dir):
    """A function writing a 12-lead WFDB record ``h12`` (360 Hz, format 16) into a folder:
    the first ``seconds`` of MIT-BIH 119 (PVCs) as lead II and V1, the other leads mixtures of
    the two. Returns the record path (without extension)."""
    import numpy as np
    import wfdb

    from ecg_core.io import read_record

    def write(folder: Path, seconds: float) -> Path:
        source = read_record(mitdb_dir / "119").signal[: int(seconds * 360)]
        mlii, v1 = source[:, 0], source[:, 1]
        leads = [0.5 * mlii, mlii, 0.5 * mlii - 0.2 * v1, -mlii, 0.3 * v1, 0.8 * mlii, v1]
        leads += [v1 + k * 0.2 * mlii for k in range(1, 6)]
        wfdb.wrsamp(
            "h12",
            fs=360,
            units=["mV"] * 12,
            sig_name=TWELVE_LEADS,
            p_signal=np.column_stack(leads),
            fmt=["16"] * 12,
            write_dir=str(folder),
        )
        return folder / "h12"

    return write


@pytest.fixture()
def mitdb_excerpt(mitdb_dir):
    """A function writing the first ``seconds`` of a MIT-BIH record and its beat annotations,
    each moved ``shift_samples`` earlier, as WFDB record ``x`` (360 Hz, format 16) into a new
    ``folder``: a small annotated database for the scripts that take ``--data-dir``. Returns
    the record path (without extension)."""
    import numpy as np
    import wfdb

    def write(record: str, folder: Path, seconds: float = 120.0, shift_samples: int = 0) -> Path:
        end = int(seconds * 360)
        rec = wfdb.rdrecord(str(mitdb_dir / record), sampto=end)
        ann = wfdb.rdann(str(mitdb_dir / record), "atr", sampto=end)
        folder.mkdir()
        wfdb.wrsamp(
            "x",
            fs=360,
            units=rec.units,
            sig_name=rec.sig_name,
            p_signal=rec.p_signal,
            fmt=["16", "16"],
            write_dir=str(folder),
        )
        samples = np.clip(ann.sample - shift_samples, 0, None)
        wfdb.wrann("x", "atr", samples, symbol=ann.symbol, write_dir=str(folder))
        return folder / "x"

    return write
