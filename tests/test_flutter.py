"""Ventricular flutter/fibrillation spans (ecg_core.flutter) on real MIT-BIH records."""

from __future__ import annotations

import numpy as np
import pytest
import wfdb

from ecg_core import detect_qrs, detect_qrs_and_vf
from ecg_core.aami import SYMBOL_TO_AAMI
from ecg_core.flutter import detect_vf_spans, in_vf_spans
from ecg_core.metrics import qrs_metrics
from ecg_core.preprocessing import resample, select_lead


def load(mitdb_dir, name: str):
    header = wfdb.rdheader(str(mitdb_dir / name))
    rec = wfdb.rdrecord(str(mitdb_dir / name), channels=[select_lead(header.sig_name)])
    ann = wfdb.rdann(str(mitdb_dir / name), "atr")
    starts = ann.sample[np.asarray(ann.symbol) == "["]
    ends = ann.sample[np.asarray(ann.symbol) == "]"]
    return rec.p_signal[:, 0], float(rec.fs), ann, list(zip(starts, ends, strict=True))


def coverage(found, annotated, n):
    """(fraction of the annotated VF time flagged, seconds-worth of samples flagged outside)."""
    flagged, reference = np.zeros(n, bool), np.zeros(n, bool)
    for a, b in found:
        flagged[a:b] = True
    for a, b in annotated:
        reference[a:b] = True
    return (flagged & reference).sum() / reference.sum(), int((flagged & ~reference).sum())


# Record 207 holds MIT-BIH's only ventricular flutter (6 episodes, 143 s). Measured at every
# rate from 100 to 1000 Hz: 92.6 % of it flagged, 1.5 s flagged outside (episode edges).
@pytest.mark.parametrize("fs_out", [None, 128.0, 500.0])
def test_flags_record_207_flutter(mitdb_dir, fs_out):
    signal, fs, _, annotated = load(mitdb_dir, "207")
    if fs_out is not None:
        signal = resample(signal, fs, fs_out)
        annotated = [(int(a * fs_out / fs), int(b * fs_out / fs)) for a, b in annotated]
        fs = fs_out
    spans = detect_vf_spans(signal, fs)
    assert all(0 <= a < b <= signal.size for a, b in spans)
    assert all(b1 <= a2 for (_, b1), (a2, _) in zip(spans, spans[1:], strict=False))
    flagged, outside = coverage(spans, annotated, signal.size)
    assert flagged >= 0.88, flagged
    assert outside <= 4 * fs, outside / fs


# Sinus rhythm, PVCs and fusion beats (100, 119, 208), fast VT and atrial flutter (203),
# VT runs (205, 213), paced rhythm with wide QRS (107), atrial flutter (222): none is VF.
@pytest.mark.parametrize("name", ["100", "119", "208", "203", "205", "107", "222"])
def test_flags_nothing_without_vf(mitdb_dir, name):
    signal, fs, _, annotated = load(mitdb_dir, name)
    assert annotated == []
    assert detect_vf_spans(signal, fs) == []


def test_detect_qrs_drops_detections_in_flutter_only(mitdb_dir):
    signal, fs, ann, annotated = load(mitdb_dir, "207")
    is_beat = np.isin(ann.symbol, list(SYMBOL_TO_AAMI))
    ref = ann.sample[is_beat]
    kept = detect_qrs(signal, fs)
    every = detect_qrs(signal, fs, drop_vf=False)
    m_kept = qrs_metrics(ref, kept, tolerance=0.15 * fs)
    m_every = qrs_metrics(ref, every, tolerance=0.15 * fs)
    # Measured: FP 338 -> 28 (strict), FN 1 -> 3 (two beats at episode edges).
    assert m_every["fp"] - m_kept["fp"] >= 250, (m_every, m_kept)
    assert m_kept["fn"] - m_every["fn"] <= 5, (m_every, m_kept)
    peaks, spans = detect_qrs_and_vf(signal, fs)
    assert np.array_equal(peaks, kept) and spans == detect_vf_spans(signal, fs)
    assert not np.any(in_vf_spans(kept, spans))


def test_synthetic_sine_and_no_vf_inputs():
    fs = 250.0
    t = np.arange(int(30 * fs)) / fs
    sine = np.sin(2 * np.pi * 4.0 * t) * (t >= 10) * (t < 20)  # 240 /min from 10 s to 20 s
    ((a, b),) = detect_vf_spans(sine, fs)
    assert abs(a / fs - 10) <= 1.0 and abs(b / fs - 20) <= 1.0
    slow = np.sin(2 * np.pi * 1.2 * t)  # 72 /min: too slow to be flutter
    for signal in (slow, np.zeros(t.size), np.zeros(100), np.zeros(0)):
        assert detect_vf_spans(signal, fs) == []


def test_in_vf_spans():
    mask = in_vf_spans(np.array([0, 5, 10, 14, 15, 30]), [(5, 15), (30, 31)])
    assert mask.tolist() == [False, True, True, True, False, True]
    assert in_vf_spans(np.array([1, 2]), []).tolist() == [False, False]
