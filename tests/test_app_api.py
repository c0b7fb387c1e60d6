"""The real app on a localhost port, called through the real gradio_client, as a program would."""

from __future__ import annotations

import io
import json
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def app_url(app_module):
    """The real app, launched in this process on a free localhost port."""
    port = _free_port()
    app_module.launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True
    )
    yield f"http://127.0.0.1:{port}/"
    app_module.demo.close()


@pytest.fixture(scope="session")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False, download_files=True)


def _upload(paths):
    from gradio_client import handle_file

    return [handle_file(str(p)) for p in paths]


def _analyze_files(client, paths, fs_hz=None, lead="auto", mode="diagnostic"):
    return client.predict(_upload(paths), fs_hz, lead, mode, api_name="/analyze_files")


def test_named_endpoints_are_published(client):
    named = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/analyze_files", "/analyze_signal", "/synthesize"} <= set(named)
    # Page-internal navigation events are not part of the public API.
    assert not any("move" in name or "render" in name for name in named)


def test_mitdb_208_uploaded_as_files_matches_ecg_core(client, app_module, mitdb_dir):
    from ecg_core.aami import symbols_to_classes
    from ecg_core.io import read_record
    from ecg_core.pipeline import analyze

    paths = [mitdb_dir / f"208.{ext}" for ext in ("hea", "dat", "atr")]
    report, beats_csv, downloads = _analyze_files(client, paths)

    direct = analyze(read_record(mitdb_dir / "208"), model=app_module.get_model("diagnostic"))
    summary = report["summary"]
    for key in (
        "n_beats",
        "n_V",
        "n_S",
        "n_N",
        "v_burden_pct",
        "hr_mean_bpm",
        "noisy_spans",
        "vf_episodes",
    ):
        assert summary[key] == direct.summary[key], key
    assert report["vf_spans"] == []
    assert report["lead"] == "MLII" and report["fs"] == 360.0
    assert summary["classified_leads"] == "MLII + V1"  # the second lead is averaged in
    assert 1700 < summary["duration_s"] < 1900  # 30 min 5 s
    # The .atr was uploaded, so the reference agreement is there; our detector finds the beats.
    reference = report["reference"]
    annotations = read_record(mitdb_dir / "208").annotations
    n_reference = int((symbols_to_classes(list(annotations.symbols)) >= 0).sum())
    assert reference["n_reference_beats"] == n_reference == 2955
    assert reference["qrs"]["se"] > 0.97 and reference["qrs"]["ppv"] > 0.97
    assert np.array(reference["confusion"]["matrix"]).shape == (5, 5)

    beats = pd.read_csv(beats_csv)
    assert list(beats.columns[:4]) == ["sample", "time_s", "label", "confidence"]
    assert len(beats) == summary["n_beats"]
    np.testing.assert_array_equal(beats["sample"].to_numpy(), direct.beats["sample"].to_numpy())
    names = sorted(Path(p).name for p in downloads)
    assert names == ["208.report.html", "208.report.json"]
    by_suffix = {Path(p).suffix: Path(p) for p in downloads}
    saved = json.loads(by_suffix[".json"].read_text())
    assert saved["summary"] == report["summary"]
    html_text = by_suffix[".html"].read_text()
    assert "<html" in html_text and "Research tool, not a medical device" in html_text


