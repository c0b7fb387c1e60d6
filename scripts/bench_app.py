"""App benchmarks: cold start of ``python app.py`` and a 30-minute record's round trip
through ``gradio_client`` (upload, analysis, report back; target <= 3 s).

    python scripts/bench_app.py --out artifacts/bench_app.json [--record DIR/100]

``scripts/benchmark.py`` calls :func:`benchmark_app` and puts its dict under ``"app"``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app(timeout_s: float = 180.0) -> tuple[subprocess.Popen, str, float]:
    """``python app.py`` on a free port; returns (process, url, seconds until it answered)."""
    port = _free_port()
    env = {
        **os.environ,
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    url = f"http://127.0.0.1:{port}/"
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while time.perf_counter() - start < timeout_s:
        if process.poll() is not None:
            raise RuntimeError(f"app.py exited with code {process.returncode}")
        try:
            urllib.request.urlopen(url + "gradio_api/info", timeout=2)
            return process, url, time.perf_counter() - start
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"app.py did not answer within {timeout_s:.0f} s")


def _thirty_minute_record(folder: Path, record: str | None) -> list[Path]:
    """The files of a 30-minute record: a given WFDB record, or a synthetic one (360 Hz, with
    PVCs and APCs) so that the benchmark needs no data set."""
    if record:
        base = Path(record)
        return [p for p in (base.with_suffix(s) for s in (".hea", ".dat", ".atr")) if p.exists()]
    sys.path.insert(0, str(REPO_ROOT))
    from ecg_core.synthetic import SyntheticSettings, synthesize, write_wfdb

    settings = SyntheticSettings(
        duration_s=1800, pvc_fraction=0.05, apc_fraction=0.02, emg_noise_mv=0.03, seed=30
    )
    return write_wfdb(synthesize(settings, name="bench_30min"), folder)


def round_trip_s(url: str, paths: list[Path], repeats: int = 5) -> dict:
    """Seconds for /analyze_files over ``paths`` via gradio_client: first call (model load
    included) and the median of ``repeats`` warm calls."""
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False)
    files = [handle_file(str(p)) for p in paths]

    def once() -> float:
        start = time.perf_counter()
        report, _, _ = client.predict(files, None, "auto", "diagnostic", api_name="/analyze_files")
        assert report["summary"]["n_beats"] > 0
        return time.perf_counter() - start

    first = once()
    warm = [once() for _ in range(repeats)]
    return {
        "first_call_s": round(first, 3),
        "median_s": round(statistics.median(warm), 3),
        "min_s": round(min(warm), 3),
        "repeats": repeats,
        "target_s": 3.0,
    }


def benchmark_app(record: str | None = None, repeats: int = 5) -> dict:
    """Cold start and 30-minute round trip, as a dict for benchmark.py's JSON."""
    process, url, cold_start_s = start_app()
    try:
        with tempfile.TemporaryDirectory(prefix="bench_app_") as folder:
            paths = _thirty_minute_record(Path(folder), record)
            trip = round_trip_s(url, paths, repeats=repeats)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {
        "cold_start_s": round(cold_start_s, 2),
        "record": record or "synthetic 30 min, 360 Hz (ecg_core.synthetic, seed 30)",
        "round_trip_30min": trip,
        "model_location": os.environ.get("ECG_MODEL_LOCATION") or "checkpoints/diagnostic",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="write the JSON here")
    parser.add_argument("--record", default=None, help="a WFDB record path without extension")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    result = benchmark_app(args.record, args.repeats)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
