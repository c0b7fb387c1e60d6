"""Signal-quality mask: which parts of a lead are clean enough to find and classify beats.

The signal is cut into 1-s blocks; each block is judged on statistics of the 5 s around it
(block sums combined with a moving average, so the cost is a few passes over the signal,
no per-sample loop). A block is unusable when any of these holds:

- **flat** - its peak-to-peak is tiny next to the record's typical block (lead off,
  disconnected cable, a gap filled with a constant);
- **clipped** - it holds a run of samples stuck at the record's extreme value (the
  amplifier or ADC saturated);
- **too loud** - its 0.5-40 Hz standard deviation is several times the record's median
  (motion artefact, electrode noise: at the NSTDB's -6 dB the noise alone is 2-7x the ECG);
- **wandering** - its < 0.7 Hz excursion is several times the record's ECG scale (electrode
  motion and baseline wander large enough to distort beats);
- **no QRS structure** - the QRS band (5-15 Hz) is not spiky: in an ECG the few samples
  inside QRS complexes carry that band's energy, so its 98th percentile is ~10-25x its
  median; in noise (muscle, motion) it is ~3-7x, and the 0.5-40 Hz kurtosis is near a
  Gaussian's 3. This also catches records that are noise from start to end, where the
  record-relative tests above see nothing unusual. A fast regular rhythm is not spiky
  either (SVT at 170 bpm: QRS and T fill most of each beat), so a block whose QRS-band
  envelope repeats at a heart rate (autocorrelation >= 0.6 at a 0.25-2 s lag) is kept:
  hiding a tachycardia as "noise" would be the worse mistake.

Judged after beat detection (:func:`without_beat_trains`): a noisy span in which the detected
beats form a train of alike complexes is a rhythm, not noise, and is usable again. Runs of
large wide complexes (ventricular tachycardia, MIT-BIH 203 and 205) are "too loud" and not
spiky next to a record's narrow sinus beats, and the periodicity test misses a run of a few
seconds inside a 5-s context; noise does not repeat a complex beat after beat.

Thresholds were set on MIT-BIH (clean records stay ~100 % usable) and the MIT-BIH Noise
Stress Test Database; ``python -m ecg_core.quality --data-dir ../shared/data`` prints the
figures.

>>> import numpy as np
>>> fs = 360.0
>>> t = np.arange(int(30 * fs)) / fs
>>> spikes = np.exp(-(((t % 0.8) - 0.4) ** 2) / (2 * 0.01**2))  # QRS-like, 75 bpm
>>> ecg_like = spikes + 0.01 * np.random.default_rng(0).standard_normal(t.size)
>>> ecg_like[int(10 * fs) : int(20 * fs)] = 0.3  # a flat stretch (lead off)
>>> mask = quality_mask(ecg_like, fs)
>>> float(mask[: int(9 * fs)].mean()), float(mask[int(11 * fs) : int(19 * fs)].mean())
(1.0, 0.0)
>>> noisy_spans(mask, fs)
[(10.0, 20.0)]
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal as sps
from scipy.ndimage import uniform_filter1d

from ecg_core.preprocessing import bandpass

BLOCK_S: float = 1.0  # resolution of the mask
CONTEXT_BLOCKS: int = 5  # each block is judged on the 5 s centred on it (>= 3 beats at 40 bpm)
FLAT_PTP_RATIO: float = 0.05  # block peak-to-peak below 5 % of the record's median: flat
#: >= 80 ms stuck at the record's extreme value: saturated. Shorter runs are the clipped tops
#: of tall R waves (23-47 ms in SVDB 812 and 868 at 128 Hz), whose beats are still readable.
CLIP_RUN_S: float = 0.08
STD_RATIO_MAX: float = 2.5  # 0.5-40 Hz std above 2.5x the record's median block std
WANDER_RATIO_MAX: float = 3.0  # < 0.7 Hz peak-to-peak above 3x the record's median std
QRS_PEAKINESS_MIN: float = 5.5  # 98th / 50th percentile of |5-15 Hz| below this: no QRS
#: ... or below 7 while the 0.5-40 Hz kurtosis is below 5 (noise is near-Gaussian, ~3;
#: clean ECG 8-30): the pair catches more pure noise than either alone at the same cost.
QRS_PEAKINESS_WEAK: float = 7.0
KURTOSIS_MIN: float = 5.0
#: ... unless the QRS-band envelope repeats at a heart rate (autocorrelation >= 0.6 at a
#: lag of 0.25-2 s): a fast regular rhythm (SVT at 170 bpm, wide complexes, big T waves,
#: ventricular flutter) is not spiky either, and must be analysed, not hidden as noise.
PERIODICITY_MIN: float = 0.6
_ENVELOPE_PER_BLOCK: int = 50  # envelope values per block for the periodicity test

#: A noisy span whose detected beats (at least TRAIN_MIN_BEATS) are nearly all
#: (TRAIN_ALIKE_SHARE) alike a neighbour is a beat train (:func:`without_beat_trains`):
#: alike = correlation >= TRAIN_CORRELATION of their 0.5-40 Hz windows (TRAIN_WINDOW_S
#: around each R peak), at the best shift within TRAIN_MAX_SHIFT_S.
TRAIN_MIN_BEATS: int = 3
TRAIN_ALIKE_SHARE: float = 0.8
TRAIN_CORRELATION: float = 0.9
TRAIN_WINDOW_S: tuple[float, float] = (0.1, 0.15)  # before, after the R peak
TRAIN_MAX_SHIFT_S: float = 0.02

#: Shorter usable stretches between noisy ones (or noise and the record's edge) are noise.
MIN_ISLAND_BLOCKS: int = 2
#: Shortest span reported by :func:`noisy_spans`.
MIN_SPAN_S: float = 1.0


def quality_mask(signal_1d: np.ndarray, fs: float) -> np.ndarray:
    """Per-sample boolean mask of ``signal_1d`` (sampled at ``fs`` Hz): True = usable.

    Non-finite samples are unusable. Resolution is :data:`BLOCK_S`; see the module docstring
    for what makes a block unusable.
    """
    x = np.asarray(signal_1d, dtype=np.float64).reshape(-1)  # a view of a strided column
    n = x.size
    finite = np.isfinite(x)
    if n == 0:
        return np.zeros(0, dtype=bool)
    if not finite.any():
        return np.zeros(n, dtype=bool)
    if not finite.all():
        x = np.where(finite, x, np.median(x[finite]))
    block = max(1, int(round(BLOCK_S * fs)))
    if n < 2 * block:  # too short for windowed statistics: only "is it flat?"
        return np.full(n, np.ptp(x) > 0, dtype=bool) & finite

    usable_blocks = _without_short_islands(~_unusable_blocks(x, fs, block))
    return np.repeat(usable_blocks, block)[:n] & finite & ~_clipped(x, fs)


def run_bounds(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends (exclusive) of the runs of True in a 1-D boolean array.

    The edges are found in int8 (one byte per sample, not eight): masks of a 24-hour record
    have tens of millions of samples.

    >>> [a.tolist() for a in run_bounds(np.array([1, 1, 0, 1, 0], bool))]
    [[0, 3], [2, 4]]
    """
    padded = np.zeros(np.size(flags) + 2, dtype=np.int8)
    padded[1:-1] = np.asarray(flags, dtype=bool).ravel()
    edges = np.diff(padded)
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _without_short_islands(usable: np.ndarray) -> np.ndarray:
    """Usable stretches shorter than :data:`MIN_ISLAND_BLOCKS` with unusable blocks on every
    side they have (a record edge is no side) become unusable: a second of "clean" signal
    between two noisy stretches, or between noise and the end of the record, is the edge of
    the noise (the 5-s context straddles it), not signal to count beats in.

    >>> _without_short_islands(np.array([0, 1, 0, 1, 1, 0, 1], bool)).astype(int).tolist()
    [0, 0, 0, 1, 1, 0, 0]
    """
    usable = usable.copy()
    starts, ends = run_bounds(usable)
    for start, end in zip(starts, ends, strict=True):
        bordered = start > 0 or end < usable.size  # noise on at least one side
        if end - start < MIN_ISLAND_BLOCKS and bordered:
            usable[start:end] = False
    return usable


