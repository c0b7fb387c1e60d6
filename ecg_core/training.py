"""Training pieces: record-level validation split, augmentation, focal loss, batches, scores.

The loop itself lives in plain sight in ``scripts/train.py``; this module holds what it uses.
Nothing here ever touches DS2 (DESIGN.md §3): the validation split is carved from DS1 by
record.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from ecg_core.aami import AAMI_CLASSES
from ecg_core.dataset import BeatDataset
from ecg_core.features import centre_windows, lowpass_morphology, morphology


def record_bounds(record_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first, last) global index of each beat's record (beats are stored in record order)."""
    n = record_ids.size
    change = np.flatnonzero(np.diff(record_ids)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [n]]) - 1
    which = np.searchsorted(starts, np.arange(n), side="right") - 1
    return starts[which], ends[which]


def context_of(
    centres: np.ndarray, first: np.ndarray, last: np.ndarray, past: int, lookahead: int
) -> np.ndarray:
    """(B, past + 1 + lookahead) beat indices around ``centres``, clipped to their record."""
    idx = centres[:, None] + np.arange(-past, lookahead + 1)[None, :]
    return np.clip(idx, first[centres][:, None], last[centres][:, None])


def sampling_weights(
    labels: np.ndarray,
    power: float = 0.5,
    min_count: int = 100,
    patients: np.ndarray | None = None,
    patient_power: float = 0.0,
    patient_floor: int = 25,
) -> np.ndarray:
    """Per-beat probability ∝ count(class)^-power (power 0: natural, 1: fully balanced).

    Classes with fewer than ``min_count`` beats (Q: 8 annotated beats in DS1) keep the most common
    class's weight, so a handful of beats is not replayed thousands of times.

    With ``patients`` (one id per beat) and ``patient_power`` > 0, each class's share is then
    spread over patients in proportion to max(n, ``patient_floor``)^-patient_power per beat,
    n being that patient's beats of the class, instead of in proportion to n: at 0.5 a patient
    with 100 times another's V beats weighs 10 times as much, not 100. In DS1 a few patients
    hold most of each ectopic class (208, 106, 223 and 203 three quarters of V; 209 more than
    half of S), and a new patient's beats look like none of them in particular.
    """
    counts = np.bincount(labels, minlength=len(AAMI_CLASSES)).astype(np.float64)
    w_class = np.where(counts > 0, np.maximum(counts, 1) ** -power, 0.0)
    w_class[counts < min_count] = counts.max() ** -power
    w = w_class[labels]
    if patients is not None and patient_power > 0:
        _, patient = np.unique(patients, return_inverse=True)
        cell = patient * len(AAMI_CLASSES) + labels  # (patient, class) cell of each beat
        n_cell = np.bincount(cell)[cell].astype(np.float64)
        spread = np.maximum(n_cell, patient_floor) ** -patient_power
        # Rescale within each class so the class's total weight is what it was.
        class_total = np.bincount(labels, weights=w, minlength=len(AAMI_CLASSES))
        spread_total = np.bincount(labels, weights=w * spread, minlength=len(AAMI_CLASSES))
        w = w * spread * (class_total / np.maximum(spread_total, 1e-300))[labels]
    return w / w.sum()


