"""The synthetic ECG generator: determinism, rhythm ground truth, morphology, writers."""

from __future__ import annotations

import time

import numpy as np
import pytest

from ecg_core.errors import ECGInputError
from ecg_core.synthetic import (
    SyntheticSettings,
    synthesize,
    write_annotations_csv,
    write_csv,
    write_wfdb,
)


def _symbols(record) -> np.ndarray:
    return np.asarray(record.annotations.symbols)


def test_same_settings_give_the_same_record_and_seed_changes_it():
    settings = SyntheticSettings(duration_s=30, pvc_fraction=0.1, emg_noise_mv=0.1, seed=7)
    a, b = synthesize(settings), synthesize(settings)
    np.testing.assert_array_equal(a.signal, b.signal)
    np.testing.assert_array_equal(a.annotations.samples, b.annotations.samples)
    assert a.annotations.symbols == b.annotations.symbols
    c = synthesize(settings, seed=8)
    assert not np.array_equal(a.signal[:1000], c.signal[:1000])


@pytest.mark.parametrize("heart_rate_bpm", [45.0, 72.0, 130.0])
def test_heart_rate_and_beat_count_follow_the_settings(heart_rate_bpm):
    record = synthesize(duration_s=300, heart_rate_bpm=heart_rate_bpm, hrv_sdnn_ms=30, seed=1)
    rr_s = np.diff(record.annotations.samples) / record.fs
    assert 60 / rr_s.mean() == pytest.approx(heart_rate_bpm, rel=0.03)
    expected_beats = 300 * heart_rate_bpm / 60
    assert len(rr_s) + 1 == pytest.approx(expected_beats, rel=0.03)
    assert 0.015 < rr_s.std() < 0.045  # SDNN near the 30 ms asked for (clipping aside)
    assert set(_symbols(record)) == {"N"}


def test_isolated_ectopic_fractions_and_their_timing():
    record = synthesize(duration_s=1800, pvc_fraction=0.08, apc_fraction=0.05, seed=3)
    symbols = _symbols(record)
    assert (symbols == "V").mean() == pytest.approx(0.08, abs=0.005)
    assert (symbols == "A").mean() == pytest.approx(0.05, abs=0.005)
    ectopic = np.flatnonzero(symbols != "N")
    ectopic = ectopic[(ectopic > 0) & (ectopic < len(symbols) - 1)]
    # Isolated: both neighbours of every ectopic beat are normal.
    assert np.all(symbols[ectopic - 1] == "N") and np.all(symbols[ectopic + 1] == "N")

    samples = record.annotations.samples
    rr_pre = (samples[ectopic] - samples[ectopic - 1]) / record.fs
    rr_post = (samples[ectopic + 1] - samples[ectopic]) / record.fs
    rr_normal = np.median(np.diff(samples)) / record.fs
    is_v = symbols[ectopic] == "V"
    assert np.all(rr_pre < 0.85 * rr_normal)  # premature
    # PVC: full compensatory pause (pre + post ~ 2 RR); APC: non-compensatory (< 2 RR).
    pair_v = (rr_pre + rr_post)[is_v] / rr_normal
    pair_a = (rr_pre + rr_post)[~is_v] / rr_normal
    assert np.median(pair_v) == pytest.approx(2.0, abs=0.1)
    assert np.median(pair_a) < 1.9


@pytest.mark.parametrize(("pattern", "every"), [("bigeminy", 2), ("trigeminy", 3)])
def test_bigeminy_and_trigeminy_patterns(pattern, every):
    record = synthesize(duration_s=120, pattern=pattern, seed=2)
    symbols = "".join(record.annotations.symbols)
    unit = "N" * (every - 1) + "V"
    assert unit * 20 in symbols
    assert (_symbols(record) == "V").mean() == pytest.approx(1 / every, abs=0.02)
    atrial = synthesize(duration_s=120, pattern=pattern, pattern_beat="S", seed=2)
    assert ("N" * (every - 1) + "A") * 20 in "".join(atrial.annotations.symbols)


def test_ventricular_runs_are_fast_and_of_the_asked_lengths():
    record = synthesize(
        duration_s=3600, v_runs_per_hour=40, v_run_lengths=(2, 3, 6), vt_rate_bpm=170, seed=4
    )
    symbols = "".join(record.annotations.symbols)
    runs = [len(run) for run in symbols.split("N") if run]
    assert len(runs) == pytest.approx(40, abs=2)
    assert set(runs) <= {2, 3, 6} and {2, 3, 6} <= set(runs)
    samples, s = record.annotations.samples, _symbols(record)
    inside_run = np.flatnonzero((s[1:] == "V") & (s[:-1] == "V")) + 1
    rr_run_s = (samples[inside_run] - samples[inside_run - 1]) / record.fs
    assert 60 / rr_run_s.mean() == pytest.approx(170, rel=0.05)


