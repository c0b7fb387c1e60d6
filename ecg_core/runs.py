"""Ectopic runs and patterns in a labelled beat sequence: couplets, triplets, NSVT and
sustained VT, bigeminy, trigeminy, S runs and SVT; and pauses.

Same beat-sequence conventions as :mod:`ecg_core.analysis` (``r_peaks`` at ``fs``,
``labels`` as AAMI letters or indices, ``noisy`` per beat); vectorised run-length
encoding, no per-beat Python loop.

>>> import numpy as np
>>> r_peaks = (np.arange(10) * 0.8 * 250).astype(int)          # 75 bpm at 250 Hz
>>> find_runs(r_peaks, list("NNVNNVVNNN"), 250.0)["kind"].tolist()
['V couplet']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ecg_core.aami import CLASS_INDEX
from ecg_core.analysis import as_class_indices

V = CLASS_INDEX["V"]
S = CLASS_INDEX["S"]

#: Runs of >= 3 ectopic beats faster than this (bpm) are tachycardias (NSVT / SVT).
TACHY_BPM = 100.0
#: A ventricular tachycardia lasting at least this long (s) is sustained.
SUSTAINED_VT_S = 30.0
#: Bigeminy and trigeminy need at least this many cycles (ectopic beats in the pattern).
MIN_PATTERN_CYCLES = 3
#: An RR interval at least this long (s) is a pause (the usual Holter reporting threshold).
PAUSE_S = 2.0

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
    "pauses": "pause",
}
#: Run kinds that are patterns of isolated ectopic beats, not runs of consecutive ones.
PATTERN_KINDS = ("V bigeminy", "V trigeminy")


def runs_of(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
    starts, lengths = runs_of(step_ok)  # runs of "next ectopic is one period later"
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
        starts, lengths = runs_of(codes == cls)
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

    return combine(frames)


def combine(tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Episode tables (runs, pauses) as one, in time order."""
    tables = [t for t in tables if len(t)]
    if not tables:
        return empty_runs()
    runs = pd.concat(tables, ignore_index=True)
    return runs.sort_values(["start_sample", "kind"], kind="stable").reset_index(drop=True)


def find_pauses(
    r_peaks: np.ndarray,
    fs: float,
    noisy: np.ndarray | None = None,
    gaps_s: Sequence[tuple[float, float]] = (),
) -> pd.DataFrame:
    """Pauses: RR intervals of at least :data:`PAUSE_S`, one row each (columns
    :data:`RUN_COLUMNS`, kind ``pause``, the two beats that bound it, rate 60 / duration).

    ``noisy`` is True when either beat is noisy or the interval overlaps one of ``gaps_s``
    (noisy spans, VF episodes, in seconds): there a missing beat is likelier than a pause.
    Such pauses stay in the table but are not counted.

    >>> r = np.array([0, 200, 400, 1150, 1350])  # a 3 s gap at 250 Hz
    >>> find_pauses(r, 250.0)[["start_s", "duration_s"]].values.tolist()
    [[1.6, 3.0]]
    """
    r_peaks = np.asarray(r_peaks, dtype=np.int64)
    noisy = np.zeros(r_peaks.size, bool) if noisy is None else np.asarray(noisy, bool)
    first = np.flatnonzero(np.diff(r_peaks) >= PAUSE_S * fs)
    if first.size == 0:
        return empty_runs()
    pauses = _run_rows(
        np.full(first.size, "pause"), "", first, first + 1, r_peaks, fs, np.r_[0, np.cumsum(noisy)]
    )
    for a, b in gaps_s:
        pauses["noisy"] |= (pauses["start_s"] < b) & (pauses["end_s"] > a)
    return pauses


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
    is_v_run = (clean["beat_class"] == "V") & ~clean["kind"].isin(PATTERN_KINDS)
    counts["v_triplets"] = int((is_v_run & (clean["n_beats"] == 3)).sum())
    counts["s_runs"] = int(((clean["beat_class"] == "S") & (clean["n_beats"] >= 3)).sum())
    counts["idioventricular_runs"] = int((clean["kind"] == "idioventricular run").sum())
    return counts


def longest_run(runs: pd.DataFrame, beat_class: str) -> int:
    """Beats in the longest clean run of consecutive ``beat_class`` beats (0 if none)."""
    sel = runs[
        (runs["beat_class"] == beat_class)
        & ~runs["noisy"].astype(bool)
        & ~runs["kind"].isin(PATTERN_KINDS)
    ]
    return int(sel["n_beats"].max()) if len(sel) else 0


def longest_pause_s(runs: pd.DataFrame) -> float:
    """Duration (s) of the longest clean pause (0.0 if none)."""
    sel = runs[(runs["kind"] == "pause") & ~runs["noisy"].astype(bool)]
    return round(float(sel["duration_s"].max()), 2) if len(sel) else 0.0
