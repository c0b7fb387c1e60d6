"""Beats inside noisy spans labelled Q, end to end on the development sets (never DS2).

The report leaves beats inside the quality mask's noisy spans out of counts, burden, runs and
heart rate; in heavy noise most false detections come out V. The check: for each
checkpoint, V and S Se / +P / F1 on our own detections (matched within 150 ms) with the
network's labels ("as shipped": the beat table's ``model_label``) and with every beat inside
a noisy span labelled Q ("unclassifiable", AAMI), on the SVDB subset, MIT-BIH DS1 and each
NSTDB noise level (118 and 119 together), each record run through the product
(``ecg_core.pipeline.analyze``: two leads, AF and SVT steps). The second form passed its bar
and is what the beat table's ``label`` now says (results/README.md).

    python scripts/noisy_q_check.py checkpoints/diagnostic checkpoints/realtime --out results/noisy_q_check.json
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
    noise_stress_sets,
    product_counts,
    product_reports,
    scores_with_false_beats,
    v_and_s_text,
    write_result,
)

from ecg_core.aami import AAMI_CLASSES, CLASS_INDEX  # noqa: E402
from ecg_core.analysis import noisy_beats_as_q  # noqa: E402
from ecg_core.classifier import load_model  # noqa: E402

FORMS = ("as shipped", "noisy beats Q")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+")
    add_development_sets_arguments(parser, noise_stress=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    n = len(AAMI_CLASSES)

    record_sets = development_sets(args.mitdb, args.svdb, args.ds1) | noise_stress_sets(args.nstdb)
    result: dict = {"command": " ".join(sys.argv), "checkpoints": {}}
    for checkpoint in args.checkpoints:
        model = load_model(checkpoint)
        rows = result["checkpoints"][checkpoint] = {}
        for name, paths in record_sets.items():
            totals = {form: np.zeros((n + 1, n + 1), dtype=np.int64) for form in FORMS}
            noisy_beats = all_beats = 0
            for report, ref_samples, ref_labels in product_reports(model, paths):
                labels = report.beats["model_label"].map(CLASS_INDEX).to_numpy(np.int64)
                noisy = report.beats["noisy"].to_numpy(bool)
                totals["as shipped"] += product_counts(report, ref_samples, ref_labels, labels)
                candidate = noisy_beats_as_q(labels, noisy)
                totals["noisy beats Q"] += product_counts(
                    report, ref_samples, ref_labels, candidate
                )
                noisy_beats += int(noisy.sum())
                all_beats += noisy.size
            rows[name] = {"detections": all_beats, "detections_in_noisy_spans": noisy_beats}
            for form, counts in totals.items():
                scores = rows[name][form] = scores_with_false_beats(counts)
                print(
                    f"{checkpoint} | {name} | {form:>13}: {v_and_s_text(scores)} | "
                    f"{noisy_beats} of {all_beats} in noise",
                    flush=True,
                )
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
