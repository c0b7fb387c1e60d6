"""Adversarial input for read_record and analyze: every bad file gives a clear ECGInputError.

Complements test_io.py (which covers the common refusals): here are the odd corners found by
probing: binary junk, absurd headers, decompression bombs, pathological header cells, rates
that are not numbers. Every file is small and lives in tmp_path; nothing else is read.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import wfdb

from ecg_core import ECGInputError, analyze, read_record, synthesize
from ecg_core.classifier import CHECKPOINTS_DIR, load_model

MLII_LINE = "r.dat 16 200 16 0 0 0 0 MLII"


@pytest.fixture(scope="module")
def model():
    if not (CHECKPOINTS_DIR / "diagnostic" / "config.json").exists():
        pytest.skip("checkpoints/diagnostic is not trained yet")
    return load_model("diagnostic")


def sine_i16(n: int = 3600) -> bytes:
    """A non-flat format-16 signal: 10 s at 360 Hz with the default header line."""
    return (np.sin(np.arange(n) / 20) * 200).astype("<i2").tobytes()


def wfdb_upload(folder: Path, header: str | bytes, dat: bytes | None = None) -> list[Path]:
    """``r.hea`` (and ``r.dat``) in ``folder``, as a list of uploaded files."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "r.hea").write_bytes(header.encode() if isinstance(header, str) else header)
    files = [folder / "r.hea"]
    if dat is not None:
        (folder / "r.dat").write_bytes(dat)
        files.append(folder / "r.dat")
    return files


