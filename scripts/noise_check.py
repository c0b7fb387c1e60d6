"""What the quality mask hides, end to end on the development sets (never DS2).

Beats inside the noisy spans of the analysed lead are left out of the report's counts,
burden, runs and heart rate, and classified from the other lead alone. For each
checkpoint, each record run through the product (``ecg_core.pipeline.analyze``):

- the reference beats of each class inside the report's noisy spans (a V beat there is a
  ventricular beat the report does not count: a run of VT called noise is the worst case);
- V and S Se / +P / F1 on our own detections (matched within 150 ms);
- on the NSTDB (118 and 119 with electrode-motion noise, per SNR): the share of the noise
  segments, and of the clean ones, inside the noisy spans.

    python scripts/noise_check.py checkpoints/diagnostic checkpoints/realtime --out results/noise_check.json
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
    write_result,
)

from ecg_core.aami import AAMI_CLASSES  # noqa: E402
from ecg_core.analysis import beats_in_spans  # noqa: E402
from ecg_core.classifier import load_model  # noqa: E402
from ecg_core.metrics import percent_scores  # noqa: E402
from ecg_core.quality import _nstdb_noise_mask  # noqa: E402


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
            counts = np.zeros((n + 1, n + 1), dtype=np.int64)
            hidden = np.zeros(n, dtype=np.int64)
            hidden_by_record: dict[str, list[int]] = {}
            noise_flagged = clean_flagged = noise_samples = clean_samples = 0
            for report, ref_samples, ref_labels in product_reports(model, paths):
                counts += product_counts(report, ref_samples, ref_labels)
                inside = beats_in_spans(ref_samples, report.fs, report.noisy_spans)
                per_class = np.bincount(ref_labels[inside], minlength=n)
                hidden += per_class
                if per_class.any():
                    hidden_by_record[report.name] = per_class.tolist()
                if name.startswith("NSTDB"):
                    n_samples = int(round(report.duration_s * report.fs))
                    noise = _nstdb_noise_mask(n_samples, report.fs)
                    flagged = beats_in_spans(np.arange(n_samples), report.fs, report.noisy_spans)
                    noise_flagged += int(flagged[noise].sum())
                    clean_flagged += int(flagged[~noise].sum())
                    noise_samples += int(noise.sum())
                    clean_samples += int((~noise).sum())
            row: dict = percent_scores(counts)
            row["reference_beats_in_noisy_spans"] = dict(
                zip(AAMI_CLASSES, hidden.tolist(), strict=True)
            )
            row["reference_beats_in_noisy_spans_by_record"] = hidden_by_record
            if noise_samples:
                row["noise_segments_flagged_percent"] = 100 * noise_flagged / noise_samples
                row["clean_segments_flagged_percent"] = 100 * clean_flagged / clean_samples
            rows[name] = row
            flagged_text = (
                f" | noise flagged {row['noise_segments_flagged_percent']:.1f} %, clean "
                f"{row['clean_segments_flagged_percent']:.1f} %"
                if noise_samples
                else ""
            )
            print(
                f"{checkpoint} | {name}: V {row['V']['se']:.1f} / {row['V']['ppv']:.1f} (F1 "
                f"{row['V']['f1']:.2f}) | S F1 {row['S']['f1']:.2f} | reference beats in noisy "
                f"spans {row['reference_beats_in_noisy_spans']}{flagged_text}",
                flush=True,
            )
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
