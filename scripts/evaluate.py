"""Evaluate QRS detection or beat classification on any WFDB database with beat annotations.

Protocol: DESIGN.md §3 (AAMI classes, 150 ms matching, totals over all beats).

    # QRS detector, all 48 MIT-BIH records, MLII
    python scripts/evaluate.py --task qrs --data-dir ../shared/data/mitdb --records all --out qrs.json
    # classifier on the annotated beats of DS2, then end to end on our own detections
    python scripts/evaluate.py --data-dir ../shared/data/mitdb --records DS2 \\
        --checkpoint checkpoints/diagnostic --beats reference --out metrics.json
    python scripts/evaluate.py --data-dir ../shared/data/mitdb --records DS2 \\
        --mode realtime --beats detected --out e2e.json

Scoring details:
- reference beats = annotations whose symbol is a beat (keys of ``aami.SYMBOL_TO_AAMI``);
  ``!`` (flutter wave) and non-beat annotations are not beats;
- ``qrs`` (the primary figure) is strict: every unmatched detection is a false beat, over
  the whole record (as the peer figures we compare with were measured);
- ``qrs_vf_excluded`` is the EC57 / PhysioNet ``bxb`` style variant: unmatched detections
  inside the *annotated* ventricular flutter/fibrillation episodes (between ``[`` and ``]``)
  are not scored (counted as ``excluded``).
The detector itself drops detections inside the VF spans it finds on its own
(``ecg_core.flutter.detect_vf_spans``); ``vf_detected_s`` / ``vf_annotated_s`` per record
say how much it flagged and how much the reference marks.

Like the product, the classifier sees two leads where the record has them: each beat's
probabilities are averaged over the analysed lead and its companion
(``ecg_core.preprocessing.companion_lead``; detection and quality stay on the analysed
lead). ``--single-lead`` classifies on the analysed lead alone. End to end (``--beats
detected``), a detection inside a noisy span of the analysed lead is labelled Q, as the
product's beat table labels it.

``--exclude-noisy`` scores only usable signal, as the product reports it: the quality mask
is computed on the analysed lead exactly as ``ecg_core.pipeline.analyze`` does, and both
reference beats and detections inside its noisy spans are left out. ``beats`` then counts
the scored beats; ``excluded_beats`` / ``excluded_percent`` (per record and in total) say
how many reference beats were left out, so the figure is never read without them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ecg_core.aami import (  # noqa: E402
    AAMI_CLASSES,
    CLASS_INDEX,
    DS1,
    DS1_VAL_RECORDS,
    DS2,
    PACED,
    SYMBOL_TO_AAMI,
    resolve_record_list,
    symbols_to_classes,
)
from ecg_core.analysis import beats_in_spans, noisy_beats_as_q  # noqa: E402
from ecg_core.io import read_record  # noqa: E402
from ecg_core.leads import choose_leads, classify_leads  # noqa: E402
from ecg_core.metrics import (  # noqa: E402
    MATCH_TOLERANCE_S,
    count_matrix,
    end_to_end_pairs,
    metrics_from_counts,
    percent_scores,
    qrs_counts,
    qrs_summary,
)
from ecg_core.pipeline import Report, analyze  # noqa: E402
from ecg_core.qrs import detect_qrs_and_vf  # noqa: E402
from ecg_core.record import Record  # noqa: E402

if TYPE_CHECKING:  # torch is imported only by the scripts that classify
    from ecg_core.classifier import BeatClassifier

#: labeller(leads, fs, r_peaks, lead_spans) -> class indices into AAMI_CLASSES, one per
#: r_peak; leads is (n_samples, n_leads), column 0 the analysed lead (a second column: the
#: companion lead); lead_spans: each column's noisy spans in seconds (the quality mask).
Labeller = Callable[[np.ndarray, float, np.ndarray, list], np.ndarray]
#: Builds the labeller for one record (a model ignores the record; a test oracle reads it).
LabellerFactory = Callable[[Record], Labeller]

COUNT_KEYS = ("tp", "fp", "fn", "excluded")


#: The DS1 records a development script can score: all 22, or the 5 validation records.
DS1_CHOICES: tuple[str, ...] = ("all", "validation")


def add_development_sets_arguments(
    parser: argparse.ArgumentParser, noise_stress: bool = False
) -> None:
    """--mitdb, --svdb and --ds1: the development sets of :func:`development_sets`; with
    ``noise_stress``, --nstdb as well (:func:`noise_stress_sets`)."""
    data = Path(__file__).resolve().parents[2] / "shared" / "data"
    parser.add_argument("--mitdb", type=Path, default=data / "mitdb")
    parser.add_argument("--svdb", type=Path, default=data / "svdb-adapt")
    if noise_stress:
        parser.add_argument("--nstdb", type=Path, default=data / "nstdb")
    parser.add_argument(
        "--ds1",
        choices=DS1_CHOICES,
        default="all",
        help="which MIT-BIH DS1 records: all 22, or the 5 validation records (held out by "
        "models trained with train.py --hold-out-val or --early-stop)",
    )


def development_sets(mitdb: Path, svdb: Path, ds1: str = "all") -> dict[str, list[Path]]:
    """The record paths the development scripts score (never DS2): the SVDB subset (another
    recorder) and MIT-BIH DS1 (the training patients), all of it or its validation records."""
    if ds1 not in DS1_CHOICES:
        raise ValueError(f"ds1 must be 'all' or 'validation', not {ds1!r}")
    name, records = ("MIT-BIH DS1", DS1) if ds1 == "all" else ("DS1 validation", DS1_VAL_RECORDS)
    return {
        "SVDB subset": [p.with_suffix("") for p in sorted(Path(svdb).glob("*.hea"))],
        name: [Path(mitdb) / r for r in records],
    }


#: NSTDB records 118e<tag> and 119e<tag>: the signal-to-noise ratio (dB) of each tag.
NSTDB_SNRS_DB = {"24": "24", "18": "18", "12": "12", "6": "06", "0": "00", "-6": "_6"}


def noise_stress_sets(nstdb: Path) -> dict[str, list[Path]]:
    """NSTDB records 118 and 119 at each noise level (``"NSTDB 12 dB"``: 118e12, 119e12),
    none when the folder is absent: the development scripts' noise sets (DS1 patients)."""
    if not Path(nstdb).is_dir():
        return {}
    return {
        f"NSTDB {snr} dB": [Path(nstdb) / f"118e{tag}", Path(nstdb) / f"119e{tag}"]
        for snr, tag in NSTDB_SNRS_DB.items()
    }


