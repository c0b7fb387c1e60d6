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


def _r_peaks(rr_s: list[float], fs: float = 128.0) -> np.ndarray:
    return (np.cumsum(rr_s) * fs).astype(int)


def test_svt_continuation_extends_a_fast_regular_run_only():
    from ecg_core.rhythm import svt_continuation

    no_af = np.zeros(60, bool)
    # sinus 0.8 s, an S onset at 0.5 s, 9 more beats at 0.5 s, back to sinus
    rr = [0.8] * 30 + [0.5] * 10 + [0.8] * 20
    labels = np.zeros(60, int)
    labels[30] = 1
    run = svt_continuation(_r_peaks(rr), 128.0, labels, no_af)
    assert np.flatnonzero(run).tolist() == list(range(31, 40))
    # a V beat inside the run: the run goes on after it, at the same rate
    labels_v = labels.copy()
    labels_v[35] = 2
    run_v = svt_continuation(_r_peaks(rr), 128.0, labels_v, no_af)
    assert np.flatnonzero(run_v).tolist() == [31, 32, 33, 34, 36, 37, 38, 39]
    # ... but not when the beats after it are back at the sinus rate: the run ends at the V
    rr_ends = [0.8] * 30 + [0.5] * 6 + [0.8] * 24
    ended = svt_continuation(_r_peaks(rr_ends), 128.0, labels_v, no_af)
    assert np.flatnonzero(ended).tolist() == [31, 32, 33, 34]
    # ... nor when the break is longer than SVT_RESUME_WITHIN beats
    labels_v4 = labels.copy()
    labels_v4[34:38] = 2
    assert np.flatnonzero(svt_continuation(_r_peaks(rr), 128.0, labels_v4, no_af)).tolist() == [
        31,
        32,
        33,
    ]
    # inside AF nothing is extended
    assert not svt_continuation(_r_peaks(rr), 128.0, labels, np.ones(60, bool)).any()
    # atrial bigeminy (S, then a compensatory pause) is not a run
    rr_bigeminy = [0.8] * 30 + [0.5, 1.1] * 15
    labels_bigeminy = np.zeros(60, int)
    labels_bigeminy[30::2] = 1
    assert not svt_continuation(_r_peaks(rr_bigeminy), 128.0, labels_bigeminy, no_af).any()
    # one S beat followed by a single early beat is not a run (3 beats needed)
    rr_pair = [0.8] * 30 + [0.5, 0.5] + [0.8] * 28
    assert not svt_continuation(_r_peaks(rr_pair), 128.0, labels, no_af).any()
    # sinus tachycardia that sets in gradually never had an S onset: nothing to extend
    rr_tachy = list(np.linspace(0.8, 0.5, 30)) + [0.5] * 30
    assert not svt_continuation(_r_peaks(rr_tachy), 128.0, np.zeros(60, int), no_af).any()


def test_diagnostic_mode_labels_the_svt_run_of_svdb_865(svdb_dir):
    """SVDB record 865 has long SVT runs annotated S: the diagnostic model labels more of
    them S than its network alone; the real-time model is left as its network says."""
    from ecg_core.classifier import load_model
    from ecg_core.io import read_record

    record = read_record(str(svdb_dir / "865"))
    ann = wfdb.rdann(str(svdb_dir / "865"), "atr")
    beat = symbols_to_classes(ann.symbol) >= 0
    r, truth = ann.sample[beat], symbols_to_classes(ann.symbol)[beat]
    signal = record.signal[:, 0]
    diagnostic = load_model("diagnostic")
    network = diagnostic.network_probabilities(signal, record.fs, r)[0].argmax(axis=1)
    labels = diagnostic.classify(signal, record.fs, r).labels
    gained = (labels == 1) & (network != 1)
    assert gained.sum() > 100 and (truth[gained] == 1).mean() > 0.9
    np.testing.assert_array_equal(diagnostic.classify(signal, record.fs, r).in_svt, gained)
    realtime = load_model("realtime")
    np.testing.assert_array_equal(
        realtime.classify(signal, record.fs, r).labels,
        realtime.network_probabilities(signal, record.fs, r)[0].argmax(axis=1),
    )


def test_beat_table_marks_the_svt_run_beats(svdb_dir):
    from ecg_core.io import read_record
    from ecg_core.pipeline import analyze

    beats = analyze(read_record(str(svdb_dir / "865")), mode="diagnostic").beats
    assert beats["svt_run"].sum() > 100
    assert (beats.loc[beats["svt_run"], "label"] == "S").all()
    assert not analyze(read_record(str(svdb_dir / "865")), mode="realtime").beats["svt_run"].any()
