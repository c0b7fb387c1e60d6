"""Beat datasets from any WFDB database with beat annotations, cached on disk.

One call turns a folder of records into arrays the trainer reloads in a second::

    data = build_beat_dataset("../shared/data/mitdb", DS1, causal=False)
    data.windows.shape  # (n_beats, pre + post + 2 * margin) float32, canonical rate

Beats are the *reference* annotations (``.atr`` or another annotator) mapped to AAMI classes
by :mod:`ecg_core.aami`; non-beat annotations are dropped. Windows are cut with a margin so
that training can jitter the rate and shift the window (augmentation) without re-reading.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from ecg_core.aami import CLASS_INDEX, symbols_to_classes
from ecg_core.features import (
    RR_AVG_BEATS,
    TEMPLATE_BEATS,
    centre_windows,
    cut_windows,
    rr_features,
    running_templates,
    window_samples,
)
from ecg_core.io import read_record
from ecg_core.metrics import MATCH_TOLERANCE_S, match_beats
from ecg_core.preprocessing import CANONICAL_FS, resample_positions, select_lead, to_canonical
from ecg_core.qrs import detect_qrs_and_vf

#: Extra samples cut on each side of the beat window for rate jitter and shifts.
WINDOW_MARGIN: int = 8
#: Bump when the arrays' meaning changes, so stale caches are not reused.
CACHE_VERSION: int = 3
DEFAULT_CACHE_DIR = Path(__file__).resolve().parents[1] / "cache"
#: ``lead=OTHER_LEAD``: the lead that :func:`select_lead` would *not* pick (MIT-BIH: V1, V2,
#: V4 or V5 next to MLII). Training on it as extra beat sequences with the same labels keeps
#: the morphology stream from relying on MLII-specific shapes (other recorders, other leads).
OTHER_LEAD: str = "other"
#: What :func:`both_leads` appends to a record's name for its other lead's beat sequence.
OTHER_LEAD_SUFFIX: str = f":{OTHER_LEAD}"


@dataclass
class BeatDataset:
    """Arrays over all beats of the records, in record order."""

    windows: np.ndarray  # (n, pre + post + 2 * margin) float32, raw (cleaned) signal
    templates: np.ndarray  # (n, pre + post) float32, centred running median beat
    scales: np.ndarray  # (n,) float32, template peak-to-peak
    rr: np.ndarray  # (n, n_rr) float32 RR log-ratios
    labels: np.ndarray  # (n,) int64 AAMI class index
    record_ids: np.ndarray  # (n,) int64 index into ``records``
    samples: np.ndarray  # (n,) int64 R position at the record's own rate
    r_canonical: np.ndarray  # (n,) int64 R position at CANONICAL_FS
    records: np.ndarray  # (n_records,) str
    pre: int
    post: int
    margin: int

    def __len__(self) -> int:
        return int(self.labels.size)

    def subset(self, record_names: list[str]) -> BeatDataset:
        """The beats of the named records (record ids re-indexed)."""
        keep_records = [i for i, r in enumerate(self.records) if str(r) in set(record_names)]
        mask = np.isin(self.record_ids, keep_records)
        remap = np.full(len(self.records), -1)
        remap[keep_records] = np.arange(len(keep_records))
        arrays = {
            f.name: getattr(self, f.name)[mask]
            for f in fields(self)
            if f.name not in ("records", "pre", "post", "margin")
        }
        arrays["record_ids"] = remap[self.record_ids[mask]]
        return BeatDataset(
            **arrays,
            records=self.records[keep_records],
            pre=self.pre,
            post=self.post,
            margin=self.margin,
        )


def read_signal_and_beats(
    record_path: str | Path, lead: str | int | None = None, annotator: str = "atr"
) -> tuple[np.ndarray, float, np.ndarray, list[str]]:
    """(signal_1d, fs, annotation samples, annotation symbols) of one WFDB record."""
    path = str(record_path)
    record = read_record(path, annotation_extension=annotator)
    if record.annotations is None:
        raise ValueError(f"{path}: no {annotator!r} annotation file to take beat labels from")
    signal, fs, lead_names = record.signal, float(record.fs), list(record.lead_names)
    ann = record.annotations
    if lead == OTHER_LEAD:
        if len(lead_names) < 2:
            raise ValueError(f"{path}: lead={OTHER_LEAD!r} needs a record with two leads")
        lead_index = 1 if select_lead(lead_names, None) == 0 else 0
    else:
        lead_index = select_lead(lead_names, lead)
    return (
        np.asarray(signal[:, lead_index], dtype=np.float64),
        fs,
        np.asarray(ann.samples, dtype=np.int64),
        list(ann.symbols),
    )


def detector_aligned(
    detections: np.ndarray, fs: float, samples: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The annotated beats moved to where our QRS detector put them (``detections``, on the
    lead the product analyses; matched within the scoring tolerance, DESIGN.md §3); beats it
    missed are dropped.

    The product centres every beat window on a detection, and some databases annotate
    elsewhere (SVDB: a median 16 ms before the R peak, up to 60 ms in some records;
    ``scripts/annotation_offsets.py``), so windows cut at the annotations are off-centre.
    """
    ref_idx, det_idx = _match(samples, detections, fs)
    order = np.argsort(detections[det_idx], kind="stable")
    return detections[det_idx][order].astype(np.int64), labels[ref_idx][order]


