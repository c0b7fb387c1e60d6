"""Beat windows at the detected R peaks or moved onto their templates, end to end on the
development sets (never DS2).

On notched or biphasic QRS complexes our detector's R peak lands on one deflection in some
beats and on the other in the rest, and a window 40-60 ms off its template reads as another
morphology. The product moves each window onto its running template first
(``ecg_core.features.template_aligned_positions``; ``BeatClassifier.align_windows``). For
each checkpoint, with the windows moved and at the R peaks: V and S Se / +P / F1 on our own
detections (matched within 150 ms) and the false beats per label, on the SVDB subset and
MIT-BIH DS1, through the product (``ecg_core.pipeline.analyze``: two leads, AF and SVT steps).

    python scripts/align_check.py checkpoints/diagnostic checkpoints/realtime --out results/align_check.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from evaluate import (  # noqa: E402
    add_development_sets_arguments,
    development_sets,
    product_totals,
    write_result,
)

from ecg_core.classifier import load_model  # noqa: E402
from ecg_core.metrics import metrics_from_counts, percent_scores  # noqa: E402

SETTINGS = {"at R peaks": False, "moved onto templates": True}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+")
    add_development_sets_arguments(parser)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    result: dict = {"command": " ".join(sys.argv), "checkpoints": {}}
    for checkpoint in args.checkpoints:
        model = load_model(checkpoint)
        rows = result["checkpoints"][checkpoint] = {}
        for name, paths in development_sets(args.mitdb, args.svdb, args.ds1).items():
            rows[name] = {}
            for setting, align in SETTINGS.items():
                model.align_windows = align
                counts = product_totals(model, paths)
                scores = percent_scores(counts)
                scores["false_beats"] = metrics_from_counts(counts)["false_beats"]
                rows[name][setting] = scores
                print(
                    f"{checkpoint} | {name} | {setting:>20}: V {scores['V']['se']:.1f} / "
                    f"{scores['V']['ppv']:.1f} (F1 {scores['V']['f1']:.2f}) | S "
                    f"{scores['S']['se']:.1f} / {scores['S']['ppv']:.1f} (F1 "
                    f"{scores['S']['f1']:.2f}) | false V {scores['false_beats']['V']}",
                    flush=True,
                )
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
