"""Ventricular flutter / fibrillation (VF) spans: where "beats" cannot be counted.

In ventricular flutter and fibrillation the ECG is a fast (about 180-400 /min), nearly
sinusoidal wave with no isoelectric baseline and no separate QRS complexes. A beat detector
finds "R peaks" in it at some arbitrary fraction of the wave rate; Holter and monitor
software flags such episodes instead of counting beats in them (MIT-BIH annotates them with
``[`` ... ``]`` and no beats inside). :func:`detect_vf_spans` finds them with classic
features computed on overlapping windows, each from the VF-detection literature (Amann,
Tratnig & Unterkofler 2005, "Reliability of old and new ventricular fibrillation detection
algorithms for automated external defibrillators"):

- dominant frequency of the 1-30 Hz signal >= 2.5 Hz (150 /min), with the spectrum
  concentrated around it (a sine, not a train of narrow QRS spikes whose power spreads over
  many harmonics) and little power above 12 Hz (no steep QRS slopes);
- the autocorrelation high at one dominant period (a wave repeating at that rate, not a
  harmonic of a slower rhythm: paced beats at 70 /min have strong harmonics near 2.5 Hz);
- "threshold crossing sample count" (TCSC): most samples far from the baseline, both
  against the window's maximum and against its 95th percentile of |x|;
- Kuo & Dillman's "VF filter" leakage: the wave shifted by half its mean period nearly
  cancels it.

Windows where all hold are merged; spans shorter than :data:`MIN_SPAN_S` (after trimming
:data:`EDGE_TRIM_S` at each end, where a window only partly covers the episode) are dropped.
Thresholds were chosen on the 48 MIT-BIH records (the only VF there is record 207's
ventricular flutter; fast VT in 203, 205, 210, 213, 223, atrial flutter in 202/203/222 and
paced rhythm in 107/217 are the near misses they were set against), as for any classic
detector, and checked on the NSTDB and the SVDB.

>>> import numpy as np
>>> fs = 250.0
>>> t = np.arange(int(20 * fs)) / fs
>>> wave = np.sin(2 * np.pi * 4.0 * t) * (t >= 8) * (t < 16)  # 240 /min sine from 8 s to 16 s
>>> [(round(a / fs, 1), round(b / fs, 1)) for a, b in detect_vf_spans(wave, fs)]
[(8.0, 16.0)]
"""

from __future__ import annotations

import numpy as np
from scipy import signal as sps

from ecg_core.preprocessing import resample_ratio
from ecg_core.quality import run_bounds

#: Rate of the feature signal: VF lives below 10 Hz, QRS slopes to ~30 Hz.
VF_FS: float = 100.0
VF_BAND_HZ: tuple[float, float] = (1.0, 30.0)
#: Analysis window and hop: 4 s holds >= 10 flutter waves; 0.5 s hop for span edges.
WINDOW_S: float = 4.0
HOP_S: float = 0.5
#: Window thresholds (see the module docstring for what each measures).
MIN_DOMINANT_HZ: float = 2.5
MAX_DOMINANT_HZ: float = 10.0
MIN_CONCENTRATION: float = 0.35  # power within ±0.75 Hz of the dominant / power 0.5-30 Hz
CONCENTRATION_HALF_BAND_HZ: float = 0.75
MAX_HIGH_FREQUENCY: float = 0.1  # power 12-30 Hz / power 0.5-30 Hz
MIN_AUTOCORRELATION: float = 0.2  # at one dominant period
MIN_TCSC_MAX: float = 0.3  # fraction of samples with |x| > 0.2 max |x|
MIN_TCSC_P95: float = 0.6  # fraction of samples with |x| > 0.2 * 95th percentile of |x|
MAX_LEAKAGE: float = 0.85  # VF-filter leakage
#: Span post-processing.
EDGE_TRIM_S: float = 1.0
MIN_SPAN_S: float = 5.0
#: Coarse pass: every 6th window (3 s apart); see :func:`detect_vf_spans`.
COARSE_STRIDE: int = 6
#: Windows processed per block (bounds memory on 24-hour records).
BLOCK_WINDOWS: int = 2048