def test_uploaded_csv_and_the_lead_choice(client, app_module, tmp_path):
    from ecg_core.pipeline import analyze
    from ecg_core.synthetic import synthesize, write_csv

    record = synthesize(duration_s=60, pvc_fraction=0.1, seed=21, name="csv_case")
    csv_path = write_csv(record, tmp_path / "csv_case.csv")
    report, beats_csv, _ = _analyze_files(client, [csv_path])
    direct = analyze(record, model=app_module.get_model("diagnostic"))
    assert report["fs"] == pytest.approx(360.0)
    assert report["summary"]["n_beats"] == direct.summary["n_beats"]
    assert report["reference"] is None  # a CSV carries no annotations

    # Lead choice for a multi-lead record: by name or by index.
    two_leads = tmp_path / "two_leads.csv"
    table = np.column_stack(
        [np.arange(record.n_samples) / 360.0, record.signal[:, 0], -0.5 * record.signal[:, 0]]
    )
    np.savetxt(two_leads, table, delimiter=",", header="time_s,MLII,V1", comments="", fmt="%.5f")
    assert _analyze_files(client, [two_leads])[0]["lead"] == "MLII"  # auto prefers MLII
    assert _analyze_files(client, [two_leads], lead="V1")[0]["lead"] == "V1"
    assert _analyze_files(client, [two_leads], lead="1")[0]["lead"] == "V1"
    with pytest.raises(Exception, match="V5"):
        _analyze_files(client, [two_leads], lead="V5")

    # A CSV without time column needs the rate from the form.
    bare = tmp_path / "bare.csv"
    np.savetxt(bare, record.signal[:, 0], fmt="%.5f")
    report, _, _ = _analyze_files(client, [bare], fs_hz=360)
    assert report["summary"]["n_beats"] == direct.summary["n_beats"]
    with pytest.raises(Exception, match=r"[Ss]ampling rate|fs"):
        _analyze_files(client, [bare])


def test_an_uploaded_edf_file(client, app_module, tmp_path):
    from test_edf import write_edf

    from ecg_core.pipeline import analyze
    from ecg_core.synthetic import synthesize

    record = synthesize(duration_s=60, pvc_fraction=0.1, seed=21, name="edf_case")
    edf = write_edf(
        tmp_path / "edf_case.edf",
        [record.signal[:, 0] * 1000.0, np.full(60, 97.0)],
        [360.0, 1.0],
        ["ECG", "SpO2"],
        ["uV", "%"],
    )
    report, _, _ = _analyze_files(client, [edf])
    direct = analyze(record, model=app_module.get_model("diagnostic"))
    assert report["fs"] == pytest.approx(360.0) and report["lead"] == "ECG"
    assert report["summary"]["n_beats"] == direct.summary["n_beats"]
    assert report["summary"]["n_V"] == direct.summary["n_V"] > 0


def test_analyze_signal_accepts_a_list_or_csv_text(client, app_module):
    from ecg_core.pipeline import analyze
    from ecg_core.synthetic import synthesize

    record = synthesize(duration_s=40, apc_fraction=0.1, seed=22)
    samples = np.round(record.signal[:, 0], 5)
    direct = analyze(record, model=app_module.get_model("diagnostic"))

    report, beats_text = client.predict(
        samples.tolist(), 360.0, "diagnostic", api_name="/analyze_signal"
    )
    assert report["summary"]["n_beats"] == direct.summary["n_beats"]
    beats = pd.read_csv(io.StringIO(beats_text))
    assert len(beats) == direct.summary["n_beats"]
    assert set(beats["label"]) <= set("NSVFQ")

    csv_text = "\n".join(f"{v:.5f}" for v in samples)
    report_csv, _ = client.predict(csv_text, 360.0, "realtime", api_name="/analyze_signal")
    assert report_csv["mode"] == "realtime"
    assert report_csv["summary"]["n_beats"] == pytest.approx(direct.summary["n_beats"], abs=2)


def test_synthesize_is_scored_against_its_ground_truth_and_seeded(client):
    from ecg_core.synthetic import SyntheticSettings, synthesize

    args = dict(
        duration_s=120,
        fs=250,
        heart_rate_bpm=80,
        hrv_sdnn_ms=30,
        pvc_percent=8,
        apc_percent=4,
        pattern="none",
        v_runs_per_hour=0,
        baseline_wander_mv=0.1,
        emg_noise_mv=0.02,
        powerline_mv=0.0,
        powerline_hz=50,
        seed=5,
        mode="diagnostic",
    )
    report, files = client.predict(*args.values(), api_name="/synthesize")
    truth = synthesize(
        SyntheticSettings(
            duration_s=120,
            fs=250,
            heart_rate_bpm=80,
            hrv_sdnn_ms=30,
            pvc_fraction=0.08,
            apc_fraction=0.04,
            baseline_wander_mv=0.1,
            emg_noise_mv=0.02,
            seed=5,
        )
    )
    assert report["reference"]["n_reference_beats"] == len(truth.annotations.samples)
    assert report["reference"]["qrs"]["se"] > 0.98
    assert report["fs"] == 250.0
    names = sorted(Path(p).suffix for p in files)
    assert names == [".atr", ".csv", ".csv", ".dat", ".hea"]
    again, _ = client.predict(*args.values(), api_name="/synthesize")
    assert again["summary"] == report["summary"]


