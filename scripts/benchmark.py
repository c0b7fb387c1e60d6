"""Benchmarks, one section per function, written to one JSON with the machine they ran on.

    python scripts/benchmark.py --out benchmark.json                       # all sections (~2 min)
    python scripts/benchmark.py --sections qrs --qrs-records all --out qrs_bench.json
    python scripts/benchmark.py --sections model,pipeline --repeats 1 --records 100 --out b.json
    python scripts/benchmark.py --sections holter --out holter.json      # a 24-hour record
    python scripts/benchmark.py --sections holter --holter-leads 12 --holter-fs 500 --out h12.json
    python scripts/benchmark.py --sections holter --holter-format csv --out holter_csv.json
    python scripts/benchmark.py --sections holter --holter-format edf --out holter_edf.json

Every section's timings are medians (qrs: best) of ``--repeats`` rounds in which the things
compared take turns, so that load from other processes on a shared machine falls on all of
them alike; the JSON starts with the machine (CPU, cores, versions, load average before and
after) and torch's thread count (``--threads``; default as the app: min(2, cores)).

Section ``model``: for checkpoints/realtime and checkpoints/diagnostic, fp32 vs int8 (and the
deprecated torch.ao dynamic int8 path for reference): file size, parameters, beats/s at batch
1 (a streaming wearable: embed the newest beat, LSTM over the cached context embeddings;
checked equal to the batched output) and batched (a whole record's beats), and
``classify`` on the whole record, on the detected beats of ``--model-record`` (208).

Section ``pipeline``: 30-minute ``--records`` (100, 208) end to end, read_record -> analyze,
fp32 and int8, the model loaded once outside the timing (as the app does) and cold (with
load_model), per stage (read, quality, detect, classify, report: from analyze's own progress
callbacks), against NeuroKit2's detection alone (ecg_clean + ecg_peaks) on the same lead.

Section ``app``: scripts/bench_app.py — ``python app.py`` cold start and a 30-minute record's
/analyze_files round trip through gradio_client (target <= 3 s).

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
import statistics
import sys
import tempfile
import time
import warnings
from collections import deque
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # ecg_core is not installed: scripts run from a checkout
# (scripts/ itself is on sys.path as this file's folder: evaluate and bench_app import plainly)

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
    for package in ("numpy", "scipy", "torch", "neurokit2", "wfdb", "gradio", "gradio_client"):
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
    repeat = args.repeats if args.repeats else (10 if len(records) <= 2 else 3)

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


# ----------------------------------------------------------------------------- shared helpers
def _median(values: list[float]) -> float:
    return float(statistics.median(values))


def _set_torch_threads(args: argparse.Namespace) -> int:
    """torch intra-op threads as the app sets them (at most 2 on this shared machine)."""
    import torch

    torch.set_num_threads(args.threads or max(1, min(2, os.cpu_count() or 1)))
    return torch.get_num_threads()


def _record_path(args: argparse.Namespace, name: str, folder: Path) -> tuple[Path, str]:
    """(WFDB record path without extension, what it is): MIT-BIH ``name`` from ``--data-dir``,
    or a synthetic 30-minute 360 Hz record with PVCs and APCs written to ``folder`` when the
    data set is absent, so that the benchmark runs anywhere."""
    path = Path(args.data_dir) / name
    if path.with_suffix(".hea").exists():
        return path, f"MIT-BIH {name}"
    from ecg_core.synthetic import SyntheticSettings, synthesize, write_wfdb

    settings = SyntheticSettings(
        duration_s=1800, pvc_fraction=0.05, apc_fraction=0.02, emg_noise_mv=0.03, seed=30
    )
    written = write_wfdb(synthesize(settings, name=f"synthetic_{name}"), folder)
    hea = next(p for p in written if p.suffix == ".hea")
    return hea.with_suffix(""), f"synthetic 30 min 360 Hz (MIT-BIH {name} absent; seed 30)"


# ----------------------------------------------------------------------------- model section
CHECKPOINTS = ("realtime", "diagnostic")


def _record_beats(record_path: Path) -> tuple[np.ndarray, float, np.ndarray]:
    """(lead signal, fs, detected R peaks) of a record, as the pipeline would find them."""
    from ecg_core.io import read_record

    record = read_record(record_path)
    signal = np.ascontiguousarray(record.signal[:, select_lead(record.lead_names)])
    return signal, float(record.fs), detect_qrs(signal, record.fs)


def _beat_inputs(classifier, signal: np.ndarray, fs: float, r_peaks: np.ndarray):
    """The model's inputs (morphology, RR features) for these beats, made exactly as
    ``BeatClassifier.classify`` makes them, so that the model alone can be timed."""
    from ecg_core.features import beat_features
    from ecg_core.preprocessing import CANONICAL_FS, resample_positions, to_canonical

    cfg = classifier.config
    canonical = to_canonical(signal, fs, causal=cfg.causal)
    r_c = resample_positions(r_peaks, fs, CANONICAL_FS)
    feats = beat_features(
        canonical, r_c, causal=cfg.causal, pre=cfg.window_pre, post=cfg.window_post
    )
    return np.ascontiguousarray(feats.morph), np.ascontiguousarray(feats.rr[:, : cfg.n_rr])


def stream_one_beat_at_a_time(model, morph: np.ndarray, rr: np.ndarray) -> np.ndarray:
    """Probabilities as a streaming device computes them, batch 1: when a beat arrives it is
    embedded alone, its embedding joins a ring buffer of the last ``context_len`` embeddings,
    and the sequence model classifies the buffer's beat at ``context_past`` (the newest beat
    in real-time mode; with ``lookahead`` 1 the one before it). Returns (n - lookahead, 5)
    probabilities for beats 0 .. n - lookahead - 1, comparable with ``predict_beats``."""
    import torch

    cfg = model.cfg
    context_len = cfg.context_past + cfg.lookahead + 1
    morph_t, rr_t = torch.from_numpy(morph), torch.from_numpy(rr)
    buffer: deque = deque(maxlen=context_len)
    out = []
    with torch.no_grad():
        for i in range(morph.shape[0]):
            emb, _ = model.encoder(morph_t[i : i + 1], rr_t[i : i + 1])
            if not buffer:  # the record's first beat stands in for the missing past
                buffer.extend([emb] * (cfg.context_past + 1))
            else:
                buffer.append(emb)
            if len(buffer) == context_len:
                logits = model.classify_context(torch.cat(list(buffer))[None])
                out.append(torch.softmax(logits, dim=-1))
    return torch.cat(out).numpy() if out else np.zeros((0, len(cfg.classes)), np.float32)


def _torch_ao_dynamic(checkpoint: str):
    """The deprecated torch.ao dynamic int8 path (LSTM + Linear), for comparison only (not
    shipped: it cannot be written to safetensors; see ecg_core/quantize.py). None if gone."""
    import torch

    from ecg_core.classifier import load_model

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from torch.ao.quantization import quantize_dynamic

            return quantize_dynamic(
                load_model(checkpoint).model, {torch.nn.LSTM, torch.nn.Linear}, dtype=torch.qint8
            )
    except Exception as error:  # noqa: BLE001 - report, don't fail, when the API is gone
        print(f"torch.ao dynamic quantisation unavailable: {error}", flush=True)
        return None


def section_model(args: argparse.Namespace) -> dict:
    """Checkpoint sizes, parameters and beats/s (batch 1 and batched), fp32 vs int8."""
    from ecg_core.classifier import (
        FP32_WEIGHTS,
        INT8_WEIGHTS,
        load_model,
        predict_beats,
        resolve_checkpoint,
    )
    from ecg_core.models import count_parameters

    threads = _set_torch_threads(args)
    repeats = args.repeats or 5
    with tempfile.TemporaryDirectory(prefix="bench_model_") as folder:
        record_path, source = _record_path(args, args.model_record, Path(folder))
        signal, fs, r_peaks = _record_beats(record_path)
    n_stream = min(args.stream_beats, r_peaks.size)

    out: dict = {
        "record": source,
        "beats": int(r_peaks.size),
        "stream_beats": int(n_stream),
        "repeats": repeats,
        "torch_threads": threads,
        "statistic": "median over repeats; variants take turns within each repeat",
        "batch1": "one beat at a time: embed the newest beat, LSTM over the cached context "
        "embeddings (stream_beats beats of the record)",
        "batched": "model only: all the record's beats through predict_beats (features made "
        "beforehand); classify_record: BeatClassifier.classify on the whole record, "
        "preprocessing and features included",
        "checkpoints": {},
    }
    for name in CHECKPOINTS:
        folder = resolve_checkpoint(name)
        variants = {"fp32": load_model(name), "int8": load_model(name, quantized=True)}
        models = {key: c.model for key, c in variants.items()}
        ao = _torch_ao_dynamic(name) if args.torch_ao else None
        if ao is not None:
            models["torch_ao_dynamic_int8"] = ao
        morph, rr = _beat_inputs(variants["fp32"], signal, fs, r_peaks)
        reference, _ = predict_beats(models["fp32"], morph, rr)
        times: dict = {key: {"batch1": [], "batched": [], "classify_record": []} for key in models}
        agreement: dict = {}
        for key, model in models.items():  # warm-up, and check the streaming path
            predict_beats(model, morph[:256], rr[:256])
            streamed = stream_one_beat_at_a_time(model, morph[:64], rr[:64])
            batched, _ = predict_beats(model, morph[:64], rr[:64])
            agreement[key] = {
                "stream_vs_batched_max_abs_diff": float(
                    np.abs(streamed - batched[: streamed.shape[0]]).max()
                ),
                "label_agreement_with_fp32_pct": round(
                    100.0
                    * float(
                        np.mean(predict_beats(model, morph, rr)[0].argmax(1) == reference.argmax(1))
                    ),
                    3,
                ),
            }
        for _ in range(repeats):
            for key, model in models.items():
                start = time.perf_counter()
                stream_one_beat_at_a_time(model, morph[:n_stream], rr[:n_stream])
                times[key]["batch1"].append(time.perf_counter() - start)
                start = time.perf_counter()
                predict_beats(model, morph, rr)
                times[key]["batched"].append(time.perf_counter() - start)
                if key in variants:
                    start = time.perf_counter()
                    variants[key].classify(signal, fs, r_peaks)
                    times[key]["classify_record"].append(time.perf_counter() - start)
        files = {"fp32": folder / FP32_WEIGHTS, "int8": folder / INT8_WEIGHTS}
        entry = {"mode": variants["fp32"].mode, "variants": {}}
        for key, model in models.items():
            t = times[key]
            entry["variants"][key] = {
                "file": str(files[key].relative_to(REPO)) if key in files else None,
                "size_bytes": files[key].stat().st_size if key in files else None,
                # torch.ao's packed modules hide their weights from .parameters(): same net
                "parameters": count_parameters(models["fp32"] if key not in files else model),
                "batch1_beats_per_s": round(n_stream / _median(t["batch1"]), 1),
                "batch1_ms_per_beat": round(1000 * _median(t["batch1"]) / n_stream, 4),
                "batched_beats_per_s": round(r_peaks.size / _median(t["batched"]), 1),
                "classify_record_s": round(_median(t["classify_record"]), 4)
                if t["classify_record"]
                else None,
                **agreement[key],
            }
        out["checkpoints"][name] = entry
    return out


def format_model(section: dict) -> str:
    lines = [
        f"{section['record']}: {section['beats']} beats (batch 1: first {section['stream_beats']}),"
        f" torch threads {section['torch_threads']}, median of {section['repeats']}",
        f"{'checkpoint':>10} {'variant':>22} {'size KB':>8} {'params':>7} "
        f"{'b1 beats/s':>10} {'b1 ms':>6} {'batched/s':>10} {'record s':>8} {'=fp32 %':>7}",
    ]
    for name, entry in section["checkpoints"].items():
        for key, v in entry["variants"].items():
            size = "-" if v["size_bytes"] is None else f"{v['size_bytes'] / 1000:.1f}"
            rec = "-" if v["classify_record_s"] is None else f"{v['classify_record_s']:.3f}"
            lines.append(
                f"{name:>10} {key:>22} {size:>8} {v['parameters']:7d} "
                f"{v['batch1_beats_per_s']:10.0f} {v['batch1_ms_per_beat']:6.3f} "
                f"{v['batched_beats_per_s']:10.0f} {rec:>8} "
                f"{v['label_agreement_with_fp32_pct']:7.2f}"
            )
    return "\n".join(lines)


# ----------------------------------------------------------------------------- pipeline section
#: analyze()'s progress fractions -> the stage that starts there (see ecg_core/pipeline.py)
STAGE_AT_FRACTION = {
    0.0: "lead",
    0.05: "quality",
    0.15: "detect",
    0.3: "load_model",
    0.35: "classify",
    0.9: "report",
}
STAGES = ("read", "quality", "detect", "classify", "report")


def _timed_analyze(record_path: Path, mode: str, model, quantized: bool) -> dict:
    """One end-to-end run: [load_model] -> read_record -> analyze, with per-stage seconds
    taken from analyze's own progress callbacks (no copy of the pipeline here)."""
    from ecg_core.classifier import load_model
    from ecg_core.io import read_record
    from ecg_core.pipeline import analyze

    marks: list[tuple[float, float]] = []
    start = time.perf_counter()
    if model is None:
        model = load_model(mode, quantized=quantized)
    loaded = time.perf_counter()
    record = read_record(record_path)
    read = time.perf_counter()
    report = analyze(
        record, mode, model=model, progress=lambda f, _m: marks.append((f, time.perf_counter()))
    )
    end = time.perf_counter()
    stages = {"load_model": loaded - start, "read": read - loaded}
    for (fraction, at), (_, until) in zip(marks, marks[1:], strict=False):
        stage = STAGE_AT_FRACTION.get(round(fraction, 2), "other")
        stages[stage] = stages.get(stage, 0.0) + until - at
    # lead selection is a copy of one column: counted with quality, the step it precedes
    stages["quality"] = stages.get("quality", 0.0) + stages.pop("lead", 0.0)
    return {
        "total_s": end - start,
        "analyze_s": end - read,
        "stages": stages,
        "labels": report.beats["label"].to_numpy(),
        "n_beats": int(report.summary["n_beats"]),
        "duration_s": float(record.duration_s),
        "signal_fs": (np.ascontiguousarray(record.signal[:, report.lead_index]), record.fs),
    }