def _window_flags(windows: np.ndarray) -> np.ndarray:
    """True for each row of ``windows`` (n, w) at :data:`VF_FS` that looks like VF.

    The spectral tests run on every window; the others only on the few windows that pass
    them (most ECG windows fail already there), which keeps this cheap on long records.
    """
    n_win, w = windows.shape
    x = windows - windows.mean(axis=1, keepdims=True)

    freqs = np.fft.rfftfreq(w, 1.0 / VF_FS)
    power = np.abs(np.fft.rfft(x * np.hanning(w), axis=1)) ** 2
    search = (freqs >= 1.0) & (freqs <= MAX_DOMINANT_HZ)
    dominant = freqs[search][np.argmax(power[:, search], axis=1)]
    total = power[:, (freqs >= 0.5) & (freqs <= 30.0)].sum(axis=1) + 1e-30
    near = np.abs(freqs[None, :] - dominant[:, None]) <= CONCENTRATION_HALF_BAND_HZ
    concentration = (power * near).sum(axis=1) / total
    high = power[:, (freqs >= 12.0) & (freqs <= 30.0)].sum(axis=1) / total
    flags = (
        (dominant >= MIN_DOMINANT_HZ)
        & (concentration > MIN_CONCENTRATION)
        & (high < MAX_HIGH_FREQUENCY)
    )
    candidates = np.flatnonzero(flags)
    if candidates.size == 0:
        return flags
    x = x[candidates]
    mag = np.abs(x)
    idx = np.arange(w)[None, :]

    # Autocorrelation (normalised to lag 0) at one dominant period, best of ±1 sample.
    lag = np.clip(np.round(VF_FS / dominant[candidates]).astype(np.int64), 2, w // 2)
    energy = np.maximum((x * x).sum(axis=1), 1e-30)
    acf_period = np.full(candidates.size, -np.inf)
    for shift in (-1, 0, 1):
        lagged = np.take_along_axis(x, np.clip(idx - (lag + shift)[:, None], 0, w - 1), 1)
        overlap = idx >= (lag + shift)[:, None]
        acf_period = np.maximum(acf_period, (x * lagged * overlap).sum(axis=1) / energy)

    peak = mag.max(axis=1)
    k95 = int(0.95 * (w - 1))
    p95 = np.partition(mag, k95, axis=1)[:, k95]
    tcsc_max = (mag > 0.2 * peak[:, None]).mean(axis=1)
    tcsc_p95 = (mag > 0.2 * p95[:, None]).mean(axis=1)

    # VF filter (Kuo & Dillman): half the mean period N from mean |x| / mean |dx|.
    mean_abs_slope = np.abs(np.diff(x, axis=1)).sum(axis=1) + 1e-30
    half = np.clip(np.round(np.pi * mag.sum(axis=1) / mean_abs_slope / 2), 1, w // 2)
    half = half.astype(np.int64)[:, None]
    valid = idx >= half
    shifted = np.take_along_axis(x, np.clip(idx - half, 0, w - 1), 1)
    leakage = (np.abs(x + shifted) * valid).sum(axis=1) / np.maximum(
        ((mag + np.abs(shifted)) * valid).sum(axis=1), 1e-30
    )

    flags[candidates] = (
        (acf_period > MIN_AUTOCORRELATION)
        & (tcsc_max > MIN_TCSC_MAX)
        & (tcsc_p95 > MIN_TCSC_P95)
        & (leakage < MAX_LEAKAGE)
        & (peak > 0)
    )
    return flags


def _to_vf_rate(x: np.ndarray, fs: float) -> np.ndarray:
    """Polyphase resampling to :data:`VF_FS` with a short anti-alias filter (40 Hz cut-off:
    the 1-30 Hz band-pass that follows does the fine shaping), ~4x cheaper than
    ``preprocessing.resample``'s default filter."""
    ratio = resample_ratio(fs, VF_FS)
    up, down = ratio.numerator, ratio.denominator
    if up == down:
        return x
    taps = sps.firwin(6 * max(up, down) + 1, 40.0, fs=fs * up) * up
    return sps.resample_poly(x, up, down, window=taps)


def _flags_in_blocks(windows: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """:func:`_window_flags` of ``windows[rows]``, :data:`BLOCK_WINDOWS` rows at a time."""
    return np.concatenate(
        [
            _window_flags(windows[rows[i : i + BLOCK_WINDOWS]])
            for i in range(0, rows.size, BLOCK_WINDOWS)
        ]
    )


def detect_vf_spans(signal: np.ndarray, fs: float) -> list[tuple[int, int]]:
    """Ventricular flutter/fibrillation episodes of a single-lead ECG.

    Returns ``[(start, end), ...]`` sample indices at the input rate ``fs`` (end exclusive),
    in time order; an empty list when there is none or the signal is shorter than one
    analysis window. Detections of :func:`ecg_core.qrs.detect_qrs` inside these spans are
    not beats (``detect_qrs(..., drop_vf=True)``, the default, removes them).
    """
    x = np.asarray(signal, dtype=np.float64)
    w = int(WINDOW_S * VF_FS)
    hop = int(HOP_S * VF_FS)
    if x.ndim != 1 or x.size < WINDOW_S * fs or np.ptp(x) == 0:
        return []
    y = _to_vf_rate(x, fs)
    sos = sps.butter(2, list(VF_BAND_HZ), btype="bandpass", fs=VF_FS, output="sos")
    y = sps.sosfiltfilt(sos, y)
    if y.size < w:
        return []
    windows = np.lib.stride_tricks.sliding_window_view(y, w)[::hop]
    # Coarse pass on every COARSE_STRIDE-th window, then every window near a flagged one.
    # A run of flagged windows long enough to make a span (>= COARSE_STRIDE windows)
    # always holds a coarse one; the neighbourhood also reaches the short runs that merge
    # with it (trimmed windows overlap across up to `merge_reach` unflagged ones). So the
    # spans are those of a full pass, at a fraction of the cost: VF is rare, and most
    # records stop after the coarse pass.
    n_win = windows.shape[0]
    flags = np.zeros(n_win, dtype=bool)
    coarse = np.arange(0, n_win, COARSE_STRIDE)
    flags[coarse] = _flags_in_blocks(windows, coarse)
    if not flags.any():
        return []
    merge_reach = int((WINDOW_S - 2 * EDGE_TRIM_S) / HOP_S)
    reach = np.arange(-(COARSE_STRIDE + merge_reach), COARSE_STRIDE + merge_reach + 1)
    near = np.unique(np.clip(np.flatnonzero(flags)[:, None] + reach[None, :], 0, n_win - 1))
    flags[near] = _flags_in_blocks(windows, near)
    if not flags.any():
        return []
    # Runs of flagged windows -> [first start, last end) in feature samples.
    run_first, run_ends = run_bounds(flags)
    run_last = run_ends - 1
    trim = EDGE_TRIM_S * VF_FS
    starts = run_first * hop + trim
    ends = run_last * hop + w - trim
    # Runs a few windows apart overlap once trimmed: merge them (one unflagged window does
    # not split an episode).
    new_group = np.concatenate([[True], starts[1:] > ends[:-1]])
    starts = starts[new_group]
    ends = np.maximum.reduceat(ends, np.flatnonzero(new_group))
    keep = ends - starts >= MIN_SPAN_S * VF_FS
    scale = fs / VF_FS
    n = x.size
    return [
        (int(round(a * scale)), min(n, int(round(b * scale))))
        for a, b in zip(starts[keep], ends[keep], strict=True)
    ]


def in_vf_spans(samples: np.ndarray, spans: list[tuple[int, int]]) -> np.ndarray:
    """Boolean mask: which ``samples`` fall inside one of ``spans`` (start <= s < end)."""
    samples = np.asarray(samples, dtype=np.int64)
    if not spans:
        return np.zeros(samples.shape, dtype=bool)
    bounds = np.asarray(spans, dtype=np.int64)
    i = np.searchsorted(bounds[:, 0], samples, side="right") - 1
    inside = i >= 0
    inside[inside] = samples[inside] < bounds[i[inside], 1]
    return inside
