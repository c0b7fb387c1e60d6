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
    compare_settings,
    development_sets,
    write_result,
)

SETTINGS = {"at R peaks": {"align_windows": False}, "moved onto templates": {"align_windows": True}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+")
    add_development_sets_arguments(parser)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    sets = development_sets(args.mitdb, args.svdb, args.ds1)
    result = {
        "command": " ".join(sys.argv),
        "checkpoints": compare_settings(args.checkpoints, sets, SETTINGS),
    }
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
