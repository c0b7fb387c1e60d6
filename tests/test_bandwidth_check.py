"""scripts/bandwidth_check.py (and the compare_settings loop it shares with align_check.py)."""

from __future__ import annotations

import json

from _scripts import load_script

from ecg_core.classifier import CHECKPOINTS_DIR


def test_bandwidth_check_scores_each_cutoff_end_to_end(mitdb_dir, svdb_812_only, tmp_path):
    # Stand-ins: SVDB 812 alone and the DS1 validation records.
    svdb = svdb_812_only
    out = tmp_path / "bandwidth.json"
    checkpoint = str(CHECKPOINTS_DIR / "diagnostic")
    argv = [checkpoint, "--cutoff-hz", "8", "--svdb", str(svdb), "--mitdb", str(mitdb_dir)]
    argv += ["--ds1", "validation", "--out", str(out)]
    assert load_script("bandwidth_check").main(argv) == 0
    rows = json.loads(out.read_text())["checkpoints"][checkpoint]
    assert set(rows) == {"SVDB subset", "DS1 validation"}
    validation = rows["DS1 validation"]
    assert set(validation) == {"as recorded", "low-pass 8 Hz"}
    assert 90 < validation["as recorded"]["V"]["f1"] <= 100
    # 8 Hz leaves a QRS without its edges: the cutoff reaches the network, and costs V.
    assert validation["low-pass 8 Hz"]["V"]["f1"] < validation["as recorded"]["V"]["f1"] - 1
