"""Holter-style statistics over a labelled beat sequence: burden, heart rate, runs.

Pure functions, numpy in and plain data (dicts, DataFrames) out, vectorised so that a
24-hour record (~100k beats) takes milliseconds. The beat sequence is described by

- ``r_peaks``: R-peak sample indices (int) at the record's rate ``fs``, ascending;
- ``labels``: AAMI class per beat, as indices into :data:`AAMI_CLASSES` or as the letters;
- ``noisy``: bool per beat, True when the beat lies inside a noisy span (see
  :func:`beats_in_spans`). Noisy beats are kept in the beat table but excluded from
  counts, burden and heart rate, and runs that touch them are marked and not counted.

>>> import numpy as np
>>> fs = 250.0
>>> r_peaks = (np.arange(10) * 0.8 * fs).astype(int)          # 75 bpm
>>> labels = list("NNVNNVVNNN")
>>> stats = ectopy_counts(labels, np.zeros(10, bool))
>>> stats["counts"]["V"], stats["v_burden_pct"]
(3, 30.0)
>>> find_runs(r_peaks, labels, fs)["kind"].tolist()
['V couplet']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ecg_core.aami import AAMI_CLASSES, CLASS_INDEX

V = CLASS_INDEX["V"]
S = CLASS_INDEX["S"]

#: RR intervals outside this range (s) are not used for heart rate: shorter than 200 ms is
#: a double detection, longer than 3 s a missed beat or a gap (300 and 20 bpm).
RR_VALID_S: tuple[float, float] = (0.2, 3.0)
#: Beats averaged for the min/max heart rate (a Holter convention; a PVC's short coupling
#: interval and its compensatory pause cancel inside the window).
HR_WINDOW_BEATS = 10
#: Runs of >= 3 ectopic beats faster than this (bpm) are tachycardias (NSVT / SVT).
TACHY_BPM = 100.0
#: A ventricular tachycardia lasting at least this long (s) is sustained.
SUSTAINED_VT_S = 30.0
#: Bigeminy and trigeminy need at least this many cycles (ectopic beats in the pattern).
MIN_PATTERN_CYCLES = 3

RUN_COLUMNS = [
    "kind",
    "beat_class",
    "start_beat",
    "end_beat",
    "start_sample",
    "end_sample",
    "start_s",
    "end_s",
    "n_beats",
    "duration_s",
    "rate_bpm",
    "noisy",
]

#: Summary keys that count runs (clean runs only), in the order a reader scans them.
RUN_COUNT_KEYS: dict[str, str] = {
    "v_couplets": "V couplet",
    "v_triplets": "V triplet",
    "nsvt": "NSVT",
    "sustained_vt": "sustained VT",
    "v_bigeminy": "V bigeminy",
    "v_trigeminy": "V trigeminy",
    "s_couplets": "S couplet",
    "svt": "SVT",
}


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
    definitions as :func:`heart_rate_stats`, an interval or window belongs to the hour of
    the beat that ends it), v_count, s_count, v_burden_pct, s_burden_pct (over the
    hour's analysed beats).
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
    if codes.size >= 2:
        rr_s, ok = valid_rr(r_peaks, fs, noisy)
        rr_hour = hour[1:]
        n = np.bincount(rr_hour[ok], minlength=n_hours)
        total = np.bincount(rr_hour[ok], weights=rr_s[ok], minlength=n_hours)
        with np.errstate(divide="ignore", invalid="ignore"):
            hr_mean = np.where(n > 0, 60.0 * n / total, np.nan)
        hr_w = windowed_hr(rr_s, ok)
        if hr_w.size:
            w_hour = hour[HR_WINDOW_BEATS:][: hr_w.size]
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


# ---------------------------------------------------------------------------- runs


def _runs_of(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run-length encoding of True stretches: (first index, length) of each maximal run."""
    edges = np.diff(np.r_[0, mask.astype(np.int8), 0])
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return starts, ends - starts


def _pattern_episodes(isolated_idx: np.ndarray, period: int) -> tuple[np.ndarray, np.ndarray]:
    """Chains of isolated ectopic beats exactly ``period`` beats apart.

    Returns (index of the first ectopic beat, number of cycles) for chains of at least
    :data:`MIN_PATTERN_CYCLES` ectopic beats.
    """
    if isolated_idx.size < MIN_PATTERN_CYCLES:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    step_ok = np.diff(isolated_idx) == period
    starts, lengths = _runs_of(step_ok)  # runs of "next ectopic is one period later"
    cycles = lengths + 1
    keep = cycles >= MIN_PATTERN_CYCLES
    return isolated_idx[starts[keep]], cycles[keep]


def _run_rows(
    kind_by_run: np.ndarray,
    beat_class: str,
    first: np.ndarray,
    last: np.ndarray,
    r_peaks: np.ndarray,
    fs: float,
    noisy_cum: np.ndarray,
) -> pd.DataFrame:
    start_sample = r_peaks[first]
    end_sample = r_peaks[last]
    n_beats = last - first + 1
    duration_s = (end_sample - start_sample) / fs
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(duration_s > 0, 60.0 * (n_beats - 1) / duration_s, np.nan)
    return pd.DataFrame(
        {
            "kind": kind_by_run,
            "beat_class": beat_class,
            "start_beat": first,
            "end_beat": last,
            "start_sample": start_sample,
            "end_sample": end_sample,
            "start_s": start_sample / fs,
            "end_s": end_sample / fs,
            "n_beats": n_beats,
            "duration_s": duration_s,
            "rate_bpm": np.round(rate, 2),
            "noisy": (noisy_cum[last + 1] - noisy_cum[first]) > 0,
        }
    )


