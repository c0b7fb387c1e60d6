"""scripts/class_shapes.py: how a record's annotated classes differ before any model."""

from __future__ import annotations

import json

from _scripts import load_script


def test_record_119s_ventricular_beats_differ_from_its_normal_beats(mitdb_dir, tmp_path):
    out = tmp_path / "shapes.json"
    argv = ["--data-dir", str(mitdb_dir), "--records", "119", "--out", str(out)]
    assert load_script("class_shapes").main(argv) == 0
    (row,) = json.loads(out.read_text())["records"]
    n, v = row["classes"]["N"], row["classes"]["V"]
    assert row["leads"] == ["MLII", "V1"] and n["beats"] > 1500 and v["beats"] > 400
    # N against itself; 119's bigeminal PVCs: early, and another QRS in both leads
    assert n["rr_before_over_n_rr"] == 1.0 and n["MLII"]["qrs_correlation_with_n"] == 1.0
    assert v["rr_before_over_n_rr"] < 0.85
    assert v["MLII"]["qrs_correlation_with_n"] < 0.8 and v["V1"]["qrs_correlation_with_n"] < 0.8