def _bad_inputs(tmp_path: Path, mitdb_dir: Path) -> dict[str, list[Path]]:
    wrong = tmp_path / "scan.png"
    wrong.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 100)
    evil_header = tmp_path / "evil.hea"
    evil_header.write_text("evil 1 360 3600\n../../etc/passwd 16 200 11 0 0 0 0 MLII\n")
    text_csv = tmp_path / "words.csv"
    text_csv.write_text("hello,world\n" + "this,is\nnot,an ecg\n" * 500)
    nan_csv = tmp_path / "nans.csv"
    values = np.sin(np.arange(360 * 20) / 20.0)
    values[1000:2000] = np.nan  # a 2.8 s gap: refused, not guessed at
    nan_csv.write_text("\n".join("nan" if np.isnan(v) else f"{v:.4f}" for v in values))
    return {
        "wrong extension": [wrong],
        ".hea without .dat": [mitdb_dir / "100.hea"],
        "header naming ../../etc/passwd": [evil_header],
        "CSV of text": [text_csv],
        "NaNs": [nan_csv],
    }


def test_bad_inputs_give_a_message_and_the_server_keeps_serving(client, tmp_path, mitdb_dir):
    from gradio_client.exceptions import AppError

    good = tmp_path / "good.csv"
    np.savetxt(good, np.round(np.sin(np.arange(360 * 10) / 20.0), 4), fmt="%.4f")
    for case, paths in _bad_inputs(tmp_path, mitdb_dir).items():
        with pytest.raises(AppError) as error:
            _analyze_files(client, paths, fs_hz=360)
        message = str(error.value)
        assert len(message) > 20 and "Traceback" not in message, case
        # The next good request still succeeds.
        report, _, _ = _analyze_files(client, [good], fs_hz=360)
        assert report["duration_s"] == pytest.approx(10.0), case

    with pytest.raises(AppError, match="passwd|plain file name|not"):
        _analyze_files(client, _bad_inputs(tmp_path, mitdb_dir)["header naming ../../etc/passwd"])
    with pytest.raises(AppError, match="number"):
        client.predict(["a", "b"], 360.0, "diagnostic", api_name="/analyze_signal")
    with pytest.raises(AppError, match="[Ss]ampling rate"):
        client.predict([0.0] * 5000, 3.0, "diagnostic", api_name="/analyze_signal")
    with pytest.raises(AppError, match="pvc_fraction"):  # 30% PVCs + 30% APCs: too many
        client.predict(
            60, 360, 70, 40, 30, 30, "none", 0, 0, 0, 0, 50, 1, "diagnostic", api_name="/synthesize"
        )
    with pytest.raises(AppError, match="minimum"):  # the form's own bounds hold for the API
        client.predict(
            60, 360, 20, 40, 0, 0, "none", 0, 0, 0, 0, 50, 1, "diagnostic", api_name="/synthesize"
        )


def test_limits_have_clear_messages(app_module):
    from ecg_core.errors import ECGInputError
    from ecg_core.record import Record

    over_24h = Record(signal=np.zeros((int(50 * (86400 + 60)), 1)), fs=50.0, lead_names=["II"])
    with pytest.raises(ECGInputError, match="at most 24 h"):
        app_module._check_duration(over_24h)
    assert app_module.MAX_REQUEST_BYTES == 200_000_000
    assert app_module.demo._queue.default_concurrency_limit >= 1


