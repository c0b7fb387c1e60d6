"""scripts/annotation_offsets.py: where a database's beat marks sit against our R peaks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import wfdb
from _scripts import load_script


def _write_excerpt(mitdb_dir: Path, folder: Path, shift_samples: int) -> None:
    """Two minutes of MIT-BIH 119 with every annotation moved ``shift_samples`` earlier."""
    rec = wfdb.rdrecord(str(mitdb_dir / "119"), sampto=360 * 120)
    ann = wfdb.rdann(str(mitdb_dir / "119"), "atr", sampto=360 * 120)
    folder.mkdir()
    wfdb.wrsamp(
        "x",
        fs=360,
        units=rec.units,
        sig_name=rec.sig_name,
        p_signal=rec.p_signal,
        fmt=["16", "16"],
        write_dir=str(folder),
    )
    samples = np.clip(ann.sample - shift_samples, 0, None)
    wfdb.wrann("x", "atr", samples, symbol=ann.symbol, write_dir=str(folder))


def test_offsets_find_annotations_placed_before_the_r_peak(mitdb_dir, tmp_path):
    _write_excerpt(mitdb_dir, tmp_path / "early", shift_samples=9)  # 25 ms early
    _write_excerpt(mitdb_dir, tmp_path / "on_r", shift_samples=0)
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
