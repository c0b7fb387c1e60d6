"""Beat features: a morphology window around each R peak and RR-interval ratios.

Everything here works at :data:`~ecg_core.preprocessing.CANONICAL_FS` on a signal already
passed through :func:`~ecg_core.preprocessing.to_canonical`, and is vectorised over beats.

Inter-patient generalisation is the whole game (DESIGN.md §3), so the model sees a beat
*relative to its own patient*:

- morphology: two channels, the beat and the beat minus the patient's running median beat
  (the "template"), both divided by the template's peak-to-peak amplitude;
- rhythm: log-ratios of RR intervals to the patient's running mean RR, never raw seconds.

``causal=True`` (real-time mode) computes nothing from the future: the template is the median
of *past* beats only and the running means only cover past beats.

>>> import numpy as np
>>> r = np.array([100, 228, 356, 420, 612])  # a premature 4th beat at 128 Hz
>>> rr = rr_features(r, 128.0, causal=True)
>>> rr.shape, bool(rr[3, 0] < -0.5)  # log(rr_pre / running mean) is clearly negative
((5, 4), True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ecg_core.preprocessing import CANONICAL_FS

#: Window around R: 0.28 s before (P wave, PR segment) to 0.47 s after (T wave).
#: At 128 Hz: 36 + 60 = 96 samples.
WINDOW_PRE_S: float = 0.28
WINDOW_POST_S: float = 0.47

#: Beats in the median template, mean-RR window and local-RR window.
TEMPLATE_BEATS: int = 32
RR_AVG_BEATS: int = 128
RR_LOCAL_BEATS: int = 8
TEMPLATE_BLOCK: int = 4096
#: Smallest template amplitude used as a divisor (signal units, usually mV).
MIN_SCALE: float = 1e-3

#: RR intervals are clipped to a physiological range before taking ratios (s).
RR_MIN_S: float = 0.15
RR_MAX_S: float = 3.0
RR_DEFAULT_S: float = 0.8  # used when a record has a single beat
RR_CV_FLOOR: float = 0.02  # keeps log(cv) finite for a perfectly regular rhythm

RR_FEATURE_NAMES_CAUSAL: tuple[str, ...] = (
    "log_rr_pre_over_avg",
    "log_rr_local_over_avg",
    "log_rr_pre_over_local",
)
RR_FEATURE_NAMES_LOOKAHEAD: tuple[str, ...] = (
    *RR_FEATURE_NAMES_CAUSAL,
    "log_rr_next_over_avg",
    "log_rr_next_over_pre",
    "log_rr_local_cv",
)
RR_FEATURE_NAMES_CAUSAL = (*RR_FEATURE_NAMES_CAUSAL, "log_rr_local_cv")


def window_samples(fs: float = CANONICAL_FS) -> tuple[int, int]:
    """(samples before R, samples from R on) of the beat window at ``fs``."""
    return int(round(WINDOW_PRE_S * fs)), int(round(WINDOW_POST_S * fs))


def cut_windows(signal: np.ndarray, r_peaks: np.ndarray, pre: int, post: int) -> np.ndarray:
    """Windows ``signal[r - pre : r + post]`` as an (n, pre + post) float32 array.

    Windows that run past either end of the signal are padded with the edge value.
    """
    x = np.asarray(signal, dtype=np.float32)
    r = np.asarray(r_peaks, dtype=np.int64)
    padded = np.pad(x, (pre, post), mode="edge") if x.size else np.zeros(pre + post, np.float32)
    idx = r[:, None] + np.arange(pre + post)[None, :]  # shifted by `pre` through the padding
    return padded[np.clip(idx, 0, padded.size - 1)]


def centre_windows(windows: np.ndarray) -> np.ndarray:
    """Remove each window's median (residual baseline after the 0.5 Hz high-pass)."""
    return windows - np.median(windows, axis=-1, keepdims=True)


