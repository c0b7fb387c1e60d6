"""Holter-style statistics over a labelled beat sequence: counts, burden, heart rate.

Pure functions, numpy in and plain data (dicts, DataFrames) out, vectorised so that a
24-hour record (~100k beats) takes milliseconds. The beat sequence is described by

- ``r_peaks``: R-peak sample indices (int) at the record's rate ``fs``, ascending;
- ``labels``: AAMI class per beat, as indices into :data:`AAMI_CLASSES` or as the letters;
- ``noisy``: bool per beat, True when the beat lies inside a noisy span (see
  :func:`beats_in_spans`). Noisy beats are kept in the beat table but excluded from
  counts, burden and heart rate (and from run counts, see :mod:`ecg_core.runs`).

Beats labelled Q are what the classifier calls a detection that is not a heartbeat (a T
wave, a noise spike) or cannot classify. They stay in the beat table, counts and burden,
but everything that measures RR intervals skips those that split an interval
(:func:`rate_beats`): heart rate, trend, hourly rate and pauses see the interval between the
real beats on either side.

>>> import numpy as np
>>> fs = 250.0
>>> r_peaks = (np.arange(10) * 0.8 * fs).astype(int)          # 75 bpm
>>> labels = list("NNVNNVVNNN")
>>> stats = ectopy_counts(labels, np.zeros(10, bool))
>>> stats["counts"]["V"], stats["v_burden_pct"]
(3, 30.0)
>>> heart_rate_stats(r_peaks, fs, np.zeros(10, bool))["hr_mean_bpm"]
75.0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ecg_core.aami import AAMI_CLASSES, CLASS_INDEX

V = CLASS_INDEX["V"]
S = CLASS_INDEX["S"]
Q = CLASS_INDEX["Q"]

#: RR intervals outside this range (s) are not used for heart rate: shorter than 200 ms is
#: a double detection, longer than 3 s a missed beat or a gap (300 and 20 bpm).
RR_VALID_S: tuple[float, float] = (0.2, 3.0)
#: Beats averaged for the min/max heart rate (a Holter convention; a PVC's short coupling
#: interval and its compensatory pause cancel inside the window).
HR_WINDOW_BEATS = 10
#: A run of Q detections is skipped for RR when the interval without it is at most this
#: many local RR intervals (set from physiology before measuring: a false detection splits
#: one interval, ~1x; a real beat called Q leaves ~2x when skipped).
MAX_MERGED_RR = 1.6


def as_class_indices(labels: Sequence | np.ndarray) -> np.ndarray:
    """Labels as int64 indices into AAMI_CLASSES (letters or indices accepted).

    >>> as_class_indices(["N", "V", "S"]).tolist()
    [0, 2, 1]
    """
    arr = np.asarray(labels)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    # Map the few distinct letters, then broadcast back: no per-beat Python loop.
    letters, inverse = np.unique(arr.astype(str), return_inverse=True)
    unknown = [str(x) for x in letters if x not in CLASS_INDEX]
    if unknown:
        raise ValueError(f"Unknown beat labels {unknown}; expected one of {AAMI_CLASSES}.")
    return np.array([CLASS_INDEX[x] for x in letters], dtype=np.int64)[inverse.reshape(-1)]


def merge_spans(spans: Sequence[tuple[float, float]]) -> np.ndarray:
    """Sort and merge overlapping ``(start_s, end_s)`` spans into an ``(k, 2)`` array."""
    arr = np.asarray(list(spans), dtype=np.float64).reshape(-1, 2)
    if arr.shape[0] == 0:
        return arr
    arr = arr[np.argsort(arr[:, 0])]
    # A new group starts where a span begins after every earlier span has ended.
    running_end = np.maximum.accumulate(arr[:, 1])
    new_group = np.r_[True, arr[1:, 0] > running_end[:-1]]
    starts = arr[new_group, 0]
    ends = np.maximum.reduceat(arr[:, 1], np.flatnonzero(new_group))
    return np.column_stack([starts, ends])


def beats_in_spans(
    r_peaks: np.ndarray, fs: float, spans: Sequence[tuple[float, float]]
) -> np.ndarray:
    """True for each beat whose R peak lies inside one of the ``(start_s, end_s)`` spans.

    >>> beats_in_spans(np.array([100, 500, 900]), 100.0, [(4.0, 6.0)]).tolist()
    [False, True, False]
    """
    times_s = np.asarray(r_peaks, dtype=np.float64) / fs
    merged = merge_spans(spans)
    if merged.shape[0] == 0 or times_s.size == 0:
        return np.zeros(times_s.shape, dtype=bool)
    idx = np.searchsorted(merged[:, 0], times_s, side="right") - 1
    inside = idx >= 0
    inside[inside] = times_s[inside] < merged[idx[inside], 1]
    return inside


def spans_total_s(spans: Sequence[tuple[float, float]], duration_s: float) -> float:
    """Seconds covered by the spans (overlaps counted once, clipped to the record)."""
    merged = np.clip(merge_spans(spans), 0.0, duration_s)
    return float(np.sum(merged[:, 1] - merged[:, 0])) if merged.size else 0.0


# --------------------------------------------------------------------------- counts


def noisy_beats_as_q(labels: Sequence | np.ndarray, noisy: np.ndarray) -> np.ndarray:
    """The labels the beat table gives (class indices): Q ("unclassifiable") for a beat
    inside a noisy span, where the report counts nothing and most false detections come out
    V; the network's class elsewhere.

    >>> noisy_beats_as_q(np.array([0, 2, 2]), np.array([False, True, False])).tolist()
    [0, 4, 2]
    """
    return np.where(np.asarray(noisy, dtype=bool), CLASS_INDEX["Q"], as_class_indices(labels))


def ectopy_counts(labels: Sequence | np.ndarray, noisy: np.ndarray) -> dict:
    """Counts per AAMI class and V/S burden over the *analysed* (not noisy) beats.

    Burden = 100 * class beats / all analysed beats (every class in the denominator, Q
    included). None when no beat was analysed.
    """
    codes = as_class_indices(labels)
    clean = ~np.asarray(noisy, dtype=bool)
    counts = np.bincount(codes[clean], minlength=len(AAMI_CLASSES))
    n_analysed = int(clean.sum())

    def burden(k: int) -> float | None:
        return round(100.0 * int(counts[k]) / n_analysed, 3) if n_analysed else None

    return {
        "n_beats": int(codes.size),
        "n_analysed_beats": n_analysed,
        "n_noisy_beats": int(codes.size - n_analysed),
        "counts": {c: int(counts[i]) for i, c in enumerate(AAMI_CLASSES)},
        "v_burden_pct": burden(V),
        "s_burden_pct": burden(S),
    }


# ---------------------------------------------------------------------- heart rate


def rate_beats(
    r_peaks: np.ndarray, labels: Sequence | np.ndarray, max_merged_rr: float = MAX_MERGED_RR
) -> np.ndarray:
    """True for the beats whose R peaks bound RR intervals: all but the Q detections that
    split an interval.

    The models label our detector's false detections Q (they were trained so), and a false
    detection splits one RR interval into two short ones: it would raise the heart rate and
    hide a pause. Skipping it restores the interval between the beats on either side. But Q
    also lands on some real beats (the network cannot classify them), and skipping one of
    those makes a long interval, a false pause. So a run of Q detections is skipped only
    when the interval that remains without it is at most ``max_merged_rr`` times the
    median of the 16 Q-free intervals around it (a false detection: about 1x; a real beat:
    about 2x).

    >>> r = np.array([0, 200, 400, 500, 600, 800, 1000, 1200])
    >>> labels = list("NNNQNNQN")  # 500: a T wave (skipped); 1000: a real beat called Q
    >>> np.flatnonzero(~rate_beats(r, labels)).tolist()
    [3]
    """
    r_peaks = np.asarray(r_peaks, dtype=np.float64)
    keep = as_class_indices(labels) != Q
    beat_index = np.flatnonzero(keep)
    if beat_index.size < 2:  # no interval between heartbeats to compare with: keep all
        return np.ones(keep.size, dtype=bool)
    if keep.all():
        return keep
    merged_rr = np.diff(r_peaks[beat_index])
    spans_q = np.diff(beat_index) > 1  # a run of Q detections lies inside this interval
    clean_rr = pd.Series(np.where(spans_q, np.nan, merged_rr))
    local_rr = clean_rr.rolling(17, center=True, min_periods=1).median().to_numpy()
    if np.isfinite(clean_rr).any():
        local_rr = np.where(np.isfinite(local_rr), local_rr, np.nanmedian(clean_rr))
    # NaN (no Q-free interval to compare with) compares False: the Q run is kept.
    needed = spans_q & ~(merged_rr <= max_merged_rr * local_rr)
    for j in np.flatnonzero(needed):
        keep[beat_index[j] + 1 : beat_index[j + 1]] = True
    return keep


def valid_rr(r_peaks: np.ndarray, fs: float, noisy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RR intervals (s, one per consecutive beat pair) and whether each counts for HR.

    An interval counts when both of its beats are analysed (not noisy) and it lies within
    :data:`RR_VALID_S`. All beat classes count: heart rate is the ventricular rate.
    """
    rr_s = np.diff(np.asarray(r_peaks, dtype=np.float64)) / fs
    noisy = np.asarray(noisy, dtype=bool)
    ok = ~noisy[:-1] & ~noisy[1:] & (rr_s >= RR_VALID_S[0]) & (rr_s <= RR_VALID_S[1])
    return rr_s, ok


