"""What the SVT-run step (ecg_core.rhythm.svt_continuation) does, end to end (never DS2).

For a checkpoint, on the SVDB development subset and on MIT-BIH DS1: V and S Se / +P / F1 on
our own detections (matched within 150 ms) with and without the step, and per record how
many beats it relabelled S and how many of those are annotated S. The product runs it in
diagnostic mode only; this script runs both ways for either mode.

    python scripts/svt_check.py --checkpoint diagnostic --out results/svt_check_diagnostic.json
    python scripts/svt_check.py --checkpoint realtime --out results/svt_check_realtime.json
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
    detect_record,
    development_sets,
    write_result,
)

from ecg_core import rhythm  # noqa: E402
from ecg_core.aami import AAMI_CLASSES  # noqa: E402
from ecg_core.classifier import load_model  # noqa: E402
from ecg_core.metrics import (  # noqa: E402
    MATCH_TOLERANCE_S,
    count_matrix,
    end_to_end_pairs,
    match_beats,
    percent_scores,
)

S = AAMI_CLASSES.index("S")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="diagnostic")
    add_development_sets_arguments(parser)
    parser.add_argument(
        "--resume-within",
        type=int,
        default=rhythm.SVT_RESUME_WITHIN,
        help="beats after a break within which a run may resume (0: the rule before runs "
        "resumed; default: the product's)",
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    product_rule = rhythm.SVT_RESUME_WITHIN
    rhythm.SVT_RESUME_WITHIN = args.resume_within  # read by svt_continuation at each call
    try:
        return check(args)
    finally:
        rhythm.SVT_RESUME_WITHIN = product_rule  # main() may run inside another program


def check(args: argparse.Namespace) -> int:
    model = load_model(args.checkpoint)
    sets = development_sets(args.mitdb, args.svdb, args.ds1)
    n = len(AAMI_CLASSES) + 1
    result = {
        "checkpoint": args.checkpoint,
        "beats": "detected",
        "resume_within": args.resume_within,
        "databases": {},
    }
    for name, paths in sets.items():
        totals = {"without": np.zeros((n, n), np.int64), "with": np.zeros((n, n), np.int64)}
        per_record = []
        for path in paths:
            rec = detect_record(path)
            signal, detections = rec.signal, rec.detections
            samples, truth = rec.ref_samples, rec.ref_labels
            tolerance = MATCH_TOLERANCE_S * rec.fs
            labels = {
                key: model.classify(signal, rec.fs, detections, svt_step=key == "with").labels
                for key in totals
            }
            for key, pred in labels.items():
                totals[key] += count_matrix(
                    *end_to_end_pairs(samples, truth, detections, pred, tolerance)
                )
            relabelled = (labels["with"] == S) & (labels["without"] != S)
            if relabelled.any():
                ref_idx, det_idx = match_beats(samples, detections, tolerance)
                annotated_s = np.zeros(detections.size, dtype=bool)
                annotated_s[det_idx] = truth[ref_idx] == S
                per_record.append(
                    {
                        "record": path.name,
                        "relabelled_s": int(relabelled.sum()),
                        "of_which_annotated_s": int((relabelled & annotated_s).sum()),
                    }
                )
        result["databases"][name] = {
            "without_step": percent_scores(totals["without"]),
            "with_step": percent_scores(totals["with"]),
            "records": per_record,
        }
        for key in ("without_step", "with_step"):
            sc = result["databases"][name][key]
            print(
                f"{name} {key}: S {sc['S']['se']:.1f} / {sc['S']['ppv']:.1f} F1 "
                f"{sc['S']['f1']:.1f} | V {sc['V']['se']:.1f} / {sc['V']['ppv']:.1f}",
                flush=True,
            )
        for row in per_record:
            print(
                f"  {row['record']}: {row['relabelled_s']} relabelled S, "
                f"{row['of_which_annotated_s']} annotated S"
            )
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
