"""Adapting a trained beat classifier to another recorder or database.

Three ways, composable, all on a :class:`~ecg_core.dataset.BeatDataset` of the target
database (any WFDB database with beat annotations, any rate: the dataset code resamples):

- ``adabn``: AdaBN (Li et al. 2016). Re-estimate every BatchNorm layer's running mean and
  variance on *unlabelled* target beats. Labels are never read.
- ``self-train``: fine-tune on the model's own confident predictions (pseudo-labels) on
  unlabelled target beats. Labels are never read.
- ``supervised``: fine-tune on a few labelled beats per target record, freezing part of the
  network (``freeze``: "encoder" trains only the LSTM and head, "cnn" also the attention,
  RR-MLP and projection, "none" everything).

Fine-tuning reuses the training pieces of :mod:`ecg_core.training` (context batches, the
recorder-like :class:`~ecg_core.training.Augmenter`, focal loss, class-balanced sampling).
BatchNorm statistics stay frozen while fine-tuning: a few hundred target beats sampled
class-balanced are a poor estimate of the target's feature statistics (AdaBN is the step
that moves them, on all beats).

Cross-validation is by *record* (:func:`record_folds`): a model adapted on some records is
scored on records it never saw, as the inter-patient protocol demands.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from ecg_core.aami import AAMI_CLASSES, CLASS_INDEX
from ecg_core.classifier import predict_beats
from ecg_core.dataset import BeatDataset, concat_datasets
from ecg_core.features import morphology, window_samples
from ecg_core.models import HybridBeatNet
from ecg_core.training import (
    Augmenter,
    context_of,
    core_windows,
    focal_loss,
    model_inputs,
    record_bounds,
    sampling_weights,
)

METHODS: tuple[str, ...] = ("adabn", "self-train", "supervised")
FREEZE_CHOICES: tuple[str, ...] = ("encoder", "cnn", "none")
#: Record-name suffix of the source (training database) beats mixed into fine-tuning.
SOURCE_SUFFIX: str = ":source"


@dataclass
class AdaptSettings:
    """How to adapt; saved next to the adapted checkpoint as ``adaptation.json``."""

    methods: tuple[str, ...] = ("adabn",)
    freeze: str = "cnn"
    labelled_beats_per_record: int = 300  # supervised; 0 = every beat of the record
    steps: int = 200
    batch_size: int = 128
    lr: float = 1e-3
    gamma: float = 2.0
    class_weights: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, 0.2)
    sample_power: float = 0.5
    pseudo_threshold: float = 0.95  # self-training: min probability of a pseudo-label
    source_fraction: float = 0.0  # share of each batch drawn from labelled source beats
    augment: bool = True
    seed: int = 0
    device: str = "cpu"  # torch device of the fine-tuning steps, e.g. "cuda"

    def validate(self) -> AdaptSettings:
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or not self.methods:
            raise ValueError(
                f"Unknown adaptation method(s) {unknown or '[]'}; choose from {METHODS}."
            )
        if "self-train" in self.methods and "supervised" in self.methods:
            raise ValueError("Choose self-train (no labels) or supervised (labels), not both.")
        if self.freeze not in FREEZE_CHOICES:
            raise ValueError(f"freeze={self.freeze!r}; choose from {FREEZE_CHOICES}.")
        if self.steps < 0 or self.batch_size <= 0 or self.labelled_beats_per_record < 0:
            raise ValueError(
                "steps, batch_size and labelled_beats_per_record must be >= 0 (batch > 0)."
            )
        if not 0.0 <= self.source_fraction < 1.0:
            raise ValueError(f"source_fraction={self.source_fraction} must be in [0, 1).")
        if not 0.0 < self.pseudo_threshold <= 1.0:
            raise ValueError(f"pseudo_threshold={self.pseudo_threshold} must be in (0, 1].")
        try:
            torch.device(self.device)
        except RuntimeError as err:
            raise ValueError(f"device={self.device!r} is not a torch device ({err}).") from None
        return self

    @property
    def uses_labels(self) -> bool:
        return "supervised" in self.methods

    def to_dict(self) -> dict:
        return asdict(self)


def check_geometry(model: HybridBeatNet, data: BeatDataset) -> None:
    """The dataset's beat windows must be the ones the model was trained on."""
    cfg = model.cfg
    if (data.pre, data.post) != (cfg.window_pre, cfg.window_post) or (
        (data.pre, data.post) != window_samples(cfg.fs)
    ):
        raise ValueError(
            f"Beat window {data.pre}+{data.post} samples does not match the model's "
            f"{cfg.window_pre}+{cfg.window_post}."
        )
    if data.rr.shape[1] != cfg.n_rr:
        raise ValueError(f"Dataset has {data.rr.shape[1]} RR features, the model {cfg.n_rr}.")


