"""The dashboard's HTML panels, as text: the run header, peak statistics, the baseline
readings and the notes. Pure functions of the documents and readings (no widgets)."""

from __future__ import annotations

import html
import time
from collections.abc import Iterable, Mapping
from typing import Any

from livescan.jupyter._peaks import Peaks

__all__ = ["baseline_html", "fmt_num", "header_html", "notes_html", "peaks_html"]

_TABLE_STYLE = "style='border-collapse:collapse;font-family:monospace;font-size:12px'"


def fmt_num(value: Any, prec: Any = 4) -> str:
    """``value`` as HTML text: floats with ``prec`` decimals (no ``-0.000``), '' for None."""
    if value is None:
        return ""
    if isinstance(value, float):
        try:
            text = f"{value:.{int(prec)}f}"
            return text[1:] if text.startswith("-") and float(text) == 0 else text
        except (TypeError, ValueError):
            return f"{value:.4g}"
    return html.escape(str(value))


def header_html(
    start: Mapping[str, Any] | None,
    stop: Mapping[str, Any] | None,
    dims: Iterable[Iterable[str]],
    streams: Iterable[str],
    *,
    from_store: bool = False,
) -> str:
    """Scan id, plan, uid, time, detectors, dimensions, streams; at the stop its outcome."""
    s = start or {}
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(s.get("time", 0))))
    parts = [
        f"<b>scan {html.escape(str(s.get('scan_id', '–')))}</b>",
        f"<b>{html.escape(str(s.get('plan_name', '')))}</b>",
        f"uid <code>{html.escape(str(s.get('uid', '')))}</code>",
        when,
    ]
    lines = [" · ".join(parts)]
    detail = []
    if s.get("detectors"):
        detail.append("detectors: " + html.escape(", ".join(map(str, s["detectors"]))))
    dim_text = ", ".join(" / ".join(d) for d in dims)
    if dim_text:
        detail.append(f"dimensions: {html.escape(dim_text)}")
    names = sorted(set(streams))
    if names:
        detail.append("streams: " + html.escape(", ".join(names)))
    if detail:
        lines.append(" · ".join(detail))
    if stop is not None:
        status = str(stop.get("exit_status", "?"))
        events = stop.get("num_events") or {}
        counts = ", ".join(f"{k}: {v}" for k, v in events.items())
        reason = stop.get("reason") or ""
        lines.append(
            f"finished: <span class='livescan-dashboard-exit'>{html.escape(status)}</span>"
            + (f" — {html.escape(reason)}" if reason else "")
            + (f" · events {html.escape(counts)}" if counts else "")
        )
    if from_store:
        lines.append("<i>replayed from the run store</i>")
    return "<div style='line-height:1.5'>" + "<br>".join(lines) + "</div>"


def peaks_html(x: str, peaks: Mapping[str, Peaks], precision: Mapping[str, Any]) -> str:
    """A table of com, cen, max, min and fwhm per field ('' when there are none)."""

    def fx(v: Any) -> str:
        return fmt_num(v, precision.get(x, 4)) or "–"

    def fy(field: str, v: Any) -> str:
        return fmt_num(v, precision.get(field, 4)) or "–"

    rows = []
    for y, stats in peaks.items():
        mx, mn = stats.max or (None, None), stats.min or (None, None)
        rows.append(
            f"<tr><td><b>{html.escape(y)}</b></td><td>{fx(stats.com)}</td>"
            f"<td>{fx(stats.cen)}</td><td>{fx(mx[0])} → {fy(y, mx[1])}</td>"
            f"<td>{fx(mn[0])} → {fy(y, mn[1])}</td><td>{fx(stats.fwhm)}</td></tr>"
        )
    if not rows:
        return ""
    head = (
        f"<tr><th></th><th>com</th><th>cen</th><th>max ({html.escape(x)} → y)</th>"
        f"<th>min</th><th>fwhm</th></tr>"
    )
    return (
        f"<table class='livescan-peaks' {_TABLE_STYLE} cellpadding='3'>"
        f"{head}{''.join(rows)}</table>"
    )


def baseline_html(
    baseline: Mapping[str, list[Any]], data_keys: Mapping[str, Mapping[str, Any]]
) -> str:
    """Each baseline field's reading at the start, at the end and the change ('' if none)."""
    if not baseline:
        return ""
    rows = []
    for field, readings in baseline.items():
        prec = data_keys.get(field, {}).get("precision", 4)
        first = readings[0]
        last = readings[1] if len(readings) > 1 else None
        change = ""
        if isinstance(first, int | float) and isinstance(last, int | float):
            change = fmt_num(last - first, prec)
        rows.append(
            f"<tr><td>{html.escape(field)}</td><td>{fmt_num(first, prec)}</td>"
            f"<td>{fmt_num(last, prec)}</td><td>{change}</td></tr>"
        )
    return (
        f"<b>Baseline</b><table class='livescan-baseline' {_TABLE_STYLE} cellpadding='3'>"
        "<tr><th>field</th><th>start</th><th>end</th><th>change</th></tr>"
        f"{''.join(rows)}</table>"
    )


def notes_html(notes: list[str], last: int = 8) -> str:
    """The newest ``last`` notes as a list."""
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes[-last:])
    return f"<ul style='margin:2px 0;color:#9a6700'>{items}</ul>"