def write_result(path: Path, result: dict) -> None:
    """Write a script's JSON result (indented, newline-terminated) and say where."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {path}")


# ----------------------------------------------------------------------------- records
def available_records(data_dir: Path) -> list[str]:
    """Record names from the database's RECORDS file, else from its .hea files."""
    records_file = data_dir / "RECORDS"
    if records_file.exists():
        names = [line.strip() for line in records_file.read_text().splitlines() if line.strip()]
        if names:
            return names
    return sorted(p.stem for p in data_dir.glob("*.hea"))


def read_annotated_record(path: Path, annotator: str = "atr") -> Record:
    """Read a WFDB record with its ``annotator`` annotations, through the product's reader."""
    return read_record(str(path), annotation_extension=annotator)


def reference_beats(record: Record) -> tuple[np.ndarray, np.ndarray]:
    """(samples, AAMI class indices) of the annotated beats, in time order."""
    ann = record.annotations
    if ann is None:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    symbols = np.asarray(ann.symbols, dtype=object)
    is_beat = np.array([s in SYMBOL_TO_AAMI for s in symbols], dtype=bool)
    samples = np.asarray(ann.samples, dtype=np.int64)[is_beat]
    labels = symbols_to_classes(list(symbols[is_beat]))
    order = np.argsort(samples, kind="stable")
    return samples[order], labels[order]