def csv_file(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    return path


def ecg_csv(tmp_path: Path, name: str, fs: float, duration_s: float, seed: int = 0) -> Path:
    """A synthetic ECG lead with a time column, as a user would export it."""
    record = synthesize(duration_s=duration_s, fs=fs, seed=seed)
    t = np.arange(record.n_samples) / fs
    path = tmp_path / name
    np.savetxt(
        path,
        np.column_stack([t, record.signal[:, 0]]),
        delimiter=",",
        fmt="%.7g",
        header="time,II",
        comments="",
    )
    return path


SINE_ROWS = [f"{np.sin(i / 20):.4f}" for i in range(3600)]


# --- empty, binary and garbled files ---------------------------------------------------------


def test_empty_files(tmp_path):
    with pytest.raises(ECGInputError, match="is empty"):
        read_record(csv_file(tmp_path, "empty.csv", b""), fs=360)
    with pytest.raises(ECGInputError, match="The header 'r.hea' is empty"):
        read_record(wfdb_upload(tmp_path / "h", "\n# only a comment\n", sine_i16()))
    with pytest.raises(ECGInputError, match="Could not read the WFDB record"):
        read_record(wfdb_upload(tmp_path / "d", f"r 1 360 3600\n{MLII_LINE}\n", b""))


@pytest.mark.parametrize("seed", range(8))
def test_random_bytes_named_csv(tmp_path, seed):
    junk = np.random.default_rng(seed).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    with pytest.raises(ECGInputError):
        read_record(csv_file(tmp_path, "junk.csv", junk), fs=360)


@pytest.mark.parametrize(
    "magic", [b"PK\x03\x04", b"\x1f\x8b\x08\x00", b"%PDF-1.4\n\x00"], ids=["zip", "gzip", "pdf"]
)
def test_binary_file_named_csv_is_not_text(tmp_path, magic):
    junk = magic + bytes(range(256)) * 8  # NUL bytes once made pandas fail with EmptyDataError
    with pytest.raises(ECGInputError, match="is not text"):
        read_record(csv_file(tmp_path, "export.csv", junk), fs=360)


def test_utf16_without_bom_is_not_text_but_with_bom_reads(tmp_path):
    text = "\n".join(SINE_ROWS)
    with pytest.raises(ECGInputError, match="is not text"):
        read_record(csv_file(tmp_path, "le.csv", text.encode("utf-16-le")), fs=360)
    assert (
        read_record(csv_file(tmp_path, "bom.csv", text.encode("utf-16")), fs=360).n_samples == 3600
    )


@pytest.mark.parametrize("seed", range(4))
def test_unicode_junk_csv(tmp_path, seed):
    codes = np.random.default_rng(seed).integers(1, 0x3000, 4000)
    text = "".join(chr(int(c)) for c in codes if not 0xD800 <= c < 0xE000)
    with pytest.raises(ECGInputError):
        read_record(csv_file(tmp_path, "junk.csv", text.encode("utf-8")), fs=360)


def test_a_column_of_text(tmp_path):
    rows = ["time,MLII,note"] + [f"{i / 360:.4f},{v},ok" for i, v in enumerate(SINE_ROWS)]
    with pytest.raises(ECGInputError, match="note: 'ok' is not a number"):
        read_record(csv_file(tmp_path, "notes.csv", "\n".join(rows)))


def test_a_column_of_true_false_is_not_a_signal(tmp_path):
    # pandas reads True/False as 1/0: it loaded as a square wave without a word.
    rows = ["time,MLII,flag"] + [
        f"{i / 360:.4f},{v},{'True' if i % 2 else 'false'}" for i, v in enumerate(SINE_ROWS)
    ]
    with pytest.raises(ECGInputError, match="flag: '(True|false)' is not a number"):
        read_record(csv_file(tmp_path, "flags.csv", "\n".join(rows)))
    # the same file without the flag column reads
    rows = ["time,MLII"] + [f"{i / 360:.4f},{v}" for i, v in enumerate(SINE_ROWS)]
    assert read_record(csv_file(tmp_path, "ok.csv", "\n".join(rows))).n_leads == 1


def test_header_naming_more_columns_than_the_rows_hold(tmp_path):
    # The 'time' column named last is missing from the rows; it used to vanish silently and
    # the message blamed a missing sampling rate.
    rows = ["MLII,V5,time"] + [f"{v},{v}" for v in SINE_ROWS]
    with pytest.raises(ECGInputError, match="header names 3 column.* rows hold 2 values"):
        read_record(csv_file(tmp_path, "names.csv", "\n".join(rows)))
    # ... while a trailing delimiter's empty name is harmless.
    rows = ["MLII,V5,"] + [f"{v},{v}" for v in SINE_ROWS]
    assert read_record(csv_file(tmp_path, "trail.csv", "\n".join(rows)), fs=360).n_leads == 2


def test_long_header_cell_does_not_hang(tmp_path):
    # "(" then spaces: the old name/unit regular expression backtracked cubically (about
    # 100 s for this cell, hours for a longer one).
    header = "(" + " " * 3000 + "x,MLII"
    rows = [header] + [f"{i},{v}" for i, v in enumerate(SINE_ROWS)]
    start = time.perf_counter()
    record = read_record(csv_file(tmp_path, "cell.csv", "\n".join(rows)), fs=360)
    assert time.perf_counter() - start < 5
    assert record.lead_names[1] == "MLII"


def test_unit_still_split_from_the_name(tmp_path):
    rows = ["time (ms),MLII [uV],a(b) (mV)"] + [
        f"{i * 1000 / 360:.3f},{v},{v}" for i, v in enumerate(SINE_ROWS)
    ]
    record = read_record(csv_file(tmp_path, "units.csv", "\n".join(rows)))
    assert record.fs == 360.0
    assert record.lead_names == ["MLII", "a(b)"] and record.units == ["uV", "mV"]


# --- too little signal ---------------------------------------------------------------------


def test_single_sample_and_single_row(tmp_path):
    with pytest.raises(ECGInputError, match=r"too short: 0\.00 s \(1 samples"):
        read_record(csv_file(tmp_path, "one.csv", "0.5\n"), fs=360)
    with pytest.raises(ECGInputError, match="single row"):
        read_record(csv_file(tmp_path, "row.csv", "time,MLII\n0,0.6\n"))


def test_one_second_record(tmp_path):
    with pytest.raises(ECGInputError, match=r"too short: 1\.00 s"):
        read_record(csv_file(tmp_path, "1s.csv", "\n".join(SINE_ROWS[:360])), fs=360)
    upload = wfdb_upload(tmp_path / "w", f"r 1 360 360\n{MLII_LINE}\n", sine_i16(360))
    with pytest.raises(ECGInputError, match=r"too short: 1\.00 s"):
        read_record(upload)


def test_flat_and_all_missing_wfdb(tmp_path):
    header = f"r 1 360 3600\n{MLII_LINE}\n"
    flat = np.zeros(3600, "<i2").tobytes()
    with pytest.raises(ECGInputError, match="flat line"):
        read_record(wfdb_upload(tmp_path / "flat", header, flat))
    missing = np.full(3600, -32768, "<i2").tobytes()  # WFDB's "no sample" value
    with pytest.raises(ECGInputError, match="holds no valid samples"):
        read_record(wfdb_upload(tmp_path / "nan", header, missing))


def test_short_gaps_at_the_edges_are_filled(tmp_path):
    values = ["nan"] * 20 + SINE_ROWS[20:]  # 56 ms missing at the start
    record = read_record(csv_file(tmp_path, "start.csv", "\n".join(values)), fs=360)
    assert np.isfinite(record.signal).all() and record.n_samples == 3600
    # Empty rows at the end are not samples: they are dropped, not filled.
    values = SINE_ROWS + ["nan"] * 20
    assert read_record(csv_file(tmp_path, "end.csv", "\n".join(values)), fs=360).n_samples == 3600


# --- sampling rates -----------------------------------------------------------------------------


@pytest.mark.parametrize("fs", [0, -360, float("nan"), float("inf"), 1e9, 20])
def test_absurd_given_rate(tmp_path, fs):
    path = csv_file(tmp_path, "x.csv", "\n".join(SINE_ROWS))
    with pytest.raises(ECGInputError, match="Sampling rate .* outside the supported range"):
        read_record(path, fs=fs)


@pytest.mark.parametrize("fs", ["abc", [360], 1j, object()])
def test_given_rate_that_is_not_a_number(tmp_path, fs):
    path = csv_file(tmp_path, "x.csv", "\n".join(SINE_ROWS))
    with pytest.raises(ECGInputError, match="Sampling rate .* is not a number"):
        read_record(path, fs=fs)  # used to raise ValueError / TypeError from float()


def test_rate_message_names_the_number_not_its_type(tmp_path):
    rows = ["sample,MLII"] + [f"{i},{v}" for i, v in enumerate(SINE_ROWS)]
    with pytest.raises(ECGInputError, match=r"Sampling rate nan Hz") as error:
        read_record(csv_file(tmp_path, "idx.csv", "\n".join(rows)), fs=float("nan"))
    assert "np.float64" not in str(error.value)


@pytest.mark.parametrize("rate", ["-360", "nan", "1e9", "inf"])
def test_header_rate_that_wfdb_would_misread(tmp_path, rate):
    # '-360' and 'nan' were read as WFDB's default 250 Hz without a word, '1e9' as 1 Hz.
    upload = wfdb_upload(tmp_path, f"r 1 {rate} 3600\n{MLII_LINE}\n", sine_i16())
    with pytest.raises(ECGInputError, match=f"gives the sampling rate '{rate}'"):
        read_record(upload)


def test_header_rate_zero(tmp_path):
    upload = wfdb_upload(tmp_path, f"r 1 0 3600\n{MLII_LINE}\n", sine_i16())
    with pytest.raises(ECGInputError, match="Sampling rate 0 Hz is outside"):
        read_record(upload)
    assert read_record(upload, fs=360).fs == 360.0  # no rate in the header: the given one


def test_time_column_not_monotonic(tmp_path):
    times = [i / 360 for i in range(3600)]
    times[100] = times[50]
    rows = ["time,MLII"] + [f"{t:.5f},{v}" for t, v in zip(times, SINE_ROWS, strict=True)]
    with pytest.raises(ECGInputError, match="does not increase at data row 101"):
        read_record(csv_file(tmp_path, "back.csv", "\n".join(rows)))


def test_time_column_with_an_infinite_time(tmp_path):
    rows = ["seconds,MLII"] + [
        f"{'inf' if i == 5 else i / 360},{v}" for i, v in enumerate(SINE_ROWS)
    ]
    with pytest.raises(ECGInputError, match="does not increase"):
        read_record(csv_file(tmp_path, "inf.csv", "\n".join(rows)))


def test_time_step_so_small_the_rate_overflows(tmp_path):
    rows = ["seconds,MLII"] + [f"{i * 5e-324!r},{v}" for i, v in enumerate(SINE_ROWS)]
    with pytest.raises(ECGInputError, match="time column 'seconds' steps by .* outside"):
        read_record(csv_file(tmp_path, "denormal.csv", "\n".join(rows)))  # was OverflowError


# --- WFDB headers -------------------------------------------------------------------------------


def test_header_with_no_signals_or_no_samples(tmp_path):
    with pytest.raises(ECGInputError, match="declares no signals"):
        read_record(wfdb_upload(tmp_path / "a", "r 0 360 3600\n", sine_i16()))
    with pytest.raises(ECGInputError, match="declares 0 samples per signal"):
        read_record(wfdb_upload(tmp_path / "b", f"r 1 360 0\n{MLII_LINE}\n", sine_i16()))


def test_header_with_mismatched_signal_count(tmp_path):
    with pytest.raises(ECGInputError, match=r"declares 2 signal\(s\) but describes 1"):
        read_record(wfdb_upload(tmp_path, f"r 2 360 3600\n{MLII_LINE}\n", sine_i16()))


@pytest.mark.parametrize("fmt", ["99", "0", "1234567"])
def test_unknown_format_code(tmp_path, fmt):
    header = f"r 1 360 3600\nr.dat {fmt} 200 16 0 0 0 0 MLII\n"
    with pytest.raises(ECGInputError, match="Could not read the WFDB record"):
        read_record(wfdb_upload(tmp_path, header, sine_i16()))


def test_junk_header(tmp_path):
    header = np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    with pytest.raises(ECGInputError, match="is not a WFDB header"):
        read_record(wfdb_upload(tmp_path, header, sine_i16()))


def test_unicode_junk_in_header(tmp_path):
    header = f"r 1 360 3600\n{MLII_LINE}\u00e9\u2603\n".encode() + b"\xff\xfe\x00\n"
    with pytest.raises(ECGInputError):
        read_record(wfdb_upload(tmp_path, header, sine_i16()))


def test_truncated_dat_in_format_212(tmp_path):
    header = "r 2 360 1800\nr.dat 212 200 11 1024 0 0 0 MLII\nr.dat 212 200 11 1024 0 0 0 V5\n"
    with pytest.raises(ECGInputError):
        read_record(wfdb_upload(tmp_path, header, sine_i16()[:-1001]))


def test_header_declaring_a_huge_length_is_refused_before_reading(tmp_path):
    # Used to reach numpy ("Unable to allocate 186. GiB").
    header = f"r 1 360 99999999999\n{MLII_LINE}\n"
    with pytest.raises(ECGInputError, match="declares 99999999999 samples per signal"):
        read_record(wfdb_upload(tmp_path / "a", header, sine_i16()))
    header = "r 1 360 3600\nr.dat 16x100000000 200 16 0 0 0 0 MLII\n"  # samples per frame
    with pytest.raises(ECGInputError, match="more than the .* limit allows"):
        read_record(wfdb_upload(tmp_path / "b", header, sine_i16()))


def test_compressed_signal_cannot_expand_past_the_size_limit(tmp_path):
    # FLAC (format 516) packs 200000 samples of a square wave into a few dozen kB: the upload
    # passes the size limit, the samples must not.
    digital = np.ones((200_000, 1), np.int16)
    digital[::2] = 2
    wfdb.wrsamp(
        "b",
        fs=360,
        units=["mV"],
        sig_name=["MLII"],
        d_signal=digital,
        fmt=["516"],
        adc_gain=[200],
        baseline=[0],
        write_dir=str(tmp_path),
    )
    files = [tmp_path / "b.hea", tmp_path / "b.dat"]
    assert (tmp_path / "b.dat").stat().st_size < 100_000  # passes the size limit
    with pytest.raises(ECGInputError, match="declares 200000 samples per signal"):
        read_record(files, max_bytes=100_000)
    assert read_record(files).n_samples == 200_000


def test_upper_case_header_suffix(tmp_path):
    files = wfdb_upload(tmp_path, f"r 1 360 3600\n{MLII_LINE}\n", sine_i16())
    files[0] = files[0].rename(tmp_path / "r.HEA")  # used to fail on the missing 'r.hea'
    record = read_record(files)
    assert record.name == "r" and record.n_samples == 3600


@pytest.mark.parametrize("target", ["..\\secret.dat", "C:secret.dat", "~", "..", "."])
def test_header_naming_odd_paths(tmp_path, target):
    upload = wfdb_upload(tmp_path, f"r 1 360 3600\n{target} 16 200 16 0 0 0 0 MLII\n")
    with pytest.raises(ECGInputError, match="which is not among the uploaded files"):
        read_record(upload)


def test_header_naming_a_file_beside_it_that_was_not_uploaded(tmp_path):
    # secret.dat is a valid signal file next to the header, but only the header was given.
    upload = wfdb_upload(tmp_path, "r 1 360 3600\nsecret.dat 16 200 16 0 0 0 0 MLII\n")
    (tmp_path / "secret.dat").write_bytes(sine_i16())
    with pytest.raises(ECGInputError, match="signal file 'secret.dat' .* is missing"):
        read_record(upload)


def test_lead_named_like_a_path_is_only_a_name(tmp_path, model):
    before = sorted(p.name for p in tmp_path.iterdir())
    header = "r 1 360 3600\nr.dat 16 200 16 0 0 0 0 ../../etc/passwd\n"
    upload = wfdb_upload(
        tmp_path / "rec",
        header,
        (synthesize(duration_s=10, seed=5).signal[:, 0] * 200).astype("<i2").tobytes(),
    )
    record = read_record(upload)
    assert record.lead_names == ["../../etc/passwd"]
    assert analyze(record, model=model).lead_name == "../../etc/passwd"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*before, "rec"])
    assert sorted(p.name for p in (tmp_path / "rec").iterdir()) == ["r.dat", "r.hea"]
    with pytest.raises(ECGInputError, match="Lead '/etc/shadow' is not in this record"):
        analyze(record, model=model, lead="/etc/shadow")


