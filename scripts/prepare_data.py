"""Build (or reload) the cached beat arrays for a WFDB database.

python scripts/prepare_data.py --data-dir ../shared/data/mitdb --records DS1 --mode diagnostic
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ecg_core.aami import AAMI_CLASSES, resolve_record_list  # noqa: E402
from ecg_core.dataset import DEFAULT_CACHE_DIR, build_beat_dataset  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="../shared/data/mitdb")
    parser.add_argument("--records", default="DS1", help="DS1, DS2, all, or a list '100,101'")
    parser.add_argument("--mode", choices=["realtime", "diagnostic", "both"], default="both")
    parser.add_argument("--lead", default=None, help="lead name or index (default MLII / II)")
    parser.add_argument("--annotator", default="atr")
    parser.add_argument("--cache-dir", default=str(DEFAULT_CACHE_DIR))
    args = parser.parse_args(argv)

    data_dir = Path(args.data_dir)
    available = [p.stem for p in data_dir.glob("*.hea")]
    records = resolve_record_list(args.records, available)
    modes = ["realtime", "diagnostic"] if args.mode == "both" else [args.mode]
    for mode in modes:
        start = time.perf_counter()
        data = build_beat_dataset(
            data_dir,
            records,
            causal=mode == "realtime",
            lead=args.lead,
            annotator=args.annotator,
            cache_dir=args.cache_dir,
        )
        counts = np.bincount(data.labels, minlength=len(AAMI_CLASSES))
        per_class = ", ".join(f"{c}={n}" for c, n in zip(AAMI_CLASSES, counts, strict=True))
        print(
            f"{mode}: {len(records)} records, {len(data)} beats ({per_class}), "
            f"window {data.windows.shape[1]} samples, {time.perf_counter() - start:.1f} s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
