"""read_record: real MIT-BIH files, scattered uploads, 12-lead WFDB, CSV variants, bad input."""

from __future__ import annotations

import collections
import shutil
from pathlib import Path

import numpy as np
import pytest
import wfdb

from ecg_core import ECGInputError, read_record
from ecg_core.preprocessing import select_lead

FS = 360.0


def scatter(tmp_path: Path, files: list[Path]) -> list[Path]:
    """Copy each file into its own folder, as Gradio stores uploads."""
    out = []
    for i, source in enumerate(files):
        folder = tmp_path / f"upload{i}"
        folder.mkdir()
        out.append(Path(shutil.copy(source, folder)))
    return out


@pytest.fixture(scope="module")
def mlii_10s(mitdb_dir: Path) -> np.ndarray:
    """First 10 s of record 100 (MLII, V5), mV."""
    return wfdb.rdrecord(str(mitdb_dir / "100"), sampto=3600).p_signal


# --- WFDB --------------------------------------------------------------------------------------


def test_record_100_from_path_without_extension(mitdb_dir):
    record = read_record(mitdb_dir / "100")
    assert record.name == "100"
    assert record.signal.shape == (650000, 2) and record.signal.dtype == np.float64
    assert record.fs == 360.0
    assert record.lead_names == ["MLII", "V5"]
    assert record.units == ["mV", "mV"]
    np.testing.assert_allclose(record.signal[0], [-0.145, -0.065])
    assert len(record.annotations.samples) == len(record.annotations.symbols) == 2274
    assert record.annotations.symbols[:2] == ["+", "N"]


def test_record_114_keeps_lead_names_in_stored_order(mitdb_dir):
    record = read_record(str(mitdb_dir / "114.hea"))
    assert record.lead_names == ["V5", "MLII"]
    assert select_lead(record.lead_names) == 1


def test_record_208_annotations(mitdb_dir):
    record = read_record(mitdb_dir / "208.dat")  # its header is found beside it
    counts = collections.Counter(record.annotations.symbols)
    assert (counts["V"], counts["F"], counts["N"]) == (992, 373, 1586)
    assert record.annotations.samples.dtype == np.int64
    assert np.all(np.diff(record.annotations.samples) >= 0)
    assert record.annotations.samples.max() < record.n_samples


def test_scattered_uploads_read_like_the_record(mitdb_dir, tmp_path):
    uploads = scatter(tmp_path, [mitdb_dir / f"208.{ext}" for ext in ("atr", "dat", "hea")])
    assert len({p.parent for p in uploads}) == 3
    from_uploads = read_record(uploads)
    from_path = read_record(mitdb_dir / "208")
    assert from_uploads.name == "208"
    np.testing.assert_array_equal(from_uploads.signal, from_path.signal)
    np.testing.assert_array_equal(from_uploads.annotations.samples, from_path.annotations.samples)
    assert from_uploads.annotations.symbols == from_path.annotations.symbols


def test_upload_without_annotations(mitdb_dir, tmp_path):
    uploads = scatter(tmp_path, [mitdb_dir / "100.hea", mitdb_dir / "100.dat"])
    record = read_record(uploads)
    assert record.annotations is None and record.n_samples == 650000


def test_twelve_lead_wrsamp_with_date_and_comments(tmp_path):
    names = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    fs = 500
    t = np.arange(10 * fs) / fs
    signal = np.stack([np.sin(2 * np.pi * (1 + k / 10) * t) * (k + 1) / 4 for k in range(12)], 1)
    folder = tmp_path / "written"
    folder.mkdir()
    wfdb.wrsamp(
        "ecg12",
        fs=fs,
        units=["mV"] * 12,
        sig_name=names,
        p_signal=signal,
        fmt=["16"] * 12,
        comments=["age: 61", "sex: F", "note: synthetic"],
        base_date=__import__("datetime").date(2024, 5, 17),
        base_time=__import__("datetime").time(13, 45, 0),
        write_dir=str(folder),
    )
    assert "13:45:00" in (folder / "ecg12.hea").read_text()
    record = read_record(scatter(tmp_path, sorted(folder.iterdir())))
    assert record.name == "ecg12" and record.fs == 500.0
    assert record.lead_names == names and record.n_leads == 12
    np.testing.assert_allclose(record.signal, signal, atol=1e-3)


