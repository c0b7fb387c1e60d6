"""Analyse ECG records in batch: a beat table and a report per record (DESIGN.md §4).

    python scripts/analyze.py ../shared/data/mitdb/208 --out /tmp/a
    python scripts/analyze.py ../shared/data/mitdb --out /tmp/a --workers 2 --mode realtime
    python scripts/analyze.py my_holter.csv --fs 250 --out /tmp/a --lead II
    python scripts/analyze.py my_holter.edf --out /tmp/a

INPUT is a WFDB record path without extension (or its .hea/.dat), a CSV or EDF file, or a
folder (every WFDB record and .csv/.tsv/.edf in it). For each record NAME it writes NAME.beats.csv
(sample, time_s, label, confidence, p_N..p_Q, noisy, af; sample at the input's own rate) and
NAME.report.json. An input that cannot be analysed gets a one-line error and the others go
on; the exit status is 1 if any input failed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ecg_core.errors import ECGInputError  # noqa: E402

#: Files that are a whole record each (CSV, EDF): the record is named by the file's stem.
ONE_FILE_SUFFIXES = {".csv", ".tsv", ".txt", ".edf"}
#: A folder's .txt files are documentation (PhysioNet's README.txt, SHA256SUMS.txt, ...), not
#: records: a folder gives its .csv / .tsv / .edf files only; a .txt ECG can be named on its own.
FOLDER_FILE_SUFFIXES = {".csv", ".tsv", ".edf"}
WFDB_SUFFIXES = {".hea", ".dat", ".atr"}

# One model per worker process, loaded once (see _init_worker).
_MODEL = None
_OPTIONS: dict = {}


def expand_inputs(inputs: list[str]) -> list[tuple[str, str]]:
    """(display name, path for read_record) for every record the inputs name.

    A folder gives each ``*.hea`` record and each ``.csv`` / ``.tsv`` / ``.edf`` in it
    (sorted; its ``.txt`` files are taken for documentation); a path that names nothing
    readable is kept as is so that its error is reported with the others.
    """
    items: list[tuple[str, str]] = []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            found = sorted({p.with_suffix("") for p in path.glob("*.hea")})
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in FOLDER_FILE_SUFFIXES)
            if not found and not files:
                items.append((raw, raw))  # reported as an error: nothing to analyse there
            items += [(p.name, str(p)) for p in found]
            items += [(p.stem, str(p)) for p in files]
        elif path.suffix.lower() in WFDB_SUFFIXES:
            items.append((path.stem, str(path.with_suffix(""))))
        else:
            name = path.stem if path.suffix.lower() in ONE_FILE_SUFFIXES else path.name
            items.append((name, raw))
    return items


def _init_worker(options: dict, n_threads: int | None) -> None:
    global _MODEL, _OPTIONS
    if n_threads:
        import torch

        torch.set_num_threads(n_threads)
    from ecg_core.classifier import load_model

    _OPTIONS = options
    _MODEL = load_model(options["checkpoint"] or options["mode"], quantized=options["int8"])


def analyze_one(name: str, source: str) -> tuple[str, str, str | None, str]:
    """Analyse one input and write its two files. Returns (name, source, error, message)."""
    from ecg_core.leads import read_analysis_leads
    from ecg_core.pipeline import analyze

    start = time.perf_counter()
    second_lead = not _OPTIONS["single_lead"]
    try:
        # Only the leads the analysis reads: a 24-hour 12-lead Holter is 4 GB as float64.
        record, lead, _ = read_analysis_leads(
            source, _OPTIONS["lead"], second_lead, fs=_OPTIONS["fs"]
        )
        report = analyze(record, model=_MODEL, lead=lead, second_lead=second_lead)
        out_dir = Path(_OPTIONS["out"])
        report.beats_csv(out_dir / f"{name}.beats.csv")
        report.to_json(out_dir / f"{name}.report.json")
        seconds = time.perf_counter() - start
        return name, source, None, f"{report.summary['message']} [{seconds:.1f} s]"
    except ECGInputError as err:
        return name, source, str(err), ""
    except Exception as err:  # noqa: BLE001 - one bad file must not stop the batch
        return name, source, f"{type(err).__name__}: {err}", ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="record path, CSV or folder")
    parser.add_argument("--out", required=True, type=Path, help="folder for the output files")
    parser.add_argument("--mode", choices=["realtime", "diagnostic"], default="diagnostic")
    parser.add_argument("--checkpoint", default=None, help="checkpoint folder (overrides --mode)")
    parser.add_argument("--int8", action="store_true", help="use the int8 weights")
    parser.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    parser.add_argument("--lead", default=None, help="lead name, e.g. MLII (default: by name)")
    parser.add_argument("--fs", type=float, default=None, help="sampling rate of CSV inputs (Hz)")
    parser.add_argument(
        "--single-lead",
        action="store_true",
        help="classify on the analysed lead alone (default: averaged with a second lead)",
    )
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers must be at least 1, got {args.workers}")

    args.out.mkdir(parents=True, exist_ok=True)
    items = expand_inputs(args.inputs)
    options = {
        "mode": args.mode,
        "checkpoint": args.checkpoint,
        "int8": args.int8,
        "lead": args.lead,
        "single_lead": args.single_lead,
        "fs": args.fs,
        "out": str(args.out),
    }
    workers = min(args.workers, len(items))
    failures = 0

    def report(result: tuple[str, str, str | None, str], bar: tqdm) -> None:
        nonlocal failures
        name, source, error, message = result
        if error:
            failures += 1
            bar.write(f"error: {source}: {error}")
        else:
            bar.write(f"{name}: {message}")

    with tqdm(total=len(items), unit="record", desc="Analysing") as bar:
        if workers <= 1:
            _init_worker(options, None)
            for name, source in items:
                bar.set_postfix_str(name)
                report(analyze_one(name, source), bar)
                bar.update()
        else:
            threads = max(1, (os.cpu_count() or 1) // workers)
            # spawn: fresh workers that do not inherit the parent's torch thread state
            # (fork after importing torch can hang), and the same behaviour on every OS.
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(workers, context, _init_worker, (options, threads)) as pool:
                futures = {pool.submit(analyze_one, *item): item for item in items}
                for future in as_completed(futures):
                    try:
                        result = future.result()
                    except Exception as err:  # noqa: BLE001 - e.g. a worker killed for memory
                        result = (
                            *futures[future],
                            f"worker failed: {type(err).__name__}: {err}",
                            "",
                        )
                    report(result, bar)
                    bar.update()

    print(f"{len(items) - failures} of {len(items)} input(s) analysed; files in {args.out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
