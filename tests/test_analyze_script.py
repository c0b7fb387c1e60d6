"""scripts/analyze.py as a user runs it: files, folders, bad inputs, a process pool."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ecg_core.classifier import CHECKPOINTS_DIR
from ecg_core.synthetic import SyntheticSettings, synthesize, write_csv

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "analyze.py"


def test_analyze_script_writes_both_files_and_reports_bad_inputs(mitdb_dir, tmp_path):
    if not (CHECKPOINTS_DIR / "diagnostic" / "config.json").exists():
        pytest.skip("checkpoints/diagnostic is not trained yet")
    folder = tmp_path / "inbox"
    folder.mkdir()
    write_csv(
        synthesize(SyntheticSettings(duration_s=60, pvc_fraction=0.1, seed=2)), folder / "syn.csv"
    )
    (folder / "bad.csv").write_text("time,ecg\nhello,world\n")
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            str(mitdb_dir / "208"),
            str(folder),
            str(tmp_path / "missing"),
            "--out",
            str(out),
            "--workers",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stderr  # two of four inputs fail
    errors = [line for line in result.stdout.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2
    assert any("bad.csv" in line for line in errors) and any("missing" in line for line in errors)
    assert "2 of 4 input(s) analysed" in result.stdout

    for name in ("208", "syn"):
        beats = pd.read_csv(out / f"{name}.beats.csv")
        assert list(beats.columns[:4]) == ["sample", "time_s", "label", "confidence"]
        report = json.loads((out / f"{name}.report.json").read_text())
        assert report["summary"]["n_beats"] == len(beats)
    beats_208 = pd.read_csv(out / "208.beats.csv")
    assert 2800 < len(beats_208) < 3100 and beats_208["sample"].max() > 600_000  # 360 Hz samples
    assert json.loads((out / "208.report.json").read_text())["reference"]["qrs"]["se"] > 0.99
