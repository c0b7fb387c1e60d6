"""scripts/short_record_check.py: records cut into excerpts, each analysed on its own."""

from __future__ import annotations

import json

from _scripts import load_script

from ecg_core.classifier import CHECKPOINTS_DIR


def test_excerpts_are_scored_against_the_whole_records(mitdb_dir, svdb_812_only, tmp_path):
    svdb = svdb_812_only  # a stand-in for the SVDB subset
    out = tmp_path / "short.json"
    checkpoint = str(CHECKPOINTS_DIR / "diagnostic")
    argv = [checkpoint, "--seconds", "60", "--svdb", str(svdb), "--mitdb", str(mitdb_dir)]
    argv += ["--ds1", "validation", "--out", str(out)]
    assert load_script("short_record_check").main(argv) == 0
    rows = json.loads(out.read_text())["checkpoints"][checkpoint]
    validation = rows["DS1 validation"]
    assert validation["n_excerpts"] == 5 * 30  # five 30-minute records, one-minute excerpts
    for kind in ("whole", "excerpts"):
        assert 85 < validation[kind]["V"]["f1"] <= 100
    errors = validation["excerpt_errors_by_position"]
    assert errors["first"]["beats"] <= 150 and errors["other"]["beats"] > 50 * 150
    assert rows["SVDB subset"]["n_excerpts"] == 30
    # Per record, the excerpts' true V add up to the set's.
    per_record = validation["per_record"]
    assert set(per_record) == {"101", "118", "119", "201", "220"}
    v_true = sum(r["excerpts"]["true_V"] for r in per_record.values())
    assert v_true == round(
        validation["excerpts"]["V"]["se"] / 100 * validation["excerpts"]["V"]["n"]
    )
