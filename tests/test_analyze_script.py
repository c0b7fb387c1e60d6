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
    # An EDF beside them (in microvolts, at its own 250 Hz) is analysed too, named by its stem.
    from test_edf import write_edf

    edf_record = synthesize(SyntheticSettings(duration_s=30, fs=250, seed=3))
    write_edf(folder / "syn3.edf", [edf_record.signal[:, 0] * 1000], [250.0], ["ECG"], ["uV"])
    out = tmp_path / "out"
    result = run_script(
        str(folder), "--out", str(out), "--workers", "2", "--fs", "250", "--mode", "realtime"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for seed in (1, 2, 3):
        beats = check_outputs(out, f"syn{seed}")
        assert 30 <= len(beats) <= 40, result.stdout
        assert beats["sample"].max() > 25 * 250  # samples at the CSV's own 250 Hz
    report = json.loads((out / "syn1.report.json").read_text())
    assert report["mode"] == "realtime" and report["fs"] == 250.0


def test_a_12_lead_record_is_read_two_leads_and_analysed_alike(
    twelve_lead_record, tmp_path, monkeypatch
):
    """analyze.py reads only the leads the analysis uses (the analysed one and its
    companion, ecg_core.leads.analysis_leads) and labels every beat as from the whole record."""
    from conftest import TWELVE_LEADS

    from ecg_core.io import read_record
    from ecg_core.leads import analysis_leads
    from ecg_core.pipeline import analyze

    names = TWELVE_LEADS
    assert analysis_leads(names) == [1, 6]
    assert analysis_leads(names, "V5", second_lead=False) == [10]
    assert analysis_leads(names, "V5") == [10, 6]
    assert analysis_leads(["ECG"]) == [0]

    twelve_lead_record(tmp_path, 120)
    out = tmp_path / "out"
    result = run_script(str(tmp_path / "h12"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    beats = check_outputs(out, "h12")
    report = json.loads((out / "h12.report.json").read_text())
    assert report["summary"]["classified_leads"] == "II + V1"
    whole = analyze(read_record(tmp_path / "h12"), mode="diagnostic")
    assert whole.summary["classified_leads"] == "II + V1"
    assert beats["sample"].tolist() == whole.beats["sample"].tolist()
    assert beats["label"].tolist() == whole.beats["label"].tolist()
    assert (beats["label"] == "V").sum() > 5
    # In process: what analyze_one read is the two leads, not the twelve.
    import ecg_core.io

    sys.path.insert(0, str(SCRIPT.parent))
    import analyze as analyze_script

    original, read = ecg_core.io.read_record, []

    def spy(*args, **kwargs):
        read.append(original(*args, **kwargs))
        return read[-1]

    monkeypatch.setattr(ecg_core.io, "read_record", spy)
    options = {"fs": None, "lead": None, "single_lead": False, "out": str(tmp_path / "again")}
    options |= {"mode": "diagnostic", "checkpoint": None, "int8": False}
    (tmp_path / "again").mkdir()
    analyze_script._init_worker(options, None)
    _, _, error, _ = analyze_script.analyze_one("h12", str(tmp_path / "h12"))
    assert error is None and [r.lead_names for r in read] == [["II", "V1"]]
    assert pd.read_csv(tmp_path / "again" / "h12.beats.csv").equals(beats)