def find_runs(
    r_peaks: np.ndarray,
    labels: Sequence | np.ndarray,
    fs: float,
    noisy: np.ndarray | None = None,
) -> pd.DataFrame:
    """Ectopic runs and patterns, one row per episode (columns :data:`RUN_COLUMNS`).

    A *V run* is a maximal stretch of consecutive V beats (no non-V beat between, the
    beats before and after are not V); likewise for S. Its rate is the mean rate inside
    the run, 60 * (n_beats - 1) / (last R - first R); its duration is last R - first R.

    - ``V couplet``: a V run of exactly 2 beats.
    - ``V triplet``: a V run of exactly 3 beats at <= 100 bpm.
    - ``NSVT``: a V run of >= 3 beats at > 100 bpm lasting < 30 s (non-sustained VT).
    - ``sustained VT``: a V run of >= 3 beats at > 100 bpm lasting >= 30 s.
    - ``idioventricular run``: a V run of >= 4 beats at <= 100 bpm.
    - ``V bigeminy``: >= 3 cycles of (one non-V beat, then an isolated V), i.e. >= 3
      single V beats each exactly 2 beats after the previous one (N V N V N V). Starts
      at the non-V beat before the first V, ends at the last V.
    - ``V trigeminy``: >= 3 cycles of (two non-V beats, then an isolated V): single V beats
      exactly 3 beats apart (N N V N N V N N V).
    - ``S couplet``: an S run of exactly 2 beats.
    - ``SVT``: an S run of >= 3 beats at > 100 bpm.
    - ``S run``: an S run of >= 3 beats at <= 100 bpm.

    So every V run of 2+ beats is exactly one row; a triplet faster than 100 bpm is listed
    as ``NSVT`` with ``n_beats`` = 3 (:func:`run_counts` counts it as both a triplet and an
    NSVT). ``noisy`` is True when any beat of the episode lies in a noisy span; such
    episodes stay in the table but are not counted.
    """
    codes = as_class_indices(labels)
    r_peaks = np.asarray(r_peaks, dtype=np.int64)
    noisy = np.zeros(codes.size, bool) if noisy is None else np.asarray(noisy, bool)
    noisy_cum = np.r_[0, np.cumsum(noisy)]
    frames = []

    for cls, letter in ((V, "V"), (S, "S")):
        starts, lengths = _runs_of(codes == cls)
        multi = lengths >= 2
        first, last = starts[multi], starts[multi] + lengths[multi] - 1
        n = lengths[multi]
        duration_s = (r_peaks[last] - r_peaks[first]) / fs
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(duration_s > 0, 60.0 * (n - 1) / duration_s, np.inf)
        fast = rate > TACHY_BPM
        if letter == "V":
            kind = np.select(
                [n == 2, fast & (duration_s >= SUSTAINED_VT_S), fast, n == 3],
                ["V couplet", "sustained VT", "NSVT", "V triplet"],
                default="idioventricular run",
            )
        else:
            kind = np.select([n == 2, fast], ["S couplet", "SVT"], default="S run")
        frames.append(_run_rows(kind, letter, first, last, r_peaks, fs, noisy_cum))

        if letter == "V":
            isolated = starts[lengths == 1]
            for period, name in ((2, "V bigeminy"), (3, "V trigeminy")):
                first_v, cycles = _pattern_episodes(isolated, period)
                last_v = first_v + (cycles - 1) * period
                first_beat = np.maximum(first_v - (period - 1), 0)
                frames.append(
                    _run_rows(
                        np.full(first_v.size, name), "V", first_beat, last_v, r_peaks, fs, noisy_cum
                    )
                )

    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_runs()
    runs = pd.concat(frames, ignore_index=True)
    return runs.sort_values(["start_sample", "kind"], kind="stable").reset_index(drop=True)


def empty_runs() -> pd.DataFrame:
    """A runs table with no rows and the usual columns and dtypes."""
    return pd.DataFrame(
        {
            "kind": pd.Series(dtype=str),
            "beat_class": pd.Series(dtype=str),
            **{c: pd.Series(dtype=np.int64) for c in RUN_COLUMNS[2:6]},
            "start_s": pd.Series(dtype=float),
            "end_s": pd.Series(dtype=float),
            "n_beats": pd.Series(dtype=np.int64),
            "duration_s": pd.Series(dtype=float),
            "rate_bpm": pd.Series(dtype=float),
            "noisy": pd.Series(dtype=bool),
        }
    )


def run_counts(runs: pd.DataFrame) -> dict[str, int]:
    """Episode counts for the summary, clean runs only.

    ``v_triplets`` counts every V run of exactly 3 beats whatever its rate (so a fast
    triplet is in both ``v_triplets`` and ``nsvt``); ``s_runs`` counts S runs of >= 3
    beats whatever their rate (``svt`` is the fast subset).
    """
    clean = runs[~runs["noisy"].astype(bool)]
    counts = {key: int((clean["kind"] == kind).sum()) for key, kind in RUN_COUNT_KEYS.items()}
    is_v_run = (clean["beat_class"] == "V") & ~clean["kind"].isin(["V bigeminy", "V trigeminy"])
    counts["v_triplets"] = int((is_v_run & (clean["n_beats"] == 3)).sum())
    counts["s_runs"] = int(((clean["beat_class"] == "S") & (clean["n_beats"] >= 3)).sum())
    counts["idioventricular_runs"] = int((clean["kind"] == "idioventricular run").sum())
    return counts


def longest_run(runs: pd.DataFrame, beat_class: str) -> int:
    """Beats in the longest clean run of consecutive ``beat_class`` beats (0 if none)."""
    sel = runs[
        (runs["beat_class"] == beat_class)
        & ~runs["noisy"].astype(bool)
        & ~runs["kind"].isin(["V bigeminy", "V trigeminy"])
    ]
    return int(sel["n_beats"].max()) if len(sel) else 0
