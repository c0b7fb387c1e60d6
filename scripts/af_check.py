"""How well the atrial fibrillation call (ecg_core.rhythm) matches annotated rhythm (never DS2).

Per record: beats inside annotated AF / flutter (``(AFIB`` / ``(AFL`` rhythm annotations)
and how many of them are called AF; beats outside and how many of those are called AF; and the
annotated S beats that the AF call turns into non-S. The AF call runs exactly as in the
product: inside ``BeatClassifier.classify``, with the model's own V labels. And what the AF
step does to the labels, three ways: the product's rule (the S probability of beats in AF goes
to N, ``classifier.af_s_to_n``), the rule we used before (spread over all other classes in
proportion), and no AF step: true and false V and S per rule.

    python scripts/af_check.py --out results/af_check.json
    # the AF rules on DS1 record 201 held out: a model trained without the DS1 validation records
    python scripts/train.py --mode diagnostic --early-stop --ensemble 0 --out /tmp/heldout
    python scripts/af_check.py --checkpoint /tmp/heldout --out results/af_rules_heldout_201_diagnostic.json
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
    read_annotated_record,
    reference_beats,
    write_result,
)

from ecg_core.aami import AAMI_CLASSES  # noqa: E402
from ecg_core.classifier import af_s_to_n, load_model  # noqa: E402
from ecg_core.preprocessing import select_lead  # noqa: E402

AF_RHYTHMS = ("(AFIB", "(AFL")


def annotated_af(path: Path, samples: np.ndarray) -> np.ndarray:
    """Per beat: inside an annotated AF or flutter episode (rhythm changes in the aux notes,
    which ``ecg_core.io`` does not keep: read here with wfdb)."""
    import wfdb

    ann = wfdb.rdann(str(path), "atr")
    changes = [
        (int(x), a.strip("\x00"))
        for x, a in zip(ann.sample, ann.aux_note, strict=True)
        if a.startswith("(")
    ]
    inside = np.zeros(samples.size, dtype=bool)
    for i, (start, rhythm) in enumerate(changes):
        end = changes[i + 1][0] if i + 1 < len(changes) else np.inf
        if rhythm in AF_RHYTHMS:
            inside |= (samples >= start) & (samples < end)
    return inside


S, V = AAMI_CLASSES.index("S"), AAMI_CLASSES.index("V")


def spread_s_in_proportion(probs: np.ndarray, in_af: np.ndarray) -> np.ndarray:
    """The AF rule used before: the S probability of beats in AF is removed and the rest
    renormalised, so it goes to every other class (V included) in proportion."""
    probs = probs.copy()
    probs[in_af, S] = 0.0
    probs[in_af] /= np.maximum(probs[in_af].sum(axis=1, keepdims=True), 1e-12)
    return probs


def rule_counts(labels: np.ndarray, probs: np.ndarray) -> dict[str, int]:
    pred = probs.argmax(axis=1)
    return {
        "v_true": int(((pred == V) & (labels == V)).sum()),
        "v_false": int(((pred == V) & (labels != V)).sum()),
        "s_true": int(((pred == S) & (labels == S)).sum()),
        "s_false": int(((pred == S) & (labels != S)).sum()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="diagnostic")
    add_development_sets_arguments(parser)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    model = load_model(args.checkpoint)
    sets = development_sets(args.mitdb, args.svdb, args.ds1)
    result = {"checkpoint": args.checkpoint, "databases": {}}
    for name, paths in sets.items():
        rows = []
        for path in paths:
            record = read_annotated_record(path)
            samples, labels = reference_beats(record)
            lead = select_lead(record.lead_names, None)
            pred = model.classify(record.signal[:, lead], record.fs, samples)
            raw = model.network_probabilities(record.signal[:, lead], record.fs, samples)[0]
            af_ref = annotated_af(path, samples)
            rules = {
                "s_to_n": rule_counts(labels, af_s_to_n(raw, pred.in_af)),
                "proportional": rule_counts(labels, spread_s_in_proportion(raw, pred.in_af)),
                "no_af_step": rule_counts(labels, raw),
            }
            rows.append(
                {
                    "record": path.name,
                    "af_beats": int(af_ref.sum()),
                    "af_beats_called_af": int((pred.in_af & af_ref).sum()),
                    "other_beats": int((~af_ref).sum()),
                    "other_beats_called_af": int((pred.in_af & ~af_ref).sum()),
                    "s_beats": int((labels == 1).sum()),
                    "s_beats_in_af_call": int((pred.in_af & (labels == 1)).sum()),
                    "rules": rules,
                }
            )
        total = {k: sum(r[k] for r in rows) for k in rows[0] if k not in ("record", "rules")}
        total["rules"] = {
            rule: {k: sum(r["rules"][rule][k] for r in rows) for k in counts}
            for rule, counts in rows[0]["rules"].items()
        }
        result["databases"][name] = {"total": total, "per_record": rows}
        pct = lambda a, b: 100.0 * a / b if b else float("nan")  # noqa: E731
        print(
            f"{name}: AF beats called AF {pct(total['af_beats_called_af'], total['af_beats']):.1f} %"
            f" of {total['af_beats']}; other beats called AF "
            f"{pct(total['other_beats_called_af'], total['other_beats']):.2f} % of "
            f"{total['other_beats']}; S beats inside the AF call {total['s_beats_in_af_call']}"
            f" of {total['s_beats']}"
        )
        for rule, c in total["rules"].items():
            print(
                f"  rule {rule}: V {c['v_true']} true, {c['v_false']} false; "
                f"S {c['s_true']} true, {c['s_false']} false"
            )
        for r in rows:
            if r["other_beats_called_af"] or r["af_beats"]:
                print(
                    f"  {r['record']}: AF {r['af_beats_called_af']}/{r['af_beats']}, "
                    f"other {r['other_beats_called_af']}/{r['other_beats']}"
                )
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