def test_figures_stay_small_for_a_24_hour_record():
    """The page stays responsive for a Holter: never millions of points in a figure."""
    from ecg_core import plots

    fs = 360.0
    n = int(24 * 3600 * fs)
    signal = np.zeros(n, dtype=np.float32)
    r_peaks = np.arange(int(0.5 * fs), n, int(0.8 * fs))
    signal[r_peaks] = 1.0
    labels = np.where(np.arange(r_peaks.size) % 10 == 3, "V", "N")
    beats = pd.DataFrame(
        {"sample": r_peaks, "time_s": r_peaks / fs, "label": labels, "confidence": 0.9}
    )
    overview = plots.ecg_overview_figure(signal, fs, beats, window=(3600, 3630))
    n_points = sum(len(trace.x) for trace in overview.data)
    assert n_points <= plots.OVERVIEW_POINTS + plots.MAX_OVERVIEW_MARKERS
    assert max(overview.data[0].y) == 1.0  # min/max decimation keeps every spike
    window = plots.ecg_window_figure(signal, fs, beats, start_s=3600, duration_s=600)
    assert len(window.data[0].x) == int(plots.MAX_WINDOW_S * fs)  # capped at 60 s
    marked = {trace.name: len(trace.x) for trace in window.data[1:]}
    shown = beats[(beats.time_s >= 3600) & (beats.time_s < 3660)]
    expected = shown["label"].value_counts()
    assert marked == {plots.CLASS_NAMES[k]: int(v) for k, v in expected.items()}
    v_trace = next(t for t in window.data if t.name == plots.CLASS_NAMES["V"])
    assert v_trace.marker.color == plots.CLASS_COLOURS["V"]
    later_v = shown[shown.label == "V"].time_s
    assert plots.next_beat_time(beats, 3600.0, "V") == pytest.approx(later_v.iloc[0])


def test_model_card_reads_the_checkpoints_metrics(app_module, tmp_path, monkeypatch):
    evaluation = {
        "database": "mitdb",
        "records": ["100", "103"],
        "beats": "reference",
        "mode": "diagnostic",
        "classes": {
            c: {"se": se, "ppv": se, "n": 10}
            for c, se in zip("NSVFQ", [0.9, 0.5, 0.87, 0.1, None], strict=True)
        },
        "accuracy": 0.9,
        "confusion": {"labels": list("NSVFQ"), "matrix": np.eye(5, dtype=int).tolist()},
    }
    (tmp_path / "diagnostic").mkdir()
    (tmp_path / "diagnostic" / "metrics.json").write_text(json.dumps({"DS2": evaluation}))
    monkeypatch.setattr(app_module, "CHECKPOINTS_DIR", tmp_path)
    card = app_module.model_card_markdown()
    assert "### `diagnostic`" in card and "87.00" in card  # V Se in %
    assert "not a medical device" in card.lower() and "PhysioNet" in card
    assert "diagnostic" in app_module.models_in_use()
    # the adaptation cross-validation (results/adaptation/*.json) is in the card too
    assert "Adapting the diagnostic model" in card
    cv = json.loads(
        (app_module.APP_DIR / "results/adaptation/cv_2000_seed0_5_folds.json").read_text()
    )
    v = cv["adapted_heldout"]["classes"]["V"]
    assert f"{100 * v['se']:.2f} / {100 * v['ppv']:.2f}" in card
    # ... end to end on held-out records as the app runs, in both forms the run scored
    rows = [
        line for line in card.splitlines() if line.startswith("|") and "seed 0, 5 folds" in line
    ]
    for row, key in zip(rows, ["adapted_heldout", "n_s_only_heldout"], strict=True):
        v = cv[f"{key}_end_to_end"]["V"]
        assert f"→ {v['se']:.2f} / {v['ppv']:.2f}" in row and "| 2 |" in row
    assert "N/S only" in rows[1] and "N/S only" not in rows[0]