def with_false_detections(
    detections: np.ndarray, fs: float, samples: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The annotated beats plus our detector's false detections (those of ``detections``
    that match no annotated beat), labelled Q, in time order.

    The product classifies whatever the detector finds. A T wave after a PVC or a noise spike
    that the detector takes for a beat looks wide and early, so a model that never saw one
    calls it V (most of the false V on the development sets are such detections). Trained on
    them as Q ("not a classifiable beat"), it learns to say so, in their real context: the
    neighbouring beats see the short RR intervals a false detection causes.
    """
    _, det_idx = _match(samples, detections, fs)
    false = np.setdiff1d(np.arange(detections.size), det_idx)
    all_samples = np.concatenate([samples, detections[false]]).astype(np.int64)
    all_labels = np.concatenate([labels, np.full(false.size, CLASS_INDEX["Q"])])
    order = np.argsort(all_samples, kind="stable")
    return all_samples[order], all_labels[order].astype(np.int64)


def _match(samples: np.ndarray, detections: np.ndarray, fs: float):
    """(reference indices, detection indices) of the beats matched as scoring matches them."""
    return match_beats(samples, detections, MATCH_TOLERANCE_S * fs)


def with_noise(
    signal: np.ndarray, fs: float, samples: np.ndarray, noise: np.ndarray, snr_db: float
) -> np.ndarray:
    """``signal`` plus ``noise`` (unit RMS, any length: repeated) at ``snr_db``, relative to
    the median QRS peak-to-peak amplitude (as :class:`~ecg_core.training.Augmenter` sets its
    noise against the template's)."""
    half = max(1, int(0.05 * fs))
    qrs_ptp = np.median([np.ptp(signal[max(0, x - half) : x + half]) for x in samples[:1000]])
    reps = int(np.ceil(signal.size / noise.size))
    return signal + np.tile(noise, reps)[: signal.size] * qrs_ptp * 10 ** (-snr_db / 20)


def _record_arrays(
    record_path: Path,
    causal: bool,
    lead: str | int | None,
    annotator: str,
    positions: str,
    false_detections: bool,
    noise: tuple[np.ndarray, float] | None = None,
) -> dict[str, np.ndarray]:
    signal, fs, ann_samples, symbols = read_signal_and_beats(record_path, lead, annotator)
    labels = symbols_to_classes(symbols)
    is_beat = labels >= 0
    samples, labels = ann_samples[is_beat], labels[is_beat]
    if noise is not None:
        signal = with_noise(signal, fs, samples, *noise)
    if positions == "detected" or false_detections:
        # detection runs on the lead the product analyses
        if lead is not None and noise is not None:
            raise ValueError("noisy copies are made of the analysed lead only")
        analysed = (
            signal if lead is None else read_signal_and_beats(record_path, None, annotator)[0]
        )
        detections, _ = detect_qrs_and_vf(analysed, fs)
        if false_detections:
            samples, labels = with_false_detections(detections, fs, samples, labels)
        if positions == "detected":
            samples, labels = detector_aligned(detections, fs, samples, labels)
    canonical = to_canonical(signal, fs, causal=causal)
    r_c = resample_positions(samples, fs, CANONICAL_FS)
    pre, post = window_samples()
    core = centre_windows(cut_windows(canonical, r_c, pre, post))
    templates, scales = running_templates(core, causal=causal, n_beats=TEMPLATE_BEATS)
    wide = cut_windows(canonical, r_c, pre + WINDOW_MARGIN, post + WINDOW_MARGIN)
    return {
        "windows": wide,
        "templates": templates,
        "scales": scales,
        "rr": rr_features(r_c, CANONICAL_FS, causal=causal, avg_beats=RR_AVG_BEATS),
        "labels": labels,
        "samples": samples,
        "r_canonical": r_c,
    }


def _cache_key(
    data_dir: Path,
    records: list[str],
    causal: bool,
    lead,
    annotator: str,
    positions: str,
    false_detections: bool,
) -> str:
    spec = {
        "dir": str(data_dir.resolve()),
        "records": list(records),
        "causal": causal,
        "lead": lead,
        "annotator": annotator,
        "window": window_samples(),
        "margin": WINDOW_MARGIN,
        "version": CACHE_VERSION,
    }
    if positions != "annotations":  # keeps the keys of existing caches
        spec["positions"] = positions
    if false_detections:
        spec["false_detections"] = True
    return hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def build_beat_dataset(
    data_dir: str | Path,
    records: list[str] | tuple[str, ...],
    causal: bool,
    lead: str | int | None = None,
    annotator: str = "atr",
    cache_dir: str | Path | None = DEFAULT_CACHE_DIR,
    positions: str = "annotations",
    false_detections: bool = False,
) -> BeatDataset:
    """Beat arrays of ``records`` in ``data_dir`` (cached as ``cache_dir/<hash>.npz``).

    ``causal`` selects the real-time preprocessing (causal filter, past-only template and
    running means) or the diagnostic one. ``cache_dir=None`` disables the cache.
    ``positions``: "annotations" centres each window on the annotated sample; "detected"
    on our detector's R peak for that beat (:func:`detector_aligned`), as the product does.
    ``false_detections``: add our detector's false detections as Q beats
    (:func:`with_false_detections`).
    """
    if positions not in ("annotations", "detected"):
        raise ValueError(f"positions must be 'annotations' or 'detected', got {positions!r}")
    data_dir = Path(data_dir)
    records = [str(r) for r in records]
    cache_path = None
    if cache_dir is not None:
        key = _cache_key(data_dir, records, causal, lead, annotator, positions, false_detections)
        cache_path = Path(cache_dir) / f"{key}.npz"
        if cache_path.exists():
            with np.load(cache_path, allow_pickle=False) as z:
                return _from_arrays({k: z[k] for k in z.files})
    parts = [
        _record_arrays(data_dir / r, causal, lead, annotator, positions, false_detections)
        for r in records
    ]
    return _assemble(parts, records, cache_path)


def _assemble(parts: list[dict], records: list[str], cache_path: Path | None) -> BeatDataset:
    """One BeatDataset from per-record arrays, written to ``cache_path`` when given."""
    arrays = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    arrays["record_ids"] = np.repeat(np.arange(len(records)), [p["labels"].size for p in parts])
    arrays["records"] = np.array(records)
    pre, post = window_samples()
    arrays["geometry"] = np.array([pre, post, WINDOW_MARGIN])
    if cache_path is not None:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        # A name of this process's own: two runs building the same cache at once (e.g. CV
        # runs of several seeds) must not replace each other's half-written file.
        tmp = cache_path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, **arrays)
        tmp.replace(cache_path)
    return _from_arrays(arrays)


