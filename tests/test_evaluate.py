"""scripts/evaluate.py: the CLI on real records, and the classify path with a test labeller."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _scripts import load_script

from ecg_core.metrics import match_beats

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "evaluate.py"


def run_evaluate(*args: str) -> subprocess.CompletedProcess:
    """Run scripts/evaluate.py as a user would; the caller checks the exit code."""
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=False,
    )


def test_cli_qrs_task_writes_valid_json(mitdb_dir, tmp_path):
    out = tmp_path / "qrs.json"
    proc = run_evaluate(
        "--task", "qrs", "--data-dir", str(mitdb_dir), "--records", "100,114", "--out", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    assert "TOTAL" in proc.stdout
    result = json.loads(out.read_text())
    assert result["database"] == "mitdb" and result["records"] == ["100", "114"]
    assert result["beats"] == "detected"
    q = result["qrs"]
    assert q["tp"] + q["fn"] == result["n_beats"] == 2273 + 1879
    assert q["se"] >= 0.995 and q["ppv"] >= 0.995
    rows = {r["record"]: r for r in result["per_record"]}
    assert rows["114"]["lead"] == "MLII"  # stored second in 114, chosen by name
    # Primary figure strict; the EC57/bxb variant equals it where no VF is annotated.
    assert q["excluded"] == 0
    assert result["qrs_vf_excluded"] == q
    assert result["vf_detected_s"] == result["vf_annotated_s"] == 0


def test_cli_skips_records_without_annotations(mitdb_dir, tmp_path):
    # A copy of record 100 without its .atr next to the full record 101.
    for name in ("100.hea", "100.dat", "101.hea", "101.dat", "101.atr"):
        (tmp_path / name).symlink_to(mitdb_dir / name)
    out = tmp_path / "r.json"
    proc = run_evaluate(
        "--task", "qrs", "--data-dir", str(tmp_path), "--records", "all", "--out", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    assert "skipping 100" in proc.stdout
    assert json.loads(out.read_text())["records"] == ["101"]


def oracle_labeller_for(record):
    """Labels each beat with the class of the nearest reference annotation (test only)."""
    ev = load_script("evaluate")
    ref_samples, ref_labels = ev.reference_beats(record)

    def label(signal, fs, r_peaks, lead_spans):
        r_peaks = np.asarray(r_peaks)
        labels = np.zeros(r_peaks.size, dtype=np.int64)  # unmatched detections -> "N"
        ref_idx, det_idx = match_beats(ref_samples, r_peaks, 0.15 * fs)
        labels[det_idx] = ref_labels[ref_idx]
        return labels

    return label


def test_classify_reference_beats_with_oracle_is_perfect(mitdb_dir):
    ev = load_script("evaluate")
    result = ev.evaluate(
        mitdb_dir,
        ["119", "208"],
        task="classify",
        beats="reference",
        labeller_for=oracle_labeller_for,
        log=lambda _: None,
    )
    assert result["accuracy"] == 1.0
    # 208 holds fusion beats, 119 and 208 PVCs: counts straight from the annotations.
    c = result["classes"]
    assert c["V"]["se"] == 1.0 and c["V"]["ppv"] == 1.0 and c["V"]["n"] > 1000
    assert c["F"]["n"] == 373
    matrix = np.array(result["confusion"]["matrix"])
    assert (
        matrix.sum() == result["n_beats"]
        and np.count_nonzero(matrix - np.diag(np.diag(matrix))) == 0
    )
    assert "qrs" not in result


def test_classify_detected_beats_counts_misses_and_false_beats(mitdb_dir):
    ev = load_script("evaluate")
    result = ev.evaluate(
        mitdb_dir,
        ["208"],
        task="classify",
        beats="detected",
        labeller_for=oracle_labeller_for,
        log=lambda _: None,
    )
    q = result["qrs"]
    # With an oracle, every error is a detection error: misses per class sum to the QRS FN,
    # false beats (labelled N by the oracle, Q inside noise) to the QRS FP ...
    assert sum(result["missed"].values()) == q["fn"]
    assert q["excluded"] == 0  # "qrs" is strict: every unmatched detection is a false beat
    assert sum(result["false_beats"].values()) == q["fp"]
    # ... but for the matched beats inside noisy spans, labelled Q as the product labels them
    matrix = np.array(result["confusion"]["matrix"])
    q_column = result["confusion"]["labels"].index("Q")
    off_diagonal = matrix - np.diag(np.diag(matrix))
    assert off_diagonal.sum() == off_diagonal[:, q_column].sum() > 0  # 208: 2 noisy spans
    assert np.trace(matrix) + off_diagonal.sum() == q["tp"]
    accuracy = np.trace(matrix) / (result["n_beats"] + q["fp"])
    assert result["accuracy"] == pytest.approx(accuracy)


def test_strict_and_vf_excluded_figures_on_record_207(mitdb_dir):
    """207 holds ventricular flutter: the strict figure counts every unmatched detection,
    the EC57/bxb variant leaves those inside the annotated episodes unscored."""
    ev = load_script("evaluate")
    result = ev.evaluate(mitdb_dir, ["207"], task="qrs", log=lambda _: None)
    strict, variant = result["qrs"], result["qrs_vf_excluded"]
    assert strict["tp"] == variant["tp"] and strict["fn"] == variant["fn"]
    assert strict["fp"] == variant["fp"] + variant["excluded"]
    assert result["vf_annotated_s"] == pytest.approx(143.0, abs=0.5)
    # Our VF detector flags most of it (measured 133.5 s) and so drops those detections:
    # strict FP measured 29 (338 without the VF spans).
    assert 110 <= result["vf_detected_s"] <= 150
    assert strict["fp"] <= 60, strict
    assert set(result["subsets"]) == set()  # a single record: no DS1/DS2 totals


def test_exclude_noisy_on_nstdb_minus_6_db_and_clean_mitdb(nstdb_dir, mitdb_dir, tmp_path):
    """--exclude-noisy scores usable signal only and always says how much it left out."""
    ev = load_script("evaluate")
    default = ev.evaluate(nstdb_dir, ["118e_6"], task="qrs", log=lambda _: None)
    assert default["exclude_noisy"] is False
    assert default["excluded_beats"] == 0 and default["excluded_percent"] == 0.0

    out = tmp_path / "n.json"
    proc = run_evaluate(
        "--task",
        "qrs",
        "--data-dir",
        str(nstdb_dir),
        "--records",
        "118e_6",
        "--exclude-noisy",
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    usable = json.loads(out.read_text())
    assert usable["exclude_noisy"] is True
    row = usable["per_record"][0]
    # Every reference beat is either scored or excluded, and the split is reported.
    assert usable["n_beats"] + usable["excluded_beats"] == default["n_beats"]
    assert row["excluded_beats"] == usable["excluded_beats"]
    assert row["excluded_percent"] == usable["excluded_percent"] > 30.0  # measured 44.4
    assert usable["qrs"]["tp"] + usable["qrs"]["fn"] == usable["n_beats"]
    assert row["excluded_detections"] > 0
    # At -6 dB most false beats lie in the noise the mask rejects (+P measured 71.6 -> 100 %).
    assert usable["qrs"]["ppv"] > default["qrs"]["ppv"] + 0.1

    clean = ev.evaluate(mitdb_dir, ["100"], task="qrs", log=lambda _: None, exclude_noisy=True)
    assert clean["excluded_percent"] < 1.0
    assert clean["n_beats"] + clean["excluded_beats"] == 2273


def test_development_sets_never_include_ds2_and_can_be_the_validation_records(tmp_path):
    from ecg_core.aami import DS1, DS1_VAL_RECORDS, DS2

    evaluate = load_script("evaluate")
    svdb = tmp_path / "svdb"
    svdb.mkdir()
    for name in ("801", "800"):
        (svdb / f"{name}.hea").write_text("")
    everything = evaluate.development_sets(tmp_path / "mitdb", svdb)
    held_out = evaluate.development_sets(tmp_path / "mitdb", svdb, "validation")
    assert [p.name for p in everything["SVDB subset"]] == ["800", "801"]
    assert [p.name for p in everything["MIT-BIH DS1"]] == list(DS1)
    assert [p.name for p in held_out["DS1 validation"]] == list(DS1_VAL_RECORDS)
    names = {p.name for paths in (*everything.values(), *held_out.values()) for p in paths}
    assert not names & set(DS2)
    with pytest.raises(ValueError, match="'all' or 'validation'"):
        evaluate.development_sets(tmp_path / "mitdb", svdb, "DS2")
