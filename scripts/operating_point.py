"""Sweep the V decision threshold end to end on a development database (never DS2).

A beat is labelled V when its V probability reaches the threshold, otherwise the most probable
of the other classes; "argmax" is the plain most-probable class. For each checkpoint and
threshold: V and S Se / +P / F1 on our own detections (matched within 150 ms, as
``scripts/evaluate.py --beats detected`` scores), AF step included. Pass several runs of one
recipe (e.g. the three distilled students) so that the choice does not rest on one seed.

    python scripts/operating_point.py checkpoints/diagnostic RUN_SEED1 RUN_SEED2 --out results/operating_point_diagnostic.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from evaluate import detect_record, write_result  # noqa: E402

from ecg_core.aami import AAMI_CLASSES  # noqa: E402
from ecg_core.classifier import load_model  # noqa: E402
from ecg_core.metrics import (  # noqa: E402
    MATCH_TOLERANCE_S,
    count_matrix,
    end_to_end_pairs,
    percent_scores,
)

DEFAULT_THRESHOLDS = "argmax,0.2,0.25,0.3,0.35,0.4,0.45,0.5,0.6"
V = AAMI_CLASSES.index("V")


def decide_labels(probs: np.ndarray, v_threshold: float | None = None) -> np.ndarray:
    """The most probable class, or with ``v_threshold``: V wherever its probability reaches
    the threshold, else the most probable other class."""
    if v_threshold is None:
        return probs.argmax(axis=1).astype(np.int64)
    others = probs.copy()
    others[:, V] = -1.0
    return np.where(probs[:, V] >= v_threshold, V, others.argmax(axis=1)).astype(np.int64)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared/data/svdb-adapt")
    parser.add_argument("--thresholds", default=DEFAULT_THRESHOLDS)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    thresholds = [None if t == "argmax" else float(t) for t in args.thresholds.split(",")]
    paths = [p.with_suffix("") for p in sorted(args.data_dir.glob("*.hea"))]
    n = len(AAMI_CLASSES)

    runs = []
    for checkpoint in args.checkpoints:
        model = load_model(checkpoint)
        totals = {t: np.zeros((n + 1, n + 1), dtype=np.int64) for t in thresholds}
        for path in paths:
            rec = detect_record(path)
            probs = model.classify(rec.signal, rec.fs, rec.detections).probs
            tolerance = MATCH_TOLERANCE_S * rec.fs
            for t in thresholds:
                pred = decide_labels(probs, t)
                pairs = end_to_end_pairs(
                    rec.ref_samples, rec.ref_labels, rec.detections, pred, tolerance
                )
                totals[t] += count_matrix(*pairs)
        rows = {("argmax" if t is None else str(t)): percent_scores(c) for t, c in totals.items()}
        runs.append({"checkpoint": checkpoint, "mode": model.mode, "thresholds": rows})
        for name, row in rows.items():
            print(
                f"{checkpoint} {name:>6}: V {row['V']['se']:.1f} / {row['V']['ppv']:.1f} "
                f"F1 {row['V']['f1']:.1f} | S F1 {row['S']['f1']:.1f}",
                flush=True,
            )
    mean_f1 = {
        name: float(np.mean([r["thresholds"][name]["V"]["f1"] for r in runs]))
        for name in runs[0]["thresholds"]
    }
    print("mean V F1 over the runs: " + ", ".join(f"{k} {v:.1f}" for k, v in mean_f1.items()))
    result = {
        "command": "python scripts/operating_point.py " + " ".join(args.checkpoints),
        "database": args.data_dir.name,
        "beats": "detected",
        "mean_v_f1": mean_f1,
        "runs": runs,
    }
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
