"""Score trained checkpoints on the development sets we choose by (never DS2).

For each checkpoint folder (written by ``scripts/train.py``):
- the SVDB subset zero-shot (another recorder, 128 Hz), V and S Se / +P, on the annotated
  beats and end to end on our own detections (what the product does);
- the five DS1 validation records, reference beats, and false S on record 201 (atrial
  fibrillation) — a held-out figure only for runs trained with ``--early-stop`` or
  ``--hold-out-val``; the others trained on these records, and the table says so;
- both sets as the product runs (``pipeline.analyze``: two leads, template, AF and SVT steps),
  for single runs.

    python scripts/ablation.py /tmp/runs/* --out results/ablation.json
    python scripts/ablation.py /tmp/runs/a+/tmp/runs/b --out ...   # the mean of two runs

It ends with a markdown table of each recipe's seeds pooled (runs that differ only by
``--seed``), scored as the product runs.

The training arguments of each run are read from its ``train_log.json``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from evaluate import (  # noqa: E402
    evaluate_record,
    product_totals,
    read_annotated_record,
    reference_beats,
)

from ecg_core.aami import AAMI_CLASSES, DS1_VAL_RECORDS  # noqa: E402
from ecg_core.classifier import load_model  # noqa: E402
from ecg_core.metrics import percent_scores  # noqa: E402
from ecg_core.preprocessing import select_lead  # noqa: E402
from ecg_core.training import confusion, per_class_scores  # noqa: E402

S, V = AAMI_CLASSES.index("S"), AAMI_CLASSES.index("V")


def score_records(model, paths: list[Path]) -> dict:
    """Totals over records (reference beats, the lead the product would pick)."""
    labels, preds, per_record = [], [], {}
    for path in paths:
        record = read_annotated_record(path)
        samples, truth = reference_beats(record)
        lead = select_lead(record.lead_names, None)
        pred = model.classify(record.signal[:, lead], record.fs, samples).labels
        cm = confusion(truth, pred)
        per_record[path.name] = {"false_S": int(cm[:, S].sum() - cm[S, S])}
        labels.append(truth)
        preds.append(pred)
    scores = per_class_scores(np.concatenate(labels), np.concatenate(preds))
    return {"scores": {c: scores[c] for c in ("S", "V")}, "per_record": per_record}


def score_detected(model, paths: list[Path]) -> dict:
    """Totals over records, our QRS detector's beats labelled by the model on the analysed
    lead alone (the network and its AF step; the product's second lead and SVT step are in
    the ``*_product`` figures). SVDB's annotations sit ~16 ms before the R peak that
    MIT-BIH's annotations and our detector mark (scripts/annotation_offsets.py), so
    reference-beat windows there are off-centre; detected ones are not."""

    def labeller_for(record):
        return lambda leads, fs, r_peaks, lead_spans: (
            model.classify(leads[:, 0], fs, r_peaks).labels
        )

    counts = sum(
        np.asarray(
            evaluate_record(
                p, "classify", "detected", labeller_for=labeller_for, second_lead=False
            )["counts"]
        )
        for p in paths
    )
    return percent_scores(counts)


class MeanOfModels:
    """Several checkpoints as one classifier: the mean of their probabilities (an ensemble)."""

    def __init__(self, models: list):
        self.models = models

    def classify(self, signal, fs, r_peaks, **options):
        probs = np.mean(
            [m.classify(signal, fs, r_peaks, **options).probs for m in self.models], axis=0
        )
        return SimpleNamespace(labels=probs.argmax(axis=1))


# Runs logged before an option existed trained as its "off" value does now.
OPTIONS_BEFORE_THEY_EXISTED = {"ensemble": 0, "teacher": []}


def describe(log: dict) -> str:
    """The train.py arguments that differ from the defaults (the row's recipe)."""
    from train import parse_args

    defaults = vars(parse_args(["--mode", log["args"]["mode"], "--out", "x"]))
    skip = {"out", "threads", "data_dir", "noise_dir"}
    diff = []
    for key, value in {**OPTIONS_BEFORE_THEY_EXISTED, **log["args"]}.items():
        if key in skip or key not in defaults or defaults[key] == value:
            continue
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):  # --flag / --no-flag
            diff.append(flag if value else "--no-" + flag[2:])
        elif isinstance(value, list):  # repeated option
            diff.extend(f"{flag} {Path(v).name}" for v in value)
        else:
            diff.append(f"{flag} {value}")
    return " ".join(diff) or "(defaults)"


