"""ECG Arrhythmia Detector: the Gradio app (a Hugging Face Space). Thin: UI wiring only.

Every event calls one ``ecg_core`` entry point (read_record, analyze, synthesize) and the
plot/report builders; no signal processing here. Named API endpoints (gradio_client):
``/analyze_files``, ``/analyze_signal``, ``/synthesize`` (see README).

Environment variables:
- ``ECG_MODEL_LOCATION``: the diagnostic model (a shipped name, a folder or hf://OWNER/NAME[@REV]);
  ``ECG_REALTIME_MODEL_LOCATION`` likewise for the real-time model. Default: ``checkpoints/``.
- ``ECG_MCP_SERVER=1``: also serve the endpoints as MCP tools (needs ``gradio[mcp]``).
- ``ECG_CONCURRENCY``: analyses run at once (default 1: torch already uses both cores of a
  2-core Space, so a second one would only slow the first down).
- ``GRADIO_SERVER_NAME`` / ``GRADIO_SERVER_PORT``: where to listen (Gradio's own variables).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd

from ecg_core import plots, synthetic
from ecg_core.errors import ECGInputError
from ecg_core.html_report import reference_html, tiles_html, write_html_report
from ecg_core.io import read_record
from ecg_core.leads import read_analysis_leads
from ecg_core.pipeline import Report, analyze
from ecg_core.preprocessing import validate_fs
from ecg_core.record import Record

logger = logging.getLogger("ecg_app")

APP_DIR = Path(__file__).resolve().parent
EXAMPLES_DIR = APP_DIR / "examples"
CHECKPOINTS_DIR = APP_DIR / "checkpoints"
MAX_SIGNAL_S = 24 * 3600.0
MAX_REQUEST_BYTES = 200_000_000
CONCURRENCY = int(os.environ.get("ECG_CONCURRENCY", "1"))
MODES = ("diagnostic", "realtime")
MODEL_ENV = {"diagnostic": "ECG_MODEL_LOCATION", "realtime": "ECG_REALTIME_MODEL_LOCATION"}
AUTO_LEAD = "auto"
#: A session keeps its analysed lead (up to ~125 MB for 24 h) this long after its last use;
#: Gradio also drops it when the tab closes.
SESSION_TTL_S = 2 * 3600

# --------------------------------------------------------------------------- models


_models: dict[str, object] = {}
_model_messages: dict[str, str] = {}
_model_lock = threading.Lock()


def get_model(mode: str):
    """The loaded model for ``mode`` (loaded once, shared by all sessions)."""
    if mode not in MODES:
        raise ECGInputError(f"Mode {mode!r} is not one of {', '.join(MODES)}.")
    with _model_lock:
        if mode not in _models:
            import torch

            from ecg_core.hub import load_model_with_fallback

            torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
            location = os.environ.get(MODEL_ENV[mode]) or mode
            model, message = load_model_with_fallback(location, default=mode)
            _models[mode], _model_messages[mode] = model, message
            logger.info(message)
        return _models[mode]


# --------------------------------------------------------------------------- analysis


@dataclass
class Session:
    """What the page keeps between events: the analysed lead and its report."""

    signal: np.ndarray  # the analysed lead, float32
    fs: float
    report: Report
    lead_names: list[str]


def _user_error(error: Exception) -> gr.Error:
    return gr.Error(str(error), title="Cannot analyse this input", print_exception=False)


def _lead_arg(lead: str | int | float | None) -> str | int | None:
    if lead is None or str(lead).strip() in ("", AUTO_LEAD):
        return None
    text = str(lead).strip()
    # A lead number is ASCII digits ('2', or '2.0' from a number field); anything else, '1.5'
    # or '²' included, is a lead name, refused by name if the record has no such lead.
    whole = re.fullmatch(r"([0-9]+)(\.0*)?", text)
    return int(whole.group(1)) if whole else text


def _check_duration(record: Record) -> None:
    if record.duration_s > MAX_SIGNAL_S:
        raise ECGInputError(
            f"The record lasts {record.duration_s / 3600:.1f} h; this app analyses at most "
            f"{MAX_SIGNAL_S / 3600:.0f} h of signal per request. Cut it into shorter pieces."
        )


def _leads_text(report: Report) -> str:
    """'MLII', or 'MLII (beats labelled on MLII + V1)' when a second lead was classified."""
    classified = str(report.summary.get("classified_leads", report.lead_name))
    if classified == report.lead_name:
        return report.lead_name
    return f"{report.lead_name} (beats labelled on {classified})"


def _run_analysis(
    record: Record, mode: str, lead, progress=None, lead_names: list[str] | None = None
) -> tuple[Report, Session]:
    """Analyse ``record``; ``lead_names``: all of the upload's leads, for the lead menu, when
    ``record`` holds only some of them (:func:`ecg_core.leads.read_analysis_leads`)."""
    _check_duration(record)
    model = get_model(mode)
    report = analyze(record, mode=mode, model=model, lead=_lead_arg(lead), progress=progress)
    session = Session(
        signal=np.asarray(record.signal[:, report.lead_index], dtype=np.float32),
        fs=float(record.fs),
        report=report,
        lead_names=list(lead_names or record.lead_names),
    )
    return report, session


OUTPUT_ROOT = Path(tempfile.mkdtemp(prefix="ecg_app_outputs_"))
OUTPUT_MAX_AGE_S = 3600.0


def _fresh_output_dir(prefix: str) -> Path:
    """A new folder for one request's files. Gradio serves copies from its own cache
    (cleaned by ``delete_cache``), so folders older than an hour are removed here: a
    long-running Space must not fill its disk with 5 MB HTML reports."""
    now = time.time()
    for old in OUTPUT_ROOT.iterdir():
        if now - old.stat().st_mtime > OUTPUT_MAX_AGE_S:
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=OUTPUT_ROOT))


def _write_outputs(report: Report) -> tuple[str, list[str]]:
    """Beat table CSV, report JSON and the printable HTML report in a fresh folder."""
    folder = _fresh_output_dir("report_")
    name = report.name or "record"
    beats_csv = folder / f"{name}.beats.csv"
    report.beats_csv(beats_csv)
    report_json = folder / f"{name}.report.json"
    report.to_json(report_json)
    report_html = write_html_report(report, folder / f"{name}.report.html")
    return str(beats_csv), [str(report_json), str(report_html)]


def _progress_fn(progress: gr.Progress):
    return lambda fraction, message: progress(fraction, desc=message)


def analyze_files(
    files: list[str] | None,
    fs_hz: float | None,
    lead: str,
    mode: str,
    progress=gr.Progress(),  # noqa: B008 (Gradio injects progress through this default)
):
    """Analyse an uploaded record: a WFDB record's files (.hea + .dat, optionally .atr) or one CSV.

    Args:
        files: the uploaded files of ONE record.
        fs_hz: sampling rate in Hz, only needed for a CSV without a time column (0 or empty = from the file).
        lead: lead name or index to analyse ("auto" picks MLII / II / the first lead).
        mode: "diagnostic" (looks at the whole record) or "realtime" (causal, beat by beat).

    Returns:
        The report (summary, runs, hourly table, HR trend, noisy spans, reference agreement),
        the beat table as CSV, and the downloads (report JSON, printable HTML report).
    """
    try:
        paths = [
            getattr(f, "path", None) or getattr(f, "name", None) or str(f) for f in files or []
        ]
        if not paths:
            raise ECGInputError(
                "No file was uploaded. Upload a WFDB record (.hea + .dat, optionally .atr), a CSV or an EDF file."
            )
        total_bytes = sum(Path(p).stat().st_size for p in paths)
        if total_bytes > MAX_REQUEST_BYTES:
            raise ECGInputError(
                f"The upload is {total_bytes / 1e6:.0f} MB; at most "
                f"{MAX_REQUEST_BYTES / 1e6:.0f} MB per request. Cut the record into shorter pieces."
            )
        progress(0.0, desc="Reading the record")
        # Only the leads the analysis reads (a 12-lead upload is 6x smaller in memory); the
        # lead menu still lists them all.
        record, chosen, lead_names = read_analysis_leads(
            [str(p) for p in paths], _lead_arg(lead), fs=fs_hz or None, max_bytes=MAX_REQUEST_BYTES
        )
        report, session = _run_analysis(record, mode, chosen, _progress_fn(progress), lead_names)
    except ECGInputError as error:
        raise _user_error(error) from None
    beats_csv, downloads = _write_outputs(report)
    return report.to_dict(), beats_csv, downloads, session


def analyze_signal(
    signal: list[float] | str, fs_hz: float, mode: str = "diagnostic"
) -> tuple[dict, str]:
    """Analyse one lead given as numbers: a list of samples, or CSV text (one sample per line,
    or columns with an optional time_s column and a header).

    Args:
        signal: samples in mV as a list of numbers, or CSV text.
        fs_hz: sampling rate in Hz (ignored when the CSV has a time column).
        mode: "diagnostic" or "realtime".

    Returns:
        The report as a dict and the beat table as CSV text (sample, time_s, label, confidence, p_N..p_Q, noisy, af, svt_run, model_label; label is Q inside noisy spans).
    """
    try:
        if isinstance(signal, str):
            if len(signal.encode("utf-8", "ignore")) > MAX_REQUEST_BYTES:
                raise ECGInputError(f"The CSV text is over {MAX_REQUEST_BYTES / 1e6:.0f} MB.")
            if not signal.strip():
                raise ECGInputError("The CSV text is empty: give one sample per line.")
            with tempfile.TemporaryDirectory(prefix="ecg_signal_") as folder:
                path = Path(folder) / "signal.csv"
                # JSON can carry lone surrogates, which UTF-8 cannot store: written as '?',
                # they are then refused as "not a number" like any other stray character.
                path.write_text(signal, encoding="utf-8", errors="replace")
                record = read_record(str(path), fs=fs_hz or None)
        else:
            record = _record_from_samples(signal, fs_hz)
        report, _ = _run_analysis(record, mode, None)
    except ECGInputError as error:
        raise _user_error(error) from None
    return report.to_dict(), report.beats_csv()


def _record_from_samples(samples, fs_hz) -> Record:
    """A list of numbers through the same validation as a CSV file (io.read_record)."""
    try:
        values = np.asarray(samples, dtype=np.float64)
    except (TypeError, ValueError):
        raise ECGInputError("The signal must be a list of numbers (or CSV text).") from None
    if sum(size > 1 for size in values.shape) > 1:  # flattening would interleave the leads
        raise ECGInputError(
            f"The signal is a {' x '.join(map(str, values.shape))} table; give one lead as a "
            "flat list of numbers (or CSV text with one column per lead)."
        )
    values = values.reshape(-1)
    if not values.size:
        raise ECGInputError("The signal is an empty list: give the samples as numbers.")
    if not fs_hz:
        raise ECGInputError("Give the sampling rate fs_hz for a list of samples.")
    fs_hz = validate_fs(fs_hz)  # before the length check, which divides by it
    if values.size > MAX_SIGNAL_S * fs_hz + 1:
        raise ECGInputError(
            f"{values.size} samples at {fs_hz:g} Hz is over {MAX_SIGNAL_S / 3600:.0f} h of signal."
        )
    with tempfile.TemporaryDirectory(prefix="ecg_signal_") as folder:
        path = Path(folder) / "signal.csv"
        np.savetxt(path, values, fmt="%.6g")
        return read_record(str(path), fs=fs_hz)


SYNTH_FIELDS = (
    "duration_s",
    "fs",
    "heart_rate_bpm",
    "hrv_sdnn_ms",
    "pvc_percent",
    "apc_percent",
    "pattern",
    "v_runs_per_hour",
    "baseline_wander_mv",
    "emg_noise_mv",
    "powerline_mv",
    "powerline_hz",
    "seed",
)


def synthesize(
    duration_s: float,
    fs: float,
    heart_rate_bpm: float,
    hrv_sdnn_ms: float,
    pvc_percent: float,
    apc_percent: float,
    pattern: str,
    v_runs_per_hour: float,
    baseline_wander_mv: float,
    emg_noise_mv: float,
    powerline_mv: float,
    powerline_hz: float,
    seed: int,
    mode: str,
    progress=gr.Progress(),  # noqa: B008 (Gradio injects progress through this default)
):
    """Generate a synthetic ECG with known beats, analyse it and score it against its ground truth.

    Returns:
        The report (its "reference" part is the agreement with the generator's ground truth)
        and the record's files (CSV, WFDB .hea/.dat/.atr, ground-truth CSV).
    """
    try:
        progress(0.0, desc="Generating the ECG")
        settings = synthetic.SyntheticSettings(
            duration_s=float(duration_s),
            fs=float(fs),
            heart_rate_bpm=float(heart_rate_bpm),
            hrv_sdnn_ms=float(hrv_sdnn_ms),
            pvc_fraction=float(pvc_percent) / 100.0,
            apc_fraction=float(apc_percent) / 100.0,
            pattern=str(pattern),
            v_runs_per_hour=float(v_runs_per_hour),
            baseline_wander_mv=float(baseline_wander_mv),
            emg_noise_mv=float(emg_noise_mv),
            powerline_mv=float(powerline_mv),
            powerline_hz=float(powerline_hz),
            seed=int(seed),
            name=f"synthetic_{int(seed)}",
        )
        record = synthetic.synthesize(settings)
        report, session = _run_analysis(record, mode, None, _progress_fn(progress))
    except ECGInputError as error:
        raise _user_error(error) from None
    folder = _fresh_output_dir("synthetic_")
    files = [
        synthetic.write_csv(record, folder / f"{record.name}.csv"),
        *synthetic.write_wfdb(record, folder),
        synthetic.write_annotations_csv(record, folder / f"{record.name}.truth.csv"),
    ]
    return report.to_dict(), [str(p) for p in files], session


# --------------------------------------------------------------------------- views


def _empty_figure(text: str):
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_annotation(text=text, showarrow=False, font=dict(size=14, color="#888"))
    fig.update_layout(
        template="plotly_white", height=200, xaxis=dict(visible=False), yaxis=dict(visible=False)
    )
    return fig


def _beat_view(session: Session, index: int):
    beats = session.report.beats
    if not len(beats):
        return _empty_figure("No beats found."), "No beats."
    index = int(np.clip(int(index or 0), 0, len(beats) - 1))
    row = beats.iloc[index]
    attention = session.report.attention
    probs = {c: float(row[f"p_{c}"]) for c in ("N", "S", "V", "F", "Q")}
    noisy, confidence = bool(row["noisy"]), f"{row['confidence']:.0%}"
    # inside a noisy span the beat table says Q; the network's reading is shown beside it
    shown = (
        f"Q (network: {row['model_label']} {confidence})"
        if noisy
        else f"{row['label']} ({confidence})"
    )
    fig = plots.beat_attention_figure(
        session.signal,
        session.fs,
        int(row["sample"]),
        attention[index] if attention.ndim == 2 and len(attention) > index else None,
        session.report.attention_times_s(),
        probs,
        str(row["model_label"]),
        title=f"Beat {index} at {row['time_s']:.2f} s: {shown}",
    )
    network = f"{row['model_label']} ({plots.CLASS_NAMES[row['model_label']]})"
    if noisy:
        verdict = (
            "labelled **Q**: inside a noisy span, so neither trusted nor counted (the network "
            f"read {network} with confidence {confidence})."
        )
    else:
        verdict = f"labelled **{network}** with confidence {confidence}."
    note = (
        f"Beat **{index}** of {len(beats)} at {row['time_s']:.2f} s, {verdict}"
        " Shaded: where the model looked (attention, relative)."
    )
    return fig, note


def _window_start(start_s: float, length_s: float, duration_s: float) -> float:
    """Whole seconds (the slider's step), kept inside the record."""
    limit = max(float(duration_s) - float(length_s), 0.0)
    return float(np.floor(np.clip(float(start_s), 0.0, limit)))


def _window_view(session: Session, start_s: float, length_s: float, beat_index: int | None):
    beats = session.report.beats
    selected = None
    if beat_index is not None and len(beats):
        selected = int(beats.iloc[int(np.clip(beat_index, 0, len(beats) - 1))]["sample"])
    return plots.ecg_window_figure(
        session.signal,
        session.fs,
        beats,
        start_s=float(start_s),
        duration_s=float(length_s),
        noisy_spans=session.report.noisy_spans,
        selected_sample=selected,
        visible_s=min(10.0, float(length_s)),
        vf_spans=session.report.vf_spans,
        af_spans=session.report.af_spans,
    )


def render_views(session: Session | None, length_s: float):
    """Everything shown after an analysis (the page's own follow-up event)."""
    if session is None:
        raise gr.Error("Analyse a record first.", print_exception=False)
    report = session.report
    beats = report.beats
    first = 0
    ectopic = np.flatnonzero(beats["label"].isin(["V", "S"]).to_numpy()) if len(beats) else []
    if len(ectopic):
        first = int(ectopic[0])
    centre_s = float(beats.iloc[first]["time_s"]) if len(beats) else 0.0
    if report.vf_spans:  # a critical finding: open the strip on the first VF episode
        centre_s = float(report.vf_spans[0][0])
    start_s = _window_start(centre_s - 2.0, length_s, report.duration_s)
    beat_fig, beat_note = _beat_view(session, first)
    reference = report.reference
    confusion = (reference or {}).get("confusion") or {}
    runs = report.runs
    runs_table = (
        runs[["kind", "start_s", "end_s", "n_beats", "rate_bpm", "noisy"]].round(2)
        if len(runs)
        else pd.DataFrame({"kind": ["no runs found"]})
    )
    lead_choices = [AUTO_LEAD, *session.lead_names]
    return (
        f"**{report.name}** · lead {_leads_text(report)} · {report.fs:g} Hz · "
        f"{report.model_name} model ({report.mode})\n\n{report.summary.get('message', '')}",
        tiles_html(report.summary),
        plots.ecg_overview_figure(
            session.signal,
            session.fs,
            beats,
            report.noisy_spans,
            window=(start_s, start_s + float(length_s)),
            vf_spans=report.vf_spans,
            af_spans=report.af_spans,
        ),
        _window_view(session, start_s, length_s, first),
        gr.Slider(minimum=0, maximum=max(int(report.duration_s) - 1, 1), value=start_s, step=1),
        gr.Number(value=first, maximum=max(len(beats) - 1, 0)),
        beat_fig,
        beat_note,
        plots.hourly_burden_figure(report.hourly),
        plots.hr_trend_figure(report.hr_trend, report.hourly),
        runs_table,
        gr.HTML(value=reference_html(reference), visible=bool(reference)),
        gr.Plot(
            value=plots.confusion_figure(confusion.get("matrix"), confusion.get("labels"))
            if reference
            else None,
            visible=bool(reference),
        ),
        gr.Dropdown(choices=lead_choices),
    )


def move_window(session: Session | None, start_s: float, length_s: float, step: float, beat_index):
    if session is None:
        raise gr.Error("Analyse a record first.", print_exception=False)
    start_s = _window_start(
        float(start_s) + step * float(length_s), length_s, session.report.duration_s
    )
    return start_s, _window_view(session, start_s, length_s, beat_index)


def jump_to_next(session: Session | None, label: str, beat_index, length_s: float):
    """Select the next beat of class ``label`` and centre the window on it."""
    if session is None:
        raise gr.Error("Analyse a record first.", print_exception=False)
    beats = session.report.beats
    current_s = float(beats.iloc[int(beat_index or 0)]["time_s"]) if len(beats) else 0.0
    found_s = plots.next_beat_time(beats, current_s, label)
    if found_s is None:
        gr.Info(f"No {label} beats in this record.")
        index = int(beat_index or 0)
    else:
        index = int(np.flatnonzero(beats["time_s"].to_numpy() == found_s)[0])
    centre_s = float(beats.iloc[index]["time_s"]) if len(beats) else 0.0
    start_s = _window_start(centre_s - 2.0, length_s, session.report.duration_s)
    beat_fig, note = _beat_view(session, index)
    return index, start_s, _window_view(session, start_s, length_s, index), beat_fig, note


def show_beat(session: Session | None, beat_index, length_s: float):
    if session is None:
        raise gr.Error("Analyse a record first.", print_exception=False)
    beats = session.report.beats
    index = int(np.clip(int(beat_index or 0), 0, max(len(beats) - 1, 0)))
    centre_s = float(beats.iloc[index]["time_s"]) if len(beats) else 0.0
    start_s = _window_start(centre_s - 2.0, length_s, session.report.duration_s)
    beat_fig, note = _beat_view(session, index)
    return start_s, _window_view(session, start_s, length_s, index), beat_fig, note


def show_run(session: Session | None, length_s: float, event: gr.SelectData):
    """A click on a row of the runs table: show that run and its first beat."""
    if session is None or not len(session.report.runs):
        raise gr.Error("No runs to show.", print_exception=False)
    row = int(event.index[0]) if isinstance(event.index, (list, tuple)) else int(event.index)
    run = session.report.runs.iloc[int(np.clip(row, 0, len(session.report.runs) - 1))]
    index = int(run["start_beat"])
    start_s, window, beat_fig, note = show_beat(session, index, length_s)
    return index, start_s, window, beat_fig, note


# --------------------------------------------------------------------------- model card


def models_in_use() -> str:
    """Which model each mode uses (and why, after a fallback from the Hub)."""
    lines = []
    for mode in MODES:
        location = os.environ.get(MODEL_ENV[mode]) or f"checkpoints/{mode}"
        status = _model_messages.get(mode, "not loaded yet (loads on first use)")
        lines.append(f"- **{mode}**: `{location}` ({MODEL_ENV[mode]}) — {status}")
    return "## Models in use\n\n" + "\n".join(lines)


def model_card_markdown() -> str:
    from ecg_core.model_card import adaptation_markdown_table, metrics_markdown_table

    sections = []
    for metrics_path in sorted(CHECKPOINTS_DIR.glob("*/metrics.json")):
        try:
            metrics = json.loads(metrics_path.read_text())
            table = metrics_markdown_table(metrics)
        except (ValueError, KeyError, TypeError) as error:
            table = f"(could not read {metrics_path.name}: {error})"
        sections.append(f"### `{metrics_path.parent.name}`\n\n{table}")
    metrics_text = "\n\n".join(sections) or (
        "_No `checkpoints/*/metrics.json` yet: the models' figures appear here once evaluated._"
    )
    cross_path = APP_DIR / "results" / "cross_database.json"
    cross_text = (
        json.loads(cross_path.read_text()).get("markdown", "")
        if cross_path.exists()
        else "_Not measured yet (`python scripts/cross_database.py`)._"
    )
    cv_paths = sorted((APP_DIR / "results" / "adaptation").glob("*.json"))
    adaptation_text = (
        adaptation_markdown_table(cv_paths)
        if cv_paths
        else "_Not measured yet (`python scripts/adapt.py --cv-folds 5 ...`)._"
    )
    return f"""
## Shipped models

Values in % (Se = sensitivity, +P = positive predictivity).

{metrics_text}

## Other recorders and noise

The same models, unchanged, on data they were not trained on: a subset of the MIT-BIH
Supraventricular Arrhythmia Database (another recorder, 128 Hz; zero-shot) and the Noise
Stress Test Database (MIT-BIH records 118 and 119 with electrode-motion noise at each SNR; these
two patients are in the training database, so this measures noise, not new patients).

{cross_text}

## Adapting the diagnostic model to the SVDB recorder

The diagnostic model in use, fine-tuned on some SVDB records (all layers, 2000 steps, every
labelled beat, half of each batch from MIT-BIH DS1) and scored on the others: cross-validation
by record, three runs (seeds 0 and 1 with 5 folds, seed 2 with 4), as zero-shot → adapted: the
network's own labels on the annotated beats of one lead, and end to end as this app runs (two
leads, its own detections; the figure that matters). Each run is scored in two forms: the
adapted network alone, and the adapted network deciding only between N and S while the model
in use keeps its V, F and Q calls. No adapted model is shipped: the N/S-only form, written down
with its bar before it ran, gained 3.7–4.4 points of S F1 end to end and kept V within 0.3
points, but in the 4-fold run its S Se fell 1.2 points (the bar allowed 1.0). The adapted
network alone gains 4.7–5.1 points of S F1 and loses 0.4–1.9 of V F1. Earlier runs (other
methods and the SVT rule before: the README; the model before: results/README.md).

{adaptation_text}

## How the figures were measured

- **Data**: the MIT-BIH Arrhythmia Database (48 half-hour two-lead records, 360 Hz); training
  uses both leads and random mixtures of them, so that other leads and recorders read alike.
  Each shipped model is one network distilled from an ensemble of three (three training seeds),
  which transfers to other recorders more steadily than any one seed.
- **Inter-patient split** (de Chazal et al. 2004): the model is trained on the 22 records of DS1
  and tested on 22 *other patients* (DS2); the paced records 102, 104, 107, 217 are left out.
  No patient is in both. (Random splits over beats mix the same patients into training and
  test and report 97–99% accuracy; such figures are not comparable and are not ours.)
- **Classes** (AAMI EC57): N normal and bundle-branch beats, S supraventricular ectopic,
  V ventricular ectopic, F fusion, Q unclassifiable (the models also label Q what looks like
  an artefact taken for a beat: a T wave or a noise spike).
- **Two settings**: beats at the reference R positions (the classifier alone), and end to end
  with our own QRS detector (a detection matches a reference beat within 150 ms; misses and
  false beats count as errors).
- **Modes**: *real-time* sees only the past (causal filters, past beats only, no look-ahead);
  *diagnostic* also sees the next beat and a beat template centred on the current beat.
- **Two leads**: beats are found on the analysed lead; where the record has a second lead
  (V1 preferred, as in MIT-BIH), each beat's class probabilities are the mean of both leads'
  (a lead counts only where it is not noisy). An ectopic beat rarely looks normal in both.
- **Atrial fibrillation**: stretches of irregularly irregular rhythm (≥ 60 beats, from the RR
  intervals) are reported as AF episodes, and no beat inside them is labelled S.
- **Heart rate and pauses** come from the detected beats; a detection labelled Q that splits
  an RR interval (a T wave, a noise spike) is skipped, so it neither raises the rate nor
  hides a pause.
- **SVT runs** (diagnostic mode): the beats that continue a fast regular run whose premature
  onset the model saw are labelled S with it, as a Holter reader counts a supraventricular
  tachycardia; a PVC inside the run does not end it.

## Limitations

- **Research tool, not a medical device.** Not for diagnosis or treatment decisions.
- Trained on 22 patients from one database recorded in the 1970s–80s (Holter tapes, 360 Hz):
  other devices, leads, sampling rates and populations are a *domain shift*; expect lower
  accuracy, especially for S beats. F and Q are rare and poorly learnt.
- Noise: parts judged too noisy are marked and left out of counts, but noise can still cause
  false beats and wrong labels, and a stretch of real beats can be judged noisy (a run of
  alike beats, such as ventricular tachycardia, is kept; check the noisy spans on the strip).
  Pacemaker rhythms are not supported.
- Synthetic ECGs from the second tab are a smoke test, not a validation.

## Data attribution

MIT-BIH Arrhythmia Database, MIT-BIH Noise Stress Test Database and MIT-BIH Supraventricular
Arrhythmia Database from [PhysioNet](https://physionet.org) (Open Data Commons Attribution
License v1.0). Goldberger A. et al., *Circulation* 101(23):e215–e220 (2000); Moody G.B.,
Mark R.G., *IEEE EMB Magazine* 20(3):45–50 (2001). No PhysioNet file is part of this app;
the examples are generated by its own synthetic ECG model.
"""


# --------------------------------------------------------------------------- examples


def example_rows() -> list[list]:
    """Committed example records (generated by examples/make_examples.py): [files, mode]."""
    rows = []
    for header in sorted(EXAMPLES_DIR.glob("*.hea")):
        files = [str(header), str(header.with_suffix(".dat"))]
        if header.with_suffix(".atr").exists():
            files.append(str(header.with_suffix(".atr")))
        rows.append([files, "diagnostic"])
    return rows


# --------------------------------------------------------------------------- the page

CSS = """
.tiles { display: flex; flex-wrap: wrap; gap: 8px; }
.tile { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 6px 14px;
        min-width: 130px; background: var(--block-background-fill); }
.tile b { display: block; font-size: 22px; } .tile span { opacity: 0.7; font-size: 12px; }
.tile.v b { color: #E45756; } .tile.s b { color: #F58518; }
.tile.vf { border: 2px solid #B00020; background: #fff0f0; } .tile.vf b { color: #B00020; }
"""


def result_panel(prefix: str) -> dict:
    """The components that show one analysis (used by both tabs)."""
    c: dict = {}
    c["headline"] = gr.Markdown()
    c["tiles"] = gr.HTML()
    c["overview"] = gr.Plot(label="Whole record", elem_id=f"{prefix}-overview")
    with gr.Row():
        c["earlier"] = gr.Button("◀ earlier", size="sm", scale=0)
        c["later"] = gr.Button("later ▶", size="sm", scale=0)
        c["next_v"] = gr.Button("next V beat ▶", size="sm", scale=0, variant="stop")
        c["next_s"] = gr.Button("next S beat ▶", size="sm", scale=0)
        c["length"] = gr.Dropdown(
            [10, 30, 60], value=30, label="window (s)", scale=0, min_width=110
        )
        c["start"] = gr.Slider(0, 60, value=0, step=1, label="window start (s)", scale=3)
    c["window"] = gr.Plot(label="ECG (full resolution)", elem_id=f"{prefix}-ecg")
    with gr.Row():
        with gr.Column(scale=3):
            c["beat_plot"] = gr.Plot(label="Beat and attention", elem_id=f"{prefix}-beat")
        with gr.Column(scale=1, min_width=220):
            c["beat_index"] = gr.Number(value=0, label="beat number", precision=0, minimum=0)
            c["show_beat"] = gr.Button("Show beat", size="sm")
            c["beat_note"] = gr.Markdown()
    with gr.Row():
        c["hourly"] = gr.Plot(label="Hourly burden")
        c["hr"] = gr.Plot(label="Heart rate")
    c["runs"] = gr.Dataframe(
        label="Runs and patterns (click a row to see it)", interactive=False, max_height=260
    )
    c["reference"] = gr.HTML(visible=False)
    c["confusion"] = gr.Plot(label="Confusion matrix", visible=False)
    return c


def view_outputs(c: dict, lead_dropdown) -> list:
    return [
        c["headline"],
        c["tiles"],
        c["overview"],
        c["window"],
        c["start"],
        c["beat_index"],
        c["beat_plot"],
        c["beat_note"],
        c["hourly"],
        c["hr"],
        c["runs"],
        c["reference"],
        c["confusion"],
        lead_dropdown,
    ]


def wire_panel(c: dict, session: gr.State, prefix: str) -> None:
    """Navigation events of a result panel (page-internal: not part of the public API)."""
    private = dict(api_visibility="private", show_progress="hidden")
    for button, step in ((c["earlier"], -1.0), (c["later"], 1.0)):
        button.click(
            lambda s, st, ln, b, step=step: move_window(s, st, ln, step, b),
            [session, c["start"], c["length"], c["beat_index"]],
            [c["start"], c["window"]],
            api_name=f"{prefix}_move_{'back' if step < 0 else 'on'}",
            **private,
        )
    c["start"].release(
        lambda s, st, ln, b: move_window(s, st, ln, 0.0, b),
        [session, c["start"], c["length"], c["beat_index"]],
        [c["start"], c["window"]],
        api_name=f"{prefix}_window",
        **private,
    )
    c["length"].change(
        lambda s, st, ln, b: move_window(s, st, ln, 0.0, b) if s else (st, None),
        [session, c["start"], c["length"], c["beat_index"]],
        [c["start"], c["window"]],
        api_name=f"{prefix}_window_length",
        **private,
    )
    for button, label in ((c["next_v"], "V"), (c["next_s"], "S")):
        button.click(
            lambda s, b, ln, label=label: jump_to_next(s, label, b, ln),
            [session, c["beat_index"], c["length"]],
            [c["beat_index"], c["start"], c["window"], c["beat_plot"], c["beat_note"]],
            api_name=f"{prefix}_next_{label}",
            **private,
        )
    c["runs"].select(
        show_run,
        [session, c["length"]],
        [c["beat_index"], c["start"], c["window"], c["beat_plot"], c["beat_note"]],
        api_name=f"{prefix}_show_run",
        **private,
    )
    c["show_beat"].click(
        show_beat,
        [session, c["beat_index"], c["length"]],
        [c["start"], c["window"], c["beat_plot"], c["beat_note"]],
        api_name=f"{prefix}_show_beat",
        **private,
    )


with gr.Blocks(title="ECG Arrhythmia Detector", delete_cache=(1800, 3600)) as demo:
    gr.Markdown(
        "# ECG Arrhythmia Detector\n"
        "Finds every heartbeat, labels it N / S / V / F / Q (AAMI) and reports ectopy like a "
        "Holter reader. **Research tool, not a medical device.**"
    )
    with gr.Tabs():
        # ---------------------------------------------------------------- tab 1
        with gr.Tab("Analyse a record", id="analyse"):
            session_a = gr.State(None, time_to_live=SESSION_TTL_S)
            with gr.Row():
                with gr.Column(scale=3):
                    files = gr.File(
                        label="Record files: WFDB .hea + .dat (+ .atr for agreement), or one CSV or EDF",
                        file_count="multiple",
                        elem_id="upload",
                    )
                with gr.Column(scale=2):
                    with gr.Row():
                        fs_box = gr.Number(
                            label="Sampling rate (Hz), CSV without time column",
                            value=None,
                            minimum=0,
                            info="0: from the file (WFDB header, CSV time column)",
                        )
                        lead_box = gr.Dropdown(
                            [AUTO_LEAD],
                            value=AUTO_LEAD,
                            label="Lead",
                            allow_custom_value=True,
                        )
                    mode_a = gr.Radio(
                        [
                            ("Diagnostic (whole record)", "diagnostic"),
                            ("Real-time (causal)", "realtime"),
                        ],
                        value="diagnostic",
                        label="Mode",
                    )
                    analyse_btn = gr.Button("Analyse", variant="primary", elem_id="analyse-btn")
            if example_rows():
                gr.Examples(
                    example_rows(),
                    inputs=[files, mode_a],
                    label="Synthetic examples (generated by this app's ECG model)",
                    example_labels=[
                        Path(row[0][0]).stem.replace("_", " ") for row in example_rows()
                    ],
                )
            panel_a = result_panel("analyse")
            with gr.Accordion("Downloads and report JSON", open=True):
                with gr.Row():
                    beats_file = gr.File(label="Beat table (CSV)")
                    downloads = gr.File(
                        label="Report (JSON, printable HTML)", file_count="multiple"
                    )
                report_json = gr.JSON(label="Report", open=False)

        # ---------------------------------------------------------------- tab 2
        with gr.Tab("Synthetic ECG", id="synthetic"):
            session_s = gr.State(None, time_to_live=SESSION_TTL_S)
            gr.Markdown(
                "Generate an ECG with known beats (Gaussian-wave P-QRS-T model, heart-rate "
                "variability, noise, ectopy), analyse it and score the result against the "
                "generator's own ground truth. Same settings and seed give the same record."
            )
            with gr.Row():
                with gr.Column():
                    s_duration = gr.Slider(10, 86400, value=120, step=10, label="duration (s)")
                    s_fs = gr.Dropdown([128, 250, 360, 500], value=360, label="sampling rate (Hz)")
                    s_hr = gr.Slider(30, 180, value=72, step=1, label="heart rate (bpm)")
                    s_hrv = gr.Slider(0, 150, value=40, step=5, label="HRV, SDNN (ms)")
                    s_seed = gr.Number(value=1, precision=0, label="seed")
                with gr.Column():
                    s_pvc = gr.Slider(0, 33, value=5, step=0.5, label="isolated PVCs (% of beats)")
                    s_apc = gr.Slider(0, 33, value=2, step=0.5, label="isolated APCs (% of beats)")
                    s_pattern = gr.Radio(list(synthetic.PATTERNS), value="none", label="V pattern")
                    s_runs = gr.Slider(0, 120, value=0, step=1, label="V runs per hour (2-5 beats)")
                with gr.Column():
                    s_wander = gr.Slider(0, 2, value=0.1, step=0.05, label="baseline wander (mV)")
                    s_emg = gr.Slider(0, 1, value=0.02, step=0.01, label="muscle noise (mV)")
                    s_mains = gr.Slider(0, 0.5, value=0.0, step=0.01, label="power line (mV)")
                    s_mains_hz = gr.Radio([50, 60], value=50, label="power line (Hz)")
                    mode_s = gr.Radio(
                        [("Diagnostic", "diagnostic"), ("Real-time", "realtime")],
                        value="diagnostic",
                        label="Mode",
                    )
            synth_btn = gr.Button("Generate and analyse", variant="primary", elem_id="synth-btn")
            panel_s = result_panel("synthetic")
            with gr.Accordion("Record files and report JSON", open=True):
                synth_files = gr.File(
                    label="Generated record: CSV, WFDB (.hea/.dat/.atr), ground truth",
                    file_count="multiple",
                )
                synth_json = gr.JSON(label="Report", open=False)
            hidden_lead = gr.Dropdown([AUTO_LEAD], value=AUTO_LEAD, visible=False)

        # ---------------------------------------------------------------- tab 3
        with gr.Tab("Model card", id="model-card"):
            gr.Markdown(models_in_use)  # a callable: re-read on every page load
            gr.Markdown(model_card_markdown())

    # ------------------------------------------------------------------ events
    analyse_btn.click(
        analyze_files,
        [files, fs_box, lead_box, mode_a],
        [report_json, beats_file, downloads, session_a],
        api_name="analyze_files",
        concurrency_id="analysis",
    ).success(
        render_views,
        [session_a, panel_a["length"]],
        view_outputs(panel_a, lead_box),
        api_name="render_analysis",
        api_visibility="private",
    )
    wire_panel(panel_a, session_a, "analyse")

    synth_btn.click(
        synthesize,
        [
            s_duration,
            s_fs,
            s_hr,
            s_hrv,
            s_pvc,
            s_apc,
            s_pattern,
            s_runs,
            s_wander,
            s_emg,
            s_mains,
            s_mains_hz,
            s_seed,
            mode_s,
        ],
        [synth_json, synth_files, session_s],
        api_name="synthesize",
        concurrency_id="analysis",
    ).success(
        render_views,
        [session_s, panel_s["length"]],
        view_outputs(panel_s, hidden_lead),
        api_name="render_synthetic",
        api_visibility="private",
    )
    wire_panel(panel_s, session_s, "synthetic")

    gr.api(analyze_signal, api_name="analyze_signal", concurrency_id="analysis")


def mcp_enabled() -> bool:
    """MCP tools when ECG_MCP_SERVER=1 and the `mcp` package (gradio[mcp]) is installed."""
    wanted = os.environ.get("ECG_MCP_SERVER", "").strip().lower() in ("1", "true", "yes")
    if wanted and importlib.util.find_spec("mcp") is None:
        logger.warning("ECG_MCP_SERVER is set but `mcp` is missing: pip install 'gradio[mcp]'.")
        return False
    return wanted


demo.queue(default_concurrency_limit=CONCURRENCY, max_size=32)


def launch(**kwargs):
    """Start the server (the same settings for `python app.py`, tests and benchmarks)."""
    options = dict(
        max_file_size="200mb",
        mcp_server=mcp_enabled(),
        css=CSS,
        theme=gr.themes.Soft(
            primary_hue="red",
            secondary_hue="indigo",
            # System fonts: readable offline, nothing fetched from a font CDN.
            font=("ui-sans-serif", "system-ui", "Segoe UI", "Helvetica", "Arial", "sans-serif"),
        ),
        footer_links=["api", "gradio"],
    )
    options.update(kwargs)
    return demo.launch(**options)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    # Load the models before the first visitor waits for them.
    threading.Thread(target=lambda: [get_model(m) for m in MODES], daemon=True).start()
    launch()
