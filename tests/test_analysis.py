"""Burden, heart-rate (ecg_core.analysis) and run (ecg_core.runs) arithmetic on hand-made
beat sequences with worked answers."""

import time

import numpy as np
import pytest

from ecg_core.analysis import (
    beats_in_spans,
    ectopy_counts,
    heart_rate_stats,
    hourly_table,
    hr_trend,
    merge_spans,
    rate_beats,
    spans_total_s,
)
from ecg_core.runs import find_runs, run_counts

FS = 360.0


def beats(rr_samples: list[int] | np.ndarray, start: int = 100) -> np.ndarray:
    """R-peak samples from the RR intervals between them (first beat at ``start``)."""
    return np.r_[start, start + np.cumsum(rr_samples)].astype(np.int64)


def test_counts_and_burden_exclude_noisy_beats():
    labels = list("NNNVNNSNNNVVNNNNNNQN")  # 20 beats: 3 V, 1 S, 1 Q
    r = beats([288] * 19)
    clean = ectopy_counts(labels, np.zeros(20, bool))
    assert clean["counts"] == {"N": 15, "S": 1, "V": 3, "F": 0, "Q": 1}
    assert clean["v_burden_pct"] == 15.0 and clean["s_burden_pct"] == 5.0

    # A noisy span over beats 8..11 (N N V V): 16 beats analysed, 1 V and 1 S among them.
    span = ((r[8] - 10) / FS, (r[11] + 10) / FS)
    noisy = beats_in_spans(r, FS, [span])
    assert np.flatnonzero(noisy).tolist() == [8, 9, 10, 11]
    stats = ectopy_counts(labels, noisy)
    assert stats["n_analysed_beats"] == 16 and stats["n_noisy_beats"] == 4
    assert stats["counts"]["V"] == 1
    assert stats["v_burden_pct"] == 6.25 and stats["s_burden_pct"] == 6.25


def test_spans_are_merged_and_totalled():
    assert merge_spans([(5, 7), (1, 2), (1.5, 3)]).tolist() == [[1, 3], [5, 7]]
    assert spans_total_s([(5, 7), (1, 2), (1.5, 3), (9, 20)], duration_s=10.0) == 5.0


def _segment(pattern: str, rr_inside: int) -> tuple[list[str], list[int]]:
    """Five N beats at 75 bpm, then ``pattern`` beats ``rr_inside`` samples apart."""
    labels = list("NNNNN") + list(pattern)
    rr = [288] * 6 + [rr_inside] * (len(pattern) - 1)  # the interval *ending* at each beat
    return labels, rr


def _sequence(*segments: tuple[str, int]) -> tuple[np.ndarray, list[str]]:
    labels, rr = ["N"], []
    for pattern, rr_inside in segments:
        seg_labels, seg_rr = _segment(pattern, rr_inside)
        labels += seg_labels
        rr += seg_rr
    labels += list("NNNNN")
    rr += [288] * 5
    return beats(rr), labels


def test_couplet_triplet_and_nsvt_boundary_at_100_bpm():
    # 216 samples at 360 Hz = 0.6 s = exactly 100 bpm: not faster than 100, so a triplet;
    # 215 samples = 100.47 bpm: NSVT. Four V at 90 bpm: an idioventricular run.
    r, labels = _sequence(("VV", 180), ("VVV", 216), ("VVV", 215), ("VVVV", 240))
    runs = find_runs(r, labels, FS)
    assert runs["kind"].tolist() == ["V couplet", "V triplet", "NSVT", "idioventricular run"]
    assert runs["n_beats"].tolist() == [2, 3, 3, 4]
    assert runs["rate_bpm"].tolist() == [120.0, 100.0, 100.47, 90.0]
    first = runs.iloc[0]
    assert labels[first.start_beat : first.end_beat + 1] == ["V", "V"]
    assert first.start_sample == r[first.start_beat] and first.end_s == r[first.end_beat] / FS
    counts = run_counts(runs)
    assert counts["v_couplets"] == 1
    assert counts["v_triplets"] == 2  # exactly 3 V, whatever the rate
    assert counts["nsvt"] == 1 and counts["sustained_vt"] == 0
    assert counts["idioventricular_runs"] == 1


def test_vt_is_sustained_from_30_seconds():
    # 120 bpm (180 samples): 61 beats last 30.0 s -> sustained; 60 beats last 29.5 s -> NSVT.
    r, labels = _sequence(("V" * 60, 180), ("V" * 61, 180))
    runs = find_runs(r, labels, FS)
    assert runs["kind"].tolist() == ["NSVT", "sustained VT"]
    assert runs["duration_s"].tolist() == [29.5, 30.0]
    assert run_counts(runs)["sustained_vt"] == 1