def product_reports(model: BeatClassifier, paths: list[Path]) -> Iterator[tuple]:
    """For each annotated record at ``paths``: (the product's Report, reference samples,
    reference AAMI labels), the record analysed as the app does (``pipeline.analyze``: two
    leads, AF and SVT steps) with ``model``."""
    for path in paths:
        record = read_annotated_record(path)
        yield (analyze(record, model=model), *reference_beats(record))


def product_counts(
    report: Report,
    ref_samples: np.ndarray,
    ref_labels: np.ndarray,
    labels: np.ndarray | None = None,
) -> np.ndarray:
    """Count matrix (:func:`ecg_core.metrics.count_matrix`) of the report's beats, or of
    ``labels`` given to them instead, against the reference, matched within 150 ms."""
    if labels is None:
        labels = report.beats["label"].map(CLASS_INDEX).to_numpy(np.int64)
    detected = report.beats["sample"].to_numpy()
    tolerance = MATCH_TOLERANCE_S * report.fs
    return count_matrix(*end_to_end_pairs(ref_samples, ref_labels, detected, labels, tolerance))


def product_totals(model: BeatClassifier, paths: list[Path]) -> np.ndarray:
    """The count matrix summed over the records at ``paths``, each analysed as the app does
    (:func:`product_reports`): the development scripts' end-to-end figure."""
    return sum(product_counts(*found) for found in product_reports(model, paths))


def scores_with_false_beats(counts: np.ndarray) -> dict:
    """The development scripts' row: V and S Se / +P / F1 (%, :func:`percent_scores`) of a
    count matrix, and its false beats per label."""
    scores = percent_scores(counts)
    scores["false_beats"] = metrics_from_counts(counts)["false_beats"]
    return scores


def v_and_s_text(scores: dict) -> str:
    """'V Se / +P (F1 f1) | S Se / +P (F1 f1)' of a scores row, for the scripts' progress."""
    v, s = scores["V"], scores["S"]
    return (
        f"V {v['se']:.1f} / {v['ppv']:.1f} (F1 {v['f1']:.2f}) | "
        f"S {s['se']:.1f} / {s['ppv']:.1f} (F1 {s['f1']:.2f})"
    )


def compare_settings(
    checkpoints: list[str], sets: dict[str, list[Path]], settings: dict[str, dict]
) -> dict:
    """For each checkpoint, each development set and each setting (attributes of the loaded
    :class:`BeatClassifier`, e.g. ``{"align_windows": False}``): V and S Se / +P / F1 end to
    end (:func:`product_totals`) and the false beats per label, printed as they come."""
    from ecg_core.classifier import load_model

    rows: dict = {}
    for checkpoint in checkpoints:
        model = load_model(checkpoint)
        rows[checkpoint] = {}
        for name, paths in sets.items():
            rows[checkpoint][name] = {}
            for setting, attributes in settings.items():
                for attribute, value in attributes.items():
                    setattr(model, attribute, value)
                scores = scores_with_false_beats(product_totals(model, paths))
                rows[checkpoint][name][setting] = scores
                print(
                    f"{checkpoint} | {name} | {setting:>20}: {v_and_s_text(scores)} "
                    f"| false V {scores['false_beats']['V']}",
                    flush=True,
                )
    return rows


@dataclass
class DetectedRecord:
    """One annotated record run end to end: the lead the product picks, our detections
    and the reference beats (what the development scripts compare)."""

    signal: np.ndarray  # the lead, in the input's units
    fs: float
    detections: np.ndarray  # our R peaks (samples at fs), VF spans removed
    ref_samples: np.ndarray
    ref_labels: np.ndarray  # AAMI indices
    record: Record  # all of it, every lead


