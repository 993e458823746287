"""Static fallbacks: what a live output leaves behind for viewers that cannot run widgets.

When a run ends, its output (status + live widgets) is updated in place with a bundle
that still carries the widget view — JupyterLab and exported HTML keep showing the live
widgets — plus ``text/plain`` (the status line and every table, in bluesky's text layout)
and ``image/png`` (one picture of every plot, raster and frame, drawn with matplotlib on
the Agg backend). Plain notebook viewers and code-hosting sites show those, so an
executed notebook reads like a logbook.

Which views leave what is their own business: they implement the protocols
:class:`~livescan.protocols.TextFallback` and :class:`~livescan.protocols.FigureFallback`.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable
from typing import Any

from livescan.protocols import FigureFallback, TextFallback

__all__ = ["fallback_image", "fallback_text", "static_bundle"]


def status_line(handle: Any) -> str:
    sid = getattr(handle, "scan_id", None)
    parts = [f"{getattr(handle, 'plan_name', 'run')}"]
    if sid is not None:
        parts.append(f"(scan {sid})")
    status = getattr(handle, "exit_status", None) or getattr(handle, "state", "")
    total = getattr(handle, "num_points", None)
    events = getattr(handle, "num_events", 0)
    count = f"{events}/{total}" if total else f"{events}"
    line = f"{' '.join(parts)}: {status}, {count} events in {getattr(handle, 'elapsed', 0):.1f} s"
    reason = getattr(handle, "reason", "")
    return f"{line} — {reason}" if reason else line


def fallback_text(handle: Any, subs: Iterable[Any]) -> str:
    """The status line, then the text every view with a text fallback leaves (tables)."""
    blocks = [status_line(handle)]
    for obj in subs:
        if isinstance(obj, TextFallback):
            text = obj.fallback_text()
            if text:
                blocks.append(text)
    return "\n\n".join(blocks)


def fallback_image(subs: Iterable[Any], *, dpi: int = 80) -> bytes | None:
    """A PNG of the final state of every view that draws a figure fallback (plots,
    rasters, images), or None if there is none."""
    panels = [obj for obj in subs if isinstance(obj, FigureFallback)]
    if not panels:
        return None
    from matplotlib.figure import Figure  # Agg, no pyplot state

    cols = min(len(panels), 2)
    rows = math.ceil(len(panels) / cols)
    fig = Figure(figsize=(5.2 * cols, 3.6 * rows), dpi=dpi, layout="constrained")
    for i, obj in enumerate(panels):
        obj.draw_fallback(fig, fig.add_subplot(rows, cols, i + 1))
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def static_bundle(widget: Any, handle: Any, subs: Iterable[Any]) -> dict[str, Any]:
    """The mime bundle of a finished run's output: the widget view plus fallbacks."""
    subs = list(subs)
    bundle: dict[str, Any] = {
        "text/plain": fallback_text(handle, subs),
        "application/vnd.jupyter.widget-view+json": {
            "version_major": 2,
            "version_minor": 0,
            "model_id": widget.model_id,
        },
    }
    png = fallback_image(subs)
    if png is not None:
        bundle["image/png"] = png
    return bundle
