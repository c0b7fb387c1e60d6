"""How well the atrial fibrillation call (ecg_core.rhythm) matches annotated rhythm (never DS2).

Per record: beats inside annotated AF / flutter (``(AFIB`` / ``(AFL`` rhythm annotations)
and how many of them are called AF; beats outside and how many of those are called AF; and the
annotated S beats that the AF call turns into non-S. The AF call runs exactly as in the
product: inside ``BeatClassifier.classify``, with the model's own V labels.

    python scripts/af_check.py --out results/af_check.json
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

from evaluate import read_annotated_record, reference_beats  # noqa: E402

from ecg_core.aami import DS1  # noqa: E402
from ecg_core.classifier import load_model  # noqa: E402
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="diagnostic")
    parser.add_argument("--mitdb", type=Path, default=ROOT.parent / "shared/data/mitdb")
    parser.add_argument("--svdb", type=Path, default=ROOT.parent / "shared/data/svdb-adapt")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    model = load_model(args.checkpoint)
    sets = {
        "MIT-BIH DS1": [args.mitdb / r for r in DS1],
        "SVDB subset": [p.with_suffix("") for p in sorted(args.svdb.glob("*.hea"))],
    }
    result = {"checkpoint": args.checkpoint, "databases": {}}
    for name, paths in sets.items():
        rows = []
        for path in paths:
            record = read_annotated_record(path)
            samples, labels = reference_beats(record)
            lead = select_lead(record.lead_names, None)
            pred = model.classify(record.signal[:, lead], record.fs, samples)
            af_ref = annotated_af(path, samples)
            rows.append(
                {
                    "record": path.name,
                    "af_beats": int(af_ref.sum()),
                    "af_beats_called_af": int((pred.in_af & af_ref).sum()),
                    "other_beats": int((~af_ref).sum()),
                    "other_beats_called_af": int((pred.in_af & ~af_ref).sum()),
                    "s_beats": int((labels == 1).sum()),
                    "s_beats_in_af_call": int((pred.in_af & (labels == 1)).sum()),
                }
            )
        total = {k: sum(r[k] for r in rows) for k in rows[0] if k != "record"}
        result["databases"][name] = {"total": total, "per_record": rows}
        pct = lambda a, b: 100.0 * a / b if b else float("nan")  # noqa: E731
        print(
            f"{name}: AF beats called AF {pct(total['af_beats_called_af'], total['af_beats']):.1f} %"
            f" of {total['af_beats']}; other beats called AF "
            f"{pct(total['other_beats_called_af'], total['other_beats']):.2f} % of "
            f"{total['other_beats']}; S beats inside the AF call {total['s_beats_in_af_call']}"
            f" of {total['s_beats']}"
        )
        for r in rows:
            if r["other_beats_called_af"] or r["af_beats"]:
                print(
                    f"  {r['record']}: AF {r['af_beats_called_af']}/{r['af_beats']}, "
                    f"other {r['other_beats_called_af']}/{r['other_beats']}"
                )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
