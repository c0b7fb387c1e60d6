"""ecg_core.plots: what the shaded spans say."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecg_core import plots


def test_every_shaded_span_carries_its_own_text():
    # An annotation without text is drawn by plotly.js as "new text" (it was, on every
    # noisy span of the ECG window).
    beats = pd.DataFrame({"sample": [], "time_s": [], "label": []})
    window = plots.ecg_window_figure(
        np.zeros(3600), 360.0, beats, 0, 10, noisy_spans=[(2, 4)], vf_spans=[(5, 6)]
    )
    assert [a.text for a in window.layout.annotations] == ["noisy", "VF/flutter"]
    overview = plots.ecg_overview_figure(np.zeros(36000), 360.0, beats, [(2, 4)])
    assert all(isinstance(a.text, str) for a in overview.layout.annotations)


def test_a_short_record_is_drawn_within_its_duration():
    # A 10-s record under the default 30-s window, and a heart-rate trend of one value.
    beats = pd.DataFrame({"sample": [360], "time_s": [1.0], "label": ["N"]})
    overview = plots.ecg_overview_figure(np.zeros(3600), 360.0, beats, window=(0.0, 30.0))
    (shade,) = overview.layout.shapes
    assert shade.x0 == 0.0 and shade.x1 == 10.0 / 60
    trend = plots.hr_trend_figure(pd.DataFrame({"time_s": [5.0], "hr_bpm": [72.0]}))
    assert "markers" in trend.data[-1].mode  # one point is seen, not an empty line
