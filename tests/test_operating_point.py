"""scripts/operating_point.py: the V-threshold decision rule it sweeps."""

from __future__ import annotations

import numpy as np
from _scripts import load_script


def test_v_threshold_rule():
    decide = load_script("operating_point").decide_labels
    #                  N     S     V     F     Q
    probs = np.array(
        [
            [0.50, 0.15, 0.35, 0.00, 0.00],  # V below 0.4, above 0.3
            [0.20, 0.30, 0.45, 0.05, 0.00],  # V is the most probable
            [0.10, 0.60, 0.25, 0.05, 0.00],
        ]
    )
    assert decide(probs, None).tolist() == [0, 2, 1]  # argmax
    assert decide(probs, 0.3).tolist() == [2, 2, 1]
    assert decide(probs, 0.5).tolist() == [0, 1, 1]  # V not reached: best other class