def detect_record(path: Path, annotator: str = "atr") -> DetectedRecord:
    """Read an annotated record, pick its lead as the product does and detect its beats."""
    record = read_annotated_record(path, annotator)
    signal = record.signal[:, choose_leads(record, second_lead=False).analysed]
    detections, _ = detect_qrs_and_vf(signal, record.fs)
    samples, labels = reference_beats(record)
    return DetectedRecord(signal, float(record.fs), detections, samples, labels, record)


def flutter_spans(record: Record) -> list[tuple[int, int]]:
    """Ventricular flutter/fibrillation episodes: ``[`` ... ``]`` annotation pairs."""
    ann = record.annotations
    if ann is None:
        return []
    spans, start = [], None
    for sample, symbol in zip(ann.samples.tolist(), ann.symbols, strict=True):
        if symbol == "[":
            start = sample
        elif symbol == "]" and start is not None:
            spans.append((start, sample))
            start = None
    if start is not None:
        spans.append((start, record.n_samples))
    return spans


# ----------------------------------------------------------------------------- one record
def evaluate_record(
    path: Path,
    task: str = "qrs",
    beats: str = "detected",
    annotator: str = "atr",
    lead: str | None = None,
    labeller_for: LabellerFactory | None = None,
    tolerance_s: float = MATCH_TOLERANCE_S,
    start_s: float = 0.0,
    exclude_noisy: bool = False,
    second_lead: bool = True,
) -> dict:
    """Score one record; returns a row with raw counts (summed later) and its ratios.

    ``second_lead``: the labeller also gets the companion lead, as ``pipeline.analyze``
    classifies (detection and quality stay on the analysed lead).

    ``start_s`` > 0 scores only beats from that time on (EC57 skips the first 5 minutes; in
    the NSTDB they are the clean part). Detection always runs on the whole record.
    ``exclude_noisy`` leaves out reference beats and detections inside the noisy spans the
    product's quality mask finds (module docstring).
    """
    record = read_annotated_record(path, annotator)
    # The product's own lead choice, detections and quality masks (as pipeline.analyze).
    leads = choose_leads(record, lead, second_lead)
    lead_index = leads.analysed
    signal = np.ascontiguousarray(record.signal[:, lead_index], dtype=np.float64)
    fs = float(record.fs)
    start = time.perf_counter()
    det_all, vf_found = detect_qrs_and_vf(signal, record.fs)
    detect_s = round(time.perf_counter() - start, 4)
    leads = leads.without_beat_trains(record, det_all)
    ref_samples, ref_labels = reference_beats(record)
    first_sample = int(round(start_s * fs))
    scored = ref_samples >= first_sample
    ref_samples, ref_labels = ref_samples[scored], ref_labels[scored]
    noisy_spans_s = leads.spans if exclude_noisy else []
    ref_noisy = beats_in_spans(ref_samples, fs, noisy_spans_s)
    ref_samples, ref_labels = ref_samples[~ref_noisy], ref_labels[~ref_noisy]
    n_excluded = int(ref_noisy.sum())
    tolerance = tolerance_s * fs
    classified = [lead_index] if leads.companion is None else [lead_index, leads.companion]
    row: dict = {
        "record": record.name,
        "fs": record.fs,
        "lead": record.lead_names[lead_index],
        "lead_note": leads.note,
        "classified_leads": [record.lead_names[i] for i in classified],
        "duration_s": round(record.duration_s, 3),
        "beats": int(ref_samples.size),
        "excluded_beats": n_excluded,
        "excluded_percent": _percent(n_excluded, n_excluded + int(ref_samples.size)),
        "noisy_s": round(sum(b - a for a, b in noisy_spans_s), 2),
    }
    det_samples = None
    if task == "qrs" or beats == "detected":
        row["detect_s"] = detect_s
        det_samples = det_all[det_all >= first_sample]
        det_noisy = beats_in_spans(det_samples, fs, noisy_spans_s)
        det_samples = det_samples[~det_noisy]
        row["excluded_detections"] = int(det_noisy.sum())
        spans = flutter_spans(record)
        row["qrs"] = qrs_summary(qrs_counts(ref_samples, det_samples, tolerance))
        row["qrs_vf_excluded"] = qrs_summary(qrs_counts(ref_samples, det_samples, tolerance, spans))
        row["vf_detected_s"] = round(sum(b - a for a, b in vf_found) / record.fs, 2)
        row["vf_annotated_s"] = round(sum(b - a for a, b in spans) / record.fs, 2)
    if task == "classify":
        if labeller_for is None:
            raise ValueError("task 'classify' needs a labeller")
        labeller = labeller_for(record)
        lead_signals = record.signal[:, classified]
        lead_spans = [leads.spans, leads.companion_spans][: len(classified)]
        beat_samples = ref_samples if beats == "reference" else det_samples
        pred = np.asarray(labeller(lead_signals, record.fs, beat_samples, lead_spans), np.int64)
        if beats == "reference":
            matrix = count_matrix(ref_labels, pred)
        else:
            # as the product's beat table: a detection inside a noisy span is labelled Q
            pred = noisy_beats_as_q(pred, beats_in_spans(det_samples, fs, leads.spans))
            matrix = count_matrix(
                *end_to_end_pairs(ref_samples, ref_labels, det_samples, pred, tolerance)
            )
        row["counts"] = matrix.tolist()
        row["accuracy"] = metrics_from_counts(matrix)["accuracy"]
    return row


