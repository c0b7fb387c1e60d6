"""scripts/svt_check.py: the SVT-run step with and without, and with either resume rule."""

from __future__ import annotations

import json

from _scripts import load_script


def test_svt_check_scores_a_rule_and_leaves_the_product_rule_alone(
    mitdb_dir, mitdb_excerpt, tmp_path
):
    from ecg_core import rhythm

    svdb = tmp_path / "svdb"  # a stand-in development set: two minutes of MIT-BIH 209
    mitdb_excerpt("209", svdb)
    product_rule = rhythm.SVT_RESUME_WITHIN
    out = tmp_path / "svt.json"
    argv = ["--svdb", str(svdb), "--mitdb", str(mitdb_dir), "--ds1", "validation"]
    assert load_script("svt_check").main([*argv, "--resume-within", "0", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["resume_within"] == 0 and rhythm.SVT_RESUME_WITHIN == product_rule
    assert set(result["databases"]) == {"SVDB subset", "DS1 validation"}
    for scores in result["databases"].values():
        assert scores["without_step"]["V"] == scores["with_step"]["V"]  # the step moves N to S only
        assert scores["with_step"]["S"]["se"] >= scores["without_step"]["S"]["se"]