def test_other_annotation_extension(mitdb_dir, tmp_path):
    folder = tmp_path / "rec"
    folder.mkdir()
    for ext in ("hea", "dat"):
        shutil.copy(mitdb_dir / f"100.{ext}", folder)
    wfdb.wrann("100", "qrs", np.array([100, 460, 820]), ["N", "V", "N"], write_dir=str(folder))
    record = read_record(sorted(folder.iterdir()), annotation_extension="qrs")
    assert record.annotations.symbols == ["N", "V", "N"]
    np.testing.assert_array_equal(record.annotations.samples, [100, 460, 820])


def test_header_without_rate_uses_given_fs(mitdb_dir, tmp_path):
    folder = tmp_path / "rec"
    folder.mkdir()
    shutil.copy(mitdb_dir / "100.dat", folder)
    lines = (mitdb_dir / "100.hea").read_text().splitlines()
    (folder / "100.hea").write_text("100 2\n" + "\n".join(lines[1:]) + "\n")
    assert read_record(sorted(folder.iterdir()), fs=360).fs == 360.0


# --- WFDB refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["../secret.dat", "../../etc/passwd", "/etc/passwd"])
def test_header_naming_a_path_is_refused_without_reading_it(tmp_path, target):
    # A valid signal file outside the upload: had the header been followed, this would read.
    secret = tmp_path / "secret.dat"
    np.full(36000, 7, dtype="<i2").tofile(secret)
    upload = tmp_path / "upload"
    upload.mkdir()
    (upload / "rec.hea").write_text(f"rec 1 360 36000\n{target} 16 200 16 0 0 0 0 MLII\n")
    message = f"names signal file '{target}', which is not among the uploaded files"
    with pytest.raises(ECGInputError, match=message):
        read_record([upload / "rec.hea"])
    with pytest.raises(ECGInputError, match=message):  # a local path is held to the same rule
        read_record(upload / "rec.hea")
    with pytest.raises(ECGInputError, match=message):  # even when the file itself is uploaded
        read_record([upload / "rec.hea", secret])


def test_header_without_its_dat_names_the_missing_file(mitdb_dir, tmp_path):
    uploads = scatter(tmp_path, [mitdb_dir / "100.hea", mitdb_dir / "100.atr"])
    with pytest.raises(ECGInputError, match=r"signal file '100\.dat' .* is missing"):
        read_record(uploads)


def test_dat_without_header(mitdb_dir, tmp_path):
    with pytest.raises(ECGInputError, match=r"No WFDB header \(\.hea\)"):
        read_record(scatter(tmp_path, [mitdb_dir / "100.dat"]))


def test_several_records_in_one_upload(mitdb_dir, tmp_path):
    files = [mitdb_dir / f"{r}.{e}" for r in ("100", "101") for e in ("hea", "dat")]
    with pytest.raises(ECGInputError, match="several records"):
        read_record(scatter(tmp_path, files))


def test_file_of_another_record(mitdb_dir, tmp_path):
    files = [mitdb_dir / "100.hea", mitdb_dir / "100.dat", mitdb_dir / "101.dat"]
    with pytest.raises(ECGInputError, match=r"101\.dat do not belong to record '100'"):
        read_record(scatter(tmp_path, files))


def test_mixed_csv_and_wfdb(mitdb_dir, tmp_path):
    csv = tmp_path / "x.csv"
    csv.write_text("1\n2\n")
    with pytest.raises(ECGInputError, match="mixes a CSV file with other files"):
        read_record([mitdb_dir / "100.hea", mitdb_dir / "100.dat", csv])


def test_unknown_extension(tmp_path):
    path = tmp_path / "scan.pdf"
    path.write_bytes(b"%PDF-1.4")
    with pytest.raises(ECGInputError, match=r"Unsupported file type '\.pdf'"):
        read_record(path)
    with pytest.raises(ECGInputError, match=r"Unsupported file type '\.pdf'"):
        read_record([path])


