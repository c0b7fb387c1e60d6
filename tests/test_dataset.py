"""Cached beat datasets from WFDB records."""

from __future__ import annotations

import numpy as np
import pytest
import wfdb

from ecg_core.aami import symbols_to_classes
from ecg_core.dataset import build_beat_dataset, read_signal_and_beats
from ecg_core.training import sampling_weights


def test_dataset_counts_match_annotations_and_cache_round_trips(mitdb_dir, tmp_path):
    data = build_beat_dataset(mitdb_dir, ["100", "208"], causal=False, cache_dir=tmp_path)
    for rid, name in enumerate(["100", "208"]):
        ann = wfdb.rdann(str(mitdb_dir / name), "atr")
        labels = symbols_to_classes(ann.symbol)
        np.testing.assert_array_equal(data.labels[data.record_ids == rid], labels[labels >= 0])
        np.testing.assert_array_equal(data.samples[data.record_ids == rid], ann.sample[labels >= 0])
    assert np.bincount(data.labels[data.record_ids == 1], minlength=5)[[2, 3]].tolist() == [
        992,
        373,
    ]
    assert data.windows.shape == (len(data), data.pre + data.post + 2 * data.margin)
    assert data.rr.shape == (len(data), 6)
    assert len(list(tmp_path.glob("*.npz"))) == 1
    again = build_beat_dataset(mitdb_dir, ["100", "208"], causal=False, cache_dir=tmp_path)
    np.testing.assert_array_equal(again.windows, data.windows)
    sub = data.subset(["208"])
    assert len(sub) == int(np.sum(data.record_ids == 1)) and sub.records.tolist() == ["208"]


def test_lead_chosen_by_name_record_114(mitdb_dir):
    signal, fs, _, _ = read_signal_and_beats(mitdb_dir / "114")
    raw = wfdb.rdrecord(str(mitdb_dir / "114"))
    assert raw.sig_name[1] == "MLII"
    np.testing.assert_allclose(signal, raw.p_signal[:, 1])
    assert fs == 360.0


def test_other_lead_is_the_non_mlii_lead_and_concat_keeps_sequences(mitdb_dir, tmp_path):
    from ecg_core.dataset import OTHER_LEAD, concat_datasets

    # 114 stores MLII second, so its "other" lead is column 0 (V5); 100's is column 1 (V5).
    for name, column in (("114", 0), ("100", 1)):
        signal, _, _, _ = read_signal_and_beats(mitdb_dir / name, lead=OTHER_LEAD)
        raw = wfdb.rdrecord(str(mitdb_dir / name))
        assert raw.sig_name[column] != "MLII"
        np.testing.assert_allclose(signal, raw.p_signal[:, column])
    ml = build_beat_dataset(mitdb_dir, ["114", "100"], causal=True, cache_dir=tmp_path)
    ot = build_beat_dataset(
        mitdb_dir, ["114", "100"], causal=True, lead=OTHER_LEAD, cache_dir=tmp_path
    )
    assert not np.allclose(ml.windows, ot.windows)
    both = concat_datasets([ml, ot], ["", ":other"])
    assert both.records.tolist() == ["114", "100", "114:other", "100:other"]
    np.testing.assert_array_equal(both.labels, np.concatenate([ml.labels, ot.labels]))
    # record ids stay contiguous per sequence and point at the right record
    assert np.all(np.diff(both.record_ids) >= 0)
    np.testing.assert_array_equal(both.subset(["100:other"]).windows, ot.subset(["100"]).windows)
    # both_leads: the same, built in one call, and beat i's partner is beat i + n / 2
    from ecg_core.dataset import both_leads

    built = both_leads(mitdb_dir, ["114", "100"], causal=True, cache_dir=tmp_path)
    assert built.records.tolist() == both.records.tolist()
    np.testing.assert_array_equal(built.windows, both.windows)
    half = len(built) // 2
    np.testing.assert_array_equal(built.samples[:half], built.samples[half:])


def test_recorder_augment_matches_morphology_of_filtered_beats(mitdb_dir):
    from ecg_core.features import morphology
    from ecg_core.training import recorder_augment

    data = build_beat_dataset(mitdb_dir, ["208"], causal=False)
    lo = data.margin
    idx = np.arange(40, 48)
    win = data.windows[idx][:, lo : lo + data.pre + data.post]
    morph = morphology(win, data.templates[idx], data.scales[idx])[:, None]  # (B, 1, 2, L)
    rng = np.random.default_rng(0)
    # off: identity; inversion only: exact negation of both channels
    np.testing.assert_array_equal(recorder_augment(morph, rng, 0.0, 0.0), morph)
    np.testing.assert_allclose(recorder_augment(morph, rng, 1.0, 0.0), -morph)
    # low-pass only: template channel keeps unit peak-to-peak, high frequencies lose energy,
    # and the beat keeps its overall shape (a recorder's bandwidth, not a different beat)
    out = recorder_augment(morph, rng, 0.0, 1.0, lowpass_hz=(15.0, 15.0))
    template = out[:, 0, 0] - out[:, 0, 1]
    np.testing.assert_allclose(
        np.ptp(template, axis=-1), np.ptp(morph[:, 0, 0] - morph[:, 0, 1], axis=-1), rtol=1e-4
    )

    def roughness(x: np.ndarray) -> float:  # high-frequency content: 2nd-difference energy
        return float(np.sum(np.diff(x, n=2, axis=-1) ** 2) / np.sum(x**2))

    assert roughness(out[:, 0, 0]) < 0.5 * roughness(morph[:, 0, 0])
    corr = [np.corrcoef(a, b)[0, 1] for a, b in zip(out[:, 0, 0], morph[:, 0, 0], strict=True)]
    assert min(corr) > 0.9


