"""scripts/seed_spread.py: groups of runs read from ablation.py JSON, and their spread."""

from __future__ import annotations

import json

import pytest
from _scripts import load_script

seed_spread = load_script("seed_spread")


def _run(name: str, f1: float) -> dict:
    scores = {c: {"f1": f1 + (1.0 if c == "S" else 0.0)} for c in ("V", "S")}
    return {"checkpoint": f"/somewhere/{name}", "ds1_val_product": scores, "svdb_product": scores}


def test_group_means_and_ranges(tmp_path):
    path = tmp_path / "ablation.json"
    runs = [_run("a_s0", 80), _run("a_s1", 84), _run("b_s0", 90), _run("b_s1", 91)]
    path.write_text(json.dumps({"runs": runs}))
    out = tmp_path / "spread.json"
    assert seed_spread.main([f"{path}:a_s0,a_s1", f"{path}:b_s0,b_s1", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["groups"][f"{path}:a_s0,a_s1"]["SVDB V"] == pytest.approx(82.0)
    v = result["spread"]["DS1 val V"]
    assert v["group_means"] == pytest.approx([82.0, 90.5])
    assert v["group_mean_range"] == pytest.approx(8.5)
    assert v["single_runs"] == pytest.approx([80.0, 91.0])
    assert result["spread"]["SVDB S"]["single_runs"] == pytest.approx([81.0, 92.0])


def test_a_missing_run_is_named(tmp_path):
    path = tmp_path / "ablation.json"
    path.write_text(json.dumps({"runs": [_run("a_s0", 80)]}))
    with pytest.raises(SystemExit, match="no run named a_s9"):
        seed_spread.main([f"{path}:a_s0,a_s9", "--out", str(tmp_path / "o.json")])