def build_noisy_copies(
    data_dir: str | Path,
    records: list[str] | tuple[str, ...],
    causal: bool,
    noise: np.ndarray,
    snr_db: tuple[float, float] = (12.0, 24.0),
    seed: int = 0,
    cache_dir: str | Path | None = DEFAULT_CACHE_DIR,
) -> BeatDataset:
    """Each record once more, with ``noise`` added to its analysed lead at an SNR drawn per
    record from ``snr_db`` (seeded), its beats plus our detector's false detections *on the
    noisy signal*, labelled Q (:func:`with_false_detections`).

    In noise the detector takes spikes for beats, and a model that has only seen the few
    false detections of clean records calls most of them V (NSTDB). ``noise`` is one unit-RMS
    noise signal at the records' own rate (e.g. NSTDB ``ma``, muscle).
    """
    data_dir = Path(data_dir)
    records = [str(r) for r in records]
    rng = np.random.default_rng(seed)
    snrs = rng.uniform(*snr_db, size=len(records))
    offsets = rng.integers(0, noise.size, size=len(records))
    cache_path = None
    if cache_dir is not None:
        digest = hashlib.sha1(np.ascontiguousarray(noise[:100000]).tobytes()).hexdigest()[:8]
        key = _cache_key(data_dir, records, causal, None, "atr", "annotations", True)
        key = hashlib.sha1(f"{key}{digest}{list(snrs)}{list(offsets)}".encode()).hexdigest()
        cache_path = Path(cache_dir) / f"noisy_{key[:16]}.npz"
        if cache_path.exists():
            with np.load(cache_path, allow_pickle=False) as z:
                return _from_arrays({k: z[k] for k in z.files})
    parts = [
        _record_arrays(
            data_dir / r, causal, None, "atr", "annotations", True, (np.roll(noise, -o), snr)
        )
        for r, snr, o in zip(records, snrs, offsets, strict=True)
    ]
    return _assemble(parts, records, cache_path)


