"""Cached beat datasets from WFDB records."""

from __future__ import annotations

import numpy as np
import wfdb

from ecg_core.aami import symbols_to_classes
from ecg_core.dataset import build_beat_dataset, read_signal_and_beats


def test_dataset_counts_match_annotations_and_cache_round_trips(mitdb_dir, tmp_path):
    data = build_beat_dataset(mitdb_dir, ["100", "208"], causal=False, cache_dir=tmp_path)
    for rid, name in enumerate(["100", "208"]):
        ann = wfdb.rdann(str(mitdb_dir / name), "atr")
        labels = symbols_to_classes(ann.symbol)
        np.testing.assert_array_equal(data.labels[data.record_ids == rid], labels[labels >= 0])
        np.testing.assert_array_equal(data.samples[data.record_ids == rid], ann.sample[labels >= 0])
    assert np.bincount(data.labels[data.record_ids == 1], minlength=5)[[2, 3]].tolist() == [
        992,
        373,
    ]
    assert data.windows.shape == (len(data), data.pre + data.post + 2 * data.margin)
    assert data.rr.shape == (len(data), 6)
    assert len(list(tmp_path.glob("*.npz"))) == 1
    again = build_beat_dataset(mitdb_dir, ["100", "208"], causal=False, cache_dir=tmp_path)
    np.testing.assert_array_equal(again.windows, data.windows)
    sub = data.subset(["208"])
    assert len(sub) == int(np.sum(data.record_ids == 1)) and sub.records.tolist() == ["208"]


def test_lead_chosen_by_name_record_114(mitdb_dir):
    signal, fs, _, _ = read_signal_and_beats(mitdb_dir / "114")
    raw = wfdb.rdrecord(str(mitdb_dir / "114"))
    assert raw.sig_name[1] == "MLII"
    np.testing.assert_allclose(signal, raw.p_signal[:, 1])
    assert fs == 360.0
