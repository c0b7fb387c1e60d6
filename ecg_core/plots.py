"""Plotly figures for the app and reports (no gradio here): ECG strips, beat attention,
hourly burden, heart-rate trend, confusion matrix.

Long records are never sent whole: the overview is min/max-decimated to a few thousand
points (every QRS spike survives decimation, unlike plain subsampling), and only a window
of at most :data:`MAX_WINDOW_S` seconds is drawn at full resolution.

>>> import numpy as np, pandas as pd
>>> x = np.sin(np.arange(360 * 600) / 50.0)
>>> t_s, y = minmax_decimate(x, 360.0, max_points=4000)
>>> len(y) <= 4000, float(y.max()) == float(x.max())
(True, True)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ecg_core.aami import AAMI_CLASSES
from ecg_core.preprocessing import clean_ecg

#: One colour per AAMI class: normal beats recede, ectopy stands out.
CLASS_COLOURS: dict[str, str] = {
    "N": "#4C78A8",
    "S": "#F58518",
    "V": "#E45756",
    "F": "#B279A2",
    "Q": "#8C8C8C",
}
CLASS_NAMES: dict[str, str] = {
    "N": "N normal",
    "S": "S supraventricular ectopic",
    "V": "V ventricular ectopic",
    "F": "F fusion",
    "Q": "Q unclassifiable or artefact",
}
#: Longest stretch drawn at full resolution (60 s at 500 Hz = 30k points).
MAX_WINDOW_S: float = 60.0
OVERVIEW_POINTS: int = 4000
#: At most this many beat markers in the overview (ectopic beats first).
MAX_OVERVIEW_MARKERS: int = 3000
_LAYOUT = dict(
    template="plotly_white",
    margin=dict(l=55, r=20, t=45, b=40),
    font=dict(size=12),
    legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0),
)
_PAPER_GRID = "#f3c4c4"  # ECG paper: pink grid, 0.2 s x 0.5 mV


def minmax_decimate(
    signal_1d: np.ndarray, fs: float, max_points: int = OVERVIEW_POINTS, start_s: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Times (s) and values keeping each bucket's min and max, at most ``max_points`` long.

    Short signals are returned as they are.
    """
    x = np.asarray(signal_1d, dtype=np.float64)
    t_s = start_s + np.arange(x.size) / fs
    if x.size <= max_points:
        return t_s, x
    n_buckets = max(max_points // 2, 1)
    bucket = int(np.ceil(x.size / n_buckets))
    n_full = x.size // bucket
    body = x[: n_full * bucket].reshape(n_full, bucket)
    lo_idx = body.argmin(axis=1) + np.arange(n_full) * bucket
    hi_idx = body.argmax(axis=1) + np.arange(n_full) * bucket
    if n_full * bucket < x.size:  # the ragged tail is one more bucket
        tail = x[n_full * bucket :]
        lo_idx = np.append(lo_idx, n_full * bucket + tail.argmin())
        hi_idx = np.append(hi_idx, n_full * bucket + tail.argmax())
    # Keep each pair in time order so the line does not zig-zag backwards.
    idx = np.sort(np.stack([lo_idx, hi_idx], axis=1), axis=1).ravel()
    return t_s[idx], x[idx]


def display_window(
    signal_1d: np.ndarray, fs: float, start_s: float, duration_s: float, clean: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Times and values of one window; with ``clean`` the window (plus 2 s either side, so
    the filter's edge transient falls outside) is band-passed like the model sees it."""
    duration_s = min(float(duration_s), MAX_WINDOW_S)
    n = len(signal_1d)
    lo = int(np.clip(round(start_s * fs), 0, max(n - 1, 0)))
    hi = int(np.clip(lo + round(duration_s * fs), lo + 1, n))
    if not clean:
        return np.arange(lo, hi) / fs, np.asarray(signal_1d[lo:hi], dtype=np.float64)
    pad = int(2 * fs)
    plo, phi = max(lo - pad, 0), min(hi + pad, n)
    piece = np.asarray(signal_1d[plo:phi], dtype=np.float64)
    if piece.size > 3 * 13:  # filtfilt needs a few samples more than the filter order
        piece = clean_ecg(piece, fs)
    return np.arange(lo, hi) / fs, piece[lo - plo : hi - plo]


def _beats_in(beats: pd.DataFrame, start_s: float, end_s: float) -> pd.DataFrame:
    times = beats["time_s"].to_numpy() if len(beats) else np.zeros(0)
    return beats.iloc[np.flatnonzero((times >= start_s) & (times < end_s))]


#: Shading of noisy spans (grey), ventricular flutter/fibrillation episodes (red) and
#: atrial fibrillation episodes (violet).
NOISY_FILL = ("#999", 0.18)
VF_FILL = ("#B00020", 0.22)
AF_FILL = ("#7B3FA0", 0.12)


def _add_spans(
    fig: go.Figure,
    spans,
    start_s: float,
    end_s: float,
    fill: tuple[str, float] = NOISY_FILL,
    text: str = "noisy",
    limit: int = 200,
):
    shown = [(a, b) for a, b in spans if b > start_s and a < end_s][:limit]
    colour, opacity = fill
    for a, b in shown:
        fig.add_vrect(
            x0=max(a, start_s),
            x1=min(b, end_s),
            fillcolor=colour,
            opacity=opacity,
            line_width=0,
            annotation_text=text,  # (without one, plotly writes "new text")
            annotation_position="top left",
            annotation_font=dict(color=colour, size=11),
        )


def ecg_window_figure(
    signal_1d: np.ndarray,
    fs: float,
    beats: pd.DataFrame,
    start_s: float = 0.0,
    duration_s: float = 30.0,
    noisy_spans: list[tuple[float, float]] | None = None,
    selected_sample: int | None = None,
    title: str | None = None,
    visible_s: float = 10.0,
    vf_spans: list[tuple[float, float]] | None = None,
    af_spans: list[tuple[float, float]] | None = None,
) -> go.Figure:
    """Full-resolution strip of ``duration_s`` (<= 60 s) from ``start_s``, each beat marked
    above its R peak and coloured by class; a range slider spans the window and the first
    ``visible_s`` seconds are in view, like a paper strip. Noisy spans are shaded grey,
    ventricular flutter/fibrillation episodes (``vf_spans``, seconds) red, atrial
    fibrillation (``af_spans``) violet."""
    t_s, y = display_window(signal_1d, fs, start_s, duration_s)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=t_s,
            y=y,
            mode="lines",
            line=dict(color="#222", width=1),
            name="ECG",
            hoverinfo="skip",
            showlegend=False,
        )
    )
    end_s = float(t_s[-1]) if t_s.size else start_s
    in_view = _beats_in(beats, float(start_s), end_s + 1e-9)
    if t_s.size and len(in_view):
        span = float(np.ptp(y)) or 1.0
        idx = np.clip(in_view["sample"].to_numpy() - int(round(t_s[0] * fs)), 0, y.size - 1)
        marker_y = y[idx] + 0.12 * span
        for label in AAMI_CLASSES:
            sel = (in_view["label"] == label).to_numpy()
            if not sel.any():
                continue
            rows = in_view[sel]
            conf = rows["confidence"].to_numpy() if "confidence" in rows else np.ones(sel.sum())
            fig.add_trace(
                go.Scatter(
                    x=rows["time_s"],
                    y=marker_y[sel],
                    mode="markers+text" if label != "N" else "markers",
                    text=[label] * int(sel.sum()) if label != "N" else None,
                    textposition="top center",
                    textfont=dict(color=CLASS_COLOURS[label], size=11),
                    marker=dict(color=CLASS_COLOURS[label], size=9, symbol="triangle-down"),
                    name=CLASS_NAMES[label],
                    customdata=np.stack([rows.index.to_numpy(), conf], axis=1),
                    hovertemplate=f"beat %{{customdata[0]}}: {label}"
                    " (%{customdata[1]:.0%})<br>%{x:.2f} s<extra></extra>",
                )
            )
        if selected_sample is not None and start_s <= selected_sample / fs <= end_s:
            fig.add_vline(x=selected_sample / fs, line=dict(color="#F58518", width=2, dash="dot"))
    _add_spans(fig, noisy_spans or [], float(start_s), end_s)
    _add_spans(fig, vf_spans or [], float(start_s), end_s, VF_FILL, "VF/flutter")
    _add_spans(fig, af_spans or [], float(start_s), end_s, AF_FILL, "AF")
    view_end = min(float(start_s) + visible_s, end_s)
    fig.update_layout(
        **_LAYOUT,
        title=title,
        height=380,
        plot_bgcolor="#fffafa",
        xaxis=dict(
            title="time (s)",
            range=[float(start_s), view_end],
            rangeslider=dict(visible=True, thickness=0.12),
            dtick=0.2,
            showticklabels=True,
            gridcolor=_PAPER_GRID,
            tickformat=".1f",
        ),
        yaxis=dict(title="mV", dtick=0.5, gridcolor=_PAPER_GRID, zeroline=False),
    )
    # Label every second, grid every 0.2 s.
    fig.update_xaxes(
        tickmode="linear",
        tick0=0,
        dtick=1.0,
        minor=dict(dtick=0.2, showgrid=True, gridcolor="#fbe3e3"),
    )
    if t_s.size:
        # Room above the R peaks for the beat markers and their letters.
        low, high = float(np.min(y)), float(np.max(y))
        span = (high - low) or 1.0
        fig.update_yaxes(range=[low - 0.08 * span, high + 0.3 * span])
    return fig


def ecg_overview_figure(
    signal_1d: np.ndarray,
    fs: float,
    beats: pd.DataFrame,
    noisy_spans: list[tuple[float, float]] | None = None,
    window: tuple[float, float] | None = None,
    max_points: int = OVERVIEW_POINTS,
    vf_spans: list[tuple[float, float]] | None = None,
    af_spans: list[tuple[float, float]] | None = None,
) -> go.Figure:
    """The whole record, min/max-decimated, with ectopic beats marked, noisy spans (grey),
    ventricular flutter/fibrillation (red) and atrial fibrillation (violet) episodes shaded,
    and the current full-resolution window shaded orange."""
    t_s, y = minmax_decimate(signal_1d, fs, max_points)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=t_s / 60.0,
            y=y,
            mode="lines",
            line=dict(color="#555", width=0.7),
            hoverinfo="skip",
            showlegend=False,
        )
    )
    if len(beats):
        top = float(np.percentile(y, 99.5)) if y.size else 1.0
        for label in AAMI_CLASSES[1:]:
            rows = beats[beats["label"] == label]
            if not len(rows):
                continue
            step = max(1, int(np.ceil(len(rows) / MAX_OVERVIEW_MARKERS)))
            rows = rows.iloc[::step]
            fig.add_trace(
                go.Scatter(
                    x=rows["time_s"] / 60.0,
                    y=np.full(len(rows), top),
                    mode="markers",
                    marker=dict(color=CLASS_COLOURS[label], size=6, symbol="line-ns-open"),
                    name=f"{label} beats" + (f" (1 in {step})" if step > 1 else ""),
                    hovertemplate=f"{label} at %{{x:.2f}} min<extra></extra>",
                )
            )
    duration_s = len(signal_1d) / fs
    _add_spans(fig, [(a / 60, b / 60) for a, b in noisy_spans or []], 0, duration_s / 60, text="")
    _add_spans(
        fig, [(a / 60, b / 60) for a, b in vf_spans or []], 0, duration_s / 60, VF_FILL, "VF"
    )
    _add_spans(
        fig, [(a / 60, b / 60) for a, b in af_spans or []], 0, duration_s / 60, AF_FILL, "AF"
    )
    if window is not None:  # a 30-s window on a 10-s record shades the record, not beyond
        start_s, end_s = max(window[0], 0.0), min(window[1], duration_s)
        fig.add_vrect(
            x0=start_s / 60, x1=end_s / 60, fillcolor="#F58518", opacity=0.25, line_width=0
        )
    fig.update_layout(
        **_LAYOUT,
        height=200,
        title="Whole record (decimated overview; shaded: the window shown below)",
        xaxis=dict(title="time (min)"),
        yaxis=dict(title="mV"),
    )
    return fig


