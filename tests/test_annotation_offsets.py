"""scripts/annotation_offsets.py: where a database's beat marks sit against our R peaks."""

from __future__ import annotations

import json

from _scripts import load_script


def test_offsets_find_annotations_placed_before_the_r_peak(mitdb_excerpt, tmp_path):
    # two minutes of MIT-BIH 119, its annotations moved 25 ms early, and in place
    mitdb_excerpt("119", tmp_path / "early", shift_samples=9)
    mitdb_excerpt("119", tmp_path / "on_r")
    results = {}
    for name in ("early", "on_r"):
        out = tmp_path / f"{name}.json"
        assert (
            load_script("annotation_offsets").main(
                ["--data-dir", str(tmp_path / name), "--out", str(out)]
            )
            == 0
        )
        results[name] = json.loads(out.read_text())
    n_early = results["early"]["all_beats"]["N_q25_median_q75_ms"][1]
    n_on_r = results["on_r"]["all_beats"]["N_q25_median_q75_ms"][1]
    v_early = results["early"]["all_beats"]["V_q25_median_q75_ms"][1]  # 119 has bigeminy
    assert abs(n_on_r) <= 6.0
    assert abs((n_early - n_on_r) - 25.0) <= 3.0
    assert v_early > 15.0