def section_pipeline(args: argparse.Namespace) -> dict:
    """Whole 30-minute records end to end, fp32 vs int8 (warm and cold), side by side with
    NeuroKit2's detection alone on the same signal, rounds taking turns."""
    from ecg_core.classifier import load_model

    threads = _set_torch_threads(args)
    repeats = args.repeats or 5
    mode = args.pipeline_mode
    models = {"fp32": load_model(mode), "int8": load_model(mode, quantized=True)}
    runs = {
        "fp32": lambda p: _timed_analyze(p, mode, models["fp32"], False),
        "int8": lambda p: _timed_analyze(p, mode, models["int8"], True),
        "fp32_cold": lambda p: _timed_analyze(p, mode, None, False),
        "int8_cold": lambda p: _timed_analyze(p, mode, None, True),
    }
    out: dict = {
        "mode": mode,
        "repeats": repeats,
        "torch_threads": threads,
        "statistic": "median over repeats; the variants and NeuroKit2 take turns in each round",
        "end_to_end": "read_record -> analyze (lead, quality, detection, classification, "
        "report incl. runs, hourly table and reference agreement); model loaded once outside "
        "the timing as the app does; *_cold adds load_model (imports excluded)",
        "neurokit2": "nk.ecg_clean + nk.ecg_peaks (defaults) on the same lead, signal already "
        "in memory",
        "target": "end to end faster than NeuroKit2's detection alone (issue 3)",
        "records": [],
    }
    names = [r.strip() for r in args.records.split(",") if r.strip()]
    with tempfile.TemporaryDirectory(prefix="bench_pipeline_") as folder:
        for name in names:
            path, source = _record_path(args, name, Path(folder))
            first = {key: run(path) for key, run in runs.items()}  # warm-up (caches, imports)
            signal, fs = first["fp32"]["signal_fs"]
            neurokit_default(signal[: int(10 * fs)], fs)
            timings: dict = {key: [] for key in [*runs, "neurokit2"]}
            for _ in range(repeats):
                for key, run in runs.items():
                    timings[key].append(run(path))
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    nk_peaks = neurokit_default(signal, fs)
                timings["neurokit2"].append(time.perf_counter() - start)
            nk_s = _median(timings["neurokit2"])
            row = {
                "record": source,
                "duration_s": round(first["fp32"]["duration_s"], 1),
                "beats": first["fp32"]["n_beats"],
                "neurokit2_beats": int(nk_peaks.size),
                "neurokit2_detection_s": round(nk_s, 4),
                "int8_label_agreement_pct": round(
                    100.0 * float(np.mean(first["int8"]["labels"] == first["fp32"]["labels"])), 3
                )
                if first["int8"]["labels"].size == first["fp32"]["labels"].size
                else None,
            }
            for key in runs:
                done = timings[key]
                total = _median([d["total_s"] for d in done])
                row[key] = {
                    "end_to_end_s": round(total, 4),
                    "min_s": round(min(d["total_s"] for d in done), 4),
                    "analyze_s": round(_median([d["analyze_s"] for d in done]), 4),
                    "stages_s": {
                        stage: round(_median([d["stages"].get(stage, 0.0) for d in done]), 4)
                        for stage in (("load_model",) if "cold" in key else ()) + STAGES
                    },
                    "ratio_over_neurokit2": round(total / nk_s, 2),
                    "faster_than_neurokit2": bool(total < nk_s),
                }
            out["records"].append(row)
            print(
                f"{source}: fp32 {row['fp32']['end_to_end_s']:.3f} s, int8 "
                f"{row['int8']['end_to_end_s']:.3f} s, NeuroKit2 {nk_s:.3f} s",
                flush=True,
            )
    out["target_met"] = all(r["fp32"]["faster_than_neurokit2"] for r in out["records"])
    return out


