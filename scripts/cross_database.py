"""Score the shipped models on databases other than the one they were trained on.

For each checkpoint: the MIT-BIH Supraventricular Arrhythmia Database subset (128 Hz, another
recorder; zero-shot, reference and detected beats) and the Noise Stress Test Database per SNR
(detected beats: QRS and V), scored once over every beat and once over usable signal only
(``exclude_noisy``: beats inside the quality mask's noisy spans left out, as the product
reports burden; the share of beats left out is stored and shown with it). MIT-BIH DS2 figures are read from each checkpoint's metrics.json
(written by scripts/write_metrics.py). Writes one JSON (read by the app's model card) and
prints a Markdown table (pasted in the README).

    python scripts/cross_database.py --out results/cross_database.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import evaluate as ev  # noqa: E402  (scripts/evaluate.py)

DEFAULT_DATA = ROOT.parent / "shared" / "data"


def _se_ppv(result: dict, label: str) -> dict:
    row = result["classes"][label]
    return {"se": row["se"], "ppv": row["ppv"], "n": row["n"]}


def _summary(result: dict) -> dict:
    summary = {label: _se_ppv(result, label) for label in ("S", "V")}
    summary["accuracy"] = result["accuracy"]
    if "qrs" in result:
        summary["qrs"] = {k: result["qrs"][k] for k in ("se", "ppv")}
    return summary


def score_checkpoint(checkpoint: str, data_root: Path, workers: int) -> dict:
    metrics = json.loads((ROOT / "checkpoints" / checkpoint / "metrics.json").read_text())
    scores: dict = {
        "mitdb_ds2": {beats: _summary(metrics[beats]) for beats in ("reference", "detected")}
    }
    labeller = ev.ModelLabellerFactory(str(ROOT / "checkpoints" / checkpoint), False)

    def run(data_dir: Path, records: list[str], beats: str, exclude_noisy: bool = False) -> dict:
        return ev.evaluate(
            data_dir,
            records,
            task="classify",
            beats=beats,
            labeller_for=labeller,
            workers=workers,
            mode=metrics["mode"],
            log=lambda message: None,
            exclude_noisy=exclude_noisy,
        )

    svdb = data_root / "svdb-adapt"
    if svdb.is_dir():
        records = ev.available_records(svdb)
        scores["svdb_adapt_zero_shot"] = {
            beats: _summary(run(svdb, records, beats)) for beats in ("reference", "detected")
        }
    nstdb = data_root / "nstdb"
    if nstdb.is_dir():
        scores["nstdb_detected"] = {
            snr: _summary(run(nstdb, [f"118e{tag}", f"119e{tag}"], "detected"))
            for snr, tag in ev.NSTDB_SNRS_DB.items()
        }
        scores["nstdb_detected_usable"] = {}
        for snr, tag in ev.NSTDB_SNRS_DB.items():
            result = run(nstdb, [f"118e{tag}", f"119e{tag}"], "detected", exclude_noisy=True)
            scores["nstdb_detected_usable"][snr] = {
                **_summary(result),
                "excluded_beats": result["excluded_beats"],
                "excluded_percent": result["excluded_percent"],
            }
    return scores


def _pct(row: dict) -> str:
    fmt = [f"{100 * v:.1f}" if v is not None else "-" for v in (row["se"], row["ppv"])]
    return " / ".join(fmt)


def markdown_table(results: dict) -> str:
    lines = [
        "| model | data | beats | V Se / +P % | S Se / +P % | QRS Se / +P % |",
        "|---|---|---|---|---|---|",
    ]
    for checkpoint, scores in results["models"].items():
        rows = [("MIT-BIH DS2", b, s) for b, s in scores["mitdb_ds2"].items()]
        rows += [
            ("SVDB subset, zero-shot", b, s)
            for b, s in scores.get("svdb_adapt_zero_shot", {}).items()
        ]
        rows += [
            (f"NSTDB {snr} dB", "detected", s)
            for snr, s in scores.get("nstdb_detected", {}).items()
        ]
        rows += [
            (
                f"NSTDB {snr} dB, usable signal only "
                f"({s['excluded_percent']:.1f} % of beats excluded)",
                "detected",
                s,
            )
            for snr, s in scores.get("nstdb_detected_usable", {}).items()
        ]
        for data, beats, s in rows:
            qrs = _pct(s["qrs"]) if "qrs" in s else "-"
            lines.append(
                f"| {checkpoint} | {data} | {beats} | {_pct(s['V'])} | {_pct(s['S'])} | {qrs} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--data-root", type=Path, default=DEFAULT_DATA, help="folder of databases")
    parser.add_argument("--checkpoints", default="diagnostic,realtime")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    results = {"models": {}}
    for checkpoint in args.checkpoints.split(","):
        print(f"scoring {checkpoint} ...", flush=True)
        results["models"][checkpoint] = score_checkpoint(checkpoint, args.data_root, args.workers)
    results["command"] = "python scripts/cross_database.py --out " + str(args.out)
    results["markdown"] = markdown_table(results)  # shown as is by the app's model card
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(results["markdown"])
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