def test_morphology_pvc_is_wide_without_p_wave_and_r_peaks_are_maxima():
    # 50 bpm: even a premature beat's P-wave region is clear of the previous T wave.
    record = synthesize(duration_s=120, heart_rate_bpm=50, pvc_fraction=0.2, hrv_sdnn_ms=10, seed=5)
    x, fs = record.signal[:, 0], record.fs
    samples, symbols = record.annotations.samples, _symbols(record)
    inner = (samples > fs) & (samples < len(x) - fs)

    def mean_beat(symbol: str, lo_s: float, hi_s: float) -> np.ndarray:
        picks = samples[inner & (symbols == symbol)]
        offsets = np.arange(int(lo_s * fs), int(hi_s * fs))
        return x[picks[:, None] + offsets[None, :]].mean(axis=0)

    def width_above_half_s(beat: np.ndarray) -> float:
        return (np.abs(beat) > 0.5 * np.abs(beat).max()).sum() / fs

    normal, pvc = mean_beat("N", -0.1, 0.1), mean_beat("V", -0.1, 0.1)
    assert width_above_half_s(pvc) > 2 * width_above_half_s(normal)
    p_normal, p_pvc = mean_beat("N", -0.25, -0.13), mean_beat("V", -0.25, -0.13)
    assert p_normal.max() > 0.08 and np.abs(p_pvc).max() < 0.03
    # Annotations sit on the R peak: the sample is the maximum of its +-40 ms neighbourhood.
    window = np.arange(-int(0.04 * fs), int(0.04 * fs) + 1)
    neighbourhood = x[samples[inner][:, None] + window[None, :]]
    assert np.all(np.abs(neighbourhood.argmax(axis=1) - len(window) // 2) <= 1)


def test_noise_components_have_the_asked_amplitudes():
    base = dict(duration_s=60, seed=6)
    clean = synthesize(**base).signal[:, 0]
    for field_name, amplitude in [
        ("baseline_wander_mv", 1.0),
        ("emg_noise_mv", 0.3),
        ("powerline_mv", 0.2),
    ]:
        noisy = synthesize(**base, **{field_name: amplitude}).signal[:, 0]
        peak = np.abs(noisy - clean).max()
        assert 0.3 * amplitude < peak < 2.0 * amplitude, field_name
    mains = synthesize(**base, powerline_mv=0.2, powerline_hz=60).signal[:, 0] - clean
    spectrum = np.abs(np.fft.rfft(mains))
    assert np.fft.rfftfreq(len(mains), 1 / 360)[spectrum.argmax()] == pytest.approx(60, abs=0.1)


def test_other_sampling_rates():
    for fs in (128.0, 250.0, 500.0):
        record = synthesize(duration_s=20, fs=fs, seed=1)
        assert record.signal.shape == (int(20 * fs), 1) and record.fs == fs


def test_bad_settings_raise_a_message_naming_the_setting():
    with pytest.raises(ECGInputError, match="heart_rate_bpm"):
        synthesize(heart_rate_bpm=500)
    with pytest.raises(ECGInputError, match="duration_s"):
        synthesize(duration_s=3 * 86400)
    with pytest.raises(ECGInputError, match="pattern"):
        synthesize(pattern="quadrigeminy")
    with pytest.raises(ECGInputError, match="pvc_fraction"):
        synthesize(pvc_fraction=0.3, apc_fraction=0.2)


def test_a_24_hour_record_generates_in_seconds():
    start = time.perf_counter()
    record = synthesize(duration_s=86400, pvc_fraction=0.02, emg_noise_mv=0.05, seed=1)
    elapsed_s = time.perf_counter() - start
    assert record.n_samples == 86400 * 360
    assert 90_000 < len(record.annotations.samples) < 110_000
    assert elapsed_s < 20  # ~5 s on the shared 2-core machine


def test_writers_round_trip_through_wfdb_and_our_reader(tmp_path):
    wfdb = pytest.importorskip("wfdb")
    record = synthesize(duration_s=30, pvc_fraction=0.1, apc_fraction=0.05, seed=9, name="syn 1")
    paths = write_wfdb(record, tmp_path)
    assert sorted(p.name for p in paths) == ["syn_1.atr", "syn_1.dat", "syn_1.hea"]
    raw = wfdb.rdrecord(str(tmp_path / "syn_1"))
    np.testing.assert_allclose(raw.p_signal[:, 0], record.signal[:, 0], atol=1e-3)
    ann = wfdb.rdann(str(tmp_path / "syn_1"), "atr")
    np.testing.assert_array_equal(ann.sample, record.annotations.samples)
    assert list(ann.symbol) == record.annotations.symbols

    csv_path = write_csv(record, tmp_path / "syn.csv")
    table = np.loadtxt(csv_path, delimiter=",", skiprows=1)
    np.testing.assert_allclose(table[:, 1], record.signal[:, 0], atol=1e-6)
    assert csv_path.read_text().splitlines()[0] == "time_s,MLII"
    truth = write_annotations_csv(record, tmp_path / "truth.csv").read_text().splitlines()
    assert len(truth) == len(record.annotations.symbols) + 1

    io = pytest.importorskip("ecg_core.io")
    via_reader = io.read_record(paths)
    np.testing.assert_allclose(via_reader.signal[:, 0], record.signal[:, 0], atol=1e-3)
    assert via_reader.fs == record.fs
    np.testing.assert_array_equal(via_reader.annotations.samples, record.annotations.samples)
    from_csv = io.read_record(csv_path)
    assert from_csv.fs == pytest.approx(360.0)
    np.testing.assert_allclose(from_csv.signal[:, 0], record.signal[:, 0], atol=1e-5)
