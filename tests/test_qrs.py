"""QRS detector on real MIT-BIH records (lead MLII), at several rates, and on no-beat input."""

from __future__ import annotations

import time

import numpy as np
import pytest
import wfdb

from ecg_core import ECGInputError, detect_qrs
from ecg_core.aami import SYMBOL_TO_AAMI
from ecg_core.metrics import qrs_metrics
from ecg_core.preprocessing import resample, resample_positions, select_lead


def load_mlii(mitdb_dir, name: str, seconds: float | None = None):
    header = wfdb.rdheader(str(mitdb_dir / name))
    lead = select_lead(header.sig_name)
    sampto = None if seconds is None else int(seconds * header.fs)
    rec = wfdb.rdrecord(str(mitdb_dir / name), channels=[lead], sampto=sampto)
    ann = wfdb.rdann(str(mitdb_dir / name), "atr", sampto=sampto)
    is_beat = np.isin(ann.symbol, list(SYMBOL_TO_AAMI))
    return rec.p_signal[:, 0], float(rec.fs), ann.sample[is_beat]


# Bounds a little below what the detector reaches on the whole record
# (python scripts/evaluate.py --task qrs ... : 100: 100/100, 119: 100/99.65,
#  208: 99.73/99.90, 105: 99.61/98.65, 203: 98.56/99.29 %).
@pytest.mark.parametrize(
    ("name", "min_se", "min_ppv"),
    [
        ("100", 0.999, 0.999),
        ("119", 0.999, 0.993),
        ("208", 0.995, 0.997),
        ("105", 0.993, 0.983),
        ("203", 0.980, 0.988),
    ],
)
def test_detector_on_whole_records(mitdb_dir, name, min_se, min_ppv):
    signal, fs, ref = load_mlii(mitdb_dir, name)
    detected = detect_qrs(signal, fs)
    assert detected.dtype == np.int64
    assert np.all(np.diff(detected) > 0)
    m = qrs_metrics(ref, detected, tolerance=0.15 * fs)
    assert m["se"] >= min_se, m
    assert m["ppv"] >= min_ppv, m


def test_record_114_mlii_is_chosen_by_name(mitdb_dir):
    signal, fs, ref = load_mlii(mitdb_dir, "114", seconds=300)
    m = qrs_metrics(ref, detect_qrs(signal, fs), tolerance=0.15 * fs)
    assert m["se"] >= 0.995 and m["ppv"] >= 0.995, m


@pytest.mark.parametrize("fs_out", [100.0, 128.0, 250.0, 257.0, 500.0, 1000.0])
@pytest.mark.parametrize("name", ["100", "208"])
def test_any_input_rate(mitdb_dir, name, fs_out):
    signal, fs, ref = load_mlii(mitdb_dir, name, seconds=300)
    resampled = resample(signal, fs, fs_out)
    detected = detect_qrs(resampled, fs_out)
    ref_out = resample_positions(ref, fs, fs_out)
    m = qrs_metrics(ref_out, detected, tolerance=0.15 * fs_out)
    assert m["se"] >= 0.995 and m["ppv"] >= 0.995, (fs_out, m)
    # Indices are at the input rate and sit on the R peak (annotations mark it within a
    # few samples): median offset under 20 ms.
    nearest = np.abs(detected[:, None] - ref_out[None, :]).min(axis=1)
    assert np.median(nearest) <= 0.02 * fs_out


def test_inverted_signal_is_detected_the_same(mitdb_dir):
    signal, fs, ref = load_mlii(mitdb_dir, "119", seconds=300)
    m = qrs_metrics(ref, detect_qrs(-signal, fs), tolerance=0.15 * fs)
    assert m["se"] >= 0.995 and m["ppv"] >= 0.99, m


def test_no_beat_gives_empty_array():
    fs = 360.0
    rng = np.random.default_rng(0)
    n = int(30 * fs)
    t = np.arange(n) / fs
    for signal in (
        np.zeros(n),
        np.full(n, 1.7),
        rng.normal(size=n),  # white noise
        np.cumsum(rng.normal(size=n)) * 0.01,  # brown noise / wander
        0.5 * np.sin(2 * np.pi * 0.3 * t),  # pure baseline wander
        np.zeros(10),  # too short to hold a beat
        np.zeros(0),
    ):
        out = detect_qrs(signal, fs)
        assert out.dtype == np.int64 and out.size == 0


def test_bad_input_raises_ecg_input_error():
    with pytest.raises(ECGInputError, match="Sampling rate"):
        detect_qrs(np.zeros(1000), 5)
    with pytest.raises(ECGInputError, match="Sampling rate"):
        detect_qrs(np.zeros(1000), "fast")
    with pytest.raises(ECGInputError, match="1-D"):
        detect_qrs(np.zeros((1000, 2)), 360)
    with pytest.raises(ECGInputError, match="NaN"):
        detect_qrs(np.array([0.0, np.nan] * 500), 360)


def test_speed_is_linear_not_quadratic(mitdb_dir):
    """Sanity, not a benchmark: 6x the signal must not cost ~36x (scripts/benchmark.py times it)."""
    signal, fs, _ = load_mlii(mitdb_dir, "208")
    short = signal[: len(signal) // 6]
    detect_qrs(short, fs)  # warm-up
    t0 = time.perf_counter()
    detect_qrs(short, fs)
    t_short = time.perf_counter() - t0
    t0 = time.perf_counter()
    detect_qrs(signal, fs)
    t_long = time.perf_counter() - t0
    assert t_long < 20 * max(t_short, 0.01)


def test_a_long_signal_is_detected_in_bounded_memory(mitdb_dir):
    """Each 250 Hz array is dropped once it has served (a 24-hour record's are 170 MB each):
    two hours of record 100 take about 3x the input at the peak (5.5x before)."""
    import tracemalloc

    x = np.tile(wfdb.rdrecord(str(mitdb_dir / "100")).p_signal[:, 0], 4)
    tracemalloc.start()
    try:
        peaks = detect_qrs(x, 360.0)
        peak_bytes = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert 4 * 2270 < peaks.size < 4 * 2280  # record 100 holds 2273 beats
    assert peak_bytes < 4.0 * x.nbytes, f"{peak_bytes / x.nbytes:.2f}x the input"