@pytest.mark.parametrize("seed", range(4))
def test_junk_annotation_file(tmp_path, seed):
    upload = wfdb_upload(tmp_path, f"r 1 360 3600\n{MLII_LINE}\n", sine_i16())
    junk = np.random.default_rng(seed).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    (tmp_path / "r.atr").write_bytes(junk)
    try:
        record = read_record([*upload, tmp_path / "r.atr"])
    except ECGInputError as error:
        assert "annotation file 'r.atr'" in str(error)
    else:  # junk that happens to parse is annotations like any other
        assert record.annotations is not None


def test_annotations_beyond_the_signal_do_not_break_analysis(tmp_path, model):
    record = synthesize(duration_s=10, fs=360, seed=4)
    wfdb.wrsamp(
        "a",
        fs=360,
        units=["mV"],
        sig_name=["MLII"],
        p_signal=record.signal,
        fmt=["16"],
        write_dir=str(tmp_path),
    )
    samples = np.array([10, 400, 3599, 99_999, 10**8])
    wfdb.wrann("a", "atr", samples, ["N", "V", "Q", "N", "~"], write_dir=str(tmp_path))
    report = analyze(read_record(tmp_path / "a"), model=model)
    assert report.summary["n_beats"] > 0 and report.reference is not None


# --- paths that are not plain files ------------------------------------------------------------


