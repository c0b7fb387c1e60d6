"""One call from a :class:`Record` to a :class:`Report`: lead, quality, beats, labels, analysis.

``analyze`` composes the steps (DESIGN.md §2); each step lives in its own module:
lead choice (:mod:`ecg_core.leads`), quality mask (:mod:`ecg_core.quality`), QRS
detection (:mod:`ecg_core.qrs`), beat classification (:mod:`ecg_core.classifier`), Holter
statistics (:mod:`ecg_core.analysis`, runs in :mod:`ecg_core.runs`) and agreement with reference annotations
(:mod:`ecg_core.metrics`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecg_core import analysis
from ecg_core import runs as run_detection
from ecg_core.aami import AAMI_CLASSES, symbols_to_classes
from ecg_core.leads import choose_leads, classify_leads, columns_view, record_lead_names
from ecg_core.metrics import MATCH_TOLERANCE_S, end_to_end_metrics, qrs_metrics
from ecg_core.qrs import detect_qrs_and_vf
from ecg_core.record import Record
from ecg_core.rhythm import spans_of

ProgressFn = Callable[[float, str], Any]

PROB_COLUMNS = [f"p_{c}" for c in AAMI_CLASSES]
#: The shipped models ``analyze`` loads by mode.
MODES = ("diagnostic", "realtime")
BEAT_COLUMNS = [
    "sample",
    "time_s",
    "label",
    "confidence",
    *PROB_COLUMNS,
    "noisy",
    "af",
    "svt_run",
    "model_label",
]


@dataclass
class Report:
    """Everything ``analyze`` found in one lead of one record.

    - ``summary``: flat dict of plain numbers and strings (see :func:`build_summary`);
    - ``beats``: one row per detected beat — ``sample`` (at the record's own rate ``fs``),
      ``time_s``, ``label`` (N/S/V/F/Q; Q inside a noisy span), ``confidence`` (the top
      probability), ``p_N`` .. ``p_Q``, ``noisy`` (inside a noisy span: excluded from burden,
      HR, runs), ``af`` (in atrial fibrillation, :mod:`ecg_core.rhythm`: never labelled S),
      ``svt_run``, ``model_label`` (the network's class, also inside noisy spans);
    - ``attention``: ``(n_beats, L)`` float32, the model's attention over each beat window;
      column j lies at ``attention_offset_s + j / attention_fs`` seconds from the R peak
      (see :meth:`attention_times_s`);
    - ``runs``: one row per episode (:func:`ecg_core.runs.find_runs` has the definitions);
    - ``hourly``: per-hour beats, HR and V/S counts and burden;
    - ``hr_trend``: ``time_s``, ``hr_bpm`` per bin, for plotting;
    - ``noisy_spans``: ``(start_s, end_s)`` of the parts too noisy to trust;
    - ``vf_spans``: ``(start_s, end_s)`` of ventricular flutter/fibrillation episodes
      (:func:`ecg_core.flutter.detect_vf_spans`): a critical finding; no beats are counted
      inside them;
    - ``af_spans``: ``(start_s, end_s)`` of atrial fibrillation episodes (first to last beat);
    - ``reference``: agreement with the record's beat annotations (None without them).
    """

    name: str
    fs: float
    duration_s: float
    lead_index: int
    lead_name: str
    mode: str
    model_name: str
    summary: dict
    beats: pd.DataFrame
    attention: np.ndarray
    attention_offset_s: float
    attention_fs: float
    runs: pd.DataFrame
    hourly: pd.DataFrame
    hr_trend: pd.DataFrame
    noisy_spans: list[tuple[float, float]] = field(default_factory=list)
    vf_spans: list[tuple[float, float]] = field(default_factory=list)
    af_spans: list[tuple[float, float]] = field(default_factory=list)
    reference: dict | None = None

    def attention_times_s(self) -> np.ndarray:
        """Time of each attention column relative to the R peak (s), for plotting."""
        n_cols = self.attention.shape[1] if self.attention.ndim == 2 else 0
        return self.attention_offset_s + np.arange(n_cols) / self.attention_fs

    def to_dict(self) -> dict:
        """JSON-serialisable dict (NaN becomes null); the beat table is left to CSV."""
        return _jsonable(
            {
                "record": self.name,
                "fs": self.fs,
                "duration_s": self.duration_s,
                "lead": self.lead_name,
                "mode": self.mode,
                "model": self.model_name,
                "summary": self.summary,
                "runs": self.runs.to_dict("records"),
                "hourly": self.hourly.to_dict("records"),
                "hr_trend": {
                    "time_s": self.hr_trend["time_s"].tolist(),
                    "hr_bpm": self.hr_trend["hr_bpm"].tolist(),
                },
                "noisy_spans": [list(span) for span in self.noisy_spans],
                "vf_spans": [list(span) for span in self.vf_spans],
                "af_spans": [list(span) for span in self.af_spans],
                "reference": self.reference,
            }
        )

    def to_json(self, path: str | Path | None = None, indent: int | None = 2) -> str:
        """The report as JSON text (strict: no NaN); also written to ``path`` if given."""
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    def beats_csv(self, path: str | Path | None = None) -> str | None:
        """The beat table as CSV: returns the text when ``path`` is None, else writes it."""
        return self.beats.to_csv(path, index=False, float_format="%.5g", lineterminator="\n")


def _jsonable(value: Any) -> Any:
    """Plain Python types for json.dumps: numpy scalars, tuples, NaN/inf -> None."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def _notify(progress: ProgressFn | None, fraction: float, message: str) -> None:
    if progress is not None:
        progress(float(fraction), message)


def beat_table(
    r_peaks: np.ndarray,
    fs: float,
    labels: np.ndarray,
    probs: np.ndarray,
    noisy: np.ndarray,
    in_af: np.ndarray | None = None,
    in_svt: np.ndarray | None = None,
) -> pd.DataFrame:
    """The per-beat DataFrame of :class:`Report` (columns :data:`BEAT_COLUMNS`). ``labels``
    are the network's (``model_label``); ``label`` is Q inside a noisy span, where the
    report counts nothing: in noise most false detections come out V, and the beat table is
    what outside tools score. ``af``: in atrial fibrillation; ``svt_run``: labelled S as the
    continuation of an SVT run."""
    probs = np.asarray(probs, dtype=np.float32).reshape(-1, len(AAMI_CLASSES))
    noisy = np.asarray(noisy, dtype=bool)
    names = np.asarray(AAMI_CLASSES, dtype=object)
    table = pd.DataFrame(
        {
            "sample": np.asarray(r_peaks, dtype=np.int64),
            "time_s": np.asarray(r_peaks, dtype=np.float64) / fs,
            "label": names[analysis.noisy_beats_as_q(labels, noisy)],
            "confidence": probs.max(axis=1) if len(probs) else np.zeros(0, np.float32),
        }
    )
    for i, column in enumerate(PROB_COLUMNS):
        table[column] = probs[:, i]
    table["noisy"] = noisy
    for column, flags in (("af", in_af), ("svt_run", in_svt)):
        table[column] = np.zeros(len(table), bool) if flags is None else np.asarray(flags, bool)
    table["model_label"] = names[np.asarray(labels, dtype=np.int64)]
    return table


def reference_agreement(
    record: Record, r_peaks: np.ndarray, labels: np.ndarray, fs: float
) -> dict | None:
    """Detected beats against the record's beat annotations (DESIGN.md §3, end to end).

    A detection within 150 ms of a reference beat is that beat; unmatched reference beats
    are misses (FN of their class), unmatched detections false beats (FP of their label).
    Scored over the whole record. Also gives the reference's own run counts, so the app can
    show "found 11 of 12 couplets". None when the record has no beat annotations.
    """
    if record.annotations is None:
        return None
    ref_classes = symbols_to_classes(list(record.annotations.symbols))
    is_beat = ref_classes >= 0
    if not is_beat.any():
        return None
    ref_samples = np.asarray(record.annotations.samples, dtype=np.int64)[is_beat]
    ref_labels = ref_classes[is_beat]
    tolerance = MATCH_TOLERANCE_S * fs
    out = end_to_end_metrics(ref_samples, ref_labels, r_peaks, labels, tolerance)
    out["qrs"] = qrs_metrics(ref_samples, r_peaks, tolerance)
    out["tolerance_s"] = MATCH_TOLERANCE_S
    out["n_reference_beats"] = int(ref_samples.size)
    out["reference_runs"] = run_detection.run_counts(
        run_detection.find_runs(ref_samples, ref_labels, fs)
    )
    return out


def build_summary(
    record: Record,
    lead_name: str,
    mode: str,
    model_name: str,
    r_peaks: np.ndarray,
    labels: np.ndarray,
    noisy: np.ndarray,
    rate: np.ndarray,
    spans: list[tuple[float, float]],
    runs: pd.DataFrame,
    vf_spans: Sequence[tuple[float, float]] = (),
    af_spans: Sequence[tuple[float, float]] = (),
    classified_leads: Sequence[str] = (),
    lead_note: str = "",
) -> dict:
    """The flat summary a clinician reads first (all values plain numbers or strings).
    ``rate``: the beats heart rate is measured over (:func:`analysis.rate_beats`).
    ``classified_leads``: the leads whose beat probabilities were averaged (default: the
    analysed lead alone). ``lead_note``: why another lead than the preferred one was read."""
    fs, duration_s = record.fs, record.duration_s
    noisy_s = analysis.spans_total_s(spans, duration_s)
    counts = analysis.ectopy_counts(labels, noisy)
    hr = analysis.heart_rate_stats(r_peaks[rate], fs, noisy[rate])
    run_counts = run_detection.run_counts(runs)
    summary = {
        "record": record.name,
        "lead": lead_name,
        "classified_leads": " + ".join(classified_leads or [lead_name]),
        "lead_note": lead_note,
        "mode": mode,
        "model": model_name,
        "fs": float(fs),
        "duration_s": round(float(duration_s), 3),
        "analysed_percent": round(100.0 * (1.0 - noisy_s / duration_s), 2) if duration_s else 0.0,
        "n_beats": counts["n_beats"],
        "n_analysed_beats": counts["n_analysed_beats"],
        "n_noisy_beats": counts["n_noisy_beats"],
        **hr,
        **{f"n_{c}": n for c, n in counts["counts"].items()},
        "v_burden_pct": counts["v_burden_pct"],
        "s_burden_pct": counts["s_burden_pct"],
        **run_counts,
        "longest_v_run": run_detection.longest_run(runs, "V"),
        "longest_s_run": run_detection.longest_run(runs, "S"),
        "longest_pause_s": run_detection.longest_pause_s(runs),
        "noisy_spans": len(spans),
        "noisy_s": round(noisy_s, 2),
        "vf_episodes": len(vf_spans),
        "vf_s": round(analysis.spans_total_s(vf_spans, duration_s), 2),
        "af_episodes": len(af_spans),
        "af_s": round(analysis.spans_total_s(af_spans, duration_s), 2),
    }
    summary["af_burden_pct"] = round(100.0 * summary["af_s"] / duration_s, 2) if duration_s else 0.0
    summary["message"] = summary_message(summary)
    return summary


def summary_message(s: dict) -> str:
    """One or two sentences for the top of the report; a VF finding comes first, then a
    note on the lead when the preferred one was unusable."""
    vf = lead = ""
    if s.get("vf_episodes"):
        vf = f"Ventricular flutter/fibrillation: {s['vf_episodes']} episode(s), {s['vf_s']:.0f} s. "
    if s.get("lead_note"):
        lead = f"{s['lead_note']} "
    return vf + lead + _beats_message(s)


def _beats_message(s: dict) -> str:
    if s["n_beats"] == 0:
        return (
            f"No heartbeats were found in lead {s['lead']} "
            f"({s['duration_s']:.0f} s of signal): it may be flat, too short or too noisy, or "
            "its QRS complexes too small beside its P and T waves (as in some minutes of lead "
            "V1 alone); another lead may work."
        )
    if s["n_analysed_beats"] == 0:
        return f"{s['n_beats']} beats were found, but all lie in noisy parts: nothing analysed."
    parts = [
        f"{s['n_analysed_beats']} beats analysed ({s['analysed_percent']:.1f}% of the record)",
        f"V {s['n_V']} ({s['v_burden_pct']:.2f}%), S {s['n_S']} ({s['s_burden_pct']:.2f}%)",
    ]
    if s["hr_mean_bpm"] is not None:
        parts.insert(1, f"mean HR {s['hr_mean_bpm']:.0f} bpm")
    events = [
        f"{s[key]} {label}"
        for key, label in (
            ("v_couplets", "V couplet(s)"),
            ("v_triplets", "V triplet(s)"),
            ("nsvt", "NSVT run(s)"),
            ("sustained_vt", "sustained VT run(s)"),
            ("v_bigeminy", "bigeminy episode(s)"),
            ("v_trigeminy", "trigeminy episode(s)"),
            ("s_couplets", "S couplet(s)"),
            ("svt", "SVT run(s)"),
            ("pauses", "pause(s) >= 2 s"),
        )
        if s[key]
    ]
    text = "; ".join(parts) + "."
    if events:
        text += " Runs: " + ", ".join(events) + "."
        if s["nsvt"] and s["v_triplets"]:
            text += " (NSVT counts every run of >= 3 V beats above 100 bpm, fast triplets too.)"
        if s.get("pauses"):
            text += f" Longest pause {s['longest_pause_s']:.1f} s."
    if s.get("af_episodes"):
        text += (
            f" Atrial fibrillation: {s['af_episodes']} episode(s), {s['af_s'] / 60:.1f} min "
            f"({s['af_burden_pct']:.1f}% of the record; no S beats are counted inside)."
        )
    if s["noisy_spans"]:
        text += f" {s['noisy_spans']} noisy span(s) ({s['noisy_s']:.0f} s) excluded."
    return text


def analyze(
    record: Record,
    mode: str = "diagnostic",
    model: Any = None,
    lead: str | int | None = None,
    progress: ProgressFn | None = None,
    *,
    usable_mask: np.ndarray | None = None,
    second_lead: bool = True,
) -> Report:
    """Find, label and summarise every beat of one lead of ``record``.

    ``mode`` names the shipped model ("realtime" or "diagnostic") used when ``model`` is
    None; ``model`` is anything with ``classify(signal, fs, r_peaks, lead_weights=None)``
    returning BeatPredictions (e.g. ``load_model("checkpoints/diagnostic")``). ``lead`` is a name
    ("MLII") or index; None picks the preferred lead by name. ``progress`` is called as
    ``progress(fraction, message)``. A record without beats gives an empty Report whose
    ``summary["message"]`` says so; only bad input raises :class:`ECGInputError`.
    ``usable_mask`` (bool per sample, True = usable) replaces the automatic quality mask.
    ``second_lead``: classify each beat on a second lead too and average the probabilities
    (:func:`classify_leads`; the lead is :func:`ecg_core.preprocessing.companion_lead`);
    detection, quality and the rhythm steps stay on the analysed lead.
    """
    if model is None and mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r} (or pass a model)")
    _notify(progress, 0.0, "Selecting the lead and checking signal quality")
    names = record_lead_names(record)
    fs = float(record.fs)
    leads = choose_leads(record, lead, second_lead, usable_mask)
    lead_index, spans = leads.analysed, leads.spans
    lead_name = names[lead_index]
    signal = record.signal[:, lead_index]  # a view: the steps below copy an hour at a time
    classified = [lead_index] if leads.companion is None else [lead_index, leads.companion]

    _notify(progress, 0.15, "Detecting heartbeats")
    # One pass finds both the beats and the flutter/fibrillation episodes (no beats there).
    r_peaks, vf_samples = detect_qrs_and_vf(signal, fs)
    r_peaks = np.asarray(r_peaks, dtype=np.int64)
    vf_spans = [(a / fs, b / fs) for a, b in vf_samples]
    if usable_mask is None:  # a run of alike beats is a rhythm, not noise
        leads = leads.without_beat_trains(record, r_peaks)
        spans = leads.spans

    if r_peaks.size:
        if model is None:  # loaded only when there is something to classify (torch is heavy)
            from ecg_core.classifier import load_model

            _notify(progress, 0.3, f"Loading the {mode} model")
            model = load_model(mode)
        _notify(progress, 0.35, f"Classifying {r_peaks.size} beats")
        predictions = classify_leads(
            model,
            columns_view(record.signal, classified),
            fs,
            r_peaks,
            [spans, leads.companion_spans],
        )
        probs = np.asarray(predictions.probs, dtype=np.float32)
        labels = np.asarray(predictions.labels, dtype=np.int64)
        attention = np.asarray(predictions.attention, dtype=np.float32)
        attention_offset_s = float(predictions.window_offset_s)
        attention_fs = float(predictions.window_fs)
        in_af = np.asarray(getattr(predictions, "in_af", np.zeros(r_peaks.size, bool)), bool)
        in_svt = np.asarray(getattr(predictions, "in_svt", np.zeros(r_peaks.size, bool)), bool)
    else:
        probs = np.zeros((0, len(AAMI_CLASSES)), np.float32)
        labels = np.zeros(0, np.int64)
        attention = np.zeros((0, 0), np.float32)
        attention_offset_s, attention_fs = 0.0, 1.0
        in_af = in_svt = np.zeros(0, bool)
    af_spans = [(a / fs, b / fs) for a, b in spans_of(in_af, r_peaks)]

    mode = str(getattr(model, "mode", mode))
    model_name = str(getattr(model, "name", mode)) if model is not None else mode
    _notify(progress, 0.9, "Summarising")
    noisy = analysis.beats_in_spans(r_peaks, fs, spans)
    # Heart rate, trend and pauses skip the Q detections that split an RR interval.
    rate = analysis.rate_beats(r_peaks, labels)
    pauses = run_detection.find_pauses(r_peaks[rate], fs, noisy[rate], gaps_s=[*spans, *vf_spans])
    # The pause rows index the beat table, which keeps every detection.
    pauses[["start_beat", "end_beat"]] = np.flatnonzero(rate)[
        pauses[["start_beat", "end_beat"]].to_numpy(dtype=np.int64)
    ]
    runs = run_detection.combine([run_detection.find_runs(r_peaks, labels, fs, noisy), pauses])
    summary = build_summary(
        record,
        lead_name,
        mode,
        model_name,
        r_peaks,
        labels,
        noisy,
        rate,
        spans,
        runs,
        vf_spans,
        af_spans,
        classified_leads=[names[i] for i in classified],
        lead_note=leads.note,
    )
    # agreement with the annotations for the labels the beat table gives (Q inside noise)
    given = analysis.noisy_beats_as_q(labels, noisy)
    report = Report(
        name=record.name,
        fs=fs,
        duration_s=float(record.duration_s),
        lead_index=lead_index,
        lead_name=lead_name,
        mode=mode,
        model_name=model_name,
        summary=summary,
        beats=beat_table(r_peaks, fs, labels, probs, noisy, in_af, in_svt),
        attention=attention,
        attention_offset_s=attention_offset_s,
        attention_fs=attention_fs,
        runs=runs,
        hourly=analysis.hourly_table(r_peaks, labels, fs, noisy, record.duration_s),
        hr_trend=analysis.hr_trend(r_peaks[rate], fs, noisy[rate], record.duration_s),
        noisy_spans=spans,
        vf_spans=vf_spans,
        af_spans=af_spans,
        reference=reference_agreement(record, r_peaks, given, fs),
    )
    _notify(progress, 1.0, "Done")
    return report