def format_pipeline(section: dict) -> str:
    lines = [
        f"mode {section['mode']}, torch threads {section['torch_threads']}, "
        f"median of {section['repeats']} interleaved rounds (seconds)",
        f"{'record':>28} {'variant':>10} {'total':>7} {'load':>6} {'read':>6} {'quality':>7} "
        f"{'detect':>7} {'classify':>8} {'report':>7} {'/NK2':>6}",
    ]
    for row in section["records"]:
        for key in ("fp32", "int8", "fp32_cold", "int8_cold"):
            v = row[key]
            s = v["stages_s"]
            load = f"{s['load_model']:.3f}" if "load_model" in s else "-"
            lines.append(
                f"{row['record']:>28} {key:>10} {v['end_to_end_s']:7.3f} {load:>6} "
                f"{s['read']:6.3f} {s['quality']:7.3f} {s['detect']:7.3f} {s['classify']:8.3f} "
                f"{s['report']:7.3f} {v['ratio_over_neurokit2']:5.2f}x"
            )
        lines.append(
            f"{row['record']:>28} {'NK2 detect':>10} {row['neurokit2_detection_s']:7.3f}"
            f"   ({row['beats']} beats ours, {row['neurokit2_beats']} NK2; int8 labels = fp32 "
            f"on {row['int8_label_agreement_pct']}%)"
        )
    met = "MET" if section["target_met"] else "NOT met"
    lines.append(f"target (end to end faster than NeuroKit2's detection alone): {met}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- app section
def section_app(args: argparse.Namespace) -> dict:
    """``python app.py`` cold start and a 30-minute record's /analyze_files round trip."""
    from bench_app import benchmark_app  # scripts/ is on sys.path: this file's own folder

    record = Path(args.data_dir) / args.app_record
    result = benchmark_app(
        str(record) if record.with_suffix(".hea").exists() else None,
        repeats=args.repeats or 5,
    )
    result["target_met"] = bool(result["round_trip_30min"]["median_s"] <= 3.0)
    return result


def format_app(section: dict) -> str:
    trip = section["round_trip_30min"]
    return "\n".join(
        [
            f"record: {section['record']}",
            f"app cold start (python app.py until /gradio_api/info answers): "
            f"{section['cold_start_s']:.2f} s",
            f"/analyze_files round trip via gradio_client: first call {trip['first_call_s']:.3f}"
            f" s (model load included), warm median {trip['median_s']:.3f} s "
            f"(min {trip['min_s']:.3f}, {trip['repeats']} calls); target <= "
            f"{trip['target_s']:.0f} s: {'met' if section['target_met'] else 'NOT met'}",
        ]
    )


# -------------------------------------------------------------------------- holter section
#: Lead names of the synthetic Holter, by count (lead II, or MLII, is the one analysed).
HOLTER_LEADS = {
    1: ["MLII"],
    2: ["MLII", "V1"],
    3: ["II", "V1", "V5"],
    12: ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"],
}


def write_holter(folder: Path, hours: int, n_leads: int, fs: float, file_format: str) -> Path:
    """A synthetic Holter on disk, written an hour at a time so that writing it never holds
    the record: lead II synthesised (2 % PVCs, muscle noise; each hour its own seed), the
    other leads scaled and some inverted copies of it. ``file_format`` "wfdb": format 16
    with its .atr (returns the record path); "csv": a time column in seconds and one column
    per lead in mV, as spreadsheets and Holter software export (no annotations); "edf": EDF
    with 1-s data records, as Holter recorders and wearables export (no annotations)."""
    import wfdb

    from ecg_core.synthetic import synthesize

    names, gain, name = HOLTER_LEADS[n_leads], 200.0, "holter"
    samples, symbols, n_samples = [], [], 0
    suffix = {"csv": ".csv", "edf": ".edf"}.get(file_format, ".dat")
    path = folder / f"{name}{suffix}"
    with open(path, "w" if file_format == "csv" else "wb") as out:
        if file_format == "csv":
            out.write(",".join(["time", *names]) + "\n")
        if file_format == "edf":
            out.write(_edf_header(names, hours * 3600, int(fs), gain))
        for hour in range(hours):
            record = synthesize(
                duration_s=3600.0, fs=fs, pvc_fraction=0.02, emg_noise_mv=0.05, seed=hour
            )
            lead = record.signal[:, 0]
            signs = [1.0 if k % 3 != 2 else -1.0 for k in range(n_leads)]
            leads = np.stack([lead * (1.0 - 0.05 * k) * signs[k] for k in range(n_leads)], axis=1)
            if file_format == "csv":
                time_s = (n_samples + np.arange(lead.size)) / fs
                table = np.column_stack([time_s, np.round(leads * gain) / gain])
                np.savetxt(out, table, fmt=["%.4f"] + ["%.3f"] * n_leads, delimiter=",")
            elif file_format == "edf":  # each 1-s data record: every lead's second in turn
                digital = np.round(leads * gain).astype("<i2")
                digital.reshape(3600, int(fs), n_leads).transpose(0, 2, 1).tofile(out)
            else:
                np.round(leads * gain).astype("<i2").tofile(out)
            samples.append(record.annotations.samples + n_samples)
            symbols += record.annotations.symbols
            n_samples += lead.size
    if file_format in ("csv", "edf"):
        return path
    lines = [f"{name} {n_leads} {fs:g} {n_samples}"]
    lines += [f"{name}.dat 16 {gain:g}/mV 16 0 0 0 0 {lead}" for lead in names]
    (folder / f"{name}.hea").write_text("\n".join(lines) + "\n")
    wfdb.wrann(name, "atr", np.concatenate(samples), symbols, write_dir=str(folder))
    return folder / name


def _edf_header(names: list[str], n_records: int, samples_per_record: int, gain: float) -> bytes:
    """The EDF header of 1-s data records of int16 samples at ``gain`` units per mV."""
    n = len(names)
    fields = [b"0", b"synthetic Holter", b"ecg_core benchmark", b"01.01.26", b"00.00.00"]
    widths = [8, 80, 80, 8, 8]
    fields += [
        str(256 * (n + 1)).encode(),
        b"EDF+C",
        str(n_records).encode(),
        b"1",
        str(n).encode(),
    ]
    widths += [8, 44, 8, 8, 4]
    per_signal = [
        ([lead.encode() for lead in names], 16),
        ([b""] * n, 80),
        ([b"mV"] * n, 8),
        ([f"{-32768 / gain:g}".encode()] * n, 8),
        ([f"{32767 / gain:g}".encode()] * n, 8),
        ([b"-32768"] * n, 8),
        ([b"32767"] * n, 8),
        ([b""] * n, 80),
        ([str(samples_per_record).encode()] * n, 8),
        ([b""] * n, 32),
    ]
    header = b"".join(f.ljust(w) for f, w in zip(fields, widths, strict=True))
    for values, width in per_signal:
        header += b"".join(v.ljust(width) for v in values)
    return header


def _holter_child(path: str, mode: str, threads: int, conn) -> None:
    """Read and analyse the record in a fresh process, as scripts/analyze.py does, so that
    the peak memory measured is the product's own (Linux reports ru_maxrss in kB)."""
    import resource

    import torch

    from ecg_core.leads import read_analysis_leads
    from ecg_core.pipeline import analyze

    try:
        torch.set_num_threads(threads)
        start = time.perf_counter()
        record, _, _ = read_analysis_leads(path)  # the leads analyze.py reads
        read_s = time.perf_counter() - start
        start = time.perf_counter()
        report = analyze(record, mode=mode)
        seconds = time.perf_counter() - start
        reference = report.reference  # None for a CSV: it carries no annotations
        conn.send(
            {
                "read_s": round(read_s, 2),
                "analyse_s": round(seconds, 2),
                "signal_gb": round(record.signal.nbytes / 1e9, 2),
                "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
                "beats": report.summary["n_beats"],
                "classified_leads": report.summary["classified_leads"],
                "qrs_se_ppv": reference and [reference["qrs"]["se"], reference["qrs"]["ppv"]],
                "v_se_ppv": reference
                and [
                    reference["classes"]["V"]["se"],
                    reference["classes"]["V"]["ppv"],
                ],
            }
        )
    except Exception as error:  # report, do not hang the parent
        conn.send(error)
    finally:
        conn.close()


def section_holter(args: argparse.Namespace) -> dict:
    """A synthetic Holter (``--holter-hours``, ``--holter-leads``, ``--holter-fs``) written
    as a WFDB record, then read and analysed in a child process: seconds and peak memory of
    read_record + analyze (model load included)."""
    hours, n_leads, fs = int(args.holter_hours), args.holter_leads, args.holter_fs
    with tempfile.TemporaryDirectory(prefix="holter_") as folder:
        path = write_holter(Path(folder), hours, n_leads, fs, args.holter_format)
        data_file = path if args.holter_format in ("csv", "edf") else path.with_suffix(".dat")
        file_mb = data_file.stat().st_size / 1e6
        ctx = mp.get_context("spawn")  # a clean process: nothing inherited counts in its memory
        parent, child = ctx.Pipe(duplex=False)
        threads = args.threads or max(1, min(2, os.cpu_count() or 1))
        process = ctx.Process(
            target=_holter_child, args=(str(path), args.pipeline_mode, threads, child)
        )
        process.start()
        child.close()
        result = parent.recv()
        process.join()
    if isinstance(result, Exception):
        raise result
    setup = {"hours": hours, "leads": n_leads, "fs": fs, "format": args.holter_format}
    return {**setup, "mode": args.pipeline_mode, "file_mb": round(file_mb, 1), **result}


def format_holter(section: dict) -> str:
    return (
        f"{section['hours']} h synthetic record, {section['leads']} lead(s) at "
        f"{section['fs']:g} Hz ({section['format']}, {section['file_mb']:.0f} MB), "
        f"{section['beats']} beats, "
        f"{section['mode']}: read {section['read_s']:.1f} s, analyse {section['analyse_s']:.1f} s, "
        f"signal {section['signal_gb']:.2f} GB, peak memory {section['peak_rss_gb']:.2f} GB; "
        f"QRS Se/+P {section['qrs_se_ppv']}, V Se/+P {section['v_se_ppv']}"
    )


#: name -> (function(args) -> dict, formatter(dict) -> str). Other engineers add theirs here.
SECTIONS: dict[str, tuple[Callable[[argparse.Namespace], dict], Callable[[dict], str]]] = {
    "qrs": (section_qrs, format_qrs),
    "model": (section_model, format_model),
    "pipeline": (section_pipeline, format_pipeline),
    "app": (section_app, format_app),
    "holter": (section_holter, format_holter),
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
    parser.add_argument(
        "--repeats",
        "--repeat",
        type=int,
        default=0,
        help="timed rounds (0: each section's default; qrs: 10 for 1-2 records, else 3; "
        "model, pipeline, app: 5)",
    )
    parser.add_argument(
        "--threads", type=int, default=0, help="torch threads (0: as the app, min(2, cores))"
    )
    model = parser.add_argument_group("model section")
    model.add_argument("--model-record", default="208", help="record whose beats are timed")
    model.add_argument(
        "--stream-beats", type=int, default=300, help="beats timed one at a time (batch 1)"
    )
    model.add_argument(
        "--no-torch-ao",
        dest="torch_ao",
        action="store_false",
        help="skip the torch.ao dynamic int8 comparison",
    )
    pipeline = parser.add_argument_group("pipeline section")
    pipeline.add_argument("--records", default="100,208", help="30-minute records, comma list")
    pipeline.add_argument(
        "--pipeline-mode", default="diagnostic", choices=["diagnostic", "realtime"]
    )
    holter = parser.add_argument_group("holter section")
    holter.add_argument("--holter-hours", type=int, default=24, help="synthetic record, hours")
    holter.add_argument(
        "--holter-leads", type=int, default=2, choices=sorted(HOLTER_LEADS), help="leads"
    )
    holter.add_argument("--holter-fs", type=float, default=360.0, help="sampling rate, Hz")
    holter.add_argument(
        "--holter-format",
        default="wfdb",
        choices=["wfdb", "csv", "edf"],
        help="file written and read",
    )
    app = parser.add_argument_group("app section")
    app.add_argument("--app-record", default="100", help="record sent to the app")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    chosen = (
        list(SECTIONS) if args.sections == "all" else [s.strip() for s in args.sections.split(",")]
    )
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        raise SystemExit(f"Unknown section(s) {unknown}; choose from {list(SECTIONS)}")
    result = {"machine": machine_info(), "command": " ".join(sys.argv), "sections": {}}
    failed = []
    for name in chosen:
        run, fmt = SECTIONS[name]
        print(f"== {name}", flush=True)
        start = time.perf_counter()
        try:
            result["sections"][name] = run(args)
        except Exception as error:  # noqa: BLE001 - keep the other sections' figures
            failed.append(name)
            result["sections"][name] = {"error": f"{type(error).__name__}: {error}"}
            print(f"{name} failed: {error!r}", flush=True)
            continue
        result["sections"][name]["section_wall_s"] = round(time.perf_counter() - start, 1)
        print(fmt(result["sections"][name]), flush=True)
    result["machine"]["load_average_after"] = (
        list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
