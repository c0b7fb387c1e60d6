"""Where a database's beat annotations sit relative to the R peaks our detector finds.

Databases place their beat marks at different points of the QRS (the R peak, its onset, ...).
The classifier is trained on MIT-BIH, whose marks sit on the R peak as our detector's do, so
a database whose marks sit elsewhere feeds it off-centre windows when it classifies the
*annotated* beats ("reference" scoring). End-to-end scoring uses our own detections and is
not affected. Per record: the median and quartiles, in ms, of (matched detection - annotation)
for N and for V beats (matched within 150 ms; positive = the annotation comes first).

    python scripts/annotation_offsets.py --data-dir ../shared/data/svdb-adapt --out results/annotation_offsets_svdb.json
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
from ecg_core.metrics import MATCH_TOLERANCE_S, match_beats  # noqa: E402


def record_offsets_ms(path: Path) -> dict[str, list[float]]:
    """Offsets (ms) of the matched detection from each annotated N and V beat, matched as
    the scoring matches them (one to one, within 150 ms)."""
    rec = detect_record(path)
    ref_idx, det_idx = match_beats(rec.ref_samples, rec.detections, MATCH_TOLERANCE_S * rec.fs)
    offset_ms = (rec.detections[det_idx] - rec.ref_samples[ref_idx]) / rec.fs * 1000.0
    labels = rec.ref_labels[ref_idx]
    return {name: offset_ms[labels == AAMI_CLASSES.index(name)].tolist() for name in ("N", "V")}


def quartiles(values: list[float]) -> list[float] | None:
    return np.round(np.percentile(values, [25, 50, 75]), 1).tolist() if values else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    rows, pooled = [], {"N": [], "V": []}
    for name in available_records(args.data_dir):
        offsets = record_offsets_ms(args.data_dir / name)
        row = {
            "record": name,
            **{f"{c}_q25_median_q75_ms": quartiles(v) for c, v in offsets.items()},
        }
        rows.append(row)
        for c in pooled:
            pooled[c] += offsets[c]
        print(name, row["N_q25_median_q75_ms"], row["V_q25_median_q75_ms"], flush=True)
    medians = [r["N_q25_median_q75_ms"][1] for r in rows if r["N_q25_median_q75_ms"]]
    result = {
        "command": "python scripts/annotation_offsets.py --data-dir "
        f"{args.data_dir} --out {args.out}",
        "database": args.data_dir.name,
        "all_beats": {f"{c}_q25_median_q75_ms": quartiles(v) for c, v in pooled.items()},
        "record_median_N_ms_range": [min(medians), max(medians)] if medians else None,
        "records": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(
        f"all beats: {result['all_beats']}; per-record N medians {result['record_median_N_ms_range']}"
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
