"""scripts/excerpt_check.py: QRS detection on one-minute excerpts of every lead."""

from __future__ import annotations

import json

from _scripts import load_script


def test_excerpts_of_each_lead_are_scored_and_noise_counted(mitdb_dir, tmp_path):
    out = tmp_path / "excerpts.json"
    argv = ["--data-dir", str(mitdb_dir), "--records", "100,208", "--seconds", "60"]
    argv += ["--noise-dir", str(mitdb_dir.parent / "nstdb"), "--out", str(out)]
    assert load_script("excerpt_check").main(argv) == 0
    result = json.loads(out.read_text())
    mlii, v1 = result["by_lead"]["MLII"], result["by_lead"]["V1"]
    assert mlii["excerpts"] == 60 and mlii["missed"] == 0  # 2 records x 30 minutes
    assert mlii["se"] > 0.99 and mlii["ppv"] > 0.99
    # Each missed excerpt is listed, and counted under its lead.
    assert v1["missed"] == sum(1 for m in result["missed_excerpts"] if m[1] == "V1")
    assert all(m[4] < 0.5 * m[3] for m in result["missed_excerpts"])
    noise = result["noise_only"]  # bw, em, ma: 2 leads x 30 one-minute excerpts each
    assert noise["excerpts"] == 180 and 0 <= noise["with_detections"] < 180