def next_beat_time(beats: pd.DataFrame, after_s: float, label: str) -> float | None:
    """Time of the first ``label`` beat strictly after ``after_s`` (wrapping to the start),
    or None when the record has none."""
    times = beats.loc[beats["label"] == label, "time_s"].to_numpy()
    if not times.size:
        return None
    later = times[times > after_s + 1e-6]
    return float(later[0] if later.size else times[0])


def beat_attention_figure(
    signal_1d: np.ndarray,
    fs: float,
    sample: int,
    attention: np.ndarray | None,
    attention_times_s: np.ndarray | None,
    probs: dict[str, float],
    label: str,
    title: str | None = None,
) -> go.Figure:
    """One beat's waveform with the model's attention shaded under it, and its class
    probabilities as bars."""
    if attention_times_s is not None and len(attention_times_s):
        lo_s, hi_s = float(attention_times_s[0]), float(attention_times_s[-1])
    else:
        lo_s, hi_s = -0.4, 0.6
    lo_s, hi_s = min(lo_s, -0.3), max(hi_s, 0.45)
    t_abs, y = display_window(signal_1d, fs, max(sample / fs + lo_s, 0.0), hi_s - lo_s)
    t_rel = t_abs - sample / fs
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.72, 0.28],
        specs=[[{"secondary_y": True}, {}]],
        subplot_titles=("waveform and attention", "class probabilities"),
        horizontal_spacing=0.1,
    )
    if attention is not None and attention_times_s is not None and len(attention):
        weights = np.asarray(attention, dtype=np.float64)
        weights = weights / weights.max() if weights.max() > 0 else weights
        fig.add_trace(
            go.Scatter(
                x=attention_times_s,
                y=weights,
                mode="lines",
                fill="tozeroy",
                line=dict(color="rgba(245,133,24,0.9)", width=1, shape="hv"),
                fillcolor="rgba(245,133,24,0.30)",
                name="attention (relative)",
                hovertemplate="%{x:.3f} s: %{y:.2f}<extra>attention</extra>",
            ),
            row=1,
            col=1,
            secondary_y=True,
        )
    fig.add_trace(
        go.Scatter(
            x=t_rel,
            y=y,
            mode="lines",
            line=dict(color=CLASS_COLOURS.get(label, "#222"), width=2),
            name=f"beat ({label})",
            hovertemplate="%{x:.3f} s: %{y:.2f} mV<extra></extra>",
        ),
        row=1,
        col=1,
        secondary_y=False,
    )
    classes = list(AAMI_CLASSES)
    values = [float(probs.get(c, 0.0)) for c in classes]
    fig.add_trace(
        go.Bar(
            x=classes,
            y=values,
            marker_color=[CLASS_COLOURS[c] for c in classes],
            text=[f"{v:.0%}" for v in values],
            textposition="outside",
            showlegend=False,
            hovertemplate="%{x}: %{y:.3f}<extra></extra>",
        ),
        row=1,
        col=2,
    )
    fig.update_layout(
        **{**_LAYOUT, "legend": dict(orientation="h", yanchor="top", y=-0.22, x=0)},
        height=360,
        title=title,
    )
    fig.update_xaxes(title_text="time from R peak (s)", row=1, col=1)
    fig.update_yaxes(title_text="mV", row=1, col=1, secondary_y=False)
    fig.update_yaxes(
        title_text="attention", range=[0, 3], showgrid=False, row=1, col=1, secondary_y=True
    )
    fig.update_yaxes(range=[0, 1.15], tickformat=".0%", row=1, col=2)
    return fig