def running_templates(
    windows: np.ndarray, causal: bool, n_beats: int = TEMPLATE_BEATS
) -> tuple[np.ndarray, np.ndarray]:
    """Per-beat median template and amplitude scale (peak-to-peak of the template).

    causal: the template of beat i is the median of beats i-n..i-1 (beat 0 uses itself);
    otherwise the median of a centred window of n + 1 beats (including beat i).
    """
    n, length = windows.shape
    if n == 0:
        return windows.copy(), np.ones(0, np.float32)
    nan_rows = np.full((n_beats, length), np.nan, dtype=np.float32)
    if causal:
        padded = np.concatenate([nan_rows, windows])  # row i + n_beats is beat i
        stack = sliding_window_view(padded, n_beats, axis=0)[:n]  # beats i-n .. i-1
    else:
        half = n_beats // 2
        padded = np.concatenate([nan_rows[:half], windows, nan_rows[:half]])
        stack = sliding_window_view(padded, 2 * half + 1, axis=0)[:n]
    # stack: (n, length, k); nanmedian over k, in blocks of beats so that a 24-hour record
    # (100k beats) needs ~50 MB at a time. Beat 0 in causal mode has no past: use itself.
    templates = np.empty((n, length), dtype=np.float32)
    cols = np.arange(length)[None, :]
    for s in range(0, n, TEMPLATE_BLOCK):
        block = stack[s : s + TEMPLATE_BLOCK]
        missing = np.isnan(block)
        counts = np.sum(~missing[:, 0, :], axis=1)
        ordered = np.sort(np.where(missing, np.inf, block), axis=-1)
        lo = np.maximum((counts - 1) // 2, 0)[:, None]
        hi = np.maximum(counts // 2, 0)[:, None]
        rows = np.arange(block.shape[0])[:, None]
        med = 0.5 * (ordered[rows, cols, lo] + ordered[rows, cols, hi])
        no_past = counts == 0
        med[no_past] = windows[s : s + TEMPLATE_BLOCK][no_past]
        templates[s : s + TEMPLATE_BLOCK] = med
    # An absolute floor (not one relative to the record's median): nothing from the future.
    scales = np.maximum(np.ptp(templates, axis=1), MIN_SCALE).astype(np.float32)
    return templates.astype(np.float32), scales


#: Before classification, each beat's window is moved to where its QRS best matches its
#: running template (:func:`template_aligned_positions`). On notched or biphasic QRS
#: complexes the detector's R peak lands on one deflection in some beats and on the other in
#: the rest; a window 40-60 ms off its template reads as another morphology (SVDB record
#: 850: 44 normal beats called V). The models were trained on annotated positions, which do
#: not jump like that. At most this far (8 samples at 128 Hz) ...
ALIGN_MAX_SHIFT_S: float = 0.0625
#: ... comparing the QRS part only (±100 ms around R) ...
ALIGN_HALF_WIDTH_S: float = 0.1
#: ... and only where the match is good and clearly better than in place: an ectopic beat,
#: unlike its template everywhere, keeps its position. Chosen with scripts/align_check.py
#: on the SVDB subset and DS1 (results/README.md).
ALIGN_MIN_CORRELATION: float = 0.8
ALIGN_MIN_GAIN: float = 0.05


def template_aligned_positions(
    signal_canonical: np.ndarray,
    r_canonical: np.ndarray,
    causal: bool,
    pre: int | None = None,
    post: int | None = None,
) -> np.ndarray:
    """R positions (at CANONICAL_FS) moved by up to :data:`ALIGN_MAX_SHIFT_S` to where each
    beat's QRS correlates best with its running template (:func:`running_templates`, past
    beats only when ``causal``), where that correlation is at least
    :data:`ALIGN_MIN_CORRELATION` and :data:`ALIGN_MIN_GAIN` above the one in place.

    >>> t = np.arange(1280)
    >>> qrs = lambda centre: np.exp(-0.5 * ((t - centre) / 2.0) ** 2)
    >>> x = sum(qrs(c) - 0.8 * qrs(c + 6) for c in range(100, 1200, 100))
    >>> r = np.arange(100, 1200, 100)
    >>> r[5] += 6  # the detector took the negative deflection of this beat
    >>> template_aligned_positions(x, r, causal=False)[4:7].tolist()
    [500, 600, 700]
    """
    r = np.asarray(r_canonical, dtype=np.int64)
    if r.size == 0:
        return r
    default_pre, default_post = window_samples()
    pre = default_pre if pre is None else pre
    post = default_post if post is None else post
    windows = centre_windows(cut_windows(signal_canonical, r, pre, post))
    templates, _ = running_templates(windows, causal=causal)
    half = int(round(ALIGN_HALF_WIDTH_S * CANONICAL_FS))
    reach = int(round(ALIGN_MAX_SHIFT_S * CANONICAL_FS))
    reference = templates[:, pre - half : pre + half + 1]
    reference = reference - reference.mean(axis=1, keepdims=True)
    reference_norm = np.linalg.norm(reference, axis=1)
    around = cut_windows(signal_canonical, r, half + reach, half + reach + 1)
    correlations = []
    for shift in range(-reach, reach + 1):
        segment = around[:, reach + shift : reach + shift + 2 * half + 1]
        segment = segment - segment.mean(axis=1, keepdims=True)
        norms = np.linalg.norm(segment, axis=1) * reference_norm
        correlations.append((segment * reference).sum(axis=1) / np.maximum(norms, 1e-12))
    correlations = np.stack(correlations, axis=1)  # (n, 2 * reach + 1), shift -reach first
    best = correlations.argmax(axis=1)
    best_correlation = correlations[np.arange(r.size), best]
    move = (best_correlation >= ALIGN_MIN_CORRELATION) & (
        best_correlation - correlations[:, reach] >= ALIGN_MIN_GAIN
    )
    return r + np.where(move, best - reach, 0)


def morphology(windows: np.ndarray, templates: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """Model input (n, 2, L): the beat and the beat minus its template, in template units."""
    s = scales[:, None]
    beat = windows / s
    return np.stack([beat, beat - templates / s], axis=1).astype(np.float32)


def lowpass_morphology(
    morph: np.ndarray, cutoff_hz: np.ndarray | float, fs: float = CANONICAL_FS
) -> np.ndarray:
    """``morph`` (..., 2, L) from :func:`morphology` as it reads after a zero-phase
    4th-order Butterworth-magnitude low-pass at ``cutoff_hz`` (a scalar, or one per leading
    index) of the beat *and* its template, re-normalised by the filtered template's
    peak-to-peak: what :func:`morphology` gives on the filtered signal (a recorder of
    narrower bandwidth). A cutoff of ``inf`` leaves a beat as it is.
    """
    x = np.asarray(morph, dtype=np.float32)
    beat, template = x[..., 0, :], x[..., 0, :] - x[..., 1, :]  # both in template units
    pad = 16  # reflect-pad so the FFT's circular wrap does not mix the window's ends
    length = x.shape[-1]
    widths = [(0, 0)] * (x.ndim - 1) + [(pad, pad)]
    both = np.pad(np.stack([beat, template], axis=-2), widths, "reflect")
    f_hz = np.fft.rfftfreq(both.shape[-1], d=1.0 / fs)
    cutoff = np.asarray(cutoff_hz, dtype=np.float64)[..., None, None]  # over (2, F)
    gain = 1.0 / np.sqrt(1.0 + (f_hz / cutoff) ** 8)
    filtered = np.fft.irfft(np.fft.rfft(both, axis=-1) * gain, n=both.shape[-1], axis=-1)
    filtered = filtered[..., pad : pad + length]
    fb, ft = filtered[..., 0, :], filtered[..., 1, :]
    ratio = np.ptp(template, axis=-1) / np.maximum(np.ptp(ft, axis=-1), 1e-6)
    out = np.stack([fb, fb - ft], axis=-2) * ratio[..., None, None]
    return out.astype(np.float32)


def _windowed_mean(x: np.ndarray, before: int, after: int) -> np.ndarray:
    """Mean of x[i-before .. i+after] clipped to the array (cumsum, no loops)."""
    n = x.size
    csum = np.concatenate([[0.0], np.cumsum(x, dtype=np.float64)])
    i = np.arange(n)
    lo = np.clip(i - before, 0, n)
    hi = np.clip(i + after + 1, 0, n)
    return (csum[hi] - csum[lo]) / np.maximum(hi - lo, 1)


def rr_intervals(
    r_peaks: np.ndarray, fs: float, causal: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(rr_pre_s, rr_next_s) per beat, clipped.

    The intervals a record does not hold, before its first beat and after its last, are the
    record's median interval: no information, where the neighbouring interval (after an
    ectopic beat, its pause) misleads, and a 10-s record has a first and a last beat in every
    dozen (``scripts/short_record_check.py``: V and S F1 +0.9 to +2.0 on 10-s excerpts). With
    ``causal`` (real-time mode) the first beat borrows the interval after it, as the later
    beats' running means may only use what came before them.
    """
    t_s = np.asarray(r_peaks, dtype=np.float64) / fs
    if t_s.size < 2:
        rr = np.full(t_s.size, RR_DEFAULT_S)
        return rr, rr.copy()
    d = np.clip(np.diff(t_s), RR_MIN_S, RR_MAX_S)
    before_first, after_last = (d[0], d[-1]) if causal else (np.median(d),) * 2
    rr_pre_s = np.concatenate([[before_first], d])
    rr_next_s = np.concatenate([d, [after_last]])
    return rr_pre_s, rr_next_s


def rr_features(
    r_peaks: np.ndarray,
    fs: float,
    causal: bool,
    avg_beats: int = RR_AVG_BEATS,
    local_beats: int = RR_LOCAL_BEATS,
) -> np.ndarray:
    """RR features (n, 4) if causal else (n, 6); names in RR_FEATURE_NAMES_*.

    The running mean RR covers the last ``avg_beats`` beats (causal) or a centred window of
    that size; the local mean covers the last ``local_beats`` beats in both modes.
    """
    rr_pre_s, rr_next_s = rr_intervals(r_peaks, fs, causal)
    if causal:
        rr_avg_s = _windowed_mean(rr_pre_s, avg_beats - 1, 0)
    else:
        rr_avg_s = _windowed_mean(rr_pre_s, avg_beats // 2, avg_beats // 2)
    rr_local_s = _windowed_mean(rr_pre_s, local_beats - 1, 0)
    cols = [
        np.log(rr_pre_s / rr_avg_s),
        np.log(rr_local_s / rr_avg_s),
        np.log(rr_pre_s / rr_local_s),
    ]
    if not causal:
        cols += [np.log(rr_next_s / rr_avg_s), np.log(rr_next_s / rr_pre_s)]
    # Rhythm irregularity (coefficient of variation of the last beats' RR): in atrial
    # fibrillation every other N beat is "premature"; this tells the model the rhythm is
    # irregular. Last column, so models trained without it use the first n_rr columns.
    rr_sq_local = _windowed_mean(rr_pre_s**2, local_beats - 1, 0)
    rr_sd_local = np.sqrt(np.maximum(rr_sq_local - rr_local_s**2, 0.0))
    cols.append(np.log(RR_CV_FLOOR + rr_sd_local / rr_local_s))
    return (
        np.stack(cols, axis=1).astype(np.float32)
        if len(r_peaks)
        else np.zeros((0, len(cols)), np.float32)
    )


@dataclass
class BeatFeatures:
    """Model inputs for a record's beats (canonical rate)."""

    morph: np.ndarray  # (n, 2, L) float32
    rr: np.ndarray  # (n, n_rr) float32
    r_canonical: np.ndarray  # (n,) int64 R positions at CANONICAL_FS


def beat_features(
    signal_canonical: np.ndarray,
    r_canonical: np.ndarray,
    causal: bool,
    pre: int | None = None,
    post: int | None = None,
    template_beats: int = TEMPLATE_BEATS,
) -> BeatFeatures:
    """Windows, templates and RR features of a cleaned signal already at CANONICAL_FS."""
    default_pre, default_post = window_samples()
    pre = default_pre if pre is None else pre
    post = default_post if post is None else post
    r = np.asarray(r_canonical, dtype=np.int64)
    windows = centre_windows(cut_windows(signal_canonical, r, pre, post))
    templates, scales = running_templates(windows, causal=causal, n_beats=template_beats)
    return BeatFeatures(
        morph=morphology(windows, templates, scales),
        rr=rr_features(r, CANONICAL_FS, causal=causal),
        r_canonical=r,
    )