def windowed_hr(rr_s: np.ndarray, ok: np.ndarray, n_beats: int = HR_WINDOW_BEATS) -> np.ndarray:
    """Heart rate (bpm) averaged over each ``n_beats`` consecutive valid RR intervals.

    Element i covers RR intervals ``i .. i+n_beats-1`` (it ends at beat ``i + n_beats``);
    NaN where any interval in the window is invalid. Length ``len(rr_s) - n_beats + 1``.
    """
    if rr_s.size < n_beats:
        return np.zeros(0)
    rr_sum = np.convolve(np.where(ok, rr_s, 0.0), np.ones(n_beats), mode="valid")
    n_ok = np.convolve(ok.astype(np.int64), np.ones(n_beats, dtype=np.int64), mode="valid")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n_ok == n_beats, 60.0 * n_beats / rr_sum, np.nan)


def heart_rate_stats(r_peaks: np.ndarray, fs: float, noisy: np.ndarray) -> dict:
    """Mean, min and max heart rate (bpm) and the longest RR interval (s).

    - mean: 60 * (number of valid RR intervals) / (their total duration), i.e. beats per
      minute over the analysed time;
    - min / max: extremes of the :data:`HR_WINDOW_BEATS`-beat averages (windows made
      only of valid intervals), so a single ectopic beat or a missed detection does not
      set them;
    - max_rr_s: the longest valid RR interval (a pause shows here).
    Values are None when there are too few valid intervals.
    """
    out: dict = {"hr_mean_bpm": None, "hr_min_bpm": None, "hr_max_bpm": None, "max_rr_s": None}
    if len(r_peaks) < 2:
        return out
    rr_s, ok = valid_rr(r_peaks, fs, noisy)
    if ok.any():
        out["hr_mean_bpm"] = round(float(60.0 * ok.sum() / rr_s[ok].sum()), 2)
        out["max_rr_s"] = round(float(rr_s[ok].max()), 3)
    hr_w = windowed_hr(rr_s, ok)
    if np.isfinite(hr_w).any():
        out["hr_min_bpm"] = round(float(np.nanmin(hr_w)), 2)
        out["hr_max_bpm"] = round(float(np.nanmax(hr_w)), 2)
    return out


