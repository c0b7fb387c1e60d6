"""Which leads of a record are read and classified, and how their probabilities combine.

A record may hold one lead or twelve. :func:`analyze <ecg_core.pipeline.analyze>` detects beats
on one lead (the preferred one by name, :func:`~ecg_core.preprocessing.select_lead`, unless it
is mostly unusable), and classifies each beat on that lead and a companion lead
(:func:`~ecg_core.preprocessing.companion_lead`), each lead counting only outside its own noisy
spans. Readers of long records hold only these leads (:func:`read_analysis_leads`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ecg_core import analysis
from ecg_core.preprocessing import companion_lead, select_lead
from ecg_core.quality import noisy_spans, quality_mask, without_beat_trains
from ecg_core.record import Record


def lead_noisy_spans(
    signal: np.ndarray, fs: float, usable_mask: np.ndarray | None = None
) -> list[tuple[float, float]]:
    """Spans (start_s, end_s) of one lead too noisy to analyse: the report's definition,
    shared with scripts/evaluate.py --exclude-noisy so both judge noise the same way."""
    mask = quality_mask(signal, fs) if usable_mask is None else usable_mask
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != signal.shape:
        raise ValueError(f"usable_mask has shape {mask.shape}; the lead has {signal.shape}.")
    return [(float(a), float(b)) for a, b in noisy_spans(mask, fs)]


def record_lead_names(record: Record) -> list[str]:
    """The record's lead names; a lead the header leaves unnamed is called by its index."""
    names = record.lead_names
    return [str(names[i]) if i < len(names) else str(i) for i in range(record.n_leads)]


def columns_view(signal: np.ndarray, columns: Sequence[int]) -> np.ndarray:
    """``signal[:, columns]`` for one or two columns, as a view rather than a copy: two
    leads of a 24-hour 12-lead record are 0.7 GB. (Any two columns, in either order, are a
    slice with a step.)

    >>> x = np.arange(12).reshape(3, 4)
    >>> view = columns_view(x, [3, 1])
    >>> view.tolist(), bool(np.shares_memory(view, x))
    ([[3, 1], [7, 5], [11, 9]], True)
    """
    first, *rest = (int(c) for c in columns)
    if len(rest) > 1 or (rest and rest[0] == first):
        return signal[:, list(columns)]
    if not rest:
        return signal[:, first : first + 1]
    step = rest[0] - first
    stop = first + 2 * step
    return signal[:, first : stop if stop >= 0 else None : step]


def classify_leads(
    model: Any,
    leads: np.ndarray,
    fs: float,
    r_peaks: np.ndarray,
    lead_spans: Sequence[list[tuple[float, float]] | None] | None = None,
) -> Any:
    """``model.classify`` on the beats at ``r_peaks`` over one or more leads.

    ``leads`` is (n_samples,) or (n_samples, n_leads) with the lead the beats were detected
    on in column 0. Each further lead counts only for the beats outside its own noisy spans
    (the report's quality mask): a lead with a loose electrode must not outvote a clean one.
    ``lead_spans``: those spans per column when already known (None: computed here).
    """
    leads = np.asarray(leads, dtype=np.float64)
    if leads.ndim == 1 or leads.shape[1] == 1:
        return model.classify(leads.reshape(-1), fs, r_peaks)
    weights = np.ones((len(r_peaks), leads.shape[1]))
    for j in range(1, leads.shape[1]):
        spans = lead_spans[j] if lead_spans is not None else None
        spans = lead_noisy_spans(leads[:, j], fs) if spans is None else spans
        weights[:, j] = ~analysis.beats_in_spans(r_peaks, fs, spans)
    return model.classify(leads, fs, r_peaks, lead_weights=weights)


#: The preferred lead gives way to another lead when less than this share of it is usable ...
SWITCH_BELOW_USABLE: float = 0.5
#: ... and the other lead is usable for at least this much more of the record.
SWITCH_MARGIN: float = 0.25


def usable_share(spans: list[tuple[float, float]], duration_s: float) -> float:
    """Share (0-1) of a lead outside its noisy spans."""
    return 1.0 - analysis.spans_total_s(spans, duration_s) / duration_s if duration_s else 0.0