def test_size_limit(mitdb_dir):
    with pytest.raises(ECGInputError, match=r"over the 1 MB limit"):
        read_record(mitdb_dir / "100", max_bytes=1_000_000)


def test_truncated_dat(mitdb_dir, tmp_path):
    shutil.copy(mitdb_dir / "100.hea", tmp_path)
    (tmp_path / "100.dat").write_bytes((mitdb_dir / "100.dat").read_bytes()[:30000])
    with pytest.raises(ECGInputError, match="Check that the .dat file"):
        read_record([tmp_path / "100.hea", tmp_path / "100.dat"])


def test_multi_segment_header(tmp_path):
    (tmp_path / "multi.hea").write_text("multi/2 1 360 7200\nseg1 3600\nseg2 3600\n")
    with pytest.raises(ECGInputError, match="multi-segment"):
        read_record(tmp_path / "multi.hea")


def test_absurd_rate_in_header(mitdb_dir, tmp_path):
    shutil.copy(mitdb_dir / "100.dat", tmp_path)
    lines = (mitdb_dir / "100.hea").read_text().splitlines()
    (tmp_path / "100.hea").write_text("100 2 20000 650000\n" + "\n".join(lines[1:]) + "\n")
    with pytest.raises(ECGInputError, match="outside the supported range 50-10000 Hz"):
        read_record(tmp_path / "100")


def test_missing_file(tmp_path):
    with pytest.raises(ECGInputError, match="does not exist"):
        read_record(tmp_path / "nothing.csv")
    with pytest.raises(ECGInputError, match="No file was given"):
        read_record([])


# --- CSV ---------------------------------------------------------------------------------------


def write_csv(tmp_path: Path, name: str, rows: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(rows) + "\n")
    return path


def test_csv_single_column_without_header(tmp_path, mlii_10s):
    path = write_csv(tmp_path, "strip.csv", [f"{v:.3f}" for v in mlii_10s[:, 0]])
    record = read_record(path, fs=360)
    assert record.name == "strip" and record.lead_names == ["ECG"] and record.fs == 360.0
    np.testing.assert_allclose(record.signal[:, 0], mlii_10s[:, 0], atol=1e-9)


def test_csv_header_time_in_seconds_multi_lead(tmp_path, mlii_10s):
    t = np.arange(len(mlii_10s)) / FS
    rows = ["time,MLII,V5"] + [
        f"{a:.4f},{b:.3f},{c:.3f}" for a, (b, c) in zip(t, mlii_10s, strict=True)
    ]
    record = read_record(write_csv(tmp_path, "two.csv", rows))
    assert record.fs == 360.0 and record.lead_names == ["MLII", "V5"]
    np.testing.assert_allclose(record.signal, mlii_10s, atol=1e-9)


def test_csv_time_in_ms_semicolon_decimal_comma(tmp_path, mlii_10s):
    t_ms = np.arange(len(mlii_10s)) * 1000 / FS
    rows = ["time_ms;MLII (mV)"] + [
        f"{a:.2f};{b:.3f}".replace(".", ",") for a, b in zip(t_ms, mlii_10s[:, 0], strict=True)
    ]
    record = read_record(write_csv(tmp_path, "eu.csv", rows))
    assert record.fs == 360.0 and record.lead_names == ["MLII"] and record.units == ["mV"]
    np.testing.assert_allclose(record.signal[:, 0], mlii_10s[:, 0], atol=1e-9)


def test_csv_tab_time_column_unit_inferred_from_step(tmp_path, mlii_10s):
    t_ms = np.arange(len(mlii_10s)) * 1000 / FS
    rows = ["t\tI\tII"] + [
        f"{a:.1f}\t{b:.3f}\t{c:.3f}" for a, (b, c) in zip(t_ms, mlii_10s, strict=True)
    ]
    record = read_record(write_csv(tmp_path, "tab.tsv", rows))
    assert record.fs == 360.0 and record.lead_names == ["I", "II"]


def test_csv_whitespace_headerless_time_column(tmp_path, mlii_10s):
    t = np.arange(len(mlii_10s)) / FS
    rows = [f"  {a:.5f}   {b:.3f}" for a, b in zip(t, mlii_10s[:, 0], strict=True)]
    record = read_record(write_csv(tmp_path, "ws.txt", rows))
    assert record.fs == 360.0 and record.n_leads == 1


