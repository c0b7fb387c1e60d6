"""Regenerate the committed example records (WFDB .hea/.dat/.atr) from the app's own
synthetic ECG model: ``python examples/make_examples.py``. No PhysioNet data is involved."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from ecg_core.synthetic import SyntheticSettings, synthesize, write_wfdb  # noqa: E402

EXAMPLES: dict[str, SyntheticSettings] = {
    "1_normal_sinus": SyntheticSettings(
        duration_s=120, heart_rate_bpm=68, hrv_sdnn_ms=45, baseline_wander_mv=0.1, seed=11
    ),
    "2_frequent_pvcs": SyntheticSettings(
        duration_s=120,
        heart_rate_bpm=78,
        pvc_fraction=0.12,
        v_runs_per_hour=60,
        v_run_lengths=(2, 3),
        baseline_wander_mv=0.1,
        emg_noise_mv=0.02,
        seed=12,
    ),
    "3_ventricular_bigeminy": SyntheticSettings(
        duration_s=120,
        heart_rate_bpm=70,
        pattern="bigeminy",
        pattern_fraction=0.5,
        baseline_wander_mv=0.1,
        seed=13,
    ),
    "4_atrial_premature_beats": SyntheticSettings(
        duration_s=120, heart_rate_bpm=75, apc_fraction=0.1, baseline_wander_mv=0.1, seed=14
    ),
    "5_noisy": SyntheticSettings(
        duration_s=120,
        heart_rate_bpm=85,
        pvc_fraction=0.05,
        baseline_wander_mv=0.8,
        emg_noise_mv=0.25,
        powerline_mv=0.1,
        powerline_hz=60,
        seed=15,
    ),
}


def main() -> None:
    for name, settings in EXAMPLES.items():
        record = synthesize(settings, name=name)
        paths = write_wfdb(record, HERE)
        print(", ".join(p.name for p in paths))


if __name__ == "__main__":
    main()
