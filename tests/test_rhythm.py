"""Atrial fibrillation call (ecg_core.rhythm) and its use by the classifier."""

from __future__ import annotations

import numpy as np
import wfdb

from ecg_core.aami import symbols_to_classes
from ecg_core.rhythm import AF_MIN_BEATS, af_beats, spans_of

FS = 128.0


def _r_peaks(rr_s: np.ndarray) -> np.ndarray:
    return np.round(np.cumsum(rr_s) * FS).astype(np.int64)


def test_regular_rhythms_with_ectopy_are_not_af():
    rng = np.random.default_rng(0)
    n = 600
    sinus = 0.8 + 0.02 * rng.standard_normal(n)
    isolated = sinus.copy()
    early = rng.choice(np.arange(2, n - 2), 40, replace=False)
    isolated[early] *= 0.6  # premature beats ...
    isolated[early + 1] *= 1.4  # ... and their compensatory pauses
    bigeminy = np.where(np.arange(n) % 2 == 0, 0.5, 1.1) + 0.01 * rng.standard_normal(n)
    trigeminy = np.tile([0.8, 0.8, 0.5], n // 3) + 0.01 * rng.standard_normal(n)
    for rr in (sinus, isolated, bigeminy, trigeminy):
        assert not af_beats(_r_peaks(rr), FS, np.zeros(n, bool)).any()


def test_irregularly_irregular_rhythm_is_af_and_v_beats_are_left_out():
    rng = np.random.default_rng(1)
    rr = np.concatenate([np.full(300, 0.8), rng.uniform(0.4, 1.2, 400), np.full(300, 0.8)])
    r = _r_peaks(rr)
    af = af_beats(r, FS, np.zeros(r.size, bool))
    assert af[350:650].all() and not af[:280].any() and not af[720:].any()
    assert len(spans_of(af, r)) == 1
    # V beats scattered in sinus rhythm make it irregular; their intervals are left out
    sinus = np.full(600, 0.8)
    v = np.zeros(600, bool)
    v[5::3] = True
    sinus[v] = rng.uniform(0.4, 0.6, v.sum())
    r = _r_peaks(sinus)
    assert not af_beats(r, FS, v).any()


def test_causal_call_uses_only_the_past():
    rng = np.random.default_rng(2)
    rr = np.concatenate([np.full(200, 0.8), rng.uniform(0.4, 1.2, 300)])
    r = _r_peaks(rr)
    full = af_beats(r, FS, np.zeros(r.size, bool), causal=True)
    cut = 320
    part = af_beats(r[:cut], FS, np.zeros(cut, bool), causal=True)
    np.testing.assert_array_equal(full[:cut], part)
    # an episode is called once AF_MIN_BEATS irregular beats have been seen
    first = int(np.flatnonzero(full)[0])
    assert 200 + AF_MIN_BEATS - 1 <= first < 200 + AF_MIN_BEATS + 30


def test_record_201_af_episodes_are_found(mitdb_dir):
    ann = wfdb.rdann(str(mitdb_dir / "201"), "atr")
    labels = symbols_to_classes(ann.symbol)
    beat = labels >= 0
    samples, labels = ann.sample[beat], labels[beat]
    rhythm, current = [], "(N"
    for symbol_aux, is_beat in zip(ann.aux_note, beat, strict=True):
        if symbol_aux.startswith("("):
            current = symbol_aux.strip("\x00")
        if is_beat:
            rhythm.append(current)
    in_af = np.isin(rhythm, ["(AFIB", "(AFL"])
    called = af_beats(samples, 360.0, labels == 2)
    assert called[in_af].mean() > 0.8  # 911 annotated AF beats
    assert called[~in_af].mean() < 0.2  # its SVTA / nodal stretches are irregular too


def test_classifier_labels_no_s_inside_af(mitdb_dir):
    from ecg_core.classifier import load_model
    from ecg_core.io import read_record

    record = read_record(str(mitdb_dir / "201"))
    ann = wfdb.rdann(str(mitdb_dir / "201"), "atr")
    beat = symbols_to_classes(ann.symbol) >= 0
    pred = load_model("diagnostic").classify(record.signal[:, 0], record.fs, ann.sample[beat])
    assert pred.in_af.sum() > 500
    assert not np.any(pred.labels[pred.in_af] == 1)
    np.testing.assert_allclose(pred.probs.sum(axis=1), 1.0, rtol=1e-5)
    assert np.all(pred.probs[pred.in_af, 1] == 0.0)


def test_s_probability_in_af_goes_to_n_only(mitdb_dir):
    """Inside AF the network's S probability is added to N; V, F and Q keep theirs, so the
    AF step never creates a V label."""
    from ecg_core.classifier import load_model
    from ecg_core.io import read_record

    record = read_record(str(mitdb_dir / "201"))
    ann = wfdb.rdann(str(mitdb_dir / "201"), "atr")
    r = ann.sample[symbols_to_classes(ann.symbol) >= 0]
    model = load_model("diagnostic")
    pred = model.classify(record.signal[:, 0], record.fs, r)
    raw = model.network_probabilities(record.signal[:, 0], record.fs, r)[0]
    af = pred.in_af
    assert af.sum() > 500 and (raw[af].argmax(axis=1) == 1).sum() > 10  # S calls were moved
    np.testing.assert_allclose(pred.probs[~af], raw[~af], atol=1e-6)
    np.testing.assert_allclose(pred.probs[af][:, 2:], raw[af][:, 2:], atol=1e-6)
    np.testing.assert_allclose(pred.probs[af, 0], raw[af, 0] + raw[af, 1], atol=1e-6)
    assert set(np.flatnonzero(pred.labels == 2)) <= set(np.flatnonzero(raw.argmax(axis=1) == 2))


def test_report_has_af_episodes_for_record_201(mitdb_dir):
    from ecg_core.io import read_record
    from ecg_core.pipeline import analyze

    report = analyze(read_record(str(mitdb_dir / "201")))
    s = report.summary
    assert s["af_episodes"] >= 1 and 2.0 < s["af_s"] / 60 < 15.0  # 201: ~10 min annotated AF
    assert "Atrial fibrillation" in s["message"]
    assert (
        report.beats["af"].sum() > 500
        and not (report.beats["af"] & (report.beats["label"] == "S")).any()
    )
    start_s, end_s = report.af_spans[0]
    assert 0 <= start_s < end_s <= report.duration_s
    assert "af_spans" in report.to_dict()