def test_csv_whitespace_header_with_units(tmp_path, mlii_10s):
    # "time (s) MLII (mV) V5 [uV]" splits into six tokens on whitespace; each unit belongs to
    # the name before it (the leads were once named "(s)" and "lead2").
    t = np.arange(len(mlii_10s)) / FS
    rows = ["time (s)   MLII (mV)   V5 [uV]"]
    rows += [f"{a:.5f} {b:.3f} {c:.3f}" for a, (b, c) in zip(t, mlii_10s, strict=True)]
    record = read_record(write_csv(tmp_path, "ws_units.txt", rows))
    assert record.fs == 360.0 and record.lead_names == ["MLII", "V5"]
    assert record.units == ["mV", "uV"]


def test_csv_physionet_export_with_units_row(tmp_path, mlii_10s):
    t = np.arange(len(mlii_10s)) / FS
    rows = ["'Elapsed time','MLII','V5'", "'seconds','mV','mV'"]
    rows += [f"{a:.3f},{b:.3f},{c:.3f}" for a, (b, c) in zip(t, mlii_10s, strict=True)]
    record = read_record(write_csv(tmp_path, "export.csv", rows))
    assert record.fs == 360.0 and record.lead_names == ["MLII", "V5"] and record.units == ["mV"] * 2


def test_csv_sample_index_needs_fs(tmp_path, mlii_10s):
    rows = ["sample,MLII"] + [f"{i},{v:.3f}" for i, v in enumerate(mlii_10s[:, 0])]
    path = write_csv(tmp_path, "idx.csv", rows)
    assert read_record(path, fs=360).fs == 360.0
    with pytest.raises(ECGInputError, match="counts samples"):
        read_record(path)


def test_csv_short_gap_is_filled(tmp_path, mlii_10s):
    values = [f"{v:.3f}" for v in mlii_10s[:, 0]]
    values[1000:1010] = [""] * 10  # 28 ms missing
    record = read_record(write_csv(tmp_path, "gap.csv", values), fs=360)
    assert np.isfinite(record.signal).all() and record.n_samples == len(values)
    expected = np.interp(np.arange(1000, 1010), [999, 1010], mlii_10s[[999, 1010], 0])
    np.testing.assert_allclose(record.signal[1000:1010, 0], expected, atol=1e-9)


# --- CSV and signal refusals -------------------------------------------------------------------


def test_csv_long_nan_gap(tmp_path, mlii_10s):
    values = ["nan" if 1000 <= i < 1400 else f"{v:.3f}" for i, v in enumerate(mlii_10s[:, 0])]
    with pytest.raises(ECGInputError, match=r"gap of 1\.11 s with no data \(from 2\.78 s\)"):
        read_record(write_csv(tmp_path, "gap.csv", values), fs=360)


def test_csv_flat(tmp_path):
    with pytest.raises(ECGInputError, match="flat line"):
        read_record(write_csv(tmp_path, "flat.csv", ["0.5"] * 3600), fs=360)


def test_csv_too_short(tmp_path, mlii_10s):
    rows = [f"{v:.3f}" for v in mlii_10s[:720, 0]]
    with pytest.raises(ECGInputError, match=r"too short: 2\.00 s .* At least 5 s"):
        read_record(write_csv(tmp_path, "short.csv", rows), fs=360)


def test_csv_absurd_rate(tmp_path, mlii_10s):
    rows = [f"{v:.3f}" for v in mlii_10s[:, 0]]
    with pytest.raises(
        ECGInputError, match=r"Sampling rate 20(\.0)? Hz is outside the supported range"
    ):
        read_record(write_csv(tmp_path, "slow.csv", rows), fs=20)


def test_csv_infinite_value(tmp_path, mlii_10s):
    rows = ["inf" if i == 720 else f"{v:.3f}" for i, v in enumerate(mlii_10s[:, 0])]
    with pytest.raises(ECGInputError, match=r"infinite values \(the first at 2\.000 s\)"):
        read_record(write_csv(tmp_path, "inf.csv", rows), fs=360)


