"""Sweep the Q veto on V end to end on the development sets (never DS2).

The models label our detector's false detections Q, but some still come out V (a T wave after
a PVC, a noise spike) while the network gives Q a fair share of the probability. The veto:
a beat labelled V whose Q probability reaches ``t`` is labelled Q instead. For each
checkpoint and ``t``: V and S Se / +P / F1 on our own detections (matched within 150 ms) and
the false beats labelled V, on the SVDB subset and MIT-BIH DS1, run through the product
(``ecg_core.pipeline.analyze``: two leads, AF and SVT steps), the veto applied to its labels
afterwards (the AF and SVT steps are not re-run for the vetoed labels). The product does not
apply the veto: it missed the bar set before this sweep (README, "Q veto").

    python scripts/q_veto_check.py checkpoints/diagnostic checkpoints/realtime --out results/q_veto_check.json
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
    product_reports,
    scores_with_false_beats,
    write_result,
)

from ecg_core.aami import AAMI_CLASSES, CLASS_INDEX  # noqa: E402
from ecg_core.classifier import load_model  # noqa: E402

V, Q = CLASS_INDEX["V"], CLASS_INDEX["Q"]
DEFAULT_THRESHOLDS = "off,0.15,0.2,0.25,0.3"


def veto(labels: np.ndarray, p_q: np.ndarray, threshold: float | None) -> np.ndarray:
    """V labels whose Q probability reaches ``threshold`` become Q (None: unchanged)."""
    if threshold is None:
        return labels
    return np.where((labels == V) & (p_q >= threshold), Q, labels)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+")
    add_development_sets_arguments(parser)
    parser.add_argument("--thresholds", default=DEFAULT_THRESHOLDS)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    thresholds = [None if t == "off" else float(t) for t in args.thresholds.split(",")]
    n = len(AAMI_CLASSES)

    result: dict = {"command": " ".join(sys.argv), "checkpoints": {}}
    for checkpoint in args.checkpoints:
        model = load_model(checkpoint)
        rows = result["checkpoints"][checkpoint] = {}
        for name, paths in development_sets(args.mitdb, args.svdb, args.ds1).items():
            totals = {t: np.zeros((n + 1, n + 1), dtype=np.int64) for t in thresholds}
            for report, ref_samples, ref_labels in product_reports(model, paths):
                labels = report.beats["label"].map(CLASS_INDEX).to_numpy(np.int64)
                p_q = report.beats["p_Q"].to_numpy()
                for t in thresholds:
                    vetoed = veto(labels, p_q, t)
                    totals[t] += product_counts(report, ref_samples, ref_labels, vetoed)
            rows[name] = {}
            for t, counts in totals.items():
                key = "off" if t is None else str(t)
                scores = scores_with_false_beats(counts)
                rows[name][key] = scores
                print(
                    f"{checkpoint} | {name} | veto {key:>4}: V {scores['V']['se']:.1f} / "
                    f"{scores['V']['ppv']:.1f} (F1 {scores['V']['f1']:.2f}) | S F1 "
                    f"{scores['S']['f1']:.2f} | false V {scores['false_beats']['V']}",
                    flush=True,
                )
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
