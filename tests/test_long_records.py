"""Long records (a 24-hour Holter) are read and analysed in bounded memory: WFDB files in
blocks, filters and the quality mask an hour at a time. Each of those paths is checked here
against the one-pass result, with the piece sizes made small so that a few minutes of real
signal cross many piece boundaries; the memory itself is measured by
``scripts/benchmark.py --sections holter`` (README, Speed)."""

from __future__ import annotations

import numpy as np
import pytest
import wfdb

from ecg_core import io, preprocessing, quality
from ecg_core.csv_reader import read_csv_signal
from ecg_core.io import read_record, validated_record
from ecg_core.pipeline import analyze
from ecg_core.qrs import detect_qrs
from ecg_core.record import Record


@pytest.mark.parametrize("block_values", [9_999, 100_000])
def test_wfdb_read_in_blocks_equals_one_read(mitdb_dir, monkeypatch, block_values):
    # Format 212 packs two samples in three bytes: 9 999 values make blocks of 4 999
    # frames, which start on odd samples.
    monkeypatch.setattr(io, "READ_BLOCK_VALUES", block_values)
    record = read_record(mitdb_dir / "208")
    whole = wfdb.rdrecord(str(mitdb_dir / "208"))
    assert record.signal.shape == whole.p_signal.shape == (650000, 2)
    np.testing.assert_array_equal(record.signal, whole.p_signal)
    assert record.lead_names == ["MLII", "V1"] and record.units == ["mV", "mV"]
    assert record.fs == 360.0 and len(record.annotations.samples) > 3000


def test_a_truncated_dat_read_in_blocks_is_a_clear_error(mitdb_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(io, "READ_BLOCK_VALUES", 100_000)
    (tmp_path / "100.hea").write_bytes((mitdb_dir / "100.hea").read_bytes())
    (tmp_path / "100.dat").write_bytes((mitdb_dir / "100.dat").read_bytes()[:900_000])
    with pytest.raises(io.ECGInputError, match="Could not read the WFDB record"):
        read_record(tmp_path / "100")


def test_a_float64_signal_is_not_copied_and_the_callers_array_is_not_changed():
    rng = np.random.default_rng(0)
    clean = rng.standard_normal((3000, 2))
    record = validated_record(clean, 250.0, ["a", "b"], "r", ["mV", "mV"], None)
    assert np.shares_memory(record.signal, clean)  # a 24-hour 12-lead record is 4 GB
    with_gap = clean.copy()
    with_gap[100:110, 1] = np.nan  # 40 ms: filled in
    record = validated_record(with_gap, 250.0, ["a", "b"], "r", ["mV", "mV"], None)
    assert np.isnan(with_gap[100:110, 1]).all()  # the caller's array keeps its gap
    assert np.isfinite(record.signal).all()
    assert not np.shares_memory(record.signal, with_gap)


@pytest.mark.parametrize(("fs", "causal"), [(360.0, False), (360.0, True), (257.0, False)])
def test_to_canonical_in_pieces_equals_one_pass(mitdb_dir, monkeypatch, fs, causal):
    lead = read_record(mitdb_dir / "203").signal[: int(360 * 600), 0]  # 10 min, PVCs, noise
    signal = preprocessing.resample(lead, 360.0, fs)
    one_pass = preprocessing.to_canonical(signal, fs, causal=causal)
    monkeypatch.setattr(preprocessing, "PIECE_S", 60.0)  # ten pieces
    pieces = preprocessing.to_canonical(signal, fs, causal=causal)
    assert pieces.shape == one_pass.shape
    np.testing.assert_allclose(pieces, one_pass, rtol=0, atol=1e-9)


def test_quality_mask_in_passes_equals_one_pass(nstdb_dir, monkeypatch):
    # 118e06: the NSTDB's 6 dB record, noise on and off every two minutes.
    lead = read_record(nstdb_dir / "118e06").signal[:, 0]
    one_pass = quality.quality_mask(lead, 360.0)
    monkeypatch.setattr(quality, "PASS_BLOCKS", 97)  # passes that do not divide the record
    passes = quality.quality_mask(lead, 360.0)
    assert 0.05 < 1 - one_pass.mean() < 0.95  # the test means something: noise was found
    np.testing.assert_array_equal(passes, one_pass)


def test_detection_and_labels_in_pieces_equal_one_pass(mitdb_dir, monkeypatch):
    record = read_record(mitdb_dir / "208")
    record = Record(record.signal[: int(360 * 900)], record.fs, record.lead_names, "208")
    beats = detect_qrs(record.signal[:, 0], record.fs)
    report = analyze(record, mode="realtime")
    monkeypatch.setattr(preprocessing, "PIECE_S", 100.0)
    monkeypatch.setattr(quality, "PASS_BLOCKS", 100)
    np.testing.assert_array_equal(detect_qrs(record.signal[:, 0], record.fs), beats)
    pieces = analyze(record, mode="realtime")
    np.testing.assert_array_equal(pieces.beats["sample"], report.beats["sample"])
    assert (pieces.beats["label"] == report.beats["label"]).all()
    probabilities = ["p_N", "p_S", "p_V", "p_F", "p_Q"]
    np.testing.assert_allclose(
        pieces.beats[probabilities], report.beats[probabilities], rtol=0, atol=1e-5
    )
    assert pieces.noisy_spans == report.noisy_spans
    assert (report.beats["label"] == "V").sum() > 100  # 208: many PVCs, couplets, triplets


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("layout", ["time,MLII,V5", "'t (s)';'MLII';'V5'", "time\tMLII\tV5\t"])
def test_a_plain_csv_read_as_one_text_equals_reading_it_line_by_line(tmp_path, newline, layout):
    # Plain files are cut out of the text as one string (a 24-hour CSV as a list of lines
    # took 7.7 GB); a comment line sends the same rows through the line-by-line reader.
    delimiter = "\t" if "\t" in layout else ";" if ";" in layout else ","
    rng = np.random.default_rng(1)
    rows = [
        delimiter.join([f"{10 + i / 250:.3f}", f"{a:.4f}", f"{b:.4f}"])
        + delimiter * layout.endswith("\t")
        for i, (a, b) in enumerate(rng.standard_normal((4000, 2)))
    ]
    if delimiter == ";":
        rows = [row.replace(".", ",") for row in rows]  # decimal commas
    rows[2000] = delimiter.join([rows[2000].split(delimiter)[0], "", ""])  # a missing sample
    body = newline.join([layout, *rows])
    plain = tmp_path / "plain.csv"
    plain.write_text(f"{newline}  {newline}{body}{newline}{newline}", newline="")
    commented = tmp_path / "commented.csv"
    commented.write_text(f"# exported{newline}{body}{newline}", newline="")
    one_text, by_lines = read_csv_signal(plain, None), read_csv_signal(commented, None)
    assert one_text[0].shape == (4000, 2) and np.isnan(one_text[0][2000]).all()
    np.testing.assert_array_equal(one_text[0], by_lines[0])
    assert one_text[1:] == by_lines[1:] and one_text[1] == 250.0
    assert one_text[2] == ["MLII", "V5"]