def test_csv_columns_of_different_lengths(tmp_path, mlii_10s):
    rows = ["MLII,V5"] + [f"{b:.3f},{c:.3f}" for b, c in mlii_10s]
    rows += [f"{b:.3f}," for b in mlii_10s[:100, 0]]
    with pytest.raises(
        ECGInputError, match="'V5' has 3600 values but 'MLII' has 3700: its last 100 rows"
    ):
        read_record(write_csv(tmp_path, "ragged.csv", rows), fs=360)


def test_csv_nan_in_the_last_row_is_named(tmp_path, mlii_10s):
    rows = ["time,ecg"] + [f"{i / 360:.4f},{v:.3f}" for i, v in enumerate(mlii_10s[:, 0])]
    rows[-1] = rows[-1].split(",")[0] + ",NaN"
    with pytest.raises(
        ECGInputError, match=r"its last 1 row is empty or NaN \(from data row 3600\)"
    ):
        read_record(write_csv(tmp_path, "nan_end.csv", rows))


def test_csv_row_with_extra_value(tmp_path, mlii_10s):
    rows = ["MLII,V5"] + [f"{b:.3f},{c:.3f}" for b, c in mlii_10s]
    rows[50] += ",1.0"
    with pytest.raises(ECGInputError, match="data row 50 has 3 values where the rows before"):
        read_record(write_csv(tmp_path, "extra.csv", rows), fs=360)


def test_csv_text_that_is_not_a_number(tmp_path, mlii_10s):
    rows = ["MLII"] + [f"{v:.3f}" for v in mlii_10s[:, 0]]
    rows[101] = "lead off"
    with pytest.raises(ECGInputError, match="data row 101.*'lead off' is not a number"):
        read_record(write_csv(tmp_path, "text.csv", rows), fs=360)


def test_csv_empty(tmp_path):
    (tmp_path / "empty.csv").write_text("\n\n")
    with pytest.raises(ECGInputError, match="is empty"):
        read_record(tmp_path / "empty.csv", fs=360)
    (tmp_path / "header_only.csv").write_text("time,MLII\n")
    with pytest.raises(ECGInputError, match="has a header but no data rows"):
        read_record(tmp_path / "header_only.csv")


def test_csv_without_time_column_needs_fs(tmp_path, mlii_10s):
    path = write_csv(tmp_path, "nofs.csv", [f"{v:.3f}" for v in mlii_10s[:, 0]])
    with pytest.raises(ECGInputError, match="no time column, so the sampling rate must be given"):
        read_record(path)


def test_csv_irregular_time(tmp_path, mlii_10s):
    t = np.arange(len(mlii_10s)) / FS
    t[2000:] += 0.5  # half a second missing
    rows = ["time,MLII"] + [f"{a:.4f},{b:.3f}" for a, b in zip(t, mlii_10s[:, 0], strict=True)]
    with pytest.raises(
        ECGInputError, match="not evenly spaced: it steps by 0.5028 at data row 2001"
    ):
        read_record(write_csv(tmp_path, "jump.csv", rows))


def test_csv_time_column_disagrees_with_given_fs(tmp_path, mlii_10s):
    t = np.arange(len(mlii_10s)) / FS
    rows = ["time,MLII"] + [f"{a:.4f},{b:.3f}" for a, b in zip(t, mlii_10s[:, 0], strict=True)]
    with pytest.raises(ECGInputError, match="implies 360 Hz but a sampling rate of 250 Hz"):
        read_record(write_csv(tmp_path, "clash.csv", rows), fs=250)


def test_several_csv_files(tmp_path):
    paths = [write_csv(tmp_path, f"{n}.csv", ["1", "2"]) for n in ("a", "b")]
    with pytest.raises(ECGInputError, match="Several CSV files"):
        read_record(paths, fs=360)


def _csv_bytes(mlii_10s, header: str) -> bytes:
    rows = [header] + [f"{b:.3f},{c:.3f}" for b, c in mlii_10s]
    return ("\r\n".join(rows) + "\r\n\r\n  \r\n").encode("utf-8")


