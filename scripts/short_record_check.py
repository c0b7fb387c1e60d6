"""Short records: the development sets cut into excerpts (a 10-s resting ECG, a 30-s strip),
each analysed on its own, against the same records analysed whole (never DS2).

A short record gives the analysis little to go on: the template is the median of a dozen
beats, the RR features' running means cover the excerpt only, the first beat has no interval
before it and the last none after it, and the atrial fibrillation step (which needs
``rhythm.AF_MIN_BEATS`` beats) cannot fire. For each checkpoint and development set: V and S
Se / +P / F1 end to end (two leads, our detections, as ``pipeline.analyze`` runs), whole and
in excerpts, where in the excerpts the errors sit (first beat, last beat, the others), and
each record's true and false S and V, whole and in excerpts.

    python scripts/short_record_check.py checkpoints/diagnostic checkpoints/realtime --seconds 10 --out results/short_record_check.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from evaluate import (  # noqa: E402
    add_development_sets_arguments,
    development_sets,
    product_counts,
    read_annotated_record,
    reference_beats,
    v_and_s_text,
    write_result,
)

from ecg_core.aami import CLASS_INDEX  # noqa: E402
from ecg_core.classifier import load_model  # noqa: E402
from ecg_core.metrics import MATCH_TOLERANCE_S, match_beats, percent_scores  # noqa: E402
from ecg_core.pipeline import analyze  # noqa: E402
from ecg_core.record import Record  # noqa: E402

POSITIONS = ("first", "last", "other")
S, V = CLASS_INDEX["S"], CLASS_INDEX["V"]


def _position(index: int, n_beats: int) -> str:
    return "first" if index == 0 else "last" if index == n_beats - 1 else "other"


def excerpt_errors(report, ref_samples: np.ndarray, ref_labels: np.ndarray, fs: float) -> dict:
    """Per position in the excerpt: matched beats, false S (called S, annotated otherwise)
    and missed V (annotated V, called otherwise)."""
    out = {p: {"beats": 0, "false_S": 0, "missed_V": 0} for p in POSITIONS}
    detected = report.beats["sample"].to_numpy()
    labels = np.array([CLASS_INDEX[x] for x in report.beats["label"]], dtype=np.int64)
    ref_index, det_index = match_beats(ref_samples, detected, MATCH_TOLERANCE_S * fs)
    for i, j in zip(ref_index, det_index, strict=True):
        row = out[_position(int(j), detected.size)]
        row["beats"] += 1
        row["false_S"] += int(labels[j] == S and ref_labels[i] != S)
        row["missed_V"] += int(ref_labels[i] == V and labels[j] != V)
    return out


def check(model, paths: list[Path], seconds: float) -> dict:
    """Whole-record and excerpt scores over the records at ``paths``."""
    whole, cut = 0, 0
    errors = {p: {"beats": 0, "false_S": 0, "missed_V": 0} for p in POSITIONS}
    per_record = {}
    n_excerpts = 0
    for path in paths:
        record = read_annotated_record(path)
        fs = float(record.fs)
        ref, labels = reference_beats(record)
        record_whole = product_counts(analyze(record, model=model), ref, labels)
        whole = whole + record_whole
        record_cut = 0
        length = int(round(seconds * fs))
        for start in range(0, record.n_samples - length + 1, length):
            excerpt = Record(
                record.signal[start : start + length], fs, record.lead_names, record.name
            )
            inside = (ref >= start) & (ref < start + length)
            report = analyze(excerpt, model=model)
            record_cut = record_cut + product_counts(report, ref[inside] - start, labels[inside])
            for position, row in excerpt_errors(
                report, ref[inside] - start, labels[inside], fs
            ).items():
                for key, value in row.items():
                    errors[position][key] += value
            n_excerpts += 1
        cut = cut + record_cut
        per_record[path.name] = {
            "whole": _s_and_v_counts(record_whole),
            "excerpts": _s_and_v_counts(record_cut),
        }
    return {
        "whole": percent_scores(whole),
        "excerpts": percent_scores(cut),
        "n_excerpts": n_excerpts,
        "excerpt_errors_by_position": errors,
        "per_record": per_record,
    }


def _s_and_v_counts(counts) -> dict:
    """True and false S and V beats in a count matrix (rows: reference, columns: labels)."""
    counts = np.asarray(counts)
    return {
        f"{kind}_{c}": int(value)
        for c, k in (("S", S), ("V", V))
        for kind, value in (("true", counts[k, k]), ("false", counts[:, k].sum() - counts[k, k]))
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--seconds", type=float, default=10.0, help="excerpt length")
    add_development_sets_arguments(parser)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    sets = development_sets(args.mitdb, args.svdb, args.ds1)
    result: dict = {"command": " ".join(sys.argv), "seconds": args.seconds, "checkpoints": {}}
    for checkpoint in args.checkpoints:
        model = load_model(checkpoint)
        rows = result["checkpoints"][checkpoint] = {}
        for name, paths in sets.items():
            rows[name] = check(model, paths, args.seconds)
            for kind in ("whole", "excerpts"):
                text = v_and_s_text(rows[name][kind])
                print(f"{checkpoint} | {name} | {kind:>8}: {text}", flush=True)
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
