"""scripts/ablation.py: the seeds of one recipe are pooled in its summary table."""

from __future__ import annotations

from _scripts import load_script


def _scores(v: float, s: float) -> dict:
    return {"V": {"se": v, "ppv": v - 10, "f1": v - 5}, "S": {"se": s, "ppv": s, "f1": s}}


def test_seed_summary_pools_runs_that_differ_only_by_seed():
    rows = [
        {"mode": "diagnostic", "recipe": "--hold-out-val --seed 1", "val_held_out": True,
         "ds1_val_product": _scores(90, 60), "svdb_product": _scores(80, 50)},
        {"mode": "diagnostic", "recipe": "--hold-out-val", "val_held_out": True,
         "ds1_val_product": _scores(94, 62), "svdb_product": _scores(70, 40)},
        {"mode": "diagnostic", "recipe": "--ema 0.0", "val_held_out": False,
         "ds1_val_product": _scores(99, 70), "svdb_product": _scores(60, 30)},
        {"mode": "diagnostic", "recipe": "a+b", "val_held_out": True,  # an ensemble row
         "ds1_val_product": None, "svdb_product": None},
    ]  # fmt: skip
    lines = load_script("ablation").seed_summary(rows).splitlines()
    assert len(lines) == 4  # header, rule, two recipes
    assert lines[2] == (
        "| diagnostic | `--hold-out-val` | 2 | 92.0 / 82.0 (85.0-89.0) | 61.0 / 61.0 (60.0-62.0)"
        " | 75.0 / 65.0 (65.0-75.0) | 45.0 / 45.0 (40.0-50.0) |"
    )
    assert "`--ema 0.0` (DS1 val trained on) | 1 |" in lines[3]


def test_scores_on_detected_beats_run_on_a_real_record(mitdb_dir):
    from ecg_core.classifier import load_model

    ablation = load_script("ablation")
    scores = ablation.score_detected(load_model("diagnostic"), [mitdb_dir / "119"])
    assert scores["V"]["n"] > 400 and scores["V"]["se"] > 90  # 119: bigeminy, clean V
