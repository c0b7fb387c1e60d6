"""A printable, self-contained HTML report from a :class:`~ecg_core.pipeline.Report`.

One file, no network: the plotly.js bundle is inlined once (about 4.6 MB) so the charts stay
interactive offline, and a print stylesheet lays the report out on A4. Pass
``include_plotlyjs="cdn"`` for a small file that needs the internet to draw its charts.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecg_core import plots

_CSS = """
body { font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; color: #222;
       max-width: 1000px; margin: 24px auto; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 2px; } h2 { font-size: 17px; margin-top: 26px;
     border-bottom: 1px solid #ddd; padding-bottom: 3px; }
.meta, .disclaimer { color: #666; font-size: 12px; }
.disclaimer { border-left: 3px solid #E45756; padding: 4px 8px; background: #fff5f5; }
.message { font-size: 15px; margin: 12px 0; }
table { border-collapse: collapse; font-size: 12px; margin: 6px 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th { background: #f6f6f6; } td:first-child, th:first-child { text-align: left; }
.tiles { display: flex; flex-wrap: wrap; gap: 8px; }
.tile { border: 1px solid #ddd; border-radius: 6px; padding: 6px 12px; min-width: 120px; }
.tile b { display: block; font-size: 20px; } .tile span { color: #666; font-size: 11px; }
.v b { color: #E45756; } .s b { color: #F58518; }
.tile.vf { border: 2px solid #B00020; background: #fff0f0; } .vf b { color: #B00020; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; }
  .figure, table { break-inside: avoid; } @page { size: A4; margin: 14mm; } }
"""


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return html.escape(str(value))


def _pct(value: Any, digits: int = 2) -> str:
    return "–" if value is None else f"{float(value):.{digits}f}%"


def summary_tiles(summary: dict) -> list[tuple[str, str, str]]:
    """(value, caption, css class) for the headline numbers, shared with the app.

    Ventricular flutter/fibrillation, when found, is the first tile (a critical finding).
    """
    duration_s = float(summary.get("duration_s") or 0.0)
    hours, rem = divmod(int(round(duration_s)), 3600)
    minutes, seconds = divmod(rem, 60)
    duration = f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {seconds:02d} s"
    hr = "–"
    if summary.get("hr_mean_bpm") is not None:
        hr = (
            f"{summary['hr_mean_bpm']:.0f} "
            f"({_fmt(summary.get('hr_min_bpm'), 0)}–{_fmt(summary.get('hr_max_bpm'), 0)})"
        )
    runs = sum(
        int(summary.get(key) or 0)
        for key in ("v_couplets", "nsvt", "sustained_vt", "v_bigeminy", "v_trigeminy", "svt")
    )
    vf_tile = (
        str(summary.get("vf_episodes") or 0),
        f"VF / flutter episodes ({float(summary.get('vf_s') or 0):.0f} s)",
        "vf" if summary.get("vf_episodes") else "",
    )
    tiles = [
        (duration, "duration", ""),
        (_pct(summary.get("analysed_percent"), 1), "analysed (not noisy)", ""),
        (str(summary.get("n_beats", 0)), "beats", ""),
        (hr, "heart rate, bpm mean (min–max)", ""),
        (f"{summary.get('n_V', 0)} · {_pct(summary.get('v_burden_pct'))}", "V beats · burden", "v"),
        (f"{summary.get('n_S', 0)} · {_pct(summary.get('s_burden_pct'))}", "S beats · burden", "s"),
        (str(runs), "runs / patterns", ""),
        (
            str(summary.get("noisy_spans", 0)),
            f"noisy spans ({float(summary.get('noisy_s') or 0):.0f} s)",
            "",
        ),
    ]
    if summary.get("af_episodes"):  # shown only when there is atrial fibrillation
        af = f"{_pct(summary.get('af_burden_pct'), 1)} · {summary['af_episodes']}"
        tiles.insert(6, (af, "AF burden · episodes", ""))
    return [vf_tile, *tiles] if summary.get("vf_episodes") else [*tiles, vf_tile]


def tiles_html(summary: dict) -> str:
    cells = "".join(
        f'<div class="tile {css}"><b>{html.escape(value)}</b><span>{html.escape(caption)}</span></div>'
        for value, caption, css in summary_tiles(summary)
    )
    return f'<div class="tiles">{cells}</div>'


def _table(frame: pd.DataFrame, columns: list[str] | None = None, max_rows: int = 200) -> str:
    if frame is None or not len(frame):
        return "<p class='meta'>None.</p>"
    shown = frame[columns] if columns else frame
    note = ""
    if len(shown) > max_rows:
        note = f"<p class='meta'>First {max_rows} of {len(shown)} rows; all are in the JSON.</p>"
        shown = shown.head(max_rows)
    return (
        shown.to_html(index=False, border=0, float_format=lambda v: f"{v:.2f}", na_rep="–") + note
    )


def _figure(fig) -> str:
    return f'<div class="figure">{fig.to_html(full_html=False, include_plotlyjs=False)}</div>'


def reference_html(reference: dict | None) -> str:
    """Se/+P per class and the QRS detection agreement, as an HTML table."""
    if not reference:
        return ""
    rows = []
    for label, stats in reference.get("classes", {}).items():
        se, ppv = stats.get("se"), stats.get("ppv")
        rows.append(
            f"<tr><td>{html.escape(label)}</td><td>{stats.get('n', 0)}</td>"
            f"<td>{_fmt(None if se is None else 100 * se)}</td>"
            f"<td>{_fmt(None if ppv is None else 100 * ppv)}</td></tr>"
        )
    qrs = reference.get("qrs") or {}
    qrs_line = ""
    if qrs:
        qrs_line = (
            f"<p>QRS detection against the reference: Se {_fmt(100 * (qrs.get('se') or 0), 2)}%, "
            f"+P {_fmt(100 * (qrs.get('ppv') or 0), 2)}% (TP {qrs.get('tp')}, FP {qrs.get('fp')}, "
            f"FN {qrs.get('fn')}; match within {reference.get('tolerance_s', 0.15):g} s).</p>"
        )
    accuracy = reference.get("accuracy")
    return (
        qrs_line
        + f"<p>Accuracy {_fmt(None if accuracy is None else 100 * accuracy, 2)}%.</p>"
        + "<table><tr><th>class</th><th>reference beats</th><th>Se %</th><th>+P %</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def build_html_report(report, include_plotlyjs: bool | str = True) -> str:
    """The whole report as one HTML document (string)."""
    summary = report.summary
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>ECG report – {html.escape(str(report.name))}</title>",
        f"<style>{_CSS}</style>",
    ]
    if include_plotlyjs is True:
        from plotly.offline import get_plotlyjs

        parts.append(f"<script type='text/javascript'>{get_plotlyjs()}</script>")
    elif include_plotlyjs == "cdn":
        parts.append("<script src='https://cdn.plot.ly/plotly-3.1.0.min.js'></script>")
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    classified = str(summary.get("classified_leads", report.lead_name))
    classified = "" if classified == report.lead_name else f" (beats labelled on {classified})"
    classified = html.escape(classified)
    parts += [
        "</head><body>",
        f"<h1>ECG arrhythmia report: {html.escape(str(report.name))}</h1>",
        f"<p class='meta'>Lead {html.escape(str(report.lead_name))}{classified} · "
        f"{report.fs:g} Hz · "
        f"model {html.escape(str(report.model_name))} ({html.escape(str(report.mode))} mode) · "
        f"created {created}</p>",
        "<p class='disclaimer'>Research tool, not a medical device. Automatic beat labels "
        "must be reviewed by a qualified person before any clinical use.</p>",
        f"<p class='message'>{html.escape(str(summary.get('message', '')))}</p>",
        tiles_html(summary),
        *_vf_section(report),
        *_af_section(report),
        "<h2>Runs and patterns</h2>",
        _table(
            report.runs,
            ["kind", "start_s", "end_s", "n_beats", "rate_bpm", "noisy"]
            if len(report.runs)
            else None,
        ),
        "<h2>Heart rate</h2>",
        _figure(plots.hr_trend_figure(report.hr_trend, report.hourly)),
        "<h2>Hourly summary</h2>",
        _figure(plots.hourly_burden_figure(report.hourly)),
        _table(report.hourly),
        "<h2>Noisy spans (excluded from counts)</h2>",
        _table(pd.DataFrame(report.noisy_spans, columns=["start_s", "end_s"])),
    ]
    if report.reference:
        confusion = report.reference.get("confusion", {})
        parts += [
            "<h2>Agreement with the reference annotations</h2>",
            reference_html(report.reference),
            _figure(plots.confusion_figure(confusion.get("matrix"), confusion.get("labels"))),
        ]
    parts.append(
        "<p class='meta'>Beats inside noisy spans are listed in the beat table but excluded "
        "from counts, burden, heart rate and runs. Burden = beats of the class / analysed "
        "beats. Heart rate and pauses skip Q detections (artefacts) that split an RR "
        "interval.</p></body></html>"
    )
    return "\n".join(parts)


def _episode_section(spans, title: str, note_html: str) -> list[str]:
    """A heading, a note and the (start, end, duration) table of episodes; nothing if none."""
    if not spans:
        return []
    table = pd.DataFrame(spans, columns=["start_s", "end_s"])
    table["duration_s"] = table["end_s"] - table["start_s"]
    return [f"<h2>{title}</h2>", note_html, _table(table.round(1))]


def _vf_section(report) -> list[str]:
    """Ventricular flutter/fibrillation episodes, right under the summary when there are any."""
    return _episode_section(
        getattr(report, "vf_spans", None) or [],
        "Ventricular flutter / fibrillation",
        "<p class='disclaimer'>Critical finding: review these episodes first. No beats are "
        "counted inside them.</p>",
    )


def _af_section(report) -> list[str]:
    """Atrial fibrillation episodes (first to last beat), when there are any."""
    return _episode_section(
        getattr(report, "af_spans", None) or [],
        "Atrial fibrillation",
        "<p class='meta'>Irregularly irregular rhythm without a dominant RR interval, at least "
        "60 beats; no beat inside is counted as S.</p>",
    )


def write_html_report(report, path: str | Path, include_plotlyjs: bool | str = True) -> Path:
    path = Path(path)
    path.write_text(build_html_report(report, include_plotlyjs), encoding="utf-8")
    return path
