"""Metrics on hand-made cases; every expected number below was worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from ecg_core.metrics import (
    NO_BEAT,
    classification_metrics,
    count_matrix,
    end_to_end_metrics,
    match_beats,
    percent_scores,
    qrs_metrics,
)


def test_match_simple_one_to_one():
    # 100<->102 (2), 200 has nothing within 15, 300<->290 (10); 500 is a false detection.
    ref_idx, det_idx = match_beats([100, 200, 300], [102, 290, 500], tolerance=15)
    assert ref_idx.tolist() == [0, 2]
    assert det_idx.tolist() == [0, 1]


def test_match_closest_pair_wins():
    # det 110 is 10 from ref 100 and 5 from ref 115: the closer pair (115, 110) is taken
    # first, so ref 100 stays unmatched even though 110 is within its window.
    ref_idx, det_idx = match_beats([100, 115], [110], tolerance=20)
    assert ref_idx.tolist() == [1] and det_idx.tolist() == [0]


def test_match_ties_take_earlier_detection_then_earlier_reference():
    ref_idx, det_idx = match_beats([100], [90, 110], tolerance=20)
    assert (ref_idx.tolist(), det_idx.tolist()) == ([0], [0])
    ref_idx, det_idx = match_beats([90, 110], [100], tolerance=20)
    assert (ref_idx.tolist(), det_idx.tolist()) == ([0], [0])


def test_match_tolerance_is_inclusive_and_unsorted_input():
    ref_idx, det_idx = match_beats([300, 100], [115, 286], tolerance=15)
    # 100<->115 is exactly 15 apart (inside), 300<->286 is 14 apart.
    assert sorted(zip(ref_idx.tolist(), det_idx.tolist(), strict=True)) == [(0, 1), (1, 0)]


def test_match_empty_inputs():
    for ref, det in (([], []), ([1, 2], []), ([], [5])):
        ref_idx, det_idx = match_beats(ref, det, tolerance=10)
        assert ref_idx.size == 0 and det_idx.size == 0
        assert ref_idx.dtype == np.int64


def test_match_many_beats_is_fast_and_exact():
    ref = np.arange(0, 100_000 * 300, 300)
    det = ref + 7
    ref_idx, det_idx = match_beats(ref, det, tolerance=54)
    assert ref_idx.size == ref.size and np.array_equal(ref_idx, det_idx)


def test_qrs_metrics_counts_and_zero_denominators():
    m = qrs_metrics([100, 200, 300], [102, 290, 500], tolerance=15)
    assert (m["tp"], m["fp"], m["fn"]) == (2, 1, 1)
    assert m["se"] == pytest.approx(2 / 3) and m["ppv"] == pytest.approx(2 / 3)
    none = qrs_metrics([], [], tolerance=15)
    assert none["se"] is None and none["ppv"] is None
    no_det = qrs_metrics([10, 20], [], tolerance=5)
    assert no_det["se"] == 0.0 and no_det["ppv"] is None


def test_qrs_metrics_excluded_spans_do_not_score_detections():
    # 500 lies in the flutter span [450, 600]: not a FP; 900 is outside it: a FP.
    m = qrs_metrics([100], [100, 500, 900], tolerance=15, excluded_spans=[(450, 600)])
    assert (m["tp"], m["fp"], m["fn"], m["excluded"]) == (1, 1, 0, 1)


def test_classification_metrics_by_hand():
    ref = ["N", "N", "N", "V", "V", "S"]
    pred = ["N", "N", "V", "V", "N", "S"]
    out = classification_metrics(ref, pred)
    # N: TP 2, reference N 3, predicted N 3 (2 + the V read as N).
    assert out["classes"]["N"] == {"se": 2 / 3, "ppv": 2 / 3, "n": 3, "tp": 2, "fn": 1, "fp": 1}
    assert out["classes"]["V"]["se"] == 0.5 and out["classes"]["V"]["ppv"] == 0.5
    assert out["classes"]["S"]["se"] == 1.0 and out["classes"]["S"]["ppv"] == 1.0
    # F and Q never occur: undefined, not zero.
    assert out["classes"]["F"] == {"se": None, "ppv": None, "n": 0, "tp": 0, "fn": 0, "fp": 0}
    assert out["accuracy"] == pytest.approx(4 / 6)
    assert out["confusion"]["labels"] == ["N", "S", "V", "F", "Q"]
    assert out["confusion"]["matrix"][0] == [2, 0, 1, 0, 0]
    assert out["confusion"]["matrix"][2] == [1, 0, 1, 0, 0]


def test_classification_metrics_accepts_indices_and_rejects_bad_labels():
    assert classification_metrics([0, 2], [0, 2])["accuracy"] == 1.0
    assert classification_metrics([], [])["accuracy"] is None
    with pytest.raises(ValueError):
        classification_metrics(["N", "X"], ["N", "N"])
    with pytest.raises(ValueError):
        classification_metrics([0, 7], [0, 0])
    with pytest.raises(ValueError):
        classification_metrics([0, 1], [0])


def test_end_to_end_rule_missed_and_false_beats():
    # ref: N@100, V@400, S@700. det: 105 labelled N (TP for N), 410 labelled N (V read as N),
    # 1000 labelled V (false beat -> FP for V). S@700 is missed -> FN for S.
    out = end_to_end_metrics(
        [100, 400, 700], ["N", "V", "S"], [105, 410, 1000], ["N", "N", "V"], tolerance=54
    )
    c = out["classes"]
    assert c["N"]["se"] == 1.0 and c["N"]["ppv"] == 0.5  # 1 TP, the V read as N is a FP
    assert c["V"]["se"] == 0.0 and c["V"]["ppv"] == 0.0  # missed as N; false beat as V
    assert c["S"]["se"] == 0.0 and c["S"]["ppv"] is None  # missed; never predicted
    assert out["missed"]["S"] == 1 and out["false_beats"]["V"] == 1
    # accuracy = 1 correct / (3 reference beats + 1 false beat)
    assert out["accuracy"] == pytest.approx(1 / 4)


def test_count_matrix_has_no_beat_row_and_column_that_add_up():
    m = count_matrix([0, NO_BEAT, 2], [NO_BEAT, 1, 2])
    assert m.shape == (6, 6)
    assert m[0, 5] == 1 and m[5, 1] == 1 and m[2, 2] == 1 and m.sum() == 3
    assert np.array_equal(m + m, count_matrix([0, NO_BEAT, 2] * 2, [NO_BEAT, 1, 2] * 2))


def test_percent_scores_from_counts():
    # 3 S beats: 2 found, 1 called N; 1 N beat called S; one missed V, 4 found
    ref = ["S", "S", "S", "N", "V", "V", "V", "V"]
    pred = ["S", "S", "N", "S", "V", "V", "V", "V"]
    matrix = count_matrix(ref, pred)
    matrix[2, NO_BEAT] += 1  # a missed V beat
    s, v = percent_scores(matrix)["S"], percent_scores(matrix)["V"]
    assert (round(s["se"], 2), round(s["ppv"], 2), s["n"]) == (66.67, 66.67, 3)
    assert round(s["f1"], 2) == 66.67
    assert (v["se"], v["ppv"], v["n"]) == (80.0, 100.0, 5)
    assert round(v["f1"], 2) == 88.89