def test_flutter_is_shown_first_in_tiles_plots_and_html_report(app_module, mitdb_dir, tmp_path):
    from ecg_core.html_report import build_html_report
    from ecg_core.io import read_record
    from ecg_core.plots import VF_FILL
    from ecg_core.record import Record

    full = read_record(mitdb_dir / "207")  # flutter from 40.7 s to 51.0 s in 207.atr
    record = Record(full.signal[: 90 * 360], 360.0, full.lead_names, "207-90s")
    report, session = app_module._run_analysis(record, "diagnostic", app_module.AUTO_LEAD)
    assert report.vf_spans and report.summary["vf_episodes"] == len(report.vf_spans)
    views = app_module.render_views(session, 20.0)
    headline, tiles, overview, window = views[:4]
    assert "Ventricular flutter/fibrillation" in headline
    assert tiles.index('class="tile vf"') < tiles.index("duration")
    vf_start = report.vf_spans[0][0]
    for fig, scale in ((overview, 60.0), (window, 1.0)):
        bands = [s for s in fig.layout.shapes if s.fillcolor == VF_FILL[0]]
        assert bands and bands[0].x0 == pytest.approx(vf_start / scale)
    page = build_html_report(report, include_plotlyjs=False)
    assert page.index("Ventricular flutter / fibrillation") < page.index("Runs and patterns")


def test_atrial_fibrillation_is_shaded_and_summarised(app_module, mitdb_dir):
    from ecg_core.io import read_record
    from ecg_core.plots import AF_FILL

    record = read_record(mitdb_dir / "201")  # atrial fibrillation episodes in 201.atr
    report, session = app_module._run_analysis(record, "diagnostic", app_module.AUTO_LEAD)
    assert report.af_spans and report.summary["af_episodes"] == len(report.af_spans)
    headline, _, overview = app_module.render_views(session, 20.0)[:3]
    assert "Atrial fibrillation" in headline
    bands = [s for s in overview.layout.shapes if s.fillcolor == AF_FILL[0]]
    assert len(bands) == len(report.af_spans)
    assert bands[0].x0 == pytest.approx(report.af_spans[0][0] / 60.0)
    from ecg_core.html_report import build_html_report

    page = build_html_report(report, include_plotlyjs=False)
    assert "AF burden · episodes" in page
    assert page.index("<h2>Atrial fibrillation</h2>") < page.index("Runs and patterns")


def test_the_header_names_the_classified_leads(app_module, mitdb_dir):
    from ecg_core.io import read_record
    from ecg_core.pipeline import analyze
    from ecg_core.record import Record

    full = read_record(mitdb_dir / "208")
    short = Record(full.signal[: 30 * 360], 360.0, full.lead_names, "208-30s")
    model = app_module.get_model("diagnostic")
    two = analyze(short, model=model)
    assert app_module._leads_text(two) == "MLII (beats labelled on MLII + V1)"
    assert app_module._leads_text(analyze(short, model=model, second_lead=False)) == "MLII"


def test_an_upload_is_read_as_the_leads_the_analysis_uses(app_module, twelve_lead_record, tmp_path):
    """Of a 12-lead upload the app holds the analysed lead and its companion only, the lead
    menu still lists every lead, and the labels equal those of the whole record."""
    from conftest import TWELVE_LEADS

    from ecg_core.io import read_record
    from ecg_core.leads import read_analysis_leads
    from ecg_core.pipeline import analyze

    names = TWELVE_LEADS
    twelve_lead_record(tmp_path, 60)
    files = [str(tmp_path / "h12.hea"), str(tmp_path / "h12.dat")]
    whole = read_record(tmp_path / "h12")
    model = app_module.get_model("diagnostic")
    for lead, expected, classified in [("auto", "II", "II + V1"), ("10", "V5", "V5 + V1")]:
        record, chosen, all_names = read_analysis_leads(files, app_module._lead_arg(lead))
        assert all_names == names and record.n_leads == 2 and record.lead_names[0] == expected
        assert chosen == (None if lead == "auto" else 0)
        report, session = app_module._run_analysis(record, "diagnostic", chosen, None, all_names)
        assert report.lead_name == expected and report.summary["classified_leads"] == classified
        assert session.lead_names == names
        direct = analyze(whole, model=model, lead=None if lead == "auto" else expected)
        assert report.beats["label"].tolist() == direct.beats["label"].tolist()