#: Blocks whose statistics one pass computes: a long record is taken an hour at a time, so
#: the filtered copies held at once (about ten times the samples) are those of one hour,
#: not of the whole record (3 GB for a 24-hour lead at 500 Hz).
PASS_BLOCKS: int = 3600
#: Blocks read on each side of a pass and then dropped: they hold the filters' start-up
#: transients and the context windows, so that a block's statistics do not depend on where
#: a pass begins (the 0.5 Hz filters settle within seconds; 30 s is ample).
PASS_MARGIN_BLOCKS: int = 30


def block_features(x: np.ndarray, fs: float, block: int) -> dict[str, np.ndarray]:
    """Statistics per block of ``block`` samples (each over the :data:`CONTEXT_BLOCKS`
    blocks centred on it), :data:`PASS_BLOCKS` blocks per pass. A last partial block is
    completed by mirroring the signal, so it is judged like the rest."""
    n_blocks = -(-x.size // block)
    parts = []
    for first in range(0, n_blocks, PASS_BLOCKS):
        last = min(first + PASS_BLOCKS, n_blocks)
        start, stop = max(0, first - PASS_MARGIN_BLOCKS), min(n_blocks, last + PASS_MARGIN_BLOCKS)
        piece = np.ascontiguousarray(x[start * block : stop * block])  # strided column: copy
        if stop == n_blocks:
            piece = np.pad(piece, (0, (stop - start) * block - piece.size), mode="symmetric")
        features = _block_features_of_piece(piece, fs, block)
        parts.append({k: v[first - start : last - start] for k, v in features.items()})
    return {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}


def _block_features_of_piece(x: np.ndarray, fs: float, block: int) -> dict[str, np.ndarray]:
    n_blocks = x.size // block
    # Mirror 2 s at both ends before filtering: filtfilt's own short padding leaves a
    # transient of the 0.5 Hz high-pass that would make the first and last second "loud".
    edge = min(x.size - 1, int(2 * fs))
    mirrored = np.pad(x, edge, mode="reflect")
    inner = slice(edge, edge + x.size)
    ecg = bandpass(mirrored, fs, 0.5, 40.0)[inner]
    qrs = bandpass(mirrored, fs, 5.0, min(15.0, 0.4 * fs))[inner]
    lowpass = sps.butter(2, 0.7, "lowpass", fs=fs, output="sos")
    wander = sps.sosfiltfilt(lowpass, mirrored)[inner]

    def blocks(values: np.ndarray) -> np.ndarray:
        return values[: n_blocks * block].reshape(n_blocks, block)

    def around(per_block: np.ndarray) -> np.ndarray:
        return uniform_filter1d(per_block, CONTEXT_BLOCKS, mode="nearest")

    ecg_blocks = blocks(ecg)
    mean = around(ecg_blocks.mean(axis=1))
    power = around((ecg_blocks**2).mean(axis=1))
    std = np.sqrt(np.maximum(power - mean**2, 0.0))
    # Kurtosis of the 0.5-40 Hz signal (mean ~0 after the high-pass, so raw moments do)
    kurtosis = around((ecg_blocks**4).mean(axis=1)) / np.maximum(power, 1e-150) ** 2
    raw_blocks = blocks(x)
    raw_ptp = raw_blocks.max(axis=1) - raw_blocks.min(axis=1)
    wander_blocks = blocks(wander)
    wander_ptp = around(wander_blocks.max(axis=1) - wander_blocks.min(axis=1))

    # Envelope of the QRS band (80 ms moving power), 50 values per block.
    envelope = uniform_filter1d(qrs * qrs, max(1, int(round(0.08 * fs))))
    positions = np.round(np.arange(n_blocks * _ENVELOPE_PER_BLOCK) * block / _ENVELOPE_PER_BLOCK)
    envelope_blocks = envelope[positions.astype(np.int64)].reshape(n_blocks, -1)

    # Statistics over each block's context window: sliding views over padded blocks, taken
    # in chunks so that a 24-hour record never materialises all windows at once.
    half = CONTEXT_BLOCKS // 2
    qrs_abs = np.pad(np.abs(blocks(qrs)), ((half, half), (0, 0)), mode="edge")
    envelope_padded = np.pad(envelope_blocks, ((half, half), (0, 0)), mode="edge")
    peakiness, periodicity = np.empty(n_blocks), np.empty(n_blocks)
    chunk = max(1, 2_000_000 // (CONTEXT_BLOCKS * block))
    for start in range(0, n_blocks, chunk):
        stop = min(start + chunk, n_blocks)
        rows = slice(start, stop + 2 * half)
        window_shape = (CONTEXT_BLOCKS, block)
        windows = sliding_window_view(qrs_abs[rows], window_shape)[:, 0].reshape(stop - start, -1)
        median, high = np.percentile(windows, [50, 98], axis=1)
        peakiness[start:stop] = high / np.maximum(median, np.finfo(float).tiny)
        window_shape = (CONTEXT_BLOCKS, _ENVELOPE_PER_BLOCK)
        windows = sliding_window_view(envelope_padded[rows], window_shape)[:, 0]
        periodicity[start:stop] = _periodicity(windows.reshape(stop - start, -1), BLOCK_S)
    return {
        "std": std,
        "kurtosis": kurtosis,
        "raw_ptp": raw_ptp,
        "wander_ptp": wander_ptp,
        "qrs_peakiness": peakiness,
        "periodicity": periodicity,
    }


def _periodicity(envelopes: np.ndarray, block_s: float) -> np.ndarray:
    """Highest autocorrelation of each row at a lag of one heartbeat (0.25-2 s, 30-240 bpm).

    Rows hold :data:`_ENVELOPE_PER_BLOCK` values per block. Unbiased estimate, via the FFT.
    """
    centred = envelopes - envelopes.mean(axis=1, keepdims=True)
    length = centred.shape[1]
    spectrum = np.fft.rfft(centred, 2 * length, axis=1)
    autocorrelation = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, :length]
    autocorrelation /= np.maximum(autocorrelation[:, :1], np.finfo(float).tiny)
    autocorrelation /= 1.0 - np.arange(length) / length
    per_second = _ENVELOPE_PER_BLOCK / block_s
    lags = slice(int(0.25 * per_second), int(2.0 * per_second) + 1)
    return autocorrelation[:, lags].max(axis=1)


def _unusable_blocks(x: np.ndarray, fs: float, block: int) -> np.ndarray:
    features = block_features(x, fs, block)
    raw_ptp = features["raw_ptp"]
    largest = max(abs(x.max()), abs(x.min()))
    flat = raw_ptp <= max(FLAT_PTP_RATIO * np.median(raw_ptp), 1e-9 * largest)
    if flat.all():
        return flat
    # The record's own scale, from its non-flat blocks: a lead off for most of the record
    # must not make every real beat look "too loud".
    scale = np.median(features["std"][~flat])
    loud = features["std"] > STD_RATIO_MAX * scale
    wandering = features["wander_ptp"] > WANDER_RATIO_MAX * scale
    peakiness = features["qrs_peakiness"]
    not_spiky = (peakiness < QRS_PEAKINESS_MIN) | (
        (peakiness < QRS_PEAKINESS_WEAK) & (features["kurtosis"] < KURTOSIS_MIN)
    )
    no_qrs = not_spiky & (features["periodicity"] < PERIODICITY_MIN)
    return flat | loud | wandering | no_qrs


def _clipped(x: np.ndarray, fs: float) -> np.ndarray:
    """Samples within 0.5 s of a run (>= CLIP_RUN_S) stuck at the record's min or max."""
    low, high = x.min(), x.max()
    tolerance = 1e-9 * max(high - low, 1e-12)
    at_rail = (x >= high - tolerance) | (x <= low + tolerance)
    starts, ends = run_bounds(at_rail)
    long_runs = (ends - starts) >= max(3, int(round(CLIP_RUN_S * fs)))
    clipped = np.zeros(x.size, dtype=bool)
    if not long_runs.any():
        return clipped
    margin = int(round(0.5 * fs))
    marks = np.zeros(x.size + 1, dtype=np.int32)  # run counts: small numbers
    np.add.at(marks, np.maximum(starts[long_runs] - margin, 0), 1)
    np.add.at(marks, np.minimum(ends[long_runs] + margin, x.size), -1)
    return np.cumsum(marks[:-1]) > 0


def noisy_spans(
    mask: np.ndarray, fs: float, min_duration_s: float = MIN_SPAN_S
) -> list[tuple[float, float]]:
    """Unusable spans of ``mask`` as ``(start_s, end_s)`` pairs (end exclusive), in seconds,
    keeping those at least ``min_duration_s`` long.

    >>> noisy_spans(np.array([True, False, False, True, False]), fs=1.0, min_duration_s=1)
    [(1.0, 3.0), (4.0, 5.0)]
    """
    starts, ends = run_bounds(~np.asarray(mask, dtype=bool))
    keep = (ends - starts) >= min_duration_s * fs
    return [(float(s / fs), float(e / fs)) for s, e in zip(starts[keep], ends[keep], strict=True)]


def without_beat_trains(
    signal_1d: np.ndarray, fs: float, r_peaks: np.ndarray, spans: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    """``spans`` (seconds) of ``signal_1d`` less those in which the beats at ``r_peaks``
    (samples) form a train of alike complexes (see the constants ``TRAIN_*``).

    >>> fs = 360.0
    >>> t = np.arange(int(20 * fs)) / fs
    >>> wide = -np.exp(-(((t % 0.4) - 0.2) ** 2) / (2 * 0.03**2))  # wide complexes, 150 bpm
    >>> peaks = np.arange(int(0.2 * fs), t.size, int(0.4 * fs))
    >>> without_beat_trains(wide, fs, peaks, [(5.0, 9.0)])
    []
    >>> noise = np.random.default_rng(0).standard_normal(t.size)
    >>> without_beat_trains(noise, fs, peaks, [(5.0, 9.0)])
    [(5.0, 9.0)]
    """
    r_peaks = np.asarray(r_peaks, dtype=np.int64)
    return [
        (start_s, end_s)
        for start_s, end_s in spans
        if not _is_beat_train(
            signal_1d, fs, r_peaks[(r_peaks >= start_s * fs) & (r_peaks < end_s * fs)]
        )
    ]


def _train_window(fs: float) -> tuple[int, int, int]:
    """TRAIN_WINDOW_S and TRAIN_MAX_SHIFT_S in samples: (before R, after R, shift)."""
    before, after = (int(round(s * fs)) for s in TRAIN_WINDOW_S)
    return before, after, int(round(TRAIN_MAX_SHIFT_S * fs))


def _is_beat_train(signal_1d: np.ndarray, fs: float, beats: np.ndarray) -> bool:
    # only beats whose window (at any shift) lies inside the record are judged
    before, after, shift = _train_window(fs)
    beats = beats[(beats - before - shift >= 0) & (beats + after + shift <= np.size(signal_1d))]
    if beats.size < TRAIN_MIN_BEATS:
        return False
    # Pairs of neighbours, a few thousand beats at a time: a noisy span may last hours.
    alike_pairs = np.concatenate(
        [
            _alike_next(signal_1d, fs, beats[first : first + _TRAIN_CHUNK_BEATS + 1])
            for first in range(0, beats.size - 1, _TRAIN_CHUNK_BEATS)
        ]
    )
    alike = np.append(alike_pairs, False) | np.insert(alike_pairs, 0, False)
    # The first and last beat of a span are left out of the share when there are more: the
    # span's edges (1-s blocks) straddle the change of rhythm, so they hold the beat before
    # a run and the one after it.
    judged = alike[1:-1] if alike.size > TRAIN_MIN_BEATS else alike
    return bool(judged.mean() >= TRAIN_ALIKE_SHARE)


_TRAIN_CHUNK_BEATS: int = 2000


def _alike_next(signal_1d: np.ndarray, fs: float, beats: np.ndarray) -> np.ndarray:
    """For each beat but the last: is it alike the next one (correlation >= TRAIN_CORRELATION
    of their 0.5-40 Hz windows at the best shift)? Every window must lie inside the record."""
    before, after, shift = _train_window(fs)
    margin = int(2 * fs)  # filter transients stay outside the windows
    lo = max(int(beats[0]) - before - shift - margin, 0)
    hi = min(int(beats[-1]) + after + shift + margin, np.size(signal_1d))
    x = bandpass(np.nan_to_num(np.asarray(signal_1d[lo:hi], dtype=np.float64)), fs, 0.5, 40.0)
    length = before + after
    starts = beats - lo - before
    windows = np.stack([x[a : a + length] for a in starts[:-1]])
    best = np.full(beats.size - 1, -1.0)
    for lag in range(-shift, shift + 1):
        shifted = np.stack([x[a + lag : a + lag + length] for a in starts[1:]])
        best = np.maximum(best, _row_correlations(windows, shifted))
    return best >= TRAIN_CORRELATION


def _row_correlations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of ``a`` with the same row of ``b`` (0 if flat)."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denominator = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    return np.where(denominator > 0, (a * b).sum(axis=1) / np.maximum(denominator, 1e-300), 0.0)


def _nstdb_noise_mask(n_samples: int, fs: float) -> np.ndarray:
    """Where the NSTDB added noise: from 5 min on, 2-min blocks, alternating with clean ones."""
    t_s = np.arange(n_samples) / fs
    return (t_s >= 300.0) & (((t_s - 300.0) // 120.0) % 2 == 0)


def calibration_report(data_dir: str) -> dict:
    """Fraction of samples flagged unusable on MIT-BIH, NSTDB and a flat line (see ``main``)."""
    from pathlib import Path

    from ecg_core.aami import MITDB_ALL
    from ecg_core.io import read_record
    from ecg_core.preprocessing import select_lead

    root = Path(data_dir)
    out: dict = {"mitdb": {}, "nstdb": {}, "noise_only": {}}

    def lead_signal(path: Path) -> tuple[np.ndarray, float]:
        record = read_record(path)
        return record.signal[:, select_lead(record.lead_names)], record.fs

    for name in MITDB_ALL:
        if (root / "mitdb" / f"{name}.hea").exists():
            x, fs = lead_signal(root / "mitdb" / str(name))
            out["mitdb"][str(name)] = round(float(1 - quality_mask(x, fs).mean()), 4)
    for base in ("118", "119"):
        for snr in ("24", "18", "12", "06", "00", "_6"):
            path = root / "nstdb" / f"{base}e{snr}"
            if path.with_suffix(".hea").exists():
                x, fs = lead_signal(path)
                flagged, noise = ~quality_mask(x, fs), _nstdb_noise_mask(x.size, fs)
                out["nstdb"][path.name] = {
                    "flagged_in_noise_blocks": round(float(flagged[noise].mean()), 4),
                    "flagged_outside": round(float(flagged[~noise].mean()), 4),
                }
    for name in ("bw", "em", "ma"):
        if (root / "nstdb" / f"{name}.hea").exists():
            x, fs = lead_signal(root / "nstdb" / name)
            out["noise_only"][name] = round(float(1 - quality_mask(x, fs).mean()), 4)
    out["flat_line"] = round(float(1 - quality_mask(np.zeros(36000), 360.0).mean()), 4)
    return out


def main(argv: list[str] | None = None) -> None:
    """``python -m ecg_core.quality --data-dir ../shared/data``: print the calibration figures."""
    import argparse
    import json

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default="../shared/data")
    report = calibration_report(parser.parse_args(argv).data_dir)
    mitdb = report["mitdb"]
    if mitdb:
        worst = sorted(mitdb, key=mitdb.get, reverse=True)[:8]
        report["mitdb_summary"] = {
            "records": len(mitdb),
            "mean_flagged": round(float(np.mean(list(mitdb.values()))), 4),
            "most_flagged": {name: mitdb[name] for name in worst},
        }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
