"""Beat windows, templates and RR features, on hand-made beats and real MIT-BIH records."""

from __future__ import annotations

import numpy as np
import pytest
import wfdb

from ecg_core.aami import symbols_to_classes
from ecg_core.features import (
    ALIGN_MAX_SHIFT_S,
    beat_features,
    cut_windows,
    lowpass_morphology,
    morphology,
    rr_features,
    rr_intervals,
    running_templates,
    template_aligned_positions,
    window_samples,
)
from ecg_core.preprocessing import CANONICAL_FS, resample_positions, to_canonical


def _beats(mitdb_dir, name):
    ann = wfdb.rdann(str(mitdb_dir / name), "atr")
    labels = symbols_to_classes(ann.symbol)
    return ann.sample[labels >= 0], labels[labels >= 0]


def test_rr_intervals_match_annotations_record_100(mitdb_dir):
    samples, _ = _beats(mitdb_dir, "100")
    rr_pre_s, rr_next_s = rr_intervals(samples, 360.0)
    expected = np.diff(samples) / 360.0
    np.testing.assert_allclose(rr_pre_s[1:], expected)
    np.testing.assert_allclose(rr_next_s[:-1], expected)
    assert 0.7 < np.median(rr_pre_s) < 0.9  # record 100: ~75 bpm


def test_the_intervals_a_record_does_not_hold():
    # A PVC first, then its compensatory pause, then sinus at 0.8 s.
    r_s = np.array([0.0, 1.2, 2.0, 2.8, 3.6, 4.4, 5.2])
    rr_pre_s, rr_next_s = rr_intervals(r_s * 360, 360.0)
    # Diagnostic: before the first beat and after the last, the median interval (0.8 s),
    # not the PVC's pause (1.2 s), which would make the PVC look late.
    assert rr_pre_s[0] == pytest.approx(0.8) and rr_next_s[-1] == pytest.approx(0.8)
    # Real-time: the first beat borrows the interval after it; no later beat's running
    # mean then depends on intervals after that beat.
    causal_pre, _ = rr_intervals(r_s * 360, 360.0, causal=True)
    assert causal_pre[0] == pytest.approx(1.2)


def test_premature_beats_have_short_rr_ratio_record_208(mitdb_dir):
    samples, labels = _beats(mitdb_dir, "208")
    for causal in (True, False):
        rr = rr_features(samples, 360.0, causal=causal)
        assert rr.shape == (samples.size, 4 if causal else 6)
        # PVCs come early: log(rr_pre / running mean) well below the normal beats'
        assert np.median(rr[labels == 2, 0]) < np.median(rr[labels == 0, 0]) - 0.15
    # ... and are followed by a compensatory pause (diagnostic next-RR feature)
    rr = rr_features(samples, 360.0, causal=False)
    assert np.median(rr[labels == 2, 3]) > 0.1


def test_causal_features_ignore_the_future():
    rng = np.random.default_rng(0)
    r = np.cumsum(rng.integers(80, 140, size=60))
    windows = rng.normal(size=(60, 96)).astype(np.float32)
    rr = rr_features(r, CANONICAL_FS, causal=True)
    tmpl, scale = running_templates(windows, causal=True)
    k = 30
    r2 = r.copy()
    r2[k + 1 :] += 17  # move every later beat
    w2 = windows.copy()
    w2[k + 1 :] = rng.normal(size=w2[k + 1 :].shape)
    tmpl2, scale2 = running_templates(w2, causal=True)
    np.testing.assert_array_equal(rr_features(r2, CANONICAL_FS, causal=True)[: k + 1], rr[: k + 1])
    np.testing.assert_array_equal(tmpl2[: k + 1], tmpl[: k + 1])
    np.testing.assert_array_equal(scale2[: k + 1], scale[: k + 1])
    # the non-causal variant does look ahead
    assert not np.array_equal(
        running_templates(w2, causal=False)[0][k], running_templates(windows, causal=False)[0][k]
    )


def test_causal_first_beat_features_do_not_depend_on_the_next_beat():
    # The first beat borrows the interval after it (rr_intervals), but only into ratios of
    # that one interval with itself: its features must not move with the second beat.
    r = np.array([100, 190, 300, 420, 520])
    later = r.copy()
    later[1:] += 60  # the second beat (and all after it) comes later
    np.testing.assert_array_equal(
        rr_features(later, CANONICAL_FS, causal=True)[0],
        rr_features(r, CANONICAL_FS, causal=True)[0],
    )
    assert not np.array_equal(  # the diagnostic features do look at the next beat
        rr_features(later, CANONICAL_FS, causal=False)[0],
        rr_features(r, CANONICAL_FS, causal=False)[0],
    )


def test_template_is_the_median_beat():
    base = np.sin(np.linspace(0, np.pi, 96)).astype(np.float32)
    windows = np.tile(base, (40, 1))
    windows[::7] *= -1  # a few odd beats do not move the median
    tmpl, scale = running_templates(windows, causal=True)
    np.testing.assert_allclose(tmpl[20], base, atol=1e-6)
    assert abs(scale[20] - np.ptp(base)) < 1e-5


