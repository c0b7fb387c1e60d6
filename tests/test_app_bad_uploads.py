"""Bad or odd uploads through the running app, called with the real gradio_client as a program
would: each gives a short message a person can act on (no traceback, no server path, no
generic "the upstream app raised an exception"), in bounded time, and the server keeps
serving good requests. Complements test_app_api.py (the common refusals) and
test_bad_inputs_fuzz.py (ecg_core alone). Files are small and live in tmp_path.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from test_app_api import _free_port

REPO_ROOT = Path(__file__).resolve().parents[1]
HEADER = "r 1 360 3600\nr.dat 16 200 16 0 0 0 0 MLII\n"
#: Every request must answer within this (the slowest refusal here takes well under 1 s).
TIMEOUT_S = 60


@pytest.fixture(scope="module")
def client(app_module):
    """The real app on a free localhost port: reused when test_app_api.py started it already
    in this process (one Blocks can only serve once), else started and closed here."""
    from gradio_client import Client

    demo = app_module.demo
    started_here = not demo.is_running
    if started_here:
        app_module.launch(
            server_name="127.0.0.1", server_port=_free_port(), prevent_thread_lock=True, quiet=True
        )
    yield Client(demo.local_url, verbose=False, download_files=False)
    if started_here:
        demo.close()


@pytest.fixture(scope="module")
def app_url_for_raw_http(client, app_module) -> str:
    return app_module.demo.local_url


def sine_dat(n: int = 3600) -> bytes:
    return (np.sin(np.arange(n) / 20) * 200).astype("<i2").tobytes()


def write(folder: Path, name: str, data: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.write_bytes if isinstance(data, bytes) else path.write_text)(data)
    return path


@pytest.fixture()
def good_csv(tmp_path) -> Path:
    values = np.round(np.sin(np.arange(360 * 10) / 20.0), 4)
    return write(tmp_path, "good.csv", "\n".join(f"{v:.4f}" for v in values))


def call(client, api_name: str, *args):
    """One request, bounded in time: a hung request fails the test instead of blocking it."""
    return client.submit(*args, api_name=api_name).result(timeout=TIMEOUT_S)


def analyze_files(client, paths, fs_hz=None, lead="auto", mode="diagnostic"):
    from gradio_client import handle_file

    files = None if paths is None else [handle_file(str(p)) for p in paths]
    return call(client, "/analyze_files", files, fs_hz, lead, mode)


def refused(request, *args, match: str, **kwargs) -> str:
    """The message of a refused request, checked to be a clear one."""
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as error:
        request(*args, **kwargs)
    message = str(error.value)
    assert 20 < len(message) < 600, message
    for leak in ("Traceback", "upstream Gradio app", tempfile.gettempdir(), "ecg_record_"):
        assert leak not in message, message
    assert any(word in message for word in match.split("|")), message
    return message


def assert_still_serves(client, good_csv: Path) -> None:
    report, _, _ = analyze_files(client, [good_csv], fs_hz=360)
    assert report["duration_s"] == pytest.approx(10.0)


# --- which files: missing, mixed, repeated ------------------------------------------------------


def test_no_files_and_an_empty_list(client):
    for files in (None, []):
        refused(analyze_files, client, files, match="No file was uploaded")


def test_lone_annotation_or_signal_file(client, tmp_path):
    for name in ("r.atr", "r.dat"):
        refused(
            analyze_files, client, [write(tmp_path, name, b"\0\1" * 100)], match="No WFDB header"
        )


def test_two_records_mixed(client, tmp_path):
    a = [
        write(tmp_path / "a", "a.hea", HEADER.replace("r", "a")),
        write(tmp_path / "a", "a.dat", sine_dat()),
    ]
    b = [
        write(tmp_path / "b", "b.hea", HEADER.replace("r", "b")),
        write(tmp_path / "b", "b.dat", sine_dat()),
    ]
    refused(analyze_files, client, [*a, *b], match="several records")
    stray = write(tmp_path / "b", "b.atr", b"\0\0")
    refused(analyze_files, client, [*a, stray], match="do not belong to record 'a'")


def test_same_file_twice_counts_once(client, tmp_path, good_csv):
    # Used to be refused as "Several CSV files were given (good.csv, good.csv)".
    report, _, _ = analyze_files(client, [good_csv, good_csv], fs_hz=360)
    assert report["duration_s"] == pytest.approx(10.0)
    files = [write(tmp_path, "r.hea", HEADER), write(tmp_path, "r.dat", sine_dat())]
    assert analyze_files(client, [*files, files[0]])[0]["lead"] == "MLII"
    other = write(tmp_path / "other", "r.dat", sine_dat()[::-1])
    refused(analyze_files, client, [*files, other], match="Two different files named 'r.dat'")


def test_csv_together_with_wfdb_files(client, tmp_path, good_csv):
    files = [write(tmp_path, "r.hea", HEADER), write(tmp_path, "r.dat", sine_dat())]
    refused(analyze_files, client, [good_csv, *files], fs_hz=360, match="mixes a CSV file")


def test_upper_case_extensions_of_a_mitdb_record(client, tmp_path, mitdb_dir):
    """MIT-BIH 100 as a system that writes upper-case names would upload it. Used to fail with
    "the signal file '100.dat' ... is missing" though 100.DAT was uploaded, and an upper-case
    .ATR beside lower-case files was silently ignored (no reference agreement)."""
    upper = {ext: tmp_path / f"100.{ext.upper()}" for ext in ("hea", "dat", "atr")}
    for ext, path in upper.items():
        shutil.copyfile(mitdb_dir / f"100.{ext}", path)
    report, _, _ = analyze_files(client, list(upper.values()))
    assert report["reference"]["n_reference_beats"] > 2000
    lower = [mitdb_dir / "100.hea", mitdb_dir / "100.dat"]
    assert analyze_files(client, [*lower, upper["atr"]])[0]["reference"] is not None


def test_many_files_give_a_short_message(client, tmp_path):
    files = [write(tmp_path, "r.hea", HEADER), write(tmp_path, "r.dat", sine_dat())]
    strays = [write(tmp_path, f"x{i}.dat", b"\0\1") for i in range(60)]
    message = refused(analyze_files, client, [*files, *strays], match="do not belong")
    assert "and 55 more" in message  # used to list all 60 names
    headers = [write(tmp_path / "h", f"h{i}.hea", HEADER) for i in range(60)]
    assert "more" in refused(analyze_files, client, headers, match="several records")


# --- what the files hold: empty, junk, paths outside the upload -------------------------------


def test_zero_byte_files(client, tmp_path):
    refused(analyze_files, client, [write(tmp_path, "z.csv", b"")], fs_hz=360, match="is empty")
    refused(analyze_files, client, [write(tmp_path / "h", "r.hea", b"")], match="is empty")
    header = write(tmp_path, "r.hea", HEADER)
    # Used to read as "Samples were not loaded correctly" ...
    refused(
        analyze_files,
        client,
        [header, write(tmp_path / "d", "r.dat", b"")],
        match="'r.dat' is empty",
    )
    # ... and an empty .atr was read as "no annotations": the agreement silently vanished.
    dat = write(tmp_path, "r.dat", sine_dat())
    refused(
        analyze_files,
        client,
        [header, dat, write(tmp_path, "r.atr", b"")],
        match="'r.atr': it is empty",
    )


def test_binary_junk(client, tmp_path):
    junk = np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    for name in ("junk.bin", "junk", "junk.csv", "junk.hea"):
        refused(analyze_files, client, [write(tmp_path, name, junk)], fs_hz=360, match="'junk")
    header, dat = write(tmp_path, "r.hea", HEADER), write(tmp_path, "r.dat", sine_dat())
    atr = write(tmp_path, "r.atr", b"\xff" * 64)
    message = refused(
        analyze_files, client, [header, dat, atr], match="not a valid WFDB annotation"
    )
    assert "r.atr" in message


@pytest.mark.parametrize("target", ["../../etc/passwd", "/etc/passwd", "secret.dat", "../good.csv"])
def test_header_naming_a_file_outside_the_upload(client, tmp_path, good_csv, target):
    write(tmp_path, "secret.dat", sine_dat())  # beside the header on this disk, never uploaded
    header = write(tmp_path / "rec", "r.hea", HEADER.replace("r.dat", target))
    refused(analyze_files, client, [header], match="not among the uploaded files|is missing")
    assert_still_serves(client, good_csv)


# --- the form fields: rate, lead, mode ---------------------------------------------------------


@pytest.mark.parametrize("fs_hz", [1e12, 1e308, 0.001, 7, 20_000])
def test_absurd_sampling_rate(client, good_csv, fs_hz):
    refused(analyze_files, client, [good_csv], fs_hz=fs_hz, match="outside the supported range")


def test_negative_sampling_rate_is_held_by_the_form(client, good_csv):
    refused(analyze_files, client, [good_csv], fs_hz=-5, match="minimum")


@pytest.mark.parametrize(
    ("lead", "match"),
    [
        ("V5", "Lead 'V5' is not in this record"),
        ("7", "Lead index 7 does not exist"),
        ("-1", "Lead '-1' is not in this record"),
        ("1.5", "Lead '1.5' is not in this record"),  # was read as index 1
        ("²", "Lead '²' is not in this record"),  # was a ValueError: the generic message
        ("../../etc/passwd", "is not in this record"),
    ],
)
def test_lead_that_does_not_exist(client, good_csv, lead, match):
    refused(analyze_files, client, [good_csv], fs_hz=360, lead=lead, match=match)


def test_lead_number_as_a_float(client, good_csv):
    assert analyze_files(client, [good_csv], fs_hz=360, lead="0.0")[0]["lead"] == "ECG"


def test_unknown_mode(client, good_csv):
    refused(analyze_files, client, [good_csv], fs_hz=360, mode="turbo", match="not in the list")
    sine = np.sin(np.arange(3600) / 20).tolist()
    refused(call, client, "/analyze_signal", sine, 360.0, "turbo", match="Mode 'turbo'")


# --- inputs that used to take minutes ------------------------------------------------------------


def test_a_record_along_one_row_is_refused_at_once(client, tmp_path):
    # 1 million cells in one row: pandas took ~30 s (a 200 MB row would take half an hour).
    row = write(tmp_path, "row.csv", "1," * 1_000_000)
    refused(analyze_files, client, [row], fs_hz=360, match="transpose the table")


def test_a_header_with_thousands_of_signals_is_refused_at_once(client, tmp_path):
    # wfdb parsed 20 000 signal lines in ~16 s and 100 000 in minutes (quadratic).
    n = 20_000
    lines = "".join(f"r.dat 16 200 16 0 0 0 0 L{i}\n" for i in range(n))
    header = write(tmp_path, "r.hea", f"r {n} 360 10\n{lines}")
    dat = write(tmp_path, "r.dat", b"\0" * (20 * n))
    refused(analyze_files, client, [header, dat], match="at most 1000 leads")


# --- /analyze_signal and /synthesize -----------------------------------------------------------


@pytest.mark.parametrize(
    ("signal", "fs_hz", "match"),
    [
        ([], 360.0, "empty list"),  # was "The file 'signal.csv' is empty"
        ("  \n", 360.0, "CSV text is empty"),
        ([0.1] * 5000, -5.0, "outside the supported range"),  # was "... at -5 Hz is over 24 h"
        ([0.1] * 5000, "fast", "is not a number"),  # was a ValueError: the generic message
        ([0.1] * 5000, None, "Give the sampling rate"),
        ([[0.1, 0.2]] * 3000, 360.0, "flat list"),  # was flattened: two leads interleaved
        ({"a": 1}, 360.0, "list of numbers"),
        ("1\n2\x00\n3\n", 360.0, "not text"),
    ],
)
def test_analyze_signal_refusals(client, signal, fs_hz, match):
    refused(call, client, "/analyze_signal", signal, fs_hz, "diagnostic", match=match)


def test_analyze_signal_with_a_lone_surrogate(app_url_for_raw_http):
    """JSON can carry '\\ud800' (gradio_client cannot send it, a raw HTTP client can): it was
    a UnicodeEncodeError writing the text, now a stray character refused as not a number."""
    import httpx

    base = app_url_for_raw_http
    body = '{"data": ["1\\n2\\n\\ud800\\n", 360.0, "diagnostic"]}'
    posted = httpx.post(
        f"{base}gradio_api/call/analyze_signal",
        content=body,
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT_S,
    )
    event_id = posted.json()["event_id"]
    stream = httpx.get(f"{base}gradio_api/call/analyze_signal/{event_id}", timeout=TIMEOUT_S)
    assert "event: error" in stream.text
    assert "is not a number" in stream.text and "Traceback" not in stream.text


def test_synthesize_with_a_negative_seed(client):
    args = [60, 360, 70, 40, 0, 0, "none", 0, 0, 0, 0, 50, -1, "diagnostic"]
    # Was numpy's ValueError ("expected non-negative integer"): the generic message.
    refused(call, client, "/synthesize", *args, match="seed -1 must be 0 or more")


# --- after all that: no output written, the server still serves --------------------------------


def test_bad_requests_write_no_output_and_leave_the_server_working(
    client, app_module, tmp_path, good_csv
):
    before = sorted(app_module.OUTPUT_ROOT.iterdir())
    header = write(tmp_path, "r.hea", HEADER)
    for paths in ([header], [write(tmp_path, "r.atr", b"")], [good_csv, header]):
        refused(analyze_files, client, paths, fs_hz=360, match="r.")
    refused(call, client, "/analyze_signal", [], 360.0, "diagnostic", match="empty")
    assert sorted(app_module.OUTPUT_ROOT.iterdir()) == before
    assert_still_serves(client, good_csv)
    report, _ = call(
        client, "/analyze_signal", np.sin(np.arange(3600) / 20).tolist(), 360.0, "realtime"
    )
    assert report["mode"] == "realtime"
    assert os.path.isdir(app_module.OUTPUT_ROOT)