@pytest.mark.parametrize(
    "name, content",
    [("bom_micro.csv", "bom"), ("latin1_micro.csv", "latin-1"), ("comment.csv", "comment")],
)
def test_csv_encodings_and_paths_read_alike(tmp_path, mlii_10s, name, content):
    """A UTF-8 file is parsed straight from disk (its data rows as a byte range), a Latin-1
    file and one with comment lines from the text: the same numbers, names and units."""
    plain = _csv_bytes(mlii_10s, "MLII (mV),V5 (mV)")
    expected = read_record(_write(tmp_path / "plain.csv", plain), fs=360)
    header = "MLII (\u00b5V),V5 (\u00b5V)"
    if content == "bom":
        data = b"\xef\xbb\xbf" + _csv_bytes(mlii_10s, header)
    elif content == "latin-1":
        data = _csv_bytes(mlii_10s, header).replace("\u00b5".encode(), "\u00b5".encode("latin-1"))
    else:
        data = b"# exported 2026-11-30\r\n" + _csv_bytes(mlii_10s, header)
    record = read_record(_write(tmp_path / name, data), fs=360)
    assert np.array_equal(record.signal, expected.signal)
    assert list(record.lead_names) == ["MLII", "V5"]
    assert list(record.units) == ["\u00b5V", "\u00b5V"]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_plain_csv_is_parsed_without_a_copy_of_its_text(tmp_path):
    """A 24-hour CSV is hundreds of MB: its data rows are parsed from the file, not from
    copies of its text (which took 3.7x the file's size in memory before; now 2.0x, most of
    it the parsed numbers)."""
    import tracemalloc

    from ecg_core.csv_reader import read_csv_signal

    t = np.arange(300_000) / 360
    x = np.round(np.sin(7 * t), 3)
    path = tmp_path / "long.csv"
    with path.open("w") as f:
        f.write("time,MLII,V5\n")
        np.savetxt(f, np.column_stack([t, x, -x]), fmt="%.5f", delimiter=",")
    tracemalloc.start()
    try:
        signal, fs, names, _ = read_csv_signal(path, None)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert fs == pytest.approx(360.0) and names == ["MLII", "V5"]
    assert np.allclose(signal[:, 0], x)
    assert peak < 2.6 * path.stat().st_size, f"{peak / path.stat().st_size:.2f}x the file"


def test_read_record_keeps_only_the_leads_asked_for(tmp_path, mitdb_dir, monkeypatch):
    """A WFDB record's other leads are never converted (in one read or block by block), a
    CSV's are dropped after parsing; names, indices or a function of the names choose them."""
    import ecg_core.io as io_module
    from ecg_core.leads import analysis_leads

    full = read_record(mitdb_dir / "100")  # MLII, V5
    for blocks in (False, True):
        if blocks:  # 650,000 frames read in blocks of 100,001 values
            monkeypatch.setattr(io_module, "READ_BLOCK_VALUES", 100_001)
        swapped = read_record(mitdb_dir / "100", leads=["v5", 0])
        assert list(swapped.lead_names) == ["V5", "MLII"] and swapped.units == full.units[::-1]
        assert np.array_equal(swapped.signal, full.signal[:, ::-1])
        assert np.array_equal(read_record(mitdb_dir / "100", leads=[1]).signal, full.signal[:, 1:])
        chosen = read_record(
            mitdb_dir / "100", leads=lambda names: analysis_leads(names, "V5", False)
        )
        assert list(chosen.lead_names) == ["V5"]
    with pytest.raises(ECGInputError, match="Lead 'V1' is not in this record"):
        read_record(mitdb_dir / "100", leads=["V1"])
    with pytest.raises(ECGInputError, match="asked for twice"):
        read_record(mitdb_dir / "100", leads=["MLII", 0])
    csv = tmp_path / "two.csv"
    csv.write_text("time,MLII,V5\n" + "\n".join(f"{i / 360},{i % 7},{-i % 5}" for i in range(3600)))
    assert list(read_record(csv, leads=["V5"]).lead_names) == ["V5"]
    assert np.array_equal(
        read_record(csv, leads=["V5"]).signal[:, 0], read_record(csv).signal[:, 1]
    )
