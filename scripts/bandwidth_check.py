"""Beats as recorded or low-passed to one bandwidth before the network, end to end on the
development sets (never DS2).

Recorders differ in bandwidth: MIT-BIH passes up to about 60 Hz, a 128-Hz Holter such as
SVDB's rounds the QRS off. The models were trained on both kinds (``recorder_augment``
low-passes half the sequences at 15-40 Hz). ``BeatClassifier.lowpass_hz`` low-passes every
beat and its template at one cutoff instead (``ecg_core.features.lowpass_morphology``), so
every recorder reaches the network with the same bandwidth. For each checkpoint, as recorded
and at each cutoff: V and S Se / +P / F1 on our own detections and the false beats per label,
on the SVDB subset and MIT-BIH DS1 (or its validation records), through the product
(``ecg_core.pipeline.analyze``: two leads, template, AF and SVT steps).

    python scripts/bandwidth_check.py checkpoints/diagnostic checkpoints/realtime --out results/bandwidth_check.json
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument(
        "--cutoff-hz", type=float, nargs="+", default=[25.0], help="low-pass cutoffs to score"
    )
    add_development_sets_arguments(parser)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    settings = {"as recorded": {"lowpass_hz": None}}
    settings.update({f"low-pass {hz:g} Hz": {"lowpass_hz": hz} for hz in args.cutoff_hz})
    sets = development_sets(args.mitdb, args.svdb, args.ds1)
    result = {
        "command": " ".join(sys.argv),
        "checkpoints": compare_settings(args.checkpoints, sets, settings),
    }
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