def test_bigeminy_and_trigeminy_need_three_cycles():
    r, labels = _sequence(
        ("VNVNV", 288),  # N V N V N V (the N before comes from the segment): 3 cycles
        ("VNV", 288),  # only 2 cycles: nothing
        ("VNNVNNVNNV", 288),  # trigeminy, 4 cycles
    )
    runs = find_runs(r, labels, FS)
    assert runs["kind"].tolist() == ["V bigeminy", "V trigeminy"]
    big, tri = runs.iloc[0], runs.iloc[1]
    assert labels[big.start_beat : big.end_beat + 1] == list("NVNVNV")
    assert labels[tri.start_beat : tri.end_beat + 1] == list("NNVNNVNNVNNV")
    counts = run_counts(runs)
    assert counts["v_bigeminy"] == 1 and counts["v_trigeminy"] == 1
    assert counts["v_couplets"] == 0


def test_s_couplets_and_svt():
    r, labels = _sequence(("SS", 200), ("SSSS", 200), ("SSS", 300))
    runs = find_runs(r, labels, FS)
    assert runs["kind"].tolist() == ["S couplet", "SVT", "S run"]
    counts = run_counts(runs)
    assert counts["s_couplets"] == 1 and counts["svt"] == 1 and counts["s_runs"] == 2


def test_runs_touching_noise_are_marked_and_not_counted():
    r, labels = _sequence(("VV", 180), ("VV", 180))
    noisy = np.zeros(len(labels), bool)
    noisy[labels.index("V", 10)] = True  # first V of the second couplet
    runs = find_runs(r, labels, FS, noisy)
    assert runs["kind"].tolist() == ["V couplet", "V couplet"]
    assert runs["noisy"].tolist() == [False, True]
    assert run_counts(runs)["v_couplets"] == 1


def test_heart_rate_is_robust_to_one_pvc_and_skips_noise():
    # 75 bpm sinus (288 samples) with one PVC: coupling 0.5 s, compensatory pause 1.1 s.
    rr = [288] * 20 + [180, 396] + [288] * 20
    r = beats(rr)
    hr = heart_rate_stats(r, FS, np.zeros(r.size, bool))
    assert hr["hr_mean_bpm"] == 75.0  # 42 intervals over 33.6 s
    # 10-beat windows: holding both intervals -> 75; only the short one -> 600/7.7 s.
    assert hr["hr_max_bpm"] == pytest.approx(600 / 7.7, abs=0.01)
    assert hr["hr_min_bpm"] == pytest.approx(600 / 8.3, abs=0.01)
    assert hr["max_rr_s"] == 1.1

    # Spurious beats at 300 bpm inside a noisy span do not move the heart rate.
    r_noise = np.sort(np.r_[r, np.arange(r[5] + 50, r[9], 72)])
    noisy = beats_in_spans(r_noise, FS, [(r[5] / FS + 0.05, r[9] / FS - 0.05)])
    hr_noise = heart_rate_stats(r_noise, FS, noisy)
    assert 70 < hr_noise["hr_min_bpm"] and hr_noise["hr_max_bpm"] < 80


def test_hourly_table_and_trend():
    # 2.5 h at exactly 60 bpm; in hour 1 every 100th beat is V.
    n = 9000
    r = (np.arange(n) * FS).astype(np.int64)
    labels = np.zeros(n, np.int64)
    labels[3600:7200:100] = 2
    duration_s = 9000.0
    table = hourly_table(r, labels, FS, np.zeros(n, bool), duration_s)
    assert table["beats"].tolist() == [3600, 3600, 1800]
    assert table["v_count"].tolist() == [0, 36, 0]
    assert table["v_burden_pct"].tolist() == [0.0, 1.0, 0.0]
    assert table["hr_mean_bpm"].tolist() == [60.0, 60.0, 60.0]
    assert table["hr_min_bpm"].tolist() == [60.0, 60.0, 60.0]

    trend = hr_trend(r, FS, np.zeros(n, bool), duration_s)
    assert len(trend) == 150  # 60 s bins beyond one hour
    assert np.allclose(trend["hr_bpm"], 60.0)
    short = hr_trend(r[:60], FS, np.zeros(60, bool), 60.0)
    assert short["time_s"].tolist() == [0, 10, 20, 30, 40, 50]