def sample_at(x: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """``x`` read at fractional ``positions`` along its last axis (linear interpolation;
    positions clipped into the axis), for the resampling augmentations below."""
    positions = np.clip(positions, 0, x.shape[-1] - 1.001)
    i0 = positions.astype(np.int64)
    frac = (positions - i0).astype(np.float32)
    return np.take_along_axis(x, i0, -1) * (1 - frac) + np.take_along_axis(x, i0 + 1, -1) * frac


class Augmenter:
    """Recorder-like perturbations of wide beat windows (numpy, vectorised over beats).

    - rate jitter: the window is re-sampled around R by a factor per sequence (0.92-1.08),
      as a recorder whose clock (or the patient's QRS width) differs would look;
    - time shift: +-``shift`` samples per beat (R annotation / detector jitter);
    - amplitude: x0.9-1.1 per beat against the fixed template (beat-to-beat variation);
    - noise: real NSTDB baseline wander / electrode motion / muscle noise at 6-24 dB SNR
      (relative to the template's peak-to-peak), on half of the sequences.
    """

    def __init__(
        self,
        noise: np.ndarray | None,
        rng: np.random.Generator,
        stretch=0.08,
        shift=2.0,
        amplitude=0.1,
        noise_prob=0.5,
        snr_db=(6.0, 24.0),
    ):
        self.noise, self.rng = noise, rng
        self.stretch, self.shift, self.amplitude = stretch, shift, amplitude
        self.noise_prob, self.snr_db = noise_prob, snr_db

    def __call__(self, data: BeatDataset, idx: np.ndarray) -> np.ndarray:
        """idx (B, T) -> augmented, centred core windows (B, T, pre + post)."""
        return self.augment_windows(data.windows[idx], data.scales[idx], data.pre, data.margin)

    def augment_windows(
        self, wide: np.ndarray, scales: np.ndarray, pre: int, margin: int
    ) -> np.ndarray:
        """Wide windows (B, T, pre + post + 2 * margin) and their template scales (B, T)
        -> augmented, centred core windows (B, T, pre + post)."""
        rng, (b, t) = self.rng, scales.shape
        length = wide.shape[-1] - 2 * margin
        scale_t = 1.0 + rng.uniform(-self.stretch, self.stretch, size=(b, 1, 1))
        shift = rng.uniform(-self.shift, self.shift, size=(b, t, 1))
        pos = pre + margin + (np.arange(length) - pre) * scale_t + shift
        x = sample_at(wide, pos)
        x *= rng.uniform(1 - self.amplitude, 1 + self.amplitude, size=(b, t, 1)).astype(np.float32)
        if self.noise is not None and self.noise_prob > 0:
            which = rng.integers(0, self.noise.shape[0], size=(b, t))
            start = rng.integers(0, self.noise.shape[1] - length, size=(b, t))
            seg = self.noise[which[..., None], start[..., None] + np.arange(length)]
            snr = rng.uniform(*self.snr_db, size=(b, 1, 1))
            on = rng.random((b, 1, 1)) < self.noise_prob
            gain = np.where(on, 10 ** (-snr / 20), 0.0) * scales[..., None]
            x = x + (seg * gain).astype(np.float32)
        return centre_windows(x.astype(np.float32))


def aberrate_s_beats(
    wide: np.ndarray,
    labels: np.ndarray,
    r_index: int,
    rng: np.random.Generator,
    prob: float = 0.3,
    widen: tuple[float, float] = (1.4, 2.2),
    qrs_half_width: int = 5,
) -> np.ndarray:
    """Synthetic aberrated supraventricular beats: with ``prob``, an S beat's QRS is widened.

    Wide windows ``wide`` (B, T, L) with R at index ``r_index`` and their AAMI ``labels``
    (B, T). An early atrial beat conducted with a bundle-branch block has a wide QRS and
    reads as a ventricular beat to a model that saw a wide premature QRS only in V beats:
    on unseen patients most of our false V are such S beats (MIT-BIH 201 and 232, SVDB 841
    and 892; README). DS1 holds 100 aberrated beats, 97 in one record. Here the QRS of an S
    beat (``qrs_half_width`` samples each side of R, 39 ms at 128 Hz) is stretched by a
    factor drawn from ``widen``; its P wave and T wave keep their shape and move outwards,
    so the beat keeps what tells it from a V beat: a P wave before it and its RR intervals.
    """
    out = np.array(wide, dtype=np.float32, copy=True)
    chosen = (np.asarray(labels) == AAMI_CLASSES.index("S")) & (rng.random(labels.shape) < prob)
    if not np.any(chosen):
        return out
    rows = out[chosen]  # (k, L)
    k, length = rows.shape
    factor = rng.uniform(*widen, size=(k, 1))
    t = np.arange(length, dtype=np.float64)[None, :] - r_index
    core = qrs_half_width * factor  # the stretched QRS spans +-core samples
    source = (
        np.where(np.abs(t) <= core, t / factor, t - np.sign(t) * (core - qrs_half_width)) + r_index
    )
    out[chosen] = sample_at(rows, source)
    return out


def recorder_augment(
    morph: np.ndarray,
    rng: np.random.Generator,
    invert_prob: float = 0.5,
    lowpass_prob: float = 0.5,
    lowpass_hz: tuple[float, float] = (15.0, 40.0),
    fs: float = 128.0,
) -> np.ndarray:
    """Recorder / lead invariance on model inputs ``morph`` (B, T, 2, L), per sequence.

    A sequence (a beat and its context, one record) gets one "recorder": with
    ``invert_prob`` the lead's polarity is flipped (a lead placed the other way round, or
    V1 against MLII), and with ``lowpass_prob`` a zero-phase 4th-order Butterworth-magnitude
    low-pass at a cutoff drawn from ``lowpass_hz`` (a recorder's narrower bandwidth: Holter
    recorders sampling at 128 Hz, SVDB, round off QRS). Both act on the beat *and* its
    template, and the channels are re-normalised by the filtered template's peak-to-peak, so
    the result is what :func:`~ecg_core.features.morphology` gives on the filtered signal.
    Amplitude scaling per record is not needed: the template normalisation cancels it.
    """
    x = np.array(morph, dtype=np.float32, copy=True)
    b = x.shape[0]
    sign = np.where(rng.random(b) < invert_prob, -1.0, 1.0).astype(np.float32)
    x *= sign[:, None, None, None]
    on = rng.random(b) < lowpass_prob
    if lowpass_prob > 0 and np.any(on):
        cutoff = np.where(on, rng.uniform(*lowpass_hz, size=b), np.inf)
        x = lowpass_morphology(x, cutoff[:, None], fs)  # one cutoff per sequence
    return x.astype(np.float32)


def mix_leads(
    data: BeatDataset,
    idx: np.ndarray,
    partner: np.ndarray,
    rng: np.random.Generator,
    prob: float = 0.5,
    min_scale: float = 0.3,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Virtual leads: (wide windows, templates, scales) for beats ``idx`` (B, T), where with
    ``prob`` a sequence is replaced by ``cos(a) * lead + sin(a) * other lead`` at a random
    angle ``a`` (each lead first in units of its own template's peak-to-peak).

    ``partner[i]`` is the same beat in the record's other lead. A lead is a projection of the
    heart's electrical vector; MIT-BIH gives two projections per beat (MLII and V1/V2/V4/V5),
    and mixing them yields projections in between and beyond (inverted T waves, negative or
    biphasic QRS) with the labels unchanged: other recorders place their leads elsewhere, and
    a model that learnt "MLII shape" reads their normal beats as ectopic. Mixtures whose
    template nearly cancels (peak-to-peak < ``min_scale`` template units) keep the first lead.
    """
    wide, templates, scales = data.windows[idx], data.templates[idx], data.scales[idx]
    other = partner[idx]
    b = idx.shape[0]
    angle = rng.uniform(0.0, 2 * np.pi, size=(b, 1, 1)).astype(np.float32)
    cos, sin = np.cos(angle), np.sin(angle)
    s_a, s_b = scales[..., None], data.scales[other][..., None]
    mixed_templates = cos * templates / s_a + sin * data.templates[other] / s_b
    mixed_scales = np.ptp(mixed_templates, axis=-1)
    use = (rng.random(b) < prob) & np.all(mixed_scales >= min_scale, axis=1)
    mixed_wide = cos * wide / s_a + sin * data.windows[other] / s_b
    u = use[:, None, None]
    return (
        np.where(u, mixed_wide, wide).astype(np.float32),
        np.where(u, mixed_templates, templates).astype(np.float32),
        np.where(use[:, None], mixed_scales, scales).astype(np.float32),
    )


def core_windows(data: BeatDataset, idx: np.ndarray) -> np.ndarray:
    """Un-augmented centred beat windows for beats ``idx`` (any shape) -> (..., pre + post)."""
    return crop_core(data, data.windows[idx])


def crop_core(data: BeatDataset, wide: np.ndarray) -> np.ndarray:
    """Wide windows (..., pre + post + 2 * margin), e.g. from :func:`mix_leads`, cropped to
    the beat window and centred, un-augmented."""
    lo = data.margin
    return centre_windows(wide[..., lo : lo + data.pre + data.post])


def model_inputs(
    data: BeatDataset,
    idx: np.ndarray,
    windows: np.ndarray,
    templates: np.ndarray | None = None,
    scales: np.ndarray | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(morph (B, T, 2, L), rr (B, T, n_rr)) tensors for beats ``idx`` (B, T); templates and
    scales default to the dataset's (:func:`mix_leads` gives its own)."""
    b, t = idx.shape
    templates = data.templates[idx] if templates is None else templates
    scales = data.scales[idx] if scales is None else scales
    morph = morphology(
        windows.reshape(b * t, -1), templates.reshape(b * t, -1), scales.reshape(b * t)
    )
    return (
        torch.from_numpy(morph.reshape(b, t, *morph.shape[1:])),
        torch.from_numpy(data.rr[idx]),
    )


def focal_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    class_weights: torch.Tensor | None = None,
    gamma: float = 2.0,
) -> torch.Tensor:
    """Class-weighted focal loss (Lin et al. 2017): down-weights easy (mostly N) beats."""
    log_p = F.log_softmax(logits, dim=-1)
    log_pt = log_p.gather(1, target[:, None]).squeeze(1)
    loss = -((1 - log_pt.exp()) ** gamma) * log_pt
    if class_weights is not None:
        w = class_weights[target]
        return (loss * w).sum() / w.sum()
    return loss.mean()


def distillation_loss(logits: torch.Tensor, teacher_probs: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the student against the teachers' mean probabilities (Hinton et al.
    2015, temperature 1): a single model learns what a seed ensemble agrees on."""
    return -(teacher_probs * F.log_softmax(logits, dim=-1)).sum(dim=-1).mean()


def per_class_scores(labels: np.ndarray, preds: np.ndarray) -> dict[str, dict[str, float]]:
    """Se, +P and F1 per AAMI class (percent); NaN where undefined."""
    out = {}
    for k, name in enumerate(AAMI_CLASSES):
        tp = int(np.sum((preds == k) & (labels == k)))
        fn = int(np.sum((preds != k) & (labels == k)))
        fp = int(np.sum((preds == k) & (labels != k)))
        se = 100 * tp / (tp + fn) if tp + fn else float("nan")
        ppv = 100 * tp / (tp + fp) if tp + fp else float("nan")
        f1 = 2 * se * ppv / (se + ppv) if (se + ppv) > 0 else 0.0
        out[name] = {"se": se, "ppv": ppv, "f1": f1, "n": tp + fn}
    return out


def selection_score(scores: dict[str, dict[str, float]]) -> float:
    """Early-stopping score: mean of the S and V F1 (NaN counted as 0)."""
    return float(np.mean([np.nan_to_num(scores[c]["f1"]) for c in ("S", "V")]))


def confusion(labels: np.ndarray, preds: np.ndarray) -> np.ndarray:
    k = len(AAMI_CLASSES)
    return np.bincount(labels * k + preds, minlength=k * k).reshape(k, k)
