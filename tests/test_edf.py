"""EDF / EDF+ files (ecg_core.edf_reader through read_record and analyze)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import wfdb
from wfdb.io.convert.edf import wfdb_to_edf

from ecg_core import ECGInputError, analyze, read_record
from ecg_core.leads import read_analysis_leads


def write_edf(
    path: Path,
    signals: list[np.ndarray],
    rates_hz: list[float],
    labels: list[str],
    dimensions: list[str],
    record_s: float = 1.0,
    reserved: str = "",
    declared_records: int | None = None,
) -> Path:
    """A minimal EDF writer (the standard's layout, written here independently of the
    reader): each signal scaled to the full int16 range of its own min..max."""
    n_records = int(len(signals[0]) / (rates_hz[0] * record_s))
    per_record = [int(round(r * record_s)) for r in rates_hz]
    header = b"0".ljust(8) + b"patient".ljust(80) + b"recording".ljust(80)
    header += b"01.01.20" + b"00.00.00" + str(256 * (len(signals) + 1)).encode().ljust(8)
    header += reserved.encode().ljust(44)
    header += str(n_records if declared_records is None else declared_records).encode().ljust(8)
    header += f"{record_s:g}".encode().ljust(8) + str(len(signals)).encode().ljust(4)
    p_min = [float(np.min(s)) for s in signals]
    p_max = [float(np.max(s)) if np.ptp(s) > 0 else float(np.min(s)) + 1 for s in signals]
    columns = [
        [lab.encode().ljust(16) for lab in labels],
        [b"".ljust(80)] * len(signals),
        [d.encode().ljust(8) for d in dimensions],
        [f"{v:.6g}".encode().ljust(8) for v in p_min],
        [f"{v:.6g}".encode().ljust(8) for v in p_max],
        [b"-32768".ljust(8)] * len(signals),
        [b"32767".ljust(8)] * len(signals),
        [b"".ljust(80)] * len(signals),
        [str(n).encode().ljust(8) for n in per_record],
        [b"".ljust(32)] * len(signals),
    ]
    for column in columns:
        header += b"".join(column)
    digital = []
    for s, lo, hi in zip(signals, p_min, p_max, strict=True):
        lo, hi = float(f"{lo:.6g}"), float(f"{hi:.6g}")
        d = np.round((np.asarray(s) - lo) / (hi - lo) * 65535 - 32768)
        digital.append(np.clip(d, -32768, 32767).astype("<i2"))
    blocks = [
        np.concatenate([d[k * n : (k + 1) * n] for d, n in zip(digital, per_record, strict=True)])
        for k in range(n_records)
    ]
    path.write_bytes(header + b"".join(b.tobytes() for b in blocks))
    return path


@pytest.fixture
def mitdb_100(mitdb_dir):
    return wfdb.rdrecord(str(mitdb_dir / "100"), sampto=360 * 60)


def test_wfdb_written_edf_reads_back_as_the_record(mitdb_dir, tmp_path, monkeypatch):
    # wfdb's own EDF writer (independent of our reader): MIT-BIH 100, 60 s.
    monkeypatch.chdir(tmp_path)
    wfdb_to_edf(str(mitdb_dir / "100"), sampto=360 * 60, output_filename=str(tmp_path / "100.edf"))
    record = read_record(tmp_path / "100.edf")
    original = wfdb.rdrecord(str(mitdb_dir / "100"), sampto=360 * 60).p_signal
    assert record.fs == 360.0 and record.lead_names == ["MLII", "V5"]
    assert record.units == ["mV", "mV"] and record.name == "100"
    np.testing.assert_allclose(record.signal[: len(original)], original, atol=0.006)


def test_edf_plus_with_other_rates_microvolts_and_annotations(mitdb_100, tmp_path):
    ecg_uv = mitdb_100.p_signal[:, 0] * 1000.0  # MLII in microvolts, 360 Hz
    spo2 = 97.0 + np.sin(np.arange(60) / 9.0)  # 1 Hz
    annotations = np.zeros(60 * 30)  # an EDF+ annotation channel, 30 "samples" a second
    path = write_edf(
        tmp_path / "holter.edf",
        [spo2, ecg_uv, annotations],
        [1.0, 360.0, 30.0],
        ["SpO2", "ECG", "EDF Annotations"],
        ["%", "uV", ""],
        reserved="EDF+C",
    )
    record = read_record(path)
    # Only the ECG-rate channel, the annotations never; microvolts become millivolts.
    assert record.lead_names == ["ECG"] and record.fs == 360.0 and record.units == ["mV"]
    np.testing.assert_allclose(record.signal[:, 0], mitdb_100.p_signal[:, 0], atol=0.01)
    report = analyze(record)
    assert report.lead_name == "ECG" and 70 <= report.summary["n_beats"] <= 80  # 100: 74/min
    # The analysis reader maps only the leads it needs, by name, as for WFDB.
    two = write_edf(
        tmp_path / "two.edf",
        [mitdb_100.p_signal[:, 1], mitdb_100.p_signal[:, 0], ecg_uv / 1000],
        [360.0] * 3,
        ["V5", "MLII", "aVF"],
        ["mV", "mV", "mV"],
    )
    held, lead, names = read_analysis_leads(two)
    assert held.lead_names == ["MLII", "V5"] and lead is None and names == ["V5", "MLII", "aVF"]


def test_an_edf_header_written_before_the_count_was_known(mitdb_100, tmp_path):
    # -1 data records (a recorder still writing), and a file cut inside its last record.
    path = write_edf(
        tmp_path / "live.edf",
        [mitdb_100.p_signal[:, 0]],
        [360.0],
        ["ECG"],
        ["mV"],
        declared_records=-1,
    )
    assert read_record(path).n_samples == 360 * 60
    path.write_bytes(path.read_bytes()[:-100])
    assert read_record(path).n_samples == 360 * 59


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"hello", "is not an EDF file"),
        (b"\xffBIOSEMI" + b" " * 300, "BDF"),
        (b"0".ljust(8) + b" " * 176 + b"abc".ljust(8) + b" " * 64, "is not a valid EDF file"),
    ],
)
def test_files_that_are_not_edf_get_a_clear_message(tmp_path, content, message):
    path = tmp_path / "bad.edf"
    path.write_bytes(content)
    with pytest.raises(ECGInputError, match=message):
        read_record(path)


def test_edf_refusals(mitdb_100, tmp_path):
    gaps = write_edf(
        tmp_path / "gaps.edf",
        [mitdb_100.p_signal[:, 0]],
        [360.0],
        ["ECG"],
        ["mV"],
        reserved="EDF+D",
    )
    with pytest.raises(ECGInputError, match="discontinuous EDF"):
        read_record(gaps)
    only_bp = write_edf(
        tmp_path / "bp.edf", [90 + mitdb_100.p_signal[:, 0]], [360.0], ["ABP"], ["mmHg"]
    )
    with pytest.raises(ECGInputError, match="No ECG lead found"):
        analyze(read_record(only_bp))
    csv = tmp_path / "x.csv"
    csv.write_text("1\n2\n")
    with pytest.raises(ECGInputError, match="mixes a CSV file with other files"):
        read_record([gaps, csv])
    with pytest.raises(ECGInputError, match="Several EDF files"):
        read_record([gaps, only_bp])


def test_damaged_edf_headers_give_messages_not_crashes(mitdb_100, tmp_path):
    good = write_edf(
        tmp_path / "good.edf",
        [mitdb_100.p_signal[: 360 * 20, 0] * 1000, np.full(20, 97.0)],
        [360.0, 1.0],
        ["ECG", "SpO2"],
        ["uV", "%"],
    ).read_bytes()
    rng = np.random.default_rng(0)
    alphabet = [ord(c) for c in "0123456789-+. eE\xff\x00ainf"]
    damaged = tmp_path / "damaged.edf"
    for _ in range(300):  # a few bytes of the 768-byte header replaced
        data = bytearray(good)
        for _ in range(int(rng.integers(1, 6))):
            data[int(rng.integers(0, 768))] = int(rng.choice(alphabet))
        damaged.write_bytes(bytes(data))
        try:
            record = read_record(damaged)
        except ECGInputError:
            continue
        assert record.n_samples > 0 and np.isfinite(record.signal).all()
