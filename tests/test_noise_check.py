"""scripts/noise_check.py: what the quality mask hides, on stand-in development sets."""

from __future__ import annotations

import json

from _scripts import load_script

from ecg_core.classifier import CHECKPOINTS_DIR


def test_noise_check_counts_the_beats_inside_noisy_spans(mitdb_dir, svdb_812_only, tmp_path):
    # Stand-ins: SVDB 812 alone (tall V beats whose R-wave tops touch the record's extreme
    # value; the mask once hid 11 of them as "saturated") and the DS1 validation records.
    svdb = svdb_812_only
    out = tmp_path / "noise.json"
    checkpoint = str(CHECKPOINTS_DIR / "diagnostic")
    argv = [checkpoint, "--svdb", str(svdb), "--mitdb", str(mitdb_dir)]
    argv += ["--ds1", "validation", "--nstdb", str(tmp_path / "absent"), "--out", str(out)]
    assert load_script("noise_check").main(argv) == 0
    rows = json.loads(out.read_text())["checkpoints"][checkpoint]
    assert set(rows) == {"SVDB subset", "DS1 validation"}  # no NSTDB folder, no NSTDB rows
    assert rows["SVDB subset"]["reference_beats_in_noisy_spans"]["V"] == 0
    validation = rows["DS1 validation"]
    hidden = validation["reference_beats_in_noisy_spans"]
    assert sum(hidden.values()) == sum(
        sum(counts) for counts in validation["reference_beats_in_noisy_spans_by_record"].values()
    )
    assert 90 < validation["V"]["f1"] <= 100