@dataclass
class LeadChoice:
    """Which leads ``analyze`` reads, and their noisy spans (seconds)."""

    analysed: int  # beats are detected, quality-checked and counted on this lead
    spans: list[tuple[float, float]]
    companion: int | None  # classified too (probabilities averaged); None: one lead
    companion_spans: list[tuple[float, float]] | None
    note: str = ""  # why the analysed lead is not the preferred one

    def without_beat_trains(self, record: Record, r_peaks: np.ndarray) -> LeadChoice:
        """The same choice, each lead's noisy spans less those where the beats detected
        (``r_peaks``, samples) form a train of alike complexes on that lead
        (:func:`ecg_core.quality.without_beat_trains`: a run of ventricular tachycardia is
        not noise). Called once the beats are found; ``choose_leads`` runs before."""
        fs = float(record.fs)
        spans = without_beat_trains(record.signal[:, self.analysed], fs, r_peaks, self.spans)
        companion_spans = self.companion_spans
        if self.companion is not None and companion_spans is not None:
            companion_signal = record.signal[:, self.companion]
            companion_spans = without_beat_trains(companion_signal, fs, r_peaks, companion_spans)
        return replace(self, spans=spans, companion_spans=companion_spans)


def analysis_leads(
    lead_names: list[str], lead: str | int | None = None, second_lead: bool = True
) -> list[int]:
    """The leads :func:`analyze` reads from a record with these ``lead_names`` (indices, the
    analysed lead first): what :func:`choose_leads` may pick, for readers that need not hold
    the others (``read_record(..., leads=analysis_leads)``). Read alone, in this order, the
    same leads are chosen again, by name."""
    analysed = select_lead(lead_names, lead)
    companion = companion_lead(lead_names, analysed)
    use_companion = companion is not None and (second_lead or lead is None)  # lead swap
    return [analysed, companion] if use_companion else [analysed]


def read_analysis_leads(
    source: Any, lead: str | int | None = None, second_lead: bool = True, **read_options: Any
) -> tuple[Record, int | None, list[str]]:
    """Read ``source`` (as :func:`ecg_core.io.read_record`, with ``read_options``) holding
    only the leads :func:`analyze` reads (:func:`analysis_leads`), the lead asked for first.

    Returns (record, the ``lead`` to give :func:`analyze` for it: 0 when one was asked for,
    None to choose it by name again, all of the source's lead names).
    """
    from ecg_core.io import read_record

    all_names: list[str] = []

    def choose(names: list[str]) -> list[int]:
        all_names.extend(names)
        return analysis_leads(names, lead, second_lead)

    record = read_record(source, leads=choose, **read_options)
    return record, None if lead is None else 0, all_names


def choose_leads(
    record: Record,
    lead: str | int | None = None,
    second_lead: bool = True,
    usable_mask: np.ndarray | None = None,
) -> LeadChoice:
    """The analysed lead (by name, :func:`ecg_core.preprocessing.select_lead`) and its
    companion (:func:`ecg_core.preprocessing.companion_lead`), with their quality masks.

    When ``lead`` is None and the named lead is mostly unusable (under
    :data:`SWITCH_BELOW_USABLE` of it: lead off, saturated, noise) while the companion is
    usable for at least :data:`SWITCH_MARGIN` more of the record, the two swap: a Holter
    whose first channel fell off is still read, from its second one, and the report says
    so. A lead asked for by name, or a given ``usable_mask``, is never swapped.
    """
    names = record_lead_names(record)
    fs, duration_s = float(record.fs), record.duration_s
    analysed = select_lead(names, lead)
    spans = lead_noisy_spans(record.signal[:, analysed], fs, usable_mask)
    companion = companion_lead(names, analysed)
    if companion is not None and not np.all(np.isfinite(record.signal[:, companion])):
        companion = None  # gaps the reader did not fill: the network cannot read that lead
    may_swap = lead is None and usable_mask is None
    if companion is None or not (second_lead or may_swap):
        return LeadChoice(analysed, spans, None, None)
    companion_spans = lead_noisy_spans(record.signal[:, companion], fs)
    share, companion_share = (
        usable_share(spans, duration_s),
        usable_share(companion_spans, duration_s),
    )
    note = ""
    if may_swap and share < SWITCH_BELOW_USABLE and companion_share >= share + SWITCH_MARGIN:
        note = (
            f"Lead {names[companion]} analysed: {names[analysed]} is usable for only "
            f"{100 * share:.0f}% of the record."
        )
        analysed, companion = companion, analysed
        spans, companion_spans = companion_spans, spans
    if not second_lead:
        return LeadChoice(analysed, spans, None, None, note)
    return LeadChoice(analysed, spans, companion, companion_spans, note)
