import numpy as np
import pytest

from ecg_core import ECGInputError
from ecg_core.preprocessing import (
    CANONICAL_FS,
    clean_ecg,
    companion_lead,
    is_ecg_channel,
    resample,
    resample_positions,
    select_lead,
    validate_fs,
)


@pytest.mark.parametrize("fs", [128.0, 250.0, 257.0, 360.0, 500.0, 1000.0])
def test_resample_round_trip_keeps_a_band_limited_signal(fs):
    t = np.arange(int(20 * fs)) / fs
    x = np.sin(2 * np.pi * 5 * t) + 0.5 * np.sin(2 * np.pi * 17 * t)
    there = resample(x, fs, CANONICAL_FS)
    assert there.shape[0] == pytest.approx(20 * CANONICAL_FS, abs=1)
    back = resample(there, CANONICAL_FS, fs)[: x.size]
    inner = slice(int(fs), -int(fs))  # polyphase edges aside
    assert np.max(np.abs(back[inner] - x[inner])) < 0.02


def test_resample_positions_maps_indices():
    assert resample_positions(np.array([0, 360, 720]), 360, 128).tolist() == [0, 128, 256]


def test_clean_removes_baseline_wander_and_mains():
    fs = 360.0
    t = np.arange(int(30 * fs)) / fs
    qrs_band = np.sin(2 * np.pi * 10 * t)
    noisy = qrs_band + 2.0 * np.sin(2 * np.pi * 0.1 * t) + 0.5 * np.sin(2 * np.pi * 60 * t)
    cleaned = clean_ecg(noisy, fs)
    inner = slice(int(2 * fs), -int(2 * fs))
    assert np.std(cleaned[inner] - qrs_band[inner]) < 0.1


@pytest.mark.parametrize("bad", [5, 20_000, float("nan"), "abc", -360])
def test_absurd_sampling_rates_are_refused(bad):
    with pytest.raises(ECGInputError, match="Sampling rate"):
        validate_fs(bad)


def test_lead_selection_by_name():
    assert select_lead(["V5", "MLII"]) == 1  # MIT-BIH 114 stores MLII second
    assert select_lead(["I", "II", "III", "aVR"]) == 1
    assert select_lead(["ECG1", "ECG2"]) == 0
    assert select_lead(["V5", "MLII"], "v5") == 0
    with pytest.raises(ECGInputError, match="not in this record"):
        select_lead(["V5", "MLII"], "aVF")


def test_channels_that_are_not_ecg_leads_are_passed_over():
    # PhysioNet polysomnography (slpdb) and ICU (mghdb) records put ECG beside other signals.
    slpdb = ["BP", "ECG", "EEG (C4-A1)", "Resp (sum)"]
    assert select_lead(slpdb) == 1 and companion_lead(slpdb, 1) is None
    mghdb = ["ART", "ECG lead I", "PAP", "CVP", "Resp Imp", "CO2", "ECG lead V"]
    assert select_lead(mghdb) == 1 and companion_lead(mghdb, 1) == 6
    assert select_lead(["PLETH", "ch2"]) == 1  # a channel with an unknown name may be an ECG
    assert [is_ecg_channel(n) for n in ["aVR", "ECG2", "SpO2", "EOG1", "", "3"]] == [
        True, True, False, False, True, True,
    ]  # fmt: skip
    with pytest.raises(ECGInputError, match="No ECG lead found: this record's channels are ABP"):
        select_lead(["ABP", "RESP"])
    assert select_lead(["ABP", "RESP"], "abp") == 0  # asked for by name, it is analysed


def test_companion_lead_prefers_the_training_leads_then_the_next_lead():
    assert companion_lead(["MLII", "V1"], 0) == 1
    assert companion_lead(["V5", "MLII"], 1) == 0  # MIT-BIH 114
    twelve = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    assert companion_lead(twelve, 1) == 6  # II is analysed with V1
    assert companion_lead(twelve, 6) == 7  # the analysed lead is never its own companion
    assert companion_lead(["ECG1", "ECG2"], 0) == 1  # unnamed Holter leads: the other one
    assert companion_lead(["ECG1", "ECG2", "ECG3"], 1) == 0
    assert companion_lead(["II"], 0) is None
