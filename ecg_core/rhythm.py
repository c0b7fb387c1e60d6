"""Rhythm from the RR sequence: atrial fibrillation (irregularly irregular, no dominant
interval) and the continuation of SVT runs.

In atrial fibrillation (AF) every QRS comes "early" or "late" at random, so a beat classifier
that reads prematurity as a supraventricular ectopic beat calls normal beats S by the hundred
(MIT-BIH's AF records are where most of our false S come from). A Holter reader does not count
S beats inside AF; neither do we: :func:`af_beats` marks the beats in AF and the classifier
moves their S probability to N (AAMI labels the conducted beats of AF N).

Per beat, over a window of ``AF_WINDOW_BEATS`` RR intervals (centred, or the past only in
real-time mode), leaving out intervals that touch a ventricular beat (ectopy, not rhythm):

- irregularity: min over lag k = 1, 2, 3 of median |RR[i] - RR[i-k]| / median RR. Isolated
  ectopic beats leave the median small at lag 1, bigeminy at lag 2, trigeminy at lag 3; AF
  is irregular at every lag;
- dominance: the largest fraction of the window's intervals within 6 % of any one of them.
  A regular rhythm with frequent ectopy keeps a cluster of normal intervals; AF has none.

AF = irregularity > ``AF_IRREGULARITY_MIN`` and dominance < ``AF_DOMINANCE_MAX``, kept only
in runs of at least ``AF_MIN_BEATS`` beats. Chosen on DS1 (AF in records 201 and 203) and
checked on the SVDB development subset (frequent S and V, no AF); with the diagnostic model's V
labels, 86.9 % of DS1's annotated AF / flutter beats are called AF, 0.50 % of its other beats
(all in 201 and 203) and 0.21 % of the SVDB subset's (``python scripts/af_check.py``).

Also here: :func:`svt_continuation`, the rest of a supraventricular tachycardia run whose
onset the classifier saw.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> regular = np.cumsum(np.full(300, 0.8))
>>> irregular = regular[-1] + np.cumsum(rng.uniform(0.4, 1.2, 300))
>>> r = (np.concatenate([regular, irregular]) * 128).astype(int)
>>> af = af_beats(r, 128.0, np.zeros(r.size, bool))
>>> bool(af[:250].any()), bool(af[300:].mean() > 0.9)
(False, True)
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ecg_core.runs import runs_of

AF_WINDOW_BEATS: int = 40
AF_IRREGULARITY_MIN: float = 0.12
AF_DOMINANCE_MAX: float = 0.45
AF_MIN_BEATS: int = 60
DOMINANCE_TOLERANCE: float = 0.06
MIN_INTERVALS: int = 12  # fewer usable intervals in a window: no AF call
BLOCK: int = 4096  # beats per block (bounds memory on a 24-hour record)


def _windows(x: np.ndarray, causal: bool) -> np.ndarray:
    """(n, AF_WINDOW_BEATS + 1) windows of x around (or, causal, up to) each index, NaN-padded."""
    w = AF_WINDOW_BEATS
    if causal:
        padded = np.concatenate([np.full(w, np.nan), x])
        return sliding_window_view(padded, w + 1)[: x.size]
    half = w // 2
    padded = np.concatenate([np.full(half, np.nan), x, np.full(half, np.nan)])
    return sliding_window_view(padded, 2 * half + 1)[: x.size]


def _irregularity_and_dominance(win: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(all="ignore"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows -> NaN
            median = np.nanmedian(win, axis=1)
            lagged = [np.nanmedian(np.abs(win[:, k:] - win[:, :-k]), axis=1) for k in (1, 2, 3)]
        irregularity = np.min(np.stack(lagged), axis=0) / median
        close = np.abs(win[:, :, None] - win[:, None, :]) <= DOMINANCE_TOLERANCE * win[:, None, :]
        counts = np.sum(close, axis=1)  # per candidate centre: intervals near it
        valid = np.sum(~np.isnan(win), axis=1)
        dominance = np.max(counts, axis=1) / np.maximum(valid, 1)
    irregularity[valid < MIN_INTERVALS] = np.nan
    return irregularity, dominance


def _keep_long_runs(flag: np.ndarray, min_len: int) -> np.ndarray:
    """Only runs of True at least ``min_len`` long stay True."""
    out = np.zeros_like(flag)
    for start, length in zip(*runs_of(flag), strict=True):
        if length >= min_len:
            out[start : start + length] = True
    return out


def af_beats(
    r_peaks: np.ndarray, fs: float, is_ventricular: np.ndarray, causal: bool = False
) -> np.ndarray:
    """Boolean per beat: in atrial fibrillation (see the module docstring).

    ``is_ventricular`` marks V beats (the classifier's): intervals touching them are left out.
    ``causal`` (real-time mode) uses past intervals only, and a beat is in AF once the last
    ``AF_MIN_BEATS`` beats were all irregular: nothing from after the beat, at the price of
    calling an episode's first beats late.
    """
    r = np.asarray(r_peaks, dtype=np.float64)
    n = r.size
    if n < MIN_INTERVALS + 1:
        return np.zeros(n, dtype=bool)
    rr = np.diff(r, prepend=np.nan) / fs  # interval ending at each beat
    v = np.asarray(is_ventricular, dtype=bool)
    touches_v = v | np.concatenate([[False], v[:-1]])  # ends at a V beat or starts from one
    rr[touches_v] = np.nan
    win = _windows(rr, causal)
    irregular = np.zeros(n, dtype=bool)
    for s in range(0, n, BLOCK):
        irr, dom = _irregularity_and_dominance(win[s : s + BLOCK])
        irregular[s : s + BLOCK] = (irr > AF_IRREGULARITY_MIN) & (dom < AF_DOMINANCE_MAX)
    if causal:
        counts = np.concatenate([[0], np.cumsum(irregular)])
        idx = np.arange(n)
        in_last = counts[idx + 1] - counts[np.maximum(idx + 1 - AF_MIN_BEATS, 0)]
        return in_last >= AF_MIN_BEATS
    return _keep_long_runs(irregular, AF_MIN_BEATS)


SVT_ONSET_RATIO: float = 0.85  # a run's beats come at < 0.85x the preceding N beats' RR
SVT_RR_TOLERANCE: float = 0.15  # and within 15 % of the run's own (tracked) RR
SVT_MIN_BEATS: int = 3  # onset included: the Holter definition of an SVT run
SVT_BASELINE_BEATS: int = 64  # the preceding beats whose N intervals set the baseline
SVT_MIN_BASELINE: int = 8  # N intervals needed for a baseline
#: A run broken by a beat that is not N or S (a PVC), by AF or by one interval off its rate
#: goes on if one of the next this many beats is back at the run's rate (0: it ends there).
#: Record 865 (SVDB): minutes of SVT broken by single V and Q beats, after which nothing is
#: premature against the SVT itself, so no new run could start.
SVT_RESUME_WITHIN: int = 3


def svt_continuation(
    r_peaks: np.ndarray, fs: float, labels: np.ndarray, in_af: np.ndarray
) -> np.ndarray:
    """Boolean per beat: an N-labelled beat that continues a supraventricular tachycardia.

    The classifier's RR features are relative to the patient's recent rhythm, so in a long
    SVT run only the first beats look premature and the rest read as N. A Holter reader
    counts the whole run: from a beat labelled S (``labels`` holds AAMI indices) whose RR is
    below ``SVT_ONSET_RATIO`` times the median RR of the N beats among the
    ``SVT_BASELINE_BEATS`` before it, the following N or S beats belong to the run while
    their RR stays within ``SVT_RR_TOLERANCE`` of the run's RR and below the same fraction
    of that baseline; any other label, AF or a beat off that rate breaks it, and the run
    goes on if one of the next ``SVT_RESUME_WITHIN`` beats is back at its rate (a PVC inside
    an SVT does not end the SVT), else it ends there. Runs shorter than
    ``SVT_MIN_BEATS`` are left alone (an S beat and its neighbour are not a run). Past beats
    and the beat itself only. Chosen on the SVDB development subset (record 865's SVT) and
    DS1; run only in diagnostic mode (README, "What we tried").

    >>> rr = [0.8] * 20 + [0.5] * 8 + [0.8] * 5  # sinus, an 8-beat SVT, sinus
    >>> r = (np.cumsum(rr) * 128).astype(int)
    >>> labels = np.zeros(len(r), int); labels[20] = 1  # the network saw the onset only
    >>> np.flatnonzero(svt_continuation(r, 128.0, labels, np.zeros(len(r), bool))).tolist()
    [21, 22, 23, 24, 25, 26, 27]
    """
    n = len(r_peaks)
    labels = np.asarray(labels)
    out = np.zeros(n, dtype=bool)
    if n < 2:
        return out
    rr = np.diff(np.asarray(r_peaks, dtype=np.float64)) / fs
    rr = np.concatenate([[rr[0]], rr])  # interval ending at each beat
    n_label, s_label = 0, 1  # AAMI indices (ecg_core.aami.AAMI_CLASSES)
    is_n = labels == n_label

    def in_run(k: int, run_rr: float, limit: float) -> bool:
        """Beat k continues a run at ``run_rr`` s whose beats must come faster than ``limit``."""
        return (
            labels[k] in (n_label, s_label)
            and not in_af[k]
            and abs(rr[k] - run_rr) <= SVT_RR_TOLERANCE * run_rr
            and rr[k] < limit
        )

    i = 0
    while i < n:
        if labels[i] != s_label or in_af[i]:
            i += 1
            continue
        lo = max(0, i - SVT_BASELINE_BEATS)
        before = rr[lo:i][is_n[lo:i]]
        limit = SVT_ONSET_RATIO * np.median(before) if before.size >= SVT_MIN_BASELINE else 0.0
        if rr[i] >= limit:  # not premature enough, or no baseline
            i += 1
            continue

        run_rr, j, members = rr[i], i + 1, []
        while True:
            while j < n and in_run(j, run_rr, limit):
                members.append(j)
                run_rr = 0.8 * run_rr + 0.2 * rr[j]  # follow a slowly drifting run
                j += 1
            if len(members) + 1 < SVT_MIN_BEATS:
                break  # a run must stand on its own before it may resume
            after_break = range(j + 1, min(j + 1 + SVT_RESUME_WITHIN, n))
            back = next((k for k in after_break if in_run(k, run_rr, limit)), None)
            if back is None:
                break
            j = back
        if len(members) + 1 >= SVT_MIN_BEATS:
            run = np.asarray(members, dtype=np.int64)
            out[run] = is_n[run]
        i = j
    return out


def spans_of(flag: np.ndarray, positions: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) positions of each run of True in ``flag`` (e.g. AF episodes in samples)."""
    starts, lengths = runs_of(np.asarray(flag, bool))
    return [
        (int(positions[a]), int(positions[a + n - 1])) for a, n in zip(starts, lengths, strict=True)
    ]