def test_file_name_too_long(tmp_path):
    for given in (tmp_path / ("x" * 300 + ".csv"), [tmp_path / ("x" * 300 + ".csv")]):
        with pytest.raises(ECGInputError, match="File name too long|does not exist"):
            read_record(given, fs=360)  # used to raise OSError
    with pytest.raises(ECGInputError, match="File name too long|does not exist"):
        read_record(tmp_path / ("x" * 300), fs=360)


def test_fifo_and_folder_are_not_read(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)  # opening it for reading would block forever
    with pytest.raises(ECGInputError, match="is not a file"):
        read_record(fifo, fs=360)
    with pytest.raises(ECGInputError, match="is not a file"):
        read_record([fifo], fs=360)
    with pytest.raises(ECGInputError, match="does not exist"):
        read_record(tmp_path, fs=360)


def test_size_limit_applies_to_csv(tmp_path):
    path = csv_file(tmp_path, "big.csv", "\n".join(SINE_ROWS))
    with pytest.raises(ECGInputError, match="over the 0 MB limit"):
        read_record(path, fs=360, max_bytes=10_000)


def test_objects_that_are_not_paths(tmp_path):
    for given in ([None], [42], [b"/etc/passwd"]):
        with pytest.raises(ECGInputError, match="is not a file path"):
            read_record(given, fs=360)


