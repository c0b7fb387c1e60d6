"""How an annotated record's beat classes differ in waveform and rhythm, before any model.

When a classifier confuses two classes in one record, the first question is whether anything
in the signal tells them apart. Per record and annotated AAMI class: the number of beats, how
early they come (RR before the beat over the median RR of the N beats, median), and per lead
how the class's median beat compares with the N beats' median beat: correlation over the
QRS (+-100 ms) and over the whole window (-280..+470 ms, the model's), and peak-to-peak ratio.
Beats are centred on our detections (matched within 150 ms), on each lead at 128 Hz after
the product's filters (``ecg_core.preprocessing.to_canonical``).

    python scripts/class_shapes.py --data-dir ../shared/data/svdb-adapt --records 841,868 --out results/class_shapes_svdb.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from evaluate import available_records, detect_record  # noqa: E402

from ecg_core.aami import AAMI_CLASSES  # noqa: E402
from ecg_core.features import centre_windows, cut_windows, window_samples  # noqa: E402
from ecg_core.leads import record_lead_names  # noqa: E402
from ecg_core.metrics import MATCH_TOLERANCE_S, match_beats  # noqa: E402
from ecg_core.preprocessing import CANONICAL_FS, resample_positions, to_canonical  # noqa: E402

QRS_HALF_WIDTH_S = 0.1


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))


def record_class_shapes(path: Path) -> dict:
    """The per-class summary of one annotated record (see the module docstring)."""
    found = detect_record(path)  # our detections on the lead the product analyses
    record = found.record
    ref_idx, det_idx = match_beats(
        found.ref_samples, found.detections, MATCH_TOLERANCE_S * record.fs
    )
    order = np.argsort(ref_idx)
    centres = resample_positions(found.detections[det_idx[order]], record.fs, CANONICAL_FS)
    labels = found.ref_labels[ref_idx[order]]
    rr_before = np.diff(centres, prepend=centres[0]) / CANONICAL_FS
    is_n = labels == AAMI_CLASSES.index("N")
    n_rr = float(np.median(rr_before[1:][is_n[1:]])) if is_n[1:].any() else float("nan")
    pre, post = window_samples()
    half = int(round(QRS_HALF_WIDTH_S * CANONICAL_FS))
    qrs = slice(pre - half, pre + half + 1)
    leads = record_lead_names(record)
    medians = {}
    for j, lead in enumerate(leads):
        canonical = to_canonical(record.signal[:, j].astype(np.float64), record.fs)
        windows = centre_windows(cut_windows(canonical, centres, pre, post))
        medians[lead] = {
            c: np.median(windows[labels == k], axis=0)
            for k, c in enumerate(AAMI_CLASSES)
            if np.any(labels == k)
        }
    classes = {}
    for k, c in enumerate(AAMI_CLASSES):
        members = labels == k
        if not members.any():
            continue
        row = {"beats": int(members.sum())}
        row["rr_before_over_n_rr"] = round(float(np.median(rr_before[1:][members[1:]])) / n_rr, 3)
        for lead in leads:
            mine, normal = medians[lead][c], medians[lead].get("N")
            if normal is None:
                continue
            row[lead] = {
                "qrs_correlation_with_n": round(correlation(mine[qrs], normal[qrs]), 3),
                "window_correlation_with_n": round(correlation(mine, normal), 3),
                "amplitude_over_n": round(float(np.ptp(mine) / max(np.ptp(normal), 1e-9)), 3),
            }
        classes[c] = row
    return {"record": path.name, "leads": leads, "n_rr_s": round(n_rr, 3), "classes": classes}


def format_row(summary: dict) -> str:
    parts = []
    for c, row in summary["classes"].items():
        shapes = ", ".join(
            f"{lead} r={row[lead]['qrs_correlation_with_n']:.2f}/{row[lead]['window_correlation_with_n']:.2f}"
            f" x{row[lead]['amplitude_over_n']:.2f}"
            for lead in summary["leads"]
            if lead in row
        )
        parts.append(f"{c} {row['beats']} (RR {row['rr_before_over_n_rr']:.2f}; {shapes})")
    return f"{summary['record']}: " + " | ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--records", default="all", help="'all' or a list '841,868'")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    names = available_records(args.data_dir) if args.records == "all" else args.records.split(",")
    rows = []
    for name in names:
        rows.append(record_class_shapes(args.data_dir / name))
        print(format_row(rows[-1]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    command = "python scripts/class_shapes.py " + " ".join(sys.argv[1:] if argv is None else argv)
    args.out.write_text(json.dumps({"command": command, "records": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