def hourly_burden_figure(hourly: pd.DataFrame) -> go.Figure:
    """V and S burden (% of analysed beats) per hour, with the beat counts on hover."""
    fig = go.Figure()
    hours = hourly["hour"] if len(hourly) else []
    for letter, column, count in (
        ("V", "v_burden_pct", "v_count"),
        ("S", "s_burden_pct", "s_count"),
    ):
        fig.add_trace(
            go.Bar(
                x=hours,
                y=hourly[column] if len(hourly) else [],
                name=f"{letter} burden",
                marker_color=CLASS_COLOURS[letter],
                customdata=hourly[count] if len(hourly) else [],
                hovertemplate=f"hour %{{x}}: %{{y:.2f}}% ({letter} %{{customdata}})<extra></extra>",
            )
        )
    fig.update_layout(
        **_LAYOUT,
        barmode="group",
        height=280,
        title="Ectopic burden per hour",
        xaxis=dict(title="hour of recording", dtick=1),
        yaxis=dict(title="% of analysed beats", rangemode="tozero"),
    )
    return fig


def hr_trend_figure(hr_trend: pd.DataFrame, hourly: pd.DataFrame | None = None) -> go.Figure:
    """Heart rate over time (binned), with each hour's min-max band when given."""
    fig = go.Figure()
    if hourly is not None and len(hourly) > 1:
        # A step band: each hour's min-max over the whole hour.
        start_min = hourly["start_s"].to_numpy() / 60.0
        x_min = np.stack([start_min, start_min + 60.0], axis=1).ravel().tolist()
        hr_max = np.repeat(hourly["hr_max_bpm"].to_numpy(dtype=float), 2).tolist()
        hr_min = np.repeat(hourly["hr_min_bpm"].to_numpy(dtype=float), 2).tolist()
        fig.add_trace(
            go.Scatter(
                x=x_min + x_min[::-1],
                y=hr_max + hr_min[::-1],
                mode="lines",
                fill="toself",
                fillcolor="rgba(76,120,168,0.15)",
                line=dict(width=0),
                name="hourly min-max",
                hoverinfo="skip",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=hr_trend["time_s"] / 60.0 if len(hr_trend) else [],
            y=hr_trend["hr_bpm"] if len(hr_trend) else [],
            mode="lines" if len(hr_trend) > 2 else "lines+markers",  # a short record: 1-2 points
            line=dict(color="#4C78A8", width=1.5),
            name="heart rate",
            connectgaps=False,
            hovertemplate="%{x:.1f} min: %{y:.0f} bpm<extra></extra>",
        )
    )
    fig.update_layout(
        **_LAYOUT,
        height=280,
        title="Heart rate trend",
        xaxis=dict(title="time (min)"),
        yaxis=dict(title="bpm"),
    )
    return fig


def confusion_figure(
    matrix: list[list[int]] | np.ndarray,
    labels: list[str] | None = None,
    title: str = "Agreement with the reference annotations",
) -> go.Figure:
    """Reference (rows) against predicted (columns) counts, shaded per reference row."""
    m = np.asarray(matrix, dtype=np.int64)
    labels = list(labels or AAMI_CLASSES)
    row_sums = m.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(row_sums > 0, m / np.maximum(row_sums, 1), 0.0)
    fig = go.Figure(
        go.Heatmap(
            z=share,
            x=[f"pred {c}" for c in labels],
            y=[f"ref {c}" for c in labels],
            text=m.astype(str),
            texttemplate="%{text}",
            colorscale="Blues",
            zmin=0,
            zmax=1,
            colorbar=dict(title="row share", tickformat=".0%"),
            hovertemplate="%{y} / %{x}: %{text} beats (%{z:.1%} of the row)<extra></extra>",
        )
    )
    fig.update_layout(**_LAYOUT, height=340, title=title)
    fig.update_yaxes(autorange="reversed")
    return fig