# ----------------------------------------------------------------------------- models
_MODEL_CACHE: dict = {}


def model_labeller(checkpoint: str, quantized: bool = False) -> Labeller:
    """A labeller backed by ``ecg_core.load_model`` (loaded once per process)."""
    key = (checkpoint, quantized)
    if key not in _MODEL_CACHE:
        from ecg_core.classifier import load_model

        _MODEL_CACHE[key] = load_model(checkpoint, quantized=quantized)
    model = _MODEL_CACHE[key]

    def label(leads: np.ndarray, fs: float, r_peaks: np.ndarray, lead_spans: list) -> np.ndarray:
        if len(r_peaks) == 0:
            return np.zeros(0, dtype=np.int64)
        predictions = classify_leads(model, leads, fs, np.asarray(r_peaks), lead_spans)
        return np.asarray(predictions.labels, dtype=np.int64)

    return label


class ModelLabellerFactory:
    """Picklable factory (for worker processes): the same model for every record."""

    def __init__(self, checkpoint: str, quantized: bool = False):
        self.checkpoint, self.quantized = checkpoint, quantized

    def __call__(self, record: Record) -> Labeller:
        return model_labeller(self.checkpoint, self.quantized)


# ----------------------------------------------------------------------------- whole run
def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def _sum_qrs(rows: list[dict], key: str = "qrs") -> dict:
    return qrs_summary({k: sum(r[key][k] for r in rows) for k in COUNT_KEYS})


def _subsets(rows: list[dict]) -> dict:
    """Totals over the MIT-BIH DS1 / DS2 / paced subsets, where all their records ran."""
    by_name = {r["record"]: r for r in rows}
    out = {}
    for name, members in (("DS1", DS1), ("DS2", DS2), ("paced", PACED)):
        if all(m in by_name for m in members):
            chosen = [by_name[m] for m in members]
            entry: dict = {"records": len(chosen), "beats": sum(r["beats"] for r in chosen)}
            entry["excluded_beats"] = sum(r["excluded_beats"] for r in chosen)
            entry["excluded_percent"] = _percent(
                entry["excluded_beats"], entry["excluded_beats"] + entry["beats"]
            )
            if "qrs" in chosen[0]:
                entry["qrs"] = _sum_qrs(chosen)
                entry["qrs_vf_excluded"] = _sum_qrs(chosen, "qrs_vf_excluded")
            if "counts" in chosen[0]:
                matrix = np.sum([np.asarray(r["counts"]) for r in chosen], axis=0)
                entry.update(metrics_from_counts(matrix))
            out[name] = entry
    return out


