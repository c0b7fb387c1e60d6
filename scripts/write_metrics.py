"""Write a checkpoint's metrics.json: DS2 reference + detected beats, fp32 and int8.

Runs the same code as ``scripts/evaluate.py`` (imported, not re-implemented) four times and
merges the results. Run it only on a final, already-chosen checkpoint (DESIGN.md §3).

    python scripts/write_metrics.py --checkpoint checkpoints/diagnostic
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _evaluate_module():
    spec = importlib.util.spec_from_file_location(
        "evaluate_script", ROOT / "scripts" / "evaluate.py"
    )
    module = importlib.util.module_from_spec(spec)
    # registered so that --workers can pickle its functions (forked workers inherit it)
    sys.modules["evaluate_script"] = module
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data" / "mitdb")
    parser.add_argument("--records", default="DS2")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="default: <checkpoint>/metrics.json")
    args = parser.parse_args(argv)

    ev = _evaluate_module()
    from ecg_core.classifier import load_model, resolve_checkpoint

    folder = resolve_checkpoint(args.checkpoint)
    mode = load_model(folder).mode
    records = ev.resolve_record_list(args.records, ev.available_records(args.data_dir))
    merged: dict = {"checkpoint": folder.name, "mode": mode, "records": args.records}
    for quantized in (False, True):
        for beats in ("reference", "detected"):
            result = ev.evaluate(
                args.data_dir,
                records,
                task="classify",
                beats=beats,
                labeller_for=ev.ModelLabellerFactory(str(folder), quantized),
                workers=args.workers,
                mode=mode,
            )
            result["quantized"] = quantized
            result["command"] = (
                f"python scripts/evaluate.py --data-dir {args.data_dir} --records {args.records} "
                f"--checkpoint {args.checkpoint} --mode {mode} --beats {beats}"
                + (" --quantized" if quantized else "")
                + " --out FILE.json"
            )
            print(f"--- {mode} {'int8' if quantized else 'fp32'} {beats} beats")
            print(ev.format_report(result))
            if quantized:
                merged.setdefault("int8", {})[beats] = result
            else:
                merged[beats] = result
    out = args.out or folder / "metrics.json"
    out.write_text(json.dumps(merged, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