def seed_summary(rows: list[dict]) -> str:
    """Markdown: the runs of each recipe (seeds pooled), as the product scores them: mean
    V and S Se / +P over the seeds and the range of their F1, on the DS1 validation records
    and on the SVDB subset."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        if row.get("svdb_product"):
            recipe = re.sub(r"\s*--seed \d+", "", row["recipe"]).strip() or "(defaults)"
            groups.setdefault((row["mode"], recipe), []).append(row)

    def cell(runs: list[dict], key: str, c: str) -> str:
        se, ppv = (np.mean([r[key][c][m] for r in runs]) for m in ("se", "ppv"))
        f1 = [r[key][c]["f1"] for r in runs]
        return f"{se:.1f} / {ppv:.1f} ({min(f1):.1f}-{max(f1):.1f})"

    lines = [
        "| mode | recipe | seeds | DS1 val V | DS1 val S | SVDB V | SVDB S |",
        "|---|---|---|---|---|---|---|",
    ]
    for (mode, recipe), runs in groups.items():
        held_out = "" if all(r["val_held_out"] for r in runs) else " (DS1 val trained on)"
        cells = [cell(runs, k, c) for k in ("ds1_val_product", "svdb_product") for c in "VS"]
        lines.append(f"| {mode} | `{recipe}`{held_out} | {len(runs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", help="run folders; A+B+C for an ensemble")
    parser.add_argument("--svdb", type=Path, default=ROOT.parent / "shared/data/svdb-adapt")
    parser.add_argument("--mitdb", type=Path, default=ROOT.parent / "shared/data/mitdb")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    svdb_paths = [p.with_suffix("") for p in sorted(args.svdb.glob("*.hea"))]
    val_paths = [args.mitdb / r for r in DS1_VAL_RECORDS]
    rows = []
    for spec in args.checkpoints:
        # "A+B+C" scores the mean of several runs' probabilities (an ensemble of seeds).
        folders = [Path(part) for part in str(spec).split("+")]
        logs = [json.loads((f / "train_log.json").read_text()) for f in folders]
        log = logs[0]
        models = [load_model(f) for f in folders]
        model = models[0] if len(models) == 1 else MeanOfModels(models)
        folder = Path("+".join(f.name for f in folders))
        svdb = score_records(model, svdb_paths)
        svdb_detected = score_detected(model, svdb_paths)
        val = score_records(model, val_paths)
        # The product's own steps (pipeline.analyze: two leads, template, AF and SVT steps)
        # need one network; an ensemble row has none.
        product = len(models) == 1
        recipe = describe(log)
        if len(folders) > 1:
            recipe = "mean of: " + " | ".join(describe(g) for g in logs)
        row = {
            "checkpoint": str(spec),
            "mode": log["args"]["mode"],
            "recipe": recipe,
            "seed": [g["args"]["seed"] for g in logs] if len(logs) > 1 else log["args"]["seed"],
            "val_held_out": not log.get("val_records_trained_on", False),
            "svdb": svdb["scores"],
            "svdb_detected": svdb_detected,
            "ds1_val": val["scores"],
            "svdb_product": percent_scores(product_totals(model, svdb_paths)) if product else None,
            "ds1_val_product": percent_scores(product_totals(model, val_paths))
            if product
            else None,
            "false_S_201": val["per_record"]["201"]["false_S"],
        }
        rows.append(row)

        def pair(sc, c):
            return f"{sc[c]['se']:.1f} / {sc[c]['ppv']:.1f}"

        line = (
            f"{folder.name}: {row['mode']} {row['recipe']} | SVDB V {pair(svdb['scores'], 'V')} "
            f"S {pair(svdb['scores'], 'S')} | detected V {pair(svdb_detected, 'V')} "
            f"S {pair(svdb_detected, 'S')} | 201 false S {row['false_S_201']}"
            f"{'' if row['val_held_out'] else ' (trained on)'}"
        )
        if product:
            line += (
                f" | product: SVDB V {pair(row['svdb_product'], 'V')} "
                f"S {pair(row['svdb_product'], 'S')}, DS1 val V "
                f"{pair(row['ds1_val_product'], 'V')} S {pair(row['ds1_val_product'], 'S')}"
            )
        print(line, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    command = "python scripts/ablation.py " + " ".join(str(c) for c in args.checkpoints)
    args.out.write_text(json.dumps({"command": command, "runs": rows}, indent=1) + "\n")
    print(f"wrote {args.out}")
    print("Se / +P, mean over the seeds (range of their F1), end to end as the product runs:")
    print(seed_summary(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
