"""Benchmarks, one section per function, written to one JSON with the machine they ran on.

    python scripts/benchmark.py --out benchmark.json                       # all sections
    python scripts/benchmark.py --sections qrs --qrs-records all --out qrs_bench.json

Section ``qrs``: our detector against NeuroKit2 (default ``ecg_clean`` + ``ecg_peaks``, and
Pan-Tompkins), wfdb ``xqrs`` and wfdb ``gqrs`` on the same MIT-BIH records (lead MLII), in
one run: wall time per record (best of ``--repeat`` rounds in which the fast detectors take
turns, after a warm-up on 10 s of signal; xqrs/gqrs: one run each) and
Se/+P scored exactly as ``scripts/evaluate.py --task qrs`` scores ours. wfdb's xqrs and gqrs
are pure-Python loops (minutes on some records, and xqrs can fail to learn): they run in a
child process killed after ``--slow-timeout`` seconds per record (a record that times out is
listed under ``timed_out`` and left out of that detector's totals), and only on
``--slow-records`` (default: the same records).

Adding a section: write ``def section_NAME(args) -> dict`` and register it in ``SECTIONS``
(add its options to ``build_parser``); ``--sections NAME`` then runs it.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from evaluate import flutter_spans, read_annotated_record, reference_beats  # noqa: E402

from ecg_core.aami import MITDB_ALL, resolve_record_list  # noqa: E402
from ecg_core.metrics import MATCH_TOLERANCE_S, qrs_counts, qrs_summary  # noqa: E402
from ecg_core.preprocessing import select_lead  # noqa: E402
from ecg_core.qrs import detect_qrs  # noqa: E402

DEFAULT_DATA_DIR = REPO.parent / "shared" / "data" / "mitdb"
#: A representative 30-minute record: frequent PVCs and fusion beats, some noise.
DEFAULT_QRS_RECORD = "208"


# ----------------------------------------------------------------------------- machine
def machine_info() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for package in ("numpy", "scipy", "torch", "neurokit2", "wfdb"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "affinity_cores": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else None,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "versions": versions,
    }


# ----------------------------------------------------------------------------- QRS detectors
def ours(signal: np.ndarray, fs: float) -> np.ndarray:
    return detect_qrs(signal, fs)


def neurokit_default(signal: np.ndarray, fs: float) -> np.ndarray:
    import neurokit2 as nk

    _, info = nk.ecg_peaks(nk.ecg_clean(signal, sampling_rate=fs), sampling_rate=fs)
    return np.asarray(info["ECG_R_Peaks"], dtype=np.int64)


def neurokit_pantompkins(signal: np.ndarray, fs: float) -> np.ndarray:
    import neurokit2 as nk

    cleaned = nk.ecg_clean(signal, sampling_rate=fs, method="pantompkins1985")
    _, info = nk.ecg_peaks(cleaned, sampling_rate=fs, method="pantompkins1985")
    return np.asarray(info["ECG_R_Peaks"], dtype=np.int64)


def wfdb_xqrs(signal: np.ndarray, fs: float) -> np.ndarray:
    from wfdb import processing

    return np.asarray(processing.xqrs_detect(signal, fs=fs, verbose=False), dtype=np.int64)


def wfdb_gqrs(signal: np.ndarray, fs: float) -> np.ndarray:
    from wfdb import processing

    return np.asarray(processing.gqrs_detect(sig=signal, fs=fs), dtype=np.int64)


#: name -> (function, slow: run in a killable child process)
QRS_DETECTORS: dict[str, tuple[Callable[[np.ndarray, float], np.ndarray], bool]] = {
    "ours": (ours, False),
    "neurokit2_default": (neurokit_default, False),
    "neurokit2_pantompkins": (neurokit_pantompkins, False),
    "wfdb_xqrs": (wfdb_xqrs, True),
    "wfdb_gqrs": (wfdb_gqrs, True),
}


def _timed(fn: Callable, signal: np.ndarray, fs: float, repeat: int) -> tuple[np.ndarray, float]:
    """(result, best wall time in seconds over ``repeat`` runs)."""
    best = np.inf
    out = None
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = fn(signal, fs)
        best = min(best, time.perf_counter() - start)
    return out, best


def _interleaved_times(names: list[str], signal: np.ndarray, fs: float, repeat: int) -> dict:
    """{name: (result, best seconds)}: the detectors take turns, ``repeat`` rounds, so that
    load from other processes on a shared machine falls on all of them alike."""
    for name in names:
        QRS_DETECTORS[name][0](signal[: int(10 * fs)], fs)  # warm-up (imports, caches)
    out: dict = {}
    for _ in range(max(1, repeat)):
        for name in names:
            result, seconds = _timed(QRS_DETECTORS[name][0], signal, fs, 1)
            best = min(seconds, out[name][1]) if name in out else seconds
            out[name] = (result, best)
    return out


def _child(name: str, signal: np.ndarray, fs: float, repeat: int, conn) -> None:
    try:
        fn = QRS_DETECTORS[name][0]
        fn(signal[: int(10 * fs)], fs)  # warm-up (imports, caches)
        conn.send(_timed(fn, signal, fs, repeat))
    except Exception as error:  # report, do not hang the parent
        conn.send(error)
    finally:
        conn.close()


def _timed_with_timeout(name, signal, fs, repeat, timeout_s):
    """Run a slow detector in a child process; None when it ran past ``timeout_s``."""
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    parent, child = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(name, signal, fs, repeat, child))
    process.start()
    child.close()
    result = parent.recv() if parent.poll(timeout_s) else None
    if process.is_alive():
        process.terminate()
    process.join()
    if isinstance(result, Exception):
        raise result
    return result


def section_qrs(args: argparse.Namespace) -> dict:
    """Our detector against NeuroKit2 and wfdb on the same records, timed side by side."""
    available = [p.stem for p in Path(args.data_dir).glob("*.hea")] or list(MITDB_ALL)
    records = resolve_record_list(args.qrs_records, available)
    slow_records = set(
        records
        if args.slow_records == "same"
        else resolve_record_list(args.slow_records, available)
    )
    names = [n.strip() for n in args.detectors.split(",") if n.strip()]
    unknown = [n for n in names if n not in QRS_DETECTORS]
    if unknown:
        raise SystemExit(f"Unknown detector(s) {unknown}; choose from {list(QRS_DETECTORS)}")
    repeat = args.repeat if args.repeat else (10 if len(records) <= 2 else 3)

    totals = {
        n: {
            "tp": 0,
            "fp": 0,
            "fn": 0,
            "fp_in_vf": 0,
            "seconds": 0.0,
            "records": [],
            "timed_out": [],
        }
        for n in names
    }
    per_record = []
    for record_name in records:
        record = read_annotated_record(Path(args.data_dir) / record_name)
        signal = record.signal[:, select_lead(record.lead_names)]
        ref, _ = reference_beats(record)
        spans = flutter_spans(record)
        row = {"record": record_name, "beats": int(ref.size), "duration_s": record.duration_s}
        fast_times = _interleaved_times(
            [n for n in names if not QRS_DETECTORS[n][1]], signal, record.fs, repeat
        )
        for name in names:
            fn, slow = QRS_DETECTORS[name]
            if slow and record_name not in slow_records:
                continue
            if slow:
                result = _timed_with_timeout(name, signal, record.fs, 1, args.slow_timeout)
            else:
                result = fast_times[name]
            if result is None:
                totals[name]["timed_out"].append(record_name)
                row[name] = {"timed_out": args.slow_timeout}
                print(f"{record_name} {name}: timed out after {args.slow_timeout} s", flush=True)
                continue
            detected, seconds = result
            # Strict, as evaluate.py's primary "qrs"; fp_in_vf: how many of the FP lie in
            # annotated VF episodes (the EC57/bxb variant would not score them).
            counts = qrs_counts(ref, detected, MATCH_TOLERANCE_S * record.fs)
            counts["excluded"] = 0
            counts["fp_in_vf"] = qrs_counts(ref, detected, MATCH_TOLERANCE_S * record.fs, spans)[
                "excluded"
            ]
            row[name] = {
                **qrs_summary(counts),
                "fp_in_vf": counts["fp_in_vf"],
                "seconds": round(seconds, 4),
            }
            for key in ("tp", "fp", "fn", "fp_in_vf"):
                totals[name][key] += counts[key]
            totals[name]["seconds"] += seconds
            totals[name]["records"].append(record_name)
            print(
                f"{record_name} {name:>22}: {seconds:7.3f} s  FN {counts['fn']:4d}  FP {counts['fp']:4d}",
                flush=True,
            )
        per_record.append(row)

    detectors = {}
    for name, t in totals.items():
        summary = qrs_summary({"excluded": 0, **{k: t[k] for k in ("tp", "fp", "fn")}})
        detectors[name] = {
            **summary,
            "fp_in_vf": t["fp_in_vf"],
            "seconds_total": round(t["seconds"], 3),
            "records_scored": len(t["records"]),
            "timed_out": t["timed_out"],
        }
    out = {
        "records": records,
        "repeat": repeat,
        "tolerance_s": MATCH_TOLERANCE_S,
        "scoring": "strict, as scripts/evaluate.py's 'qrs': all beat annotations, whole "
        "records, MLII, every unmatched detection a false beat (fp_in_vf: how many of them "
        "lie inside annotated ventricular flutter episodes [ ... ])",
        "detectors": detectors,
        "per_record": per_record,
    }
    if "ours" in detectors and "neurokit2_default" in detectors:
        ours_s = detectors["ours"]["seconds_total"]
        nk_s = detectors["neurokit2_default"]["seconds_total"]
        out["ours_faster_than_neurokit2_default"] = bool(ours_s < nk_s)
        out["speed_ratio_neurokit2_default_over_ours"] = round(nk_s / ours_s, 2) if ours_s else None
    return out


def format_qrs(section: dict) -> str:
    lines = [
        f"{'detector':>22} {'records':>7} {'Se %':>7} {'+P %':>7} {'FN':>5} {'FP':>5} {'seconds':>8}"
    ]
    for name, d in section["detectors"].items():
        se = "-" if d["se"] is None else f"{100 * d['se']:.2f}"
        ppv = "-" if d["ppv"] is None else f"{100 * d['ppv']:.2f}"
        lines.append(
            f"{name:>22} {d['records_scored']:7d} {se:>7} {ppv:>7} {d['fn']:5d} {d['fp']:5d} "
            f"{d['seconds_total']:8.2f}"
            + (f"  timed out: {d['timed_out']}" if d["timed_out"] else "")
        )
    return "\n".join(lines)


#: name -> (function(args) -> dict, formatter(dict) -> str). Other engineers add theirs here.
SECTIONS: dict[str, tuple[Callable[[argparse.Namespace], dict], Callable[[dict], str]]] = {
    "qrs": (section_qrs, format_qrs),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument(
        "--sections", default="all", help=f"comma list of {list(SECTIONS)} or 'all'"
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="MIT-BIH folder")
    qrs = parser.add_argument_group("qrs section")
    qrs.add_argument("--qrs-records", default=DEFAULT_QRS_RECORD, help="e.g. 208, '100,208', all")
    qrs.add_argument("--detectors", default=",".join(QRS_DETECTORS), help="comma list of detectors")
    qrs.add_argument(
        "--slow-records", default="same", help="records for xqrs/gqrs ('same' or a list)"
    )
    qrs.add_argument(
        "--slow-timeout", type=float, default=300.0, help="seconds per record, xqrs/gqrs"
    )
    qrs.add_argument(
        "--repeat",
        type=int,
        default=0,
        help="timed rounds per record (0: 10 for 1-2 records, else 3)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    chosen = (
        list(SECTIONS) if args.sections == "all" else [s.strip() for s in args.sections.split(",")]
    )
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        raise SystemExit(f"Unknown section(s) {unknown}; choose from {list(SECTIONS)}")
    result = {"machine": machine_info(), "sections": {}}
    for name in chosen:
        run, fmt = SECTIONS[name]
        print(f"== {name}", flush=True)
        result["sections"][name] = run(args)
        print(fmt(result["sections"][name]), flush=True)
    result["machine"]["load_average_after"] = (
        list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