def default_trend_step_s(duration_s: float) -> float:
    """10 s bins up to one hour of signal, 60 s beyond (<= 1440 points for 24 h)."""
    return 10.0 if duration_s <= 3600.0 else 60.0


def hr_trend(
    r_peaks: np.ndarray,
    fs: float,
    noisy: np.ndarray,
    duration_s: float,
    step_s: float | None = None,
) -> pd.DataFrame:
    """Heart rate per time bin for plotting: columns ``time_s`` (bin start), ``hr_bpm``.

    Each valid RR interval is assigned to the bin of the beat that ends it;
    hr = 60 * intervals / their total duration; NaN for bins without a valid interval.
    """
    step_s = float(step_s or default_trend_step_s(duration_s))
    n_bins = max(1, int(np.ceil(duration_s / step_s)))
    starts = np.arange(n_bins) * step_s
    hr = np.full(n_bins, np.nan)
    if len(r_peaks) >= 2:
        rr_s, ok = valid_rr(r_peaks, fs, noisy)
        end_time_s = np.asarray(r_peaks[1:], dtype=np.float64) / fs
        bins = np.clip((end_time_s // step_s).astype(np.int64), 0, n_bins - 1)
        n = np.bincount(bins[ok], minlength=n_bins)
        total = np.bincount(bins[ok], weights=rr_s[ok], minlength=n_bins)
        with np.errstate(divide="ignore", invalid="ignore"):
            hr = np.where(n > 0, 60.0 * n / total, np.nan)
    return pd.DataFrame({"time_s": starts, "hr_bpm": np.round(hr, 2)})


def hourly_table(
    r_peaks: np.ndarray,
    labels: Sequence | np.ndarray,
    fs: float,
    noisy: np.ndarray,
    duration_s: float,
) -> pd.DataFrame:
    """One row per started hour of the record (hour 0 = the first 60 minutes).

    Columns: hour, start_s, beats (all), analysed_beats, hr_mean/min/max_bpm (same
    definitions as :func:`heart_rate_stats`, over the :func:`rate_beats`; an interval or
    window belongs to the hour of the beat that ends it), v_count, s_count, v_burden_pct,
    s_burden_pct (over the hour's analysed beats).
    """
    codes = as_class_indices(labels)
    noisy = np.asarray(noisy, dtype=bool)
    n_hours = max(1, int(np.ceil(duration_s / 3600.0)))
    times_s = np.asarray(r_peaks, dtype=np.float64) / fs
    hour = np.clip((times_s // 3600.0).astype(np.int64), 0, n_hours - 1)
    clean = ~noisy
    beats = np.bincount(hour, minlength=n_hours)
    analysed = np.bincount(hour[clean], minlength=n_hours)
    v_count = np.bincount(hour[clean & (codes == V)], minlength=n_hours)
    s_count = np.bincount(hour[clean & (codes == S)], minlength=n_hours)
    hr_mean = np.full(n_hours, np.nan)
    hr_min = np.full(n_hours, np.nan)
    hr_max = np.full(n_hours, np.nan)
    rate = rate_beats(r_peaks, codes)
    if rate.sum() >= 2:
        rr_s, ok = valid_rr(np.asarray(r_peaks)[rate], fs, noisy[rate])
        rate_hour = hour[rate]
        rr_hour = rate_hour[1:]
        n = np.bincount(rr_hour[ok], minlength=n_hours)
        total = np.bincount(rr_hour[ok], weights=rr_s[ok], minlength=n_hours)
        with np.errstate(divide="ignore", invalid="ignore"):
            hr_mean = np.where(n > 0, 60.0 * n / total, np.nan)
        hr_w = windowed_hr(rr_s, ok)
        if hr_w.size:
            w_hour = rate_hour[HR_WINDOW_BEATS:][: hr_w.size]
            grouped = pd.Series(hr_w).groupby(w_hour)
            hr_min[grouped.min().index] = grouped.min().to_numpy()
            hr_max[grouped.max().index] = grouped.max().to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        v_burden = np.where(analysed > 0, 100.0 * v_count / analysed, np.nan)
        s_burden = np.where(analysed > 0, 100.0 * s_count / analysed, np.nan)
    return pd.DataFrame(
        {
            "hour": np.arange(n_hours),
            "start_s": np.arange(n_hours) * 3600.0,
            "beats": beats,
            "analysed_beats": analysed,
            "hr_mean_bpm": np.round(hr_mean, 2),
            "hr_min_bpm": np.round(hr_min, 2),
            "hr_max_bpm": np.round(hr_max, 2),
            "v_count": v_count,
            "s_count": s_count,
            "v_burden_pct": np.round(v_burden, 3),
            "s_burden_pct": np.round(s_burden, 3),
        }
    )
