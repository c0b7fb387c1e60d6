"""How far apart groups of seeds of ONE recipe land: the noise a candidate's bar must clear.

Each argument names a group: an ``scripts/ablation.py`` JSON and the run folders in it that
form the group (their last path component), e.g. three distilled students of one recipe.
For the DS1 validation records and the SVDB subset (as the product runs: ``*_product``),
V and S, it prints each group's mean F1, the range of the group means and the range of the
single runs.

    python scripts/seed_spread.py \\
        results/ds1_validation/ablation_epochs_4_gpu.json:b_s0,b_s1,b_s2 \\
        results/ds1_validation/ablation_candidate_dropout_0.3_cpu_replication.json:cb_s3,cb_s4,cb_s5 \\
        --out results/ds1_validation/seed_spread.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from evaluate import write_result  # noqa: E402

#: (key in an ablation.py run, name in the output)
SETS: tuple[tuple[str, str], ...] = (("ds1_val_product", "DS1 val"), ("svdb_product", "SVDB"))
CLASSES: tuple[str, ...] = ("V", "S")


def read_group(spec: str) -> tuple[str, list[dict]]:
    """``FILE.json:RUN,RUN,...`` -> (spec, the named runs of that ablation.py output)."""
    path, _, names = spec.rpartition(":")
    if not path or not names:
        raise SystemExit(f"{spec!r}: expected FILE.json:RUN,RUN,...")
    wanted = names.split(",")
    runs = {Path(r["checkpoint"]).name: r for r in json.loads(Path(path).read_text())["runs"]}
    missing = [name for name in wanted if name not in runs]
    if missing:
        raise SystemExit(f"{path}: no run named {', '.join(missing)} (it has {', '.join(runs)})")
    return spec, [runs[name] for name in wanted]


def spread(groups: list[tuple[str, list[dict]]]) -> dict:
    """Each group's mean F1 per set and class, and the spread of group means and of runs."""
    result: dict = {"groups": {}, "spread": {}}
    for spec, runs in groups:
        result["groups"][spec] = {
            f"{name} {c}": float(np.mean([r[key][c]["f1"] for r in runs]))
            for key, name in SETS
            for c in CLASSES
        }
    for key, name in SETS:
        for c in CLASSES:
            label = f"{name} {c}"
            means = [g[label] for g in result["groups"].values()]
            singles = [r[key][c]["f1"] for _, runs in groups for r in runs]
            result["spread"][label] = {
                "group_means": [min(means), max(means)],
                "group_mean_range": max(means) - min(means),
                "single_runs": [min(singles), max(singles)],
            }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="+", help="FILE.json:RUN,RUN,... (one per group)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    result = spread([read_group(spec) for spec in args.groups])
    for label, s in result["spread"].items():
        lo, hi = s["group_means"]
        print(
            f"{label:>9} F1: group means {lo:.2f}-{hi:.2f} (range {s['group_mean_range']:.2f}), "
            f"single runs {s['single_runs'][0]:.1f}-{s['single_runs'][1]:.1f}"
        )
    result["command"] = " ".join(["python", *sys.argv])
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