def evaluate(
    data_dir: Path,
    records: list[str],
    task: str = "qrs",
    beats: str = "detected",
    annotator: str = "atr",
    lead: str | None = None,
    labeller_for: LabellerFactory | None = None,
    workers: int = 1,
    mode: str | None = None,
    start_s: float = 0.0,
    log: Callable[[str], None] = print,
    exclude_noisy: bool = False,
    second_lead: bool = True,
) -> dict:
    """Evaluate ``records`` of ``data_dir``; returns the JSON-ready result (DESIGN.md §4).

    ``exclude_noisy`` scores usable signal only (see the module docstring).
    """
    data_dir = Path(data_dir)
    present = []
    for name in records:
        if not (data_dir / f"{name}.{annotator}").exists():
            log(f"skipping {name}: no annotation file {name}.{annotator}")
        elif not (data_dir / f"{name}.hea").exists():
            log(f"skipping {name}: no header {name}.hea")
        else:
            present.append(name)
    if not present:
        raise SystemExit(f"No annotated records to evaluate in {data_dir}.")
    jobs = [data_dir / name for name in present]
    kwargs = dict(
        task=task,
        beats=beats,
        annotator=annotator,
        lead=lead,
        labeller_for=labeller_for,
        start_s=start_s,
        exclude_noisy=exclude_noisy,
        second_lead=second_lead,
    )
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(evaluate_record, path, **kwargs) for path in jobs]
            rows = [f.result() for f in futures]
    else:
        rows = [evaluate_record(path, **kwargs) for path in jobs]

    result: dict = {
        "database": data_dir.name,
        "records": present,
        "task": task,
        "beats": "detected" if task == "qrs" else beats,
        "mode": mode,
        "n_beats": sum(r["beats"] for r in rows),
        "tolerance_s": MATCH_TOLERANCE_S,
        "start_s": start_s,
        "exclude_noisy": exclude_noisy,
        "second_lead": second_lead,
        "excluded_beats": sum(r["excluded_beats"] for r in rows),
    }
    result["excluded_percent"] = _percent(
        result["excluded_beats"], result["excluded_beats"] + result["n_beats"]
    )
    if task == "classify":
        matrix = np.sum([np.asarray(r["counts"]) for r in rows], axis=0)
        result.update(metrics_from_counts(matrix))
    if "qrs" in rows[0]:
        result["qrs"] = _sum_qrs(rows)
        result["qrs_vf_excluded"] = _sum_qrs(rows, "qrs_vf_excluded")
        result["vf_detected_s"] = round(sum(r["vf_detected_s"] for r in rows), 2)
        result["vf_annotated_s"] = round(sum(r["vf_annotated_s"] for r in rows), 2)
        result["detect_seconds_total"] = round(sum(r["detect_s"] for r in rows), 3)
    result["subsets"] = _subsets(rows)
    result["per_record"] = rows
    return result


# ----------------------------------------------------------------------------- printing
def _pct(x: float | None) -> str:
    return "   -  " if x is None else f"{100 * x:6.2f}"