def test_mix_leads_is_a_projection_of_the_two_leads(mitdb_dir):
    from ecg_core.dataset import OTHER_LEAD, concat_datasets
    from ecg_core.features import morphology
    from ecg_core.training import mix_leads

    ml = build_beat_dataset(mitdb_dir, ["208"], causal=False)
    n = len(ml)
    lo, length = ml.margin, ml.pre + ml.post
    idx = np.arange(100, 164).reshape(16, 4)  # 16 sequences of 4 consecutive beats

    def morph_of(wide, templates, scales):
        core = wide[..., lo : lo + length].reshape(-1, length)
        core = core - np.median(core, axis=-1, keepdims=True)
        return morphology(core, templates.reshape(-1, length), scales.reshape(-1)).reshape(
            16, 4, 2, length
        )

    original = morph_of(ml.windows[idx], ml.templates[idx], ml.scales[idx])
    # A record mixed with an identical copy of itself: cos(a) x + sin(a) x, i.e. the same
    # beat scaled by (cos + sin). In template units that is the beat or its negation, with
    # one sign per sequence (a sequence is one "lead").
    twin = concat_datasets([ml, ml], ["", ":twin"])
    partner = np.concatenate([np.arange(n) + n, np.arange(n)])
    rng = np.random.default_rng(1)
    mixed = morph_of(*mix_leads(twin, idx, partner, rng, prob=1.0))
    sign = np.sign(np.sum(mixed * original, axis=(2, 3)))  # (16, 4)
    assert np.all(sign == sign[:, :1]) and {-1.0, 1.0} == set(sign[:, 0])
    np.testing.assert_allclose(mixed, sign[..., None, None] * original, atol=1e-4)
    # prob 0: untouched; with the real second lead (V1 in 208) sequences do change
    same = mix_leads(twin, idx, partner, rng, prob=0.0)
    np.testing.assert_array_equal(same[0], ml.windows[idx])
    other = build_beat_dataset(mitdb_dir, ["208"], causal=False, lead=OTHER_LEAD)
    both = concat_datasets([ml, other], ["", ":other"])
    wide, templates, scales = mix_leads(both, idx, partner, rng, prob=1.0)
    assert np.all(scales > 0)
    changed = ~np.all(np.isclose(morph_of(wide, templates, scales), original), axis=(1, 2, 3))
    assert changed.sum() >= 12  # all but those whose mixture nearly cancels


def test_detected_positions_move_svdb_beats_onto_our_r_peaks(svdb_dir, tmp_path):
    from ecg_core.qrs import detect_qrs_and_vf

    annotated = build_beat_dataset(svdb_dir, ["800"], causal=False, cache_dir=tmp_path)
    detected = build_beat_dataset(
        svdb_dir, ["800"], causal=False, cache_dir=tmp_path, positions="detected"
    )
    assert len(list(tmp_path.glob("*.npz"))) == 2  # separate caches
    signal, fs, _, _ = read_signal_and_beats(svdb_dir / "800")
    detections, _ = detect_qrs_and_vf(signal, fs)
    assert np.isin(detected.samples, detections).all()
    assert np.all(np.diff(detected.samples) > 0)
    # 800: every annotated beat is detected, so the labels stay in order, and the windows
    # move from SVDB's annotation (~2 samples = 16 ms before the R peak) onto the peak.
    assert len(detected) == len(annotated)
    np.testing.assert_array_equal(detected.labels, annotated.labels)
    assert np.median(detected.samples - annotated.samples) == 2


def test_false_detections_join_the_beats_as_q_in_time_order(mitdb_dir, tmp_path):
    from ecg_core.metrics import match_beats, qrs_counts
    from ecg_core.qrs import detect_qrs_and_vf

    # 108: tall P waves and noise make our detector's most false beats on MIT-BIH.
    plain = build_beat_dataset(mitdb_dir, ["108"], causal=False, cache_dir=tmp_path)
    data = build_beat_dataset(
        mitdb_dir, ["108"], causal=False, cache_dir=tmp_path, false_detections=True
    )
    other = build_beat_dataset(
        mitdb_dir, ["108"], causal=False, cache_dir=tmp_path, false_detections=True, lead="other"
    )
    assert len(list(tmp_path.glob("*.npz"))) == 3  # separate caches
    signal, fs, _, _ = read_signal_and_beats(mitdb_dir / "108")
    detections, _ = detect_qrs_and_vf(signal, fs)
    false_beats = qrs_counts(plain.samples, detections, 0.15 * fs)["fp"]
    assert false_beats > 50
    assert len(data) == len(plain) + false_beats
    assert np.all(np.diff(data.samples) >= 0)
    added = ~np.isin(data.samples, plain.samples)
    assert added.sum() == false_beats and (data.labels[added] == 4).all()  # Q
    assert np.isin(data.samples[added], detections).all()
    assert match_beats(plain.samples, data.samples[added], 0.15 * fs)[0].size == 0
    # the annotated beats keep their places and labels; the other lead gets the same beats
    np.testing.assert_array_equal(data.labels[~added], plain.labels)
    np.testing.assert_array_equal(other.samples, data.samples)
    np.testing.assert_array_equal(other.labels, data.labels)


