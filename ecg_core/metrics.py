"""Beat matching and the metrics of DESIGN.md §3: QRS Se/+P and AAMI per-class Se/+P.

Everything is built on one count table so that records can be summed before the ratios are
taken (totals over all beats, as the literature reports them, not a mean of per-record ratios).

>>> ref_idx, det_idx = match_beats([100, 200, 300], [102, 290, 500], tolerance=15)
>>> ref_idx.tolist(), det_idx.tolist()
([0, 2], [0, 1])
>>> qrs_metrics([100, 200, 300], [102, 290, 500], tolerance=15)["se"]
0.6666666666666666
"""

from __future__ import annotations

import numpy as np

from ecg_core.aami import AAMI_CLASSES, CLASS_INDEX

#: Matching window of DESIGN.md §3 (and of EC57 / bxb): a detection within 150 ms of a
#: reference beat is the same beat.
MATCH_TOLERANCE_S: float = 0.150

#: Label used for "no beat here": a reference beat that was not detected is paired with
#: NO_BEAT as its prediction, a detection that matches no reference beat has NO_BEAT as its
#: reference. It is the extra (last) row/column of :func:`count_matrix`.
NO_BEAT: int = -1


def match_beats(
    ref_samples: np.ndarray | list[int],
    det_samples: np.ndarray | list[int],
    tolerance: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Pair reference and detected beats one-to-one, closest pairs first.

    Two beats can be paired when they are at most ``tolerance`` samples apart. Pairs are
    taken in order of increasing distance (ties: earlier reference beat, then earlier
    detection), and each beat is used at most once. Inputs need not be sorted. Cost is
    O(n log n) plus the number of candidate pairs, which is ~n when beats are further apart
    than the tolerance (always, for a 150 ms window).

    Returns ``(ref_idx, det_idx)``: int64 indices into the two inputs, sorted by ``ref_idx``.
    """
    ref = np.asarray(ref_samples, dtype=np.float64).ravel()
    det = np.asarray(det_samples, dtype=np.float64).ravel()
    empty = np.zeros(0, dtype=np.int64)
    if ref.size == 0 or det.size == 0:
        return empty, empty.copy()

    det_order = np.argsort(det, kind="stable")
    det_sorted = det[det_order]
    lo = np.searchsorted(det_sorted, ref - tolerance, side="left")
    hi = np.searchsorted(det_sorted, ref + tolerance, side="right")
    counts = hi - lo
    if counts.sum() == 0:
        return empty, empty.copy()

    # All candidate pairs (ref i, sorted det k), built without a Python loop.
    pair_ref = np.repeat(np.arange(ref.size), counts)
    starts = np.repeat(lo - np.cumsum(counts) + counts, counts)
    pair_det_sorted = starts + np.arange(pair_ref.size)
    pair_det = det_order[pair_det_sorted]
    distance = np.abs(ref[pair_ref] - det[pair_det])
    order = np.lexsort((pair_det, pair_ref, distance))

    ref_used = np.zeros(ref.size, dtype=bool)
    det_used = np.zeros(det.size, dtype=bool)
    out_ref: list[int] = []
    out_det: list[int] = []
    # One pass over candidate pairs (about one per beat), not over signal samples.
    for i, j in zip(pair_ref[order].tolist(), pair_det[order].tolist(), strict=True):
        if not ref_used[i] and not det_used[j]:
            ref_used[i] = det_used[j] = True
            out_ref.append(i)
            out_det.append(j)
    ref_idx = np.asarray(out_ref, dtype=np.int64)
    det_idx = np.asarray(out_det, dtype=np.int64)
    by_ref = np.argsort(ref_idx, kind="stable")
    return ref_idx[by_ref], det_idx[by_ref]


def _ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None (JSON null) when nothing was there to count."""
    return float(numerator) / float(denominator) if denominator > 0 else None


def in_spans(samples: np.ndarray, spans: list[tuple[int, int]] | np.ndarray | None) -> np.ndarray:
    """Boolean mask: which ``samples`` lie inside any closed span ``(start, end)``."""
    samples = np.asarray(samples)
    mask = np.zeros(samples.shape, dtype=bool)
    for start, end in spans if spans is not None else []:
        mask |= (samples >= start) & (samples <= end)
    return mask


def qrs_counts(
    ref_samples: np.ndarray | list[int],
    det_samples: np.ndarray | list[int],
    tolerance: float,
    excluded_spans: list[tuple[int, int]] | None = None,
) -> dict[str, int]:
    """TP / FP / FN of a QRS detector against reference beats.

    ``excluded_spans`` (sample ranges, e.g. ventricular flutter episodes between ``[`` and
    ``]`` annotations, as EC57 and PhysioNet's ``bxb`` do) are not scored: unmatched
    detections inside them are neither TP nor FP (counted in ``"excluded"``). Reference beats
    are always scored.
    """
    ref = np.asarray(ref_samples, dtype=np.int64).ravel()
    det = np.asarray(det_samples, dtype=np.int64).ravel()
    ref_idx, det_idx = match_beats(ref, det, tolerance)
    unmatched = np.ones(det.size, dtype=bool)
    unmatched[det_idx] = False
    excluded = unmatched & in_spans(det, excluded_spans)
    tp = int(ref_idx.size)
    return {
        "tp": tp,
        "fp": int(unmatched.sum() - excluded.sum()),
        "fn": int(ref.size - tp),
        "excluded": int(excluded.sum()),
    }


def qrs_summary(counts: dict[str, int]) -> dict[str, float | int | None]:
    """Add Se = TP/(TP+FN) and +P = TP/(TP+FP) to a (possibly summed) count dict."""
    tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
    return {**counts, "se": _ratio(tp, tp + fn), "ppv": _ratio(tp, tp + fp)}


def qrs_metrics(
    ref_samples: np.ndarray | list[int],
    det_samples: np.ndarray | list[int],
    tolerance: float,
    excluded_spans: list[tuple[int, int]] | None = None,
) -> dict[str, float | int | None]:
    """``{"tp","fp","fn","excluded","se","ppv"}`` for one record (ratios None when undefined)."""
    return qrs_summary(qrs_counts(ref_samples, det_samples, tolerance, excluded_spans))


def label_indices(labels: np.ndarray | list) -> np.ndarray:
    """Class labels as int indices into AAMI_CLASSES; accepts "N".."Q", 0..4, or NO_BEAT."""
    arr = np.asarray(labels)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind in "iu":
        out = arr.astype(np.int64).ravel()
    else:
        lookup = {**CLASS_INDEX, "": NO_BEAT, "None": NO_BEAT}
        try:
            out = np.array([lookup[str(label)] for label in arr.ravel()], dtype=np.int64)
        except KeyError as err:
            raise ValueError(
                f"Unknown class label {err.args[0]!r}; expected one of {AAMI_CLASSES}"
            ) from None
    bad = (out < NO_BEAT) | (out >= len(AAMI_CLASSES))
    if bad.any():
        raise ValueError(f"Class index {out[bad][0]} is outside 0..{len(AAMI_CLASSES) - 1}")
    return out


def count_matrix(ref_labels: np.ndarray | list, pred_labels: np.ndarray | list) -> np.ndarray:
    """(6, 6) int64 counts: rows = reference class, columns = predicted class.

    Index 5 (the last) stands for NO_BEAT: row 5 holds detections with no reference beat
    (false beats, by the class they were given), column 5 reference beats that were not
    detected (misses, by their class). Matrices of several records add up.
    """
    ref = label_indices(ref_labels)
    pred = label_indices(pred_labels)
    if ref.shape != pred.shape:
        raise ValueError(f"{ref.size} reference labels but {pred.size} predicted labels")
    n = len(AAMI_CLASSES) + 1
    ref = np.where(ref == NO_BEAT, n - 1, ref)
    pred = np.where(pred == NO_BEAT, n - 1, pred)
    return np.bincount(ref * n + pred, minlength=n * n).reshape(n, n).astype(np.int64)


def metrics_from_counts(matrix: np.ndarray) -> dict:
    """Per-class Se/+P/n, accuracy and the 5x5 confusion from a :func:`count_matrix`.

    Se_c = TP_c / (all reference beats of class c, missed ones included);
    +P_c = TP_c / (all detections labelled c, false beats included);
    accuracy = correctly labelled matched beats / (reference beats + false beats).
    With no NO_BEAT entries these are the usual classification metrics.
    """
    m = np.asarray(matrix, dtype=np.int64)
    k = len(AAMI_CLASSES)
    classes = {}
    for c, label in enumerate(AAMI_CLASSES):
        tp = int(m[c, c])
        classes[label] = {
            "se": _ratio(tp, m[c, :].sum()),
            "ppv": _ratio(tp, m[:, c].sum()),
            "n": int(m[c, :].sum()),
            "tp": tp,
            "fn": int(m[c, :].sum() - tp),
            "fp": int(m[:, c].sum() - tp),
        }
    return {
        "classes": classes,
        "accuracy": _ratio(np.trace(m[:k, :k]), m.sum() - m[k, k]),
        "confusion": {"labels": list(AAMI_CLASSES), "matrix": m[:k, :k].tolist()},
        "missed": dict(zip(AAMI_CLASSES, m[:k, k].tolist(), strict=True)),
        "false_beats": dict(zip(AAMI_CLASSES, m[k, :k].tolist(), strict=True)),
    }


def percent_scores(matrix: np.ndarray, classes: tuple[str, ...] = ("S", "V")) -> dict:
    """Se, +P and F1 in percent (0 where undefined) and n for the named classes, from a
    :func:`count_matrix`: the summary the development scripts print and compare."""
    per_class = metrics_from_counts(matrix)["classes"]
    out = {}
    for c in classes:
        se, ppv = 100 * (per_class[c]["se"] or 0.0), 100 * (per_class[c]["ppv"] or 0.0)
        f1 = 2 * se * ppv / (se + ppv) if se + ppv else 0.0
        out[c] = {"se": se, "ppv": ppv, "f1": f1, "n": per_class[c]["n"]}
    return out


def classification_metrics(ref_labels: np.ndarray | list, pred_labels: np.ndarray | list) -> dict:
    """Per-class Se/+P/n, accuracy and the 5x5 confusion over AAMI_CLASSES.

    >>> out = classification_metrics(["N", "N", "V", "S"], ["N", "V", "V", "N"])
    >>> out["classes"]["V"], out["accuracy"]
    ({'se': 1.0, 'ppv': 0.5, 'n': 1, 'tp': 1, 'fn': 0, 'fp': 1}, 0.5)
    """
    return metrics_from_counts(count_matrix(ref_labels, pred_labels))


def end_to_end_pairs(
    ref_samples: np.ndarray,
    ref_labels: np.ndarray | list,
    det_samples: np.ndarray,
    det_labels: np.ndarray | list,
    tolerance: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Reference/predicted label pairs for detected-beat (end-to-end) scoring, DESIGN.md §3.

    Matched beats pair their labels; an unmatched reference beat is paired with NO_BEAT
    (a miss, FN for its class); an unmatched detection is paired as (NO_BEAT, its label)
    (a false beat, FP for the class it was given). Feed the result to :func:`count_matrix`.
    """
    ref_lab = label_indices(ref_labels)
    det_lab = label_indices(det_labels)
    ref_idx, det_idx = match_beats(ref_samples, det_samples, tolerance)
    missed = np.setdiff1d(np.arange(ref_lab.size), ref_idx)
    false = np.setdiff1d(np.arange(det_lab.size), det_idx)
    ref_out = np.concatenate([ref_lab[ref_idx], ref_lab[missed], np.full(false.size, NO_BEAT)])
    pred_out = np.concatenate([det_lab[det_idx], np.full(missed.size, NO_BEAT), det_lab[false]])
    return ref_out.astype(np.int64), pred_out.astype(np.int64)


def end_to_end_metrics(
    ref_samples: np.ndarray,
    ref_labels: np.ndarray | list,
    det_samples: np.ndarray,
    det_labels: np.ndarray | list,
    tolerance: float,
) -> dict:
    """Per-class metrics of detected beats against reference beats (see end_to_end_pairs)."""
    return metrics_from_counts(
        count_matrix(*end_to_end_pairs(ref_samples, ref_labels, det_samples, det_labels, tolerance))
    )
