"""QRS detection on short excerpts of every lead: what a user who uploads a minute of one
lead gets.

Whole records are detected on their preferred lead (``scripts/evaluate.py --task qrs``). Here
each lead of each record is cut into consecutive excerpts of ``--seconds``, each detected on
its own (``ecg_core.detect_qrs``) and scored against the annotated beats (150 ms): pooled
Se / +P per lead name, and the "missed excerpts" where fewer than half of the annotated beats
were found (the detector's plausibility gate rejects a whole input it takes for noise). The
noise-only records of the NSTDB (``bw``, ``em``, ``ma``), cut the same way, say how often
pure noise gets detections at all.

    python scripts/excerpt_check.py --data-dir ../shared/data/mitdb --records DS1 --out results/excerpt_check_ds1.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from evaluate import (  # noqa: E402
    available_records,
    read_annotated_record,
    reference_beats,
    write_result,
)

from ecg_core.aami import resolve_record_list  # noqa: E402
from ecg_core.io import read_record  # noqa: E402
from ecg_core.metrics import MATCH_TOLERANCE_S, qrs_counts, qrs_summary  # noqa: E402
from ecg_core.qrs import detect_qrs  # noqa: E402

#: An excerpt where fewer than this share of the annotated beats were found is "missed".
MISSED_BELOW: float = 0.5
#: Excerpts with fewer annotated beats than this are not scored (a pause, a VF episode).
MIN_BEATS: int = 10
NOISE_RECORDS: tuple[str, ...] = ("bw", "em", "ma")


def excerpts(n_samples: int, fs: float, seconds: float) -> list[tuple[int, int]]:
    """Consecutive (start, end) sample ranges of ``seconds``; a shorter tail is dropped."""
    length = int(round(seconds * fs))
    return [(a, a + length) for a in range(0, n_samples - length + 1, length)]


def score_record(path: Path, seconds: float) -> tuple[dict[str, dict], list[list]]:
    """Per lead name, the summed QRS counts over the record's excerpts (plus ``excerpts``
    and ``missed_excerpts``), and the missed excerpts [record, lead, start_s, annotated,
    detected]."""
    record = read_annotated_record(path)
    fs = float(record.fs)
    ref, _ = reference_beats(record)
    tolerance = MATCH_TOLERANCE_S * fs
    by_lead: dict[str, dict] = {}
    missed: list[list] = []
    for lead, name in enumerate(record.lead_names):
        total = by_lead.setdefault(
            str(name), {"tp": 0, "fp": 0, "fn": 0, "excluded": 0, "excerpts": 0, "missed": 0}
        )
        for start, end in excerpts(record.n_samples, fs, seconds):
            in_excerpt = ref[(ref >= start) & (ref < end)] - start
            if in_excerpt.size < MIN_BEATS:
                continue
            detected = detect_qrs(record.signal[start:end, lead], fs)
            for key, value in qrs_counts(in_excerpt, detected, tolerance).items():
                total[key] += value
            total["excerpts"] += 1
            if detected.size < MISSED_BELOW * in_excerpt.size:
                total["missed"] += 1
                missed.append(
                    [path.name, str(name), start / fs, int(in_excerpt.size), int(detected.size)]
                )
    return by_lead, missed


def noise_excerpts(noise_dir: Path, seconds: float) -> dict:
    """How many excerpts of the noise-only records get any detection, and how many."""
    result = {"excerpts": 0, "with_detections": 0, "detections": 0}
    for name in NOISE_RECORDS:
        if not (noise_dir / f"{name}.hea").exists():
            continue
        record = read_record(str(noise_dir / name))
        for lead in range(record.n_leads):
            for start, end in excerpts(record.n_samples, float(record.fs), seconds):
                detected = detect_qrs(record.signal[start:end, lead], float(record.fs))
                result["excerpts"] += 1
                result["with_detections"] += int(detected.size > 0)
                result["detections"] += int(detected.size)
    return result


def main(argv: list[str] | None = None) -> int:
    data = ROOT.parent / "shared" / "data"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=data / "mitdb")
    parser.add_argument("--records", default="DS1", help="DS1, DS2, all or a list")
    parser.add_argument("--seconds", type=float, default=60.0, help="excerpt length")
    parser.add_argument("--noise-dir", default=str(data / "nstdb"), help="'' for none")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    records = resolve_record_list(args.records, available_records(args.data_dir))
    by_lead: dict[str, dict] = {}
    missed: list[list] = []
    for name in records:
        lead_totals, record_missed = score_record(args.data_dir / name, args.seconds)
        missed += record_missed
        for lead, counts in lead_totals.items():
            total = by_lead.setdefault(lead, dict.fromkeys(counts, 0))
            for key, value in counts.items():
                total[key] += value
    scores = {lead: qrs_summary(counts) for lead, counts in sorted(by_lead.items())}
    for lead, s in scores.items():
        print(
            f"{lead:>6}: Se {100 * s['se']:.2f} +P {100 * s['ppv']:.2f}, "
            f"{s['missed']} of {s['excerpts']} excerpts missed"
        )
    result = {
        "command": " ".join(sys.argv),
        "seconds": args.seconds,
        "records": records,
        "by_lead": scores,
        "missed_excerpts": missed,
    }
    if args.noise_dir and Path(args.noise_dir).is_dir():
        result["noise_only"] = noise_excerpts(Path(args.noise_dir), args.seconds)
        print(f"noise only: {result['noise_only']}")
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
