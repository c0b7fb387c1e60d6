"""One lead or two: end-to-end S and V with and without the companion lead (never DS2).

For each checkpoint, on the development sets: the SVDB subset (another recorder) and MIT-BIH
DS1 (the training patients, so only a sanity check there, unless ``--ds1 validation`` scores
the records a ``--hold-out-val`` model never saw): our own detections, labelled from
the analysed lead alone (``--single-lead``) and from the mean of it and its companion lead
(``ecg_core.preprocessing.companion_lead``, the product's default). Several checkpoints (the
shipped model and its teachers) show whether a change survives the seed noise.

    D=checkpoints/diagnostic/teachers  # written by scripts/train.py; not committed
    python scripts/lead_check.py checkpoints/diagnostic $D/seed0 $D/seed1 $D/seed2 \\
        --out results/lead_check_diagnostic.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import evaluate as ev  # noqa: E402  (scripts/evaluate.py)

from ecg_core.metrics import percent_scores  # noqa: E402


def score(checkpoint: str, paths: list[Path], second_lead: bool) -> dict:
    """End-to-end S/V scores in % (totals), the false beats (detections that match no
    reference beat) by the label they were given, and V Se/+P per record."""
    result = ev.evaluate(
        paths[0].parent,  # a development set is one database's records
        [p.name for p in paths],
        task="classify",
        beats="detected",
        labeller_for=ev.ModelLabellerFactory(checkpoint),
        second_lead=second_lead,
        log=lambda message: None,
    )
    counts = np.sum([row["counts"] for row in result["per_record"]], axis=0)
    out = ev.scores_with_false_beats(counts)
    out["records"] = {
        row["record"]: percent_scores(np.asarray(row["counts"]))["V"]
        for row in result["per_record"]
    }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", help="checkpoint folders")
    ev.add_development_sets_arguments(parser)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--two-leads-only",
        action="store_true",
        help="skip the one-lead runs (to compare checkpoints as the product runs them)",
    )
    args = parser.parse_args(argv)
    sets = ev.development_sets(args.mitdb, args.svdb, args.ds1)
    result: dict = {"beats": "detected", "checkpoints": {}}
    for checkpoint in args.checkpoints:
        rows = result["checkpoints"][checkpoint] = {}
        for name, paths in sets.items():
            rows[name] = {}
            settings = (("one lead", False), ("two leads", True))
            for key, second_lead in settings[1:] if args.two_leads_only else settings:
                sc = rows[name][key] = score(checkpoint, paths, second_lead)
                print(
                    f"{checkpoint} | {name} | {key}: V {sc['V']['se']:.1f} / "
                    f"{sc['V']['ppv']:.1f} (F1 {sc['V']['f1']:.1f}) | S {sc['S']['se']:.1f} / "
                    f"{sc['S']['ppv']:.1f} (F1 {sc['S']['f1']:.1f}) | false beats "
                    f"{sc['false_beats']}",
                    flush=True,
                )
    ev.write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