def other_lead_sequence(record: str) -> str:
    """The name :func:`both_leads` gives ``record``'s other lead as a beat sequence.

    >>> other_lead_sequence("101")
    '101:other'
    """
    return f"{record}{OTHER_LEAD_SUFFIX}"


def both_leads(
    data_dir: str | Path, records: list[str] | tuple[str, ...], causal: bool, **options
) -> BeatDataset:
    """The records' beats on their first lead, then the same beats on their other lead
    (:data:`OTHER_LEAD`), each lead its own beat sequence: ``"<record>"`` keeps its name (what
    validation reads) and the other lead is ``"<record>:other"``. Beat ``i`` of the first half
    is beat ``i + len // 2`` of the second. ``options`` go to :func:`build_beat_dataset`."""
    first = build_beat_dataset(data_dir, records, causal=causal, **options)
    other = build_beat_dataset(data_dir, records, causal=causal, lead=OTHER_LEAD, **options)
    if len(first) != len(other):  # both leads are cut at the same annotated / detected beats
        raise ValueError(f"the two leads hold {len(first)} and {len(other)} beats")
    return concat_datasets([first, other], ["", OTHER_LEAD_SUFFIX])


def concat_datasets(parts: list[BeatDataset], suffixes: list[str]) -> BeatDataset:
    """One dataset from several (e.g. the same records in two leads), records renamed
    ``name + suffix`` so that each lead stays its own beat sequence (record_ids offset)."""
    if len(parts) != len(suffixes):
        raise ValueError("one suffix per dataset")
    geometry = {(p.pre, p.post, p.margin) for p in parts}
    if len(geometry) != 1:
        raise ValueError(f"datasets differ in window geometry: {geometry}")
    offsets = np.cumsum([0] + [len(p.records) for p in parts[:-1]])
    arrays = {
        f.name: np.concatenate([getattr(p, f.name) for p in parts])
        for f in fields(BeatDataset)
        if f.name not in ("records", "record_ids", "pre", "post", "margin")
    }
    arrays["record_ids"] = np.concatenate(
        [p.record_ids + o for p, o in zip(parts, offsets, strict=True)]
    )
    arrays["records"] = np.array(
        [f"{r}{sfx}" for p, sfx in zip(parts, suffixes, strict=True) for r in p.records]
    )
    pre, post, margin = geometry.pop()
    return BeatDataset(**arrays, pre=pre, post=post, margin=margin)


def _from_arrays(arrays: dict[str, np.ndarray]) -> BeatDataset:
    pre, post, margin = (int(v) for v in arrays["geometry"])
    names = [f.name for f in fields(BeatDataset) if f.name not in ("pre", "post", "margin")]
    return BeatDataset(**{k: arrays[k] for k in names}, pre=pre, post=post, margin=margin)


def load_noise_records(
    nstdb_dir: str | Path, causal: bool, names: tuple[str, ...] = ("bw", "em", "ma")
) -> np.ndarray:
    """NSTDB noise (baseline wander, electrode motion, muscle) at the canonical rate,
    cleaned like the ECG, as (n_records * n_leads, n_samples) float32, unit RMS."""
    import wfdb

    out = []
    for name in names:
        raw = wfdb.rdrecord(str(Path(nstdb_dir) / name))
        for lead in range(raw.p_signal.shape[1]):
            x = to_canonical(raw.p_signal[:, lead], float(raw.fs), causal=causal)
            out.append((x / (np.std(x) + 1e-9)).astype(np.float32))
    n = min(len(x) for x in out)
    return np.stack([x[:n] for x in out])


def load_noise_signal(nstdb_dir: str | Path, name: str = "ma", lead: int = 0) -> np.ndarray:
    """One NSTDB noise record's lead at its own rate (360 Hz, MIT-BIH's), mean removed, unit
    RMS: the noise :func:`build_noisy_copies` adds to MIT-BIH records."""
    import wfdb

    x = wfdb.rdrecord(str(Path(nstdb_dir) / name)).p_signal[:, lead].astype(np.float64)
    x = x - x.mean()
    return x / (np.std(x) + 1e-12)
