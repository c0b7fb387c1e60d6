"""scripts/benchmark.py's model and pipeline sections, run as a user runs them (a subprocess),
on one record with one round: the JSON has the contract's shape (DESIGN.md §4) and its
numbers are consistent with each other. Timings themselves are not asserted (shared CPU).

Without MIT-BIH the benchmark falls back to a synthetic 30-minute record, so this runs anyway.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
VARIANTS = ("fp32", "int8")


def run_benchmark(out: Path, *options: str) -> tuple[dict, str]:
    """``scripts/benchmark.py OPTIONS --threads 1 --out OUT`` as a user runs it: (JSON, stdout)."""
    script = str(REPO / "scripts" / "benchmark.py")
    command = [sys.executable, script, *options, "--threads", "1", "--out", str(out)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(out.read_text()), done.stdout


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    options = ["--sections", "model,pipeline", "--repeats", "1", "--records", "100"]
    result, stdout = run_benchmark(out, *options, "--stream-beats", "24", "--no-torch-ao")
    assert "target (end to end faster than NeuroKit2" in stdout  # the tables were printed
    return result


def test_machine_is_recorded(bench):
    machine = bench["machine"]
    assert machine["cores"] >= 1 and machine["cpu"]
    assert machine["python"] and machine["versions"]["torch"] and machine["versions"]["numpy"]
    assert len(machine["load_average"]) == 3
    assert set(bench["sections"]) == {"model", "pipeline"}


def test_model_section_sizes_speed_and_streaming_equivalence(bench):
    section = bench["sections"]["model"]
    assert section["torch_threads"] == 1 and section["beats"] > 1000
    assert set(section["checkpoints"]) == {"realtime", "diagnostic"}
    for name, entry in section["checkpoints"].items():
        assert entry["mode"] == name
        variants = entry["variants"]
        assert set(variants) == set(VARIANTS)
        fp32, int8 = variants["fp32"], variants["int8"]
        assert 0 < int8["size_bytes"] < fp32["size_bytes"] / 2  # int8 weights, ~4x smaller
        assert int8["size_bytes"] <= 150_000  # issue 3's size target
        assert fp32["parameters"] == int8["parameters"] > 10_000
        for v in variants.values():
            assert v["batch1_beats_per_s"] > 0 and v["batched_beats_per_s"] > 0
            assert v["classify_record_s"] > 0
            assert v["batch1_ms_per_beat"] == pytest.approx(1000 / v["batch1_beats_per_s"], 0.01)
            # one beat at a time through the ring buffer = the batched path, beat for beat
            assert v["stream_vs_batched_max_abs_diff"] < 1e-4
        assert fp32["label_agreement_with_fp32_pct"] == 100.0
        assert int8["label_agreement_with_fp32_pct"] >= 99.0


def test_pipeline_section_end_to_end_and_stages(bench):
    section = bench["sections"]["pipeline"]
    assert section["mode"] == "diagnostic" and len(section["records"]) == 1
    row = section["records"][0]
    assert row["duration_s"] >= 1700  # a 30-minute record
    assert row["beats"] > 1500 and row["neurokit2_beats"] > 1500
    nk_s = row["neurokit2_detection_s"]
    assert nk_s > 0
    for key in ("fp32", "int8", "fp32_cold", "int8_cold"):
        v = row[key]
        stages = v["stages_s"]
        assert set(stages) >= {"read", "quality", "detect", "classify", "report"}
        assert ("load_model" in stages) == key.endswith("_cold")
        assert all(s >= 0 for s in stages.values()) and stages["classify"] > 0
        # the stages account for the whole run (only a few callbacks' worth is left over)
        assert sum(stages.values()) == pytest.approx(v["end_to_end_s"], rel=0.05, abs=0.01)
        assert v["analyze_s"] < v["end_to_end_s"]
        assert v["ratio_over_neurokit2"] == pytest.approx(v["end_to_end_s"] / nk_s, rel=0.02)
        assert v["faster_than_neurokit2"] == (v["end_to_end_s"] < nk_s)
    assert section["target_met"] == row["fp32"]["faster_than_neurokit2"]
    assert row["int8_label_agreement_pct"] >= 99.0


@pytest.mark.parametrize("file_format", ["wfdb", "csv", "edf"])
def test_holter_section_reads_the_written_record_back(tmp_path, file_format):
    # One hour instead of 24: the section writes the record to disk, then a fresh process
    # reads and analyses it as scripts/analyze.py does.
    options = ["--sections", "holter", "--holter-hours", "1", "--holter-leads", "3"]
    options += ["--holter-fs", "250", "--holter-format", file_format]
    holter = run_benchmark(tmp_path / "holter.json", *options)[0]["sections"]["holter"]
    assert (holter["hours"], holter["leads"], holter["fs"]) == (1, 3, 250.0)
    assert 3800 < holter["beats"] < 4600  # 70 bpm for an hour
    assert holter["classified_leads"] == "II + V1"
    # Of the three leads, the two the analysis uses are held (II and V1), as in analyze.py.
    assert holter["signal_gb"] == round(3600 * 250 * 2 * 8 / 1e9, 2)
    assert holter["peak_rss_gb"] > holter["signal_gb"] and holter["read_s"] > 0
    if file_format == "wfdb":  # the annotations travel with the record: every beat found
        assert holter["qrs_se_ppv"] == [1.0, 1.0] and holter["v_se_ppv"][0] > 0.95
    else:
        assert holter["qrs_se_ppv"] is None