def test_noisy_copies_add_the_false_detections_in_noise_as_q(mitdb_dir, nstdb_dir, tmp_path):
    from ecg_core.dataset import build_noisy_copies, load_noise_signal

    noise = load_noise_signal(nstdb_dir, "ma")
    assert abs(noise.std() - 1.0) < 1e-6
    clean = build_beat_dataset(
        mitdb_dir, ["101"], causal=False, cache_dir=tmp_path, false_detections=True
    )
    noisy = build_noisy_copies(
        mitdb_dir, ["101"], False, noise, snr_db=(12.0, 12.0), cache_dir=tmp_path
    )
    again = build_noisy_copies(
        mitdb_dir, ["101"], False, noise, snr_db=(12.0, 12.0), cache_dir=tmp_path
    )
    np.testing.assert_array_equal(again.windows, noisy.windows)  # seeded, cached
    # muscle noise at 12 dB makes the detector find many beats that are not there: Q
    q = 4
    assert (noisy.labels == q).sum() > (clean.labels == q).sum() + 50
    # every annotated beat is still there with its label, at its annotated place
    annotated = noisy.labels != q
    np.testing.assert_array_equal(noisy.labels[annotated], clean.labels[clean.labels != q])
    np.testing.assert_array_equal(noisy.samples[annotated], clean.samples[clean.labels != q])
    # and the windows carry the noise
    assert not np.allclose(noisy.windows[annotated][:100], clean.windows[clean.labels != q][:100])


def test_aberrate_s_beats_widens_the_qrs_of_s_beats_only():
    from ecg_core.training import aberrate_s_beats

    r, t = 50, np.arange(120)
    # a P wave 20 samples before R, a narrow QRS, a T wave 35 samples after
    beat = (
        np.exp(-0.5 * ((t - r) / 1.5) ** 2)
        + 0.15 * np.exp(-0.5 * ((t - (r - 20)) / 3) ** 2)
        + 0.3 * np.exp(-0.5 * ((t - (r + 35)) / 6) ** 2)
    )
    wide = np.tile(beat, (3, 1))[None].astype(np.float32)  # one sequence: S, N, V
    labels = np.array([[1, 0, 2]])
    out = aberrate_s_beats(wide, labels, r, np.random.default_rng(0), prob=1.0, widen=(2.0, 2.0))

    def half_max_width(x):
        return int(np.sum(x > 0.5 * x.max()))

    assert half_max_width(out[0, 0]) >= 2 * half_max_width(beat) - 1
    assert np.argmax(out[0, 0]) == r  # the QRS stays centred on R
    # P and T keep their shape and move outwards by the QRS's extra half-width (5 samples)
    assert np.argmax(out[0, 0][:40]) == np.argmax(beat[:40]) - 5
    assert np.argmax(out[0, 0][70:]) == np.argmax(beat[70:]) + 5
    np.testing.assert_array_equal(out[0, 1:], wide[0, 1:])  # N and V beats untouched
    none = aberrate_s_beats(wide, labels, r, np.random.default_rng(0), prob=0.0)
    np.testing.assert_array_equal(none, wide)


def test_sampling_weights_spread_a_class_over_patients():
    # Class V: patient a has 400 beats, b 100, c 4 (below the floor of 25); N: 1000 in a.
    labels = np.array([0] * 1000 + [2] * 400 + [2] * 100 + [2] * 4)
    patients = np.array(["a"] * 1400 + ["b"] * 100 + ["c"] * 4)
    plain = sampling_weights(labels, power=0.5)
    spread = sampling_weights(labels, power=0.5, patients=patients, patient_power=0.5)
    assert spread.sum() == pytest.approx(1.0)
    # Each class keeps its total.
    for c in (0, 2):
        assert spread[labels == c].sum() == pytest.approx(plain[labels == c].sum())
    v = labels == 2
    share = {p: spread[v & (patients == p)].sum() / spread[v].sum() for p in "abc"}
    # Patient shares go as n^0.5 (a: 20, b: 10), and c's as 4 / 25^0.5 = 0.8.
    assert share["a"] / share["b"] == pytest.approx(2.0)
    assert share["c"] / share["b"] == pytest.approx(0.08)
    # Without patients, or at power 0, nothing changes.
    assert np.allclose(sampling_weights(labels, 0.5, patients=patients), plain)