def test_q_detections_are_skipped_by_the_heart_rate():
    # 60 bpm for 1 h, plus a false detection (labelled Q) 0.3 s after every 50th beat.
    n = 3600
    true_r = np.arange(n) * FS
    false = true_r[::50] + 0.3 * FS
    r = np.sort(np.r_[true_r, false]).astype(np.int64)
    labels = np.where(np.isin(r, false.astype(np.int64)), "Q", "N")
    labels[np.searchsorted(r, true_r[1011])] = "Q"  # a real beat the network calls Q: kept
    noisy = np.zeros(r.size, bool)
    table = hourly_table(r, labels, FS, noisy, 3600.0)
    assert table["beats"].tolist() == [r.size]  # Q detections stay in the beat counts
    assert table["hr_mean_bpm"].tolist() == [60.0]
    assert table["hr_max_bpm"].tolist() == [60.0]
    assert rate_beats(r, labels).sum() == n
    assert rate_beats(r, labels).tolist() == np.isin(r, true_r.astype(np.int64)).tolist()
    # Counted as beats, the false detections would raise the rate (the bug this prevents).
    assert heart_rate_stats(r, FS, noisy)["hr_mean_bpm"] > 61.0


def test_no_beats_gives_empty_results_not_errors():
    empty = np.zeros(0, np.int64)
    assert ectopy_counts([], empty.astype(bool))["v_burden_pct"] is None
    assert heart_rate_stats(empty, FS, empty.astype(bool))["hr_mean_bpm"] is None
    runs = find_runs(empty, [], FS)
    assert runs.empty and "kind" in runs.columns
    assert run_counts(runs)["v_couplets"] == 0
    assert hourly_table(empty, [], FS, empty.astype(bool), 10.0)["beats"].tolist() == [0]
    assert hr_trend(empty, FS, empty.astype(bool), 10.0)["hr_bpm"].isna().all()


def test_unknown_labels_are_refused():
    with pytest.raises(ValueError, match="Unknown beat labels"):
        ectopy_counts(["N", "X"], np.zeros(2, bool))


def test_a_day_of_beats_is_analysed_in_well_under_a_second():
    rng = np.random.default_rng(0)
    n = 110_000  # ~24 h at 76 bpm
    r = np.cumsum(rng.integers(250, 320, n)).astype(np.int64)
    labels = rng.choice(5, size=n, p=[0.9, 0.04, 0.05, 0.005, 0.005])
    noisy = beats_in_spans(r, FS, [(1000.0, 1300.0), (50_000.0, 50_600.0)])
    duration_s = r[-1] / FS + 1
    t0 = time.perf_counter()
    ectopy_counts(labels, noisy)
    heart_rate_stats(r, FS, noisy)
    hourly_table(r, labels, FS, noisy, duration_s)
    hr_trend(r, FS, noisy, duration_s)
    runs = find_runs(r, labels, FS, noisy)
    elapsed = time.perf_counter() - t0
    assert run_counts(runs)["v_couplets"] > 100
    assert elapsed < 1.0, f"{elapsed:.2f} s"


def test_pauses_threshold_noisy_beats_and_gaps():
    from ecg_core.runs import PAUSE_S, find_pauses, longest_pause_s, run_counts

    fs = 250.0
    rr_s = [0.8, 0.8, 2.5, 0.8, 1.9, 0.8, 3.0, 0.8, 2.2, 0.8]
    r = np.round(np.cumsum([0.0, *rr_s]) * fs).astype(np.int64)
    noisy = np.zeros(r.size, bool)
    noisy[7] = True  # the beat that ends the 3.0 s interval
    pauses = find_pauses(r, fs, noisy, gaps_s=[(r[8] / fs + 0.5, r[8] / fs + 0.6)])
    assert pauses["duration_s"].round(2).tolist() == [2.5, 3.0, 2.2]
    assert (pauses["duration_s"] >= PAUSE_S).all()  # the 1.9 s interval is no pause
    assert pauses["noisy"].tolist() == [False, True, True]  # noisy beat; overlaps a gap
    assert run_counts(pauses)["pauses"] == 1 and longest_pause_s(pauses) == 2.5
    assert len(find_pauses(r[:3], fs)) == 0


def test_record_232_pauses(mitdb_dir):
    from ecg_core.io import read_record
    from ecg_core.pipeline import analyze

    report = analyze(read_record(str(mitdb_dir / "232")))  # sinus pauses up to ~6 s
    s = report.summary
    assert s["pauses"] > 50 and 5.0 < s["longest_pause_s"] < 6.5
    assert "pause(s) >= 2 s" in s["message"]
    pauses = report.runs[report.runs["kind"] == "pause"]
    # A pause is bounded by consecutive heartbeats: only Q detections (not beats) between.
    labels = report.beats["label"].to_numpy()
    for first, last in pauses[["start_beat", "end_beat"]].itertuples(index=False):
        assert last > first and (labels[first + 1 : last] == "Q").all()
        assert labels[first] != "Q" and labels[last] != "Q"