def record_beats(data: BeatDataset, records: Sequence[str]) -> np.ndarray:
    """Indices of all beats of ``records``."""
    wanted = np.isin(data.records.astype(str), [str(r) for r in records])
    return np.flatnonzero(wanted[data.record_ids])


def predict_records(
    model: HybridBeatNet, data: BeatDataset, records: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(beat indices, reference labels, probabilities) over ``records``, each record run
    exactly as :class:`~ecg_core.classifier.BeatClassifier` runs a whole record."""
    idx_all, probs_all = [], []
    for name in records:
        rid = int(np.flatnonzero(data.records.astype(str) == str(name))[0])
        idx = np.flatnonzero(data.record_ids == rid)
        morph = morphology(core_windows(data, idx), data.templates[idx], data.scales[idx])
        probs, _ = predict_beats(model, morph, data.rr[idx])
        idx_all.append(idx)
        probs_all.append(probs)
    idx = np.concatenate(idx_all) if idx_all else np.zeros(0, np.int64)
    probs = np.concatenate(probs_all) if probs_all else np.zeros((0, len(AAMI_CLASSES)), np.float32)
    return idx, data.labels[idx], probs


@torch.no_grad()
def adapt_batchnorm(
    model: HybridBeatNet, data: BeatDataset, records: Sequence[str], batch_size: int = 2048
) -> int:
    """AdaBN: replace every BatchNorm's running statistics by those of the target beats.

    Uses no label. Returns the number of beats used. Each batch's momentum is its share of
    the beats seen so far, so the running mean ends as the exact mean over all target beats
    (the variance as the beat-weighted mean of the batch variances).
    """
    beats = record_beats(data, records)
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved_momentum = [m.momentum for m in norms]
    model.eval()
    for m in norms:
        m.reset_running_stats()
        m.train()
    seen = 0
    for start in range(0, beats.size, batch_size):
        idx = beats[start : start + batch_size]
        seen += idx.size
        for m in norms:
            m.momentum = idx.size / seen
        morph = morphology(core_windows(data, idx), data.templates[idx], data.scales[idx])
        model.encoder(torch.from_numpy(morph), torch.from_numpy(data.rr[idx]))
    for m, momentum in zip(norms, saved_momentum, strict=True):
        m.momentum = momentum
    model.eval()
    return int(beats.size)


def record_views(data: BeatDataset, records: Sequence[str]) -> list[str]:
    """The beat sequences of ``records`` in ``data``: each record itself and its other
    leads, stored as ``"<record>:<lead>"`` (:func:`~ecg_core.dataset.concat_datasets`)."""
    names = [str(r) for r in data.records]
    return [n for r in records for n in names if n == str(r) or n.startswith(f"{r}:")]


def labelled_subset(
    data: BeatDataset, records: Sequence[str], beats_per_record: int, rng: np.random.Generator
) -> np.ndarray:
    """Beats an annotator would label: ``beats_per_record`` drawn at random from each record
    (all of them when 0 or when the record is shorter), the same beats in each of its leads
    (:func:`record_views`). Sorted indices."""
    chosen = []
    for name in records:
        views = [record_beats(data, [view]) for view in record_views(data, [name])]
        n_beats = views[0].size
        if any(v.size != n_beats for v in views):
            raise ValueError(f"record {name}: its leads hold different numbers of beats")
        picked = np.arange(n_beats)
        if 0 < beats_per_record < n_beats:
            picked = rng.choice(n_beats, size=beats_per_record, replace=False)
        chosen += [v[picked] for v in views]
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, np.int64)


def pseudo_labels(
    model: HybridBeatNet, data: BeatDataset, records: Sequence[str], threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """(beat indices, predicted labels) of the beats predicted with probability >= threshold.

    The reference labels of ``data`` are not read.
    """
    idx, _, probs = predict_records(model, data, records)
    confident = probs.max(axis=1) >= threshold
    return idx[confident], probs[confident].argmax(axis=1).astype(np.int64)


def _trainable_parameters(model: HybridBeatNet, freeze: str) -> list[nn.Parameter]:
    """Set requires_grad by ``freeze``; return the parameters that train."""
    enc = model.encoder
    frozen: list[nn.Module] = []
    if freeze == "encoder":
        frozen = [enc]
    elif freeze == "cnn":
        frozen = [enc.stem, enc.blocks]
    for p in model.parameters():
        p.requires_grad_(True)
    for module in frozen:
        for p in module.parameters():
            p.requires_grad_(False)
    return [p for p in model.parameters() if p.requires_grad]


def fine_tune(
    model: HybridBeatNet,
    data: BeatDataset,
    beats: np.ndarray,
    labels: np.ndarray,
    settings: AdaptSettings,
    noise: np.ndarray | None = None,
    progress=None,
    beat_weights: np.ndarray | None = None,
) -> list[float]:
    """Fine-tune on (beats, labels); returns the loss per step.

    ``beats`` index into ``data`` (context beats around them come from the whole record, no
    label needed); ``labels`` are the targets (reference or pseudo-labels).
    """
    rng = np.random.default_rng(settings.seed)
    torch.manual_seed(settings.seed)
    if beats.size == 0 or settings.steps == 0:
        return []
    cfg = model.cfg
    device = torch.device(settings.device)
    model.to(device)  # before the optimiser takes the parameters
    params = _trainable_parameters(model, settings.freeze)
    opt = torch.optim.AdamW(params, lr=settings.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=settings.steps)
    first, last = record_bounds(data.record_ids)
    p_beat = (
        sampling_weights(labels, power=settings.sample_power)
        if beat_weights is None
        else beat_weights
    )
    augment = Augmenter(noise, rng) if settings.augment else None
    class_weights = torch.tensor(settings.class_weights, dtype=torch.float32, device=device)
    target = np.full(len(data), -1, dtype=np.int64)
    target[beats] = labels
    losses = []
    model.train()
    for m in model.modules():  # BatchNorm statistics stay as they are (see module doc)
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()
    for step in range(settings.steps):
        centres = rng.choice(beats, size=settings.batch_size, p=p_beat)
        idx = context_of(centres, first, last, cfg.context_past, cfg.lookahead)
        windows = augment(data, idx) if augment else core_windows(data, idx)
        morph, rr = model_inputs(data, idx, windows)
        logits, _ = model(morph.to(device), rr.to(device))
        labels_now = torch.from_numpy(target[centres]).to(device)
        loss = focal_loss(logits, labels_now, class_weights, settings.gamma)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        losses.append(float(loss.item()))
        if progress is not None:
            progress(step + 1, settings.steps, losses[-1])
    for p in model.parameters():
        p.requires_grad_(True)
    model.cpu().eval()  # inference runs on the CPU
    return losses


def _with_source(
    data: BeatDataset,
    beats: np.ndarray,
    labels: np.ndarray,
    source: BeatDataset | None,
    settings: AdaptSettings,
) -> tuple[BeatDataset, np.ndarray, np.ndarray, np.ndarray]:
    """Training set for fine-tuning: target (beats, labels), plus the labelled source beats
    drawn with probability ``source_fraction`` (each side class-balanced on its own)."""
    p_target = sampling_weights(labels, power=settings.sample_power)
    if source is None or settings.source_fraction == 0 or beats.size == 0:
        return data, beats, labels, p_target
    both = concat_datasets([data, source], ["", SOURCE_SUFFIX])
    source_beats = np.arange(len(source)) + len(data)
    p_source = sampling_weights(source.labels, power=settings.sample_power)
    return (
        both,
        np.concatenate([beats, source_beats]),
        np.concatenate([labels, source.labels]),
        np.concatenate(
            [(1 - settings.source_fraction) * p_target, settings.source_fraction * p_source]
        ),
    )


def adapt_model(
    model: HybridBeatNet,
    data: BeatDataset,
    records: Sequence[str],
    settings: AdaptSettings,
    noise: np.ndarray | None = None,
    progress=None,
    source: BeatDataset | None = None,
) -> tuple[HybridBeatNet, dict]:
    """A copy of ``model`` adapted on ``records`` of ``data`` (with their other leads where
    ``data`` holds them, :func:`record_views`); plus a summary dict.

    Order: AdaBN first (so that pseudo-labels and fine-tuning see target statistics), then
    self-training or supervised fine-tuning. Reference labels of ``data`` are read only by
    "supervised". ``source`` (labelled beats of the training database, e.g. MIT-BIH DS1) is
    mixed into fine-tuning batches at ``settings.source_fraction`` against forgetting.
    """
    settings.validate()
    check_geometry(model, data)
    adapted = copy.deepcopy(model).eval()
    summary: dict = {"records": [str(r) for r in records], "settings": settings.to_dict()}
    views = record_views(data, records)
    if "adabn" in settings.methods:
        summary["adabn_beats"] = adapt_batchnorm(adapted, data, views)
    if "self-train" in settings.methods:
        beats, labels = pseudo_labels(adapted, data, views, settings.pseudo_threshold)
        summary["pseudo_labels"] = {c: int(np.sum(labels == CLASS_INDEX[c])) for c in AAMI_CLASSES}
    elif "supervised" in settings.methods:
        rng = np.random.default_rng(settings.seed)
        beats = labelled_subset(data, records, settings.labelled_beats_per_record, rng)
        labels = data.labels[beats]
        summary["labelled_beats"] = {c: int(np.sum(labels == CLASS_INDEX[c])) for c in AAMI_CLASSES}
    else:
        return adapted, summary
    train_data, train_beats, train_labels, weights = _with_source(
        data, beats, labels, source, settings
    )
    summary["losses"] = fine_tune(
        adapted, train_data, train_beats, train_labels, settings, noise, progress, weights
    )
    return adapted, summary


def record_folds(data: BeatDataset, records: Sequence[str], n_folds: int) -> list[list[str]]:
    """Split records into ``n_folds`` folds, spreading S- and V-rich records evenly.

    Greedy: records in decreasing order of S + V beats go to the fold with the fewest so far
    (ties: fewest records). Deterministic; uses only per-record class counts.
    """
    if not 2 <= n_folds <= len(records):
        raise ValueError(f"n_folds={n_folds} must be between 2 and the {len(records)} records.")
    ectopic = {}
    for name in records:
        labels = data.labels[record_beats(data, [name])]
        ectopic[str(name)] = int(
            np.sum((labels == CLASS_INDEX["S"]) | (labels == CLASS_INDEX["V"]))
        )
    folds: list[list[str]] = [[] for _ in range(n_folds)]
    load = [0] * n_folds
    for name in sorted(ectopic, key=lambda r: (-ectopic[r], r)):
        k = min(range(n_folds), key=lambda i: (load[i], len(folds[i])))
        folds[k].append(name)
        load[k] += ectopic[name]
    return [sorted(f) for f in folds]
