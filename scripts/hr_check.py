"""Heart rate and pauses from our detections against those from the annotated beats (never DS2).

The product reports heart rate (mean, and min / max over 10-beat windows) and pauses (RR
>= 2 s) from the R peaks it detects. A false detection splits one RR interval into two and
a missed beat merges two; both move those figures. This script runs the product end to end
(``ecg_core.pipeline.analyze``) on each record and computes the same figures, with the same
noisy spans, three ways:

- ``reference``: from the annotated beats (every beat class, paced beats included);
- ``all detections``: from every detection, as the product did before it skipped Q;
- ``product``: skipping the Q detections that split an RR interval
  (``ecg_core.analysis.rate_beats``), as the product reports them now (``--max-merged-rr``
  changes the rule: ``inf`` skips every Q detection).

Per set: mean absolute error (bpm) of the mean, min and max heart rate against the reference,
records whose max HR is off by more than 5 bpm, and clean pauses found vs annotated.

    python scripts/hr_check.py --out results/hr_check.json
    python scripts/hr_check.py --max-merged-rr inf --out results/hr_check_skip_every_q.json
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

from ecg_core import analysis  # noqa: E402
from ecg_core.classifier import load_model  # noqa: E402
from ecg_core.pipeline import analyze  # noqa: E402
from ecg_core.runs import find_pauses, run_counts  # noqa: E402

HR_KEYS = ("hr_mean_bpm", "hr_min_bpm", "hr_max_bpm")
#: Paced MIT-BIH records: in neither DS1 nor DS2 (AAMI leaves them out of beat scoring).
PACED = ("102", "104", "107", "217")


def rate_figures(r_peaks: np.ndarray, fs: float, noisy: np.ndarray, gaps_s: list) -> dict:
    """Heart-rate statistics and the number of clean pauses of one beat sequence."""
    pauses = find_pauses(r_peaks, fs, noisy, gaps_s=gaps_s)
    return {**analysis.heart_rate_stats(r_peaks, fs, noisy), "pauses": run_counts(pauses)["pauses"]}


def check_record(path: Path, model, max_merged_rr: float) -> dict:
    """The three ways of one record (see the module docstring)."""
    record = read_annotated_record(path)
    report = analyze(record, model=model)
    fs = report.fs
    gaps_s = [*report.noisy_spans, *report.vf_spans]
    ref_samples, _ = reference_beats(record)
    ref_noisy = analysis.beats_in_spans(ref_samples, fs, report.noisy_spans)
    samples = report.beats["sample"].to_numpy()
    noisy = report.beats["noisy"].to_numpy()
    rate = analysis.rate_beats(samples, report.beats["label"].to_numpy(), max_merged_rr)
    return {
        "record": path.name,
        "q_detections": int((~rate).sum()),
        "reference": rate_figures(ref_samples, fs, ref_noisy, gaps_s),
        "all detections": rate_figures(samples, fs, noisy, gaps_s),
        "product": rate_figures(samples[rate], fs, noisy[rate], gaps_s),
    }


def summarise(rows: list[dict]) -> dict:
    """Errors of each way against the reference, over the records of one set."""
    out = {"records": len(rows), "q_detections": sum(r["q_detections"] for r in rows)}
    out["annotated pauses"] = sum(r["reference"]["pauses"] for r in rows)
    for way in ("all detections", "product"):
        figures: dict = {}
        for key in HR_KEYS:
            errors = [
                abs(r[way][key] - r["reference"][key])
                for r in rows
                if r[way][key] is not None and r["reference"][key] is not None
            ]
            figures[f"{key} MAE"] = round(float(np.mean(errors)), 2) if errors else None
        figures["records with max HR off > 5 bpm"] = sum(
            1
            for r in rows
            if None not in (r[way]["hr_max_bpm"], r["reference"]["hr_max_bpm"])
            and abs(r[way]["hr_max_bpm"] - r["reference"]["hr_max_bpm"]) > 5.0
        )
        figures["pauses"] = sum(r[way]["pauses"] for r in rows)
        out[way] = figures
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", default="diagnostic")
    add_development_sets_arguments(parser)
    parser.add_argument("--nstdb", type=Path, default=ROOT.parent / "shared" / "data" / "nstdb")
    parser.add_argument("--max-merged-rr", type=float, default=analysis.MAX_MERGED_RR)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    model = load_model(args.checkpoint)
    sets = development_sets(args.mitdb, args.svdb, args.ds1)
    sets["MIT-BIH paced (in neither DS1 nor DS2)"] = [args.mitdb / r for r in PACED]
    nstdb = sorted(p.with_suffix("") for p in args.nstdb.glob("1[01]?e*.hea"))
    snr_db = {p: int(p.name[4:].replace("_", "-")) for p in nstdb}  # 118e_6: -6 dB
    for snr in sorted(set(snr_db.values()), reverse=True):
        sets[f"NSTDB {snr} dB"] = [p for p in nstdb if snr_db[p] == snr]

    result: dict = {
        "checkpoint": str(args.checkpoint),
        "max_merged_rr": args.max_merged_rr,
        "command": " ".join(sys.argv),
        "sets": {},
    }
    for name, paths in sets.items():
        rows = [
            check_record(p, model, args.max_merged_rr)
            for p in paths
            if p.with_suffix(".hea").exists()
        ]
        result["sets"][name] = {"summary": summarise(rows), "records": rows}
        s = result["sets"][name]["summary"]
        print(
            f"{name}: {s['q_detections']} Q | all detections {s['all detections']} | "
            f"product {s['product']} | annotated pauses {s['annotated pauses']}"
        )
    write_result(args.out, result)


if __name__ == "__main__":
    main()