def test_windows_on_real_record_are_centred_on_r(mitdb_dir):
    samples, _ = _beats(mitdb_dir, "100")
    rec = wfdb.rdrecord(str(mitdb_dir / "100"))
    x = to_canonical(rec.p_signal[:, rec.sig_name.index("MLII")], 360.0)
    r_c = resample_positions(samples, 360.0, CANONICAL_FS)
    pre, post = window_samples()
    feats = beat_features(x, r_c, causal=False)
    assert feats.morph.shape == (samples.size, 2, pre + post)
    # the R peak (the maximum of the mean beat) sits within 2 samples of index `pre`
    assert abs(int(np.argmax(feats.morph[:, 0].mean(0))) - pre) <= 2
    # edge beats are padded, not dropped
    assert cut_windows(x, np.array([0, x.size - 1]), pre, post).shape == (2, pre + post)


def _detected_canonical(record_dir, name):
    """Our detector's R peaks on lead 0 and the cleaned lead, at CANONICAL_FS."""
    from ecg_core.io import read_record
    from ecg_core.qrs import detect_qrs

    record = read_record(record_dir / name)
    lead = record.signal[:, 0]
    r_peaks = detect_qrs(lead, record.fs)
    canonical = to_canonical(lead, record.fs)
    return record, r_peaks, canonical, resample_positions(r_peaks, record.fs, CANONICAL_FS)


@pytest.mark.parametrize("causal", [False, True])
def test_alignment_leaves_steady_fiducials_alone_record_208(mitdb_dir, causal):
    # 208: 992 PVCs among 1,600 normal beats. Normal beats, whose R peak our detector finds
    # steadily, stay within a sample; most PVCs stay put, and the rest, where PVCs are
    # frequent enough to shape the running template, move a few samples, never far.
    record, r_peaks, canonical, r_c = _detected_canonical(mitdb_dir, "208")
    shifts = np.abs(template_aligned_positions(canonical, r_c, causal=causal) - r_c)
    ann_samples, labels = _beats(mitdb_dir, "208")
    nearest = np.abs(ann_samples[None, :] - r_peaks[:, None]).argmin(axis=1)
    is_v = labels[nearest] == 2
    assert is_v.sum() > 900
    assert np.mean(shifts[~is_v] <= 1) > 0.98
    assert np.mean(shifts[is_v] == 0) > 0.75 and shifts[is_v].max() <= 5
    assert shifts.max() <= round(ALIGN_MAX_SHIFT_S * CANONICAL_FS)


def test_alignment_puts_jumping_fiducials_back_on_the_template_svdb_850(svdb_dir):
    # SVDB 850: notched QRS complexes; in some beats our R peak takes the other deflection,
    # 5-8 samples (40-60 ms at 128 Hz) later, and the diagnostic model called 44 normal
    # beats V. Moved onto their template, their windows look like the others.
    from ecg_core.classifier import load_model

    record, r_peaks, canonical, r_c = _detected_canonical(svdb_dir, "850")
    shifts = template_aligned_positions(canonical, r_c, causal=True) - r_c
    assert np.sum(np.abs(shifts) >= 4) > 40
    model = load_model("diagnostic")
    called_v = {}
    for align in (False, True):
        model.align_windows = align
        labels = model.classify(record.signal, record.fs, r_peaks).labels
        called_v[align] = int(np.sum(labels == 2))  # 850 has no V beat
    assert called_v[False] > 30 and called_v[True] < called_v[False] / 3


def test_lowpass_morphology_is_the_morphology_of_filtered_beats():
    rng = np.random.default_rng(0)
    windows = rng.normal(size=(6, 96)).cumsum(axis=1)  # rough, wide-band "beats"
    templates = rng.normal(size=(6, 96)).cumsum(axis=1)
    morph = morphology(windows, templates, np.ptp(templates, axis=1))
    # An infinite cutoff leaves the beats as they are.
    np.testing.assert_allclose(lowpass_morphology(morph, np.inf), morph, atol=1e-5)
    # A finite one smooths the beat and keeps the template channel at unit peak-to-peak
    # (beat minus residual = template, re-normalised after filtering).
    out = lowpass_morphology(morph, 20.0)
    assert out.shape == morph.shape
    np.testing.assert_allclose(np.ptp(out[:, 0] - out[:, 1], axis=1), 1.0, rtol=1e-4)
    assert np.sum(np.diff(out[:, 0], n=2) ** 2) < 0.5 * np.sum(np.diff(morph[:, 0], n=2) ** 2)
    # Per-beat cutoffs: inf for the first three beats leaves exactly those unchanged.
    mixed = lowpass_morphology(morph, np.array([np.inf] * 3 + [20.0] * 3))
    np.testing.assert_allclose(mixed[:3], morph[:3], atol=1e-5)
    np.testing.assert_allclose(mixed[3:], out[3:], atol=1e-5)
