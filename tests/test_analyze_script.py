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


@pytest.fixture(autouse=True)
def _needs_checkpoint():
    if not (CHECKPOINTS_DIR / "diagnostic" / "config.json").exists():
        pytest.skip("checkpoints/diagnostic is not trained yet")


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300
    )


def check_outputs(out: Path, name: str) -> pd.DataFrame:
    beats = pd.read_csv(out / f"{name}.beats.csv")
    assert list(beats.columns[:4]) == ["sample", "time_s", "label", "confidence"]
    report = json.loads((out / f"{name}.report.json").read_text())
    assert report["summary"]["n_beats"] == len(beats)
    return beats


def test_analyze_script_writes_both_files_and_reports_bad_inputs(mitdb_dir, tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    write_csv(synthesize(SyntheticSettings(duration_s=60, seed=2)), folder / "syn.csv")
    (folder / "bad.csv").write_text("time,ecg\n0.0,hello\n0.1,world\n")
    # a database folder's documentation is not a record (PhysioNet ships README.txt, RECORDS)
    (folder / "README.txt").write_text("Documentation, not an ECG.\n")
    (folder / "RECORDS").write_text("syn\n")
    out = tmp_path / "out"
    result = run_script(
        str(mitdb_dir / "208"), str(folder), str(tmp_path / "missing"), "--out", str(out)
    )
    assert result.returncode == 1, result.stderr  # two of four inputs fail, the others go on
    errors = [line for line in result.stdout.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2, result.stdout
    assert any("bad.csv" in line for line in errors) and any("missing" in line for line in errors)
    assert "2 of 4 input(s) analysed" in result.stdout

    beats_208 = check_outputs(out, "208")
    assert 2800 < len(beats_208) < 3100 and beats_208["sample"].max() > 600_000  # 360 Hz samples
    assert json.loads((out / "208.report.json").read_text())["reference"]["qrs"]["se"] > 0.99
    assert 65 <= len(check_outputs(out, "syn")) <= 75  # 60 s at 70 bpm


@pytest.mark.slow  # two spawned workers each import torch: ~20 s on the 2-core machine
def test_analyze_script_workers_and_csv_rate(tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    for seed in (1, 2):
        record = synthesize(SyntheticSettings(duration_s=30, fs=250, pvc_fraction=0.1, seed=seed))
        write_csv(record, folder / f"syn{seed}.csv", time_column=False)
    out = tmp_path / "out"
    result = run_script(
        str(folder), "--out", str(out), "--workers", "2", "--fs", "250", "--mode", "realtime"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for seed in (1, 2):
        beats = check_outputs(out, f"syn{seed}")
        assert 30 <= len(beats) <= 40, result.stdout
        assert beats["sample"].max() > 25 * 250  # samples at the CSV's own 250 Hz
    report = json.loads((out / "syn1.report.json").read_text())
    assert report["mode"] == "realtime" and report["fs"] == 250.0