# --- legitimate edge cases analyse --------------------------------------------------------------


@pytest.mark.parametrize("fs", [50, 10_000])
def test_extreme_supported_rates_analyse(tmp_path, model, fs):
    report = analyze(read_record(ecg_csv(tmp_path, f"r{fs}.csv", fs, 6)), model=model)
    assert report.fs == fs and report.summary["n_beats"] >= 5


def test_exactly_five_seconds_analyses(tmp_path, model):
    record = read_record(ecg_csv(tmp_path, "five.csv", 360, 5))
    assert record.duration_s == 5.0
    assert analyze(record, model=model).summary["n_beats"] >= 4


def test_twelve_lead_csv_analyses(tmp_path, model):
    names = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    lead = synthesize(duration_s=10, fs=500, seed=3).signal[:, 0]
    signal = np.column_stack([np.arange(lead.size) / 500] + [lead * (k + 1) / 6 for k in range(12)])
    path = tmp_path / "twelve.csv"
    np.savetxt(
        path, signal, delimiter=",", fmt="%.6g", header="time_s," + ",".join(names), comments=""
    )
    record = read_record(path)
    assert record.n_leads == 12 and record.fs == 500.0 and record.lead_names == names
    report = analyze(record, model=model)
    assert report.lead_name == "II" and report.summary["classified_leads"] == "II + V1"
    with pytest.raises(ECGInputError, match="Lead index 12 does not exist"):
        analyze(record, model=model, lead=12)


def test_mitdb_header_with_a_foreign_dat(mitdb_dir, tmp_path):
    folder = tmp_path / "rec"
    folder.mkdir()
    shutil.copy(mitdb_dir / "100.hea", folder)
    (folder / "100.dat").write_bytes(np.random.default_rng(1).bytes(100_000))
    with pytest.raises(ECGInputError, match="Could not read the WFDB record"):
        read_record(sorted(folder.iterdir()))