def format_report(result: dict) -> str:
    lines = []
    if "qrs" in result:
        lines.append(
            f"{'record':>8} {'beats':>6} {'TP':>6} {'FP':>5} {'FN':>5} {'Se%':>6} {'+P%':>6} "
            f"{'excl':>6} {'excl%':>6}"
        )
        for r in result["per_record"]:
            q = r["qrs"]
            lines.append(
                f"{r['record']:>8} {r['beats']:6d} {q['tp']:6d} {q['fp']:5d} {q['fn']:5d} "
                f"{_pct(q['se'])} {_pct(q['ppv'])} {r['excluded_beats']:6d} "
                f"{r['excluded_percent']:6.2f}"
            )
        for name, entry in [("TOTAL", result), *result["subsets"].items()]:
            q = entry["qrs"]
            lines.append(
                f"{name:>8} {entry.get('n_beats', entry.get('beats')):6d} {q['tp']:6d} {q['fp']:5d} "
                f"{q['fn']:5d} {_pct(q['se'])} {_pct(q['ppv'])} {entry['excluded_beats']:6d} "
                f"{entry['excluded_percent']:6.2f}"
            )
        s = result["qrs_vf_excluded"]
        lines.append(
            f"(strict: every unmatched detection is a false beat. EC57/bxb-style variant, "
            f"annotated VF episodes unscored: FP {s['fp']}, Se {_pct(s['se'])} %, "
            f"+P {_pct(s['ppv'])} %; VF flagged {result['vf_detected_s']:.1f} s, annotated "
            f"{result['vf_annotated_s']:.1f} s; detection time "
            f"{result['detect_seconds_total']:.1f} s)"
        )
    if result["exclude_noisy"]:
        lines.append(
            f"(usable signal only: {result['excluded_beats']} reference beats "
            f"({result['excluded_percent']:.2f} %) and the detections inside the quality "
            f"mask's noisy spans are not scored)"
        )
    if "classes" in result:
        lines.append("")
        lines.append(f"beats: {result['beats']}   accuracy: {_pct(result['accuracy'])} %")
        lines.append(f"{'class':>6} {'n':>7} {'Se%':>6} {'+P%':>6}")
        for label in AAMI_CLASSES:
            c = result["classes"][label]
            lines.append(f"{label:>6} {c['n']:7d} {_pct(c['se'])} {_pct(c['ppv'])}")
        lines.append("confusion (rows = reference, columns = predicted): " + " ".join(AAMI_CLASSES))
        for label, row in zip(AAMI_CLASSES, result["confusion"]["matrix"], strict=True):
            lines.append(f"{label:>6} " + " ".join(f"{v:7d}" for v in row))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, required=True, help="folder of a WFDB database")
    parser.add_argument("--records", default="all", help="DS1, DS2, all, or names '100,101'")
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--task", choices=("qrs", "classify"), default="classify")
    parser.add_argument(
        "--checkpoint", default=None, help="checkpoint folder or name (default: --mode)"
    )
    parser.add_argument("--mode", choices=("realtime", "diagnostic"), default="diagnostic")
    parser.add_argument("--quantized", action="store_true", help="use the int8 weights")
    parser.add_argument("--beats", choices=("reference", "detected"), default="reference")
    parser.add_argument("--annotator", default="atr", help="annotation file extension")
    parser.add_argument("--lead", default=None, help="lead name (default MLII / II / first)")
    parser.add_argument("--workers", type=int, default=1, help="processes (records in parallel)")
    parser.add_argument(
        "--start-s", type=float, default=0.0, help="score beats from this time on (EC57: 300)"
    )
    parser.add_argument(
        "--exclude-noisy",
        action="store_true",
        help="score only usable signal: leave out beats in the quality mask's noisy spans",
    )
    parser.add_argument(
        "--single-lead",
        action="store_true",
        help="classify on the analysed lead alone (default: averaged with the companion lead)",
    )
    args = parser.parse_args(argv)

    records = resolve_record_list(args.records, available_records(args.data_dir))
    labeller_for, mode = None, None
    if args.task == "classify":
        checkpoint = args.checkpoint or args.mode
        labeller_for = ModelLabellerFactory(str(checkpoint), args.quantized)
        labeller_for(None)  # load once here so a bad checkpoint fails before the run
        model = _MODEL_CACHE[(str(checkpoint), args.quantized)]
        mode = getattr(model, "mode", args.mode)
    result = evaluate(
        args.data_dir,
        records,
        task=args.task,
        beats=args.beats,
        annotator=args.annotator,
        lead=args.lead,
        labeller_for=labeller_for,
        workers=args.workers,
        mode=mode,
        start_s=args.start_s,
        exclude_noisy=args.exclude_noisy,
        second_lead=not args.single_lead,
    )
    if args.task == "classify":
        result["checkpoint"] = str(args.checkpoint or args.mode)
        result["quantized"] = args.quantized
    print(format_report(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
