"""The in-memory ECG record that every step of the pipeline takes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Annotations:
    """Reference beat annotations (e.g. from a WFDB ``.atr`` file).

    ``samples`` are in the record's own sampling rate; ``symbols`` are the original
    annotation symbols (beats and non-beats alike, as stored).
    """

    samples: np.ndarray
    symbols: list[str]


@dataclass
class Record:
    """An ECG: ``signal`` is float64 of shape ``(n_samples, n_leads)`` in millivolts
    (or the file's own unit), sampled at ``fs`` Hz.
    """

    signal: np.ndarray
    fs: float
    lead_names: list[str]
    name: str = "record"
    units: list[str] = field(default_factory=list)
    annotations: Annotations | None = None

    @property
    def n_samples(self) -> int:
        return int(self.signal.shape[0])

    @property
    def n_leads(self) -> int:
        return int(self.signal.shape[1])

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs
