"""Static fallbacks: what a live output leaves behind for viewers that cannot run widgets.

When a run ends, its output (status + live widgets) is updated in place with a bundle
that still carries the widget view — JupyterLab and exported HTML keep showing the live
widgets — plus ``text/plain`` (the status line and every table, in bluesky's text layout)
and ``image/png`` (one picture of every plot, raster and frame, drawn with matplotlib on
the Agg backend). Plain notebook viewers and code-hosting sites show those, so an
executed notebook reads like a logbook.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["fallback_image", "fallback_text", "static_bundle"]


def _kind(obj: Any) -> str | None:
    name = type(obj).__name__
    if name in ("LivePlot", "LiveRaster", "LiveImage"):
        return name
    if name == "LiveTable" and getattr(obj, "view", None) is not None:
        return "LiveTable"
    return None


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
    """The status line, then each grid-mode LiveTable as a text table."""
    blocks = [status_line(handle)]
    for obj in subs:
        if _kind(obj) != "LiveTable":
            continue
        frame = obj.view.data
        rows = (
            (seq, t, list(values))
            for seq, t, *values in frame.reset_index().itertuples(index=False, name=None)
        )
        blocks.append(obj.format_text(rows))
    return "\n\n".join(blocks)


def _panels(subs: Iterable[Any]) -> list[tuple[str, Any]]:
    panels = []
    for obj in subs:
        kind = _kind(obj)
        if kind in ("LivePlot", "LiveRaster", "LiveImage"):
            panels.append((kind, obj))
    return panels


def fallback_image(subs: Iterable[Any], *, dpi: int = 80) -> bytes | None:
    """A PNG of the final state of every plot, raster and image, or None if none."""
    panels = _panels(subs)
    if not panels:
        return None
    from matplotlib.figure import Figure  # Agg, no pyplot state

    cols = min(len(panels), 2)
    rows = math.ceil(len(panels) / cols)
    fig = Figure(figsize=(5.2 * cols, 3.6 * rows), dpi=dpi, layout="constrained")
    for i, (kind, obj) in enumerate(panels):
        ax = fig.add_subplot(rows, cols, i + 1)
        if kind == "LivePlot":
            _plot(ax, obj)
        elif kind == "LiveRaster":
            _raster(fig, ax, obj)
        else:
            _image(fig, ax, obj)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _plot(ax: Any, plot: Any) -> None:
    labels = [getattr(run, "label", "") for run in getattr(plot, "runs", [])]
    for k, (x, y) in enumerate(plot.data):
        label = labels[k] if k < len(labels) else None
        ax.plot(x, y, marker="o", markersize=3, linewidth=1, label=label)
    ax.set_xlabel(plot.x)
    ax.set_ylabel(plot.y)
    if any(labels):
        ax.legend(fontsize="small")


def _raster(fig: Any, ax: Any, raster: Any) -> None:
    data = np.asarray(raster.data, dtype=float)
    scale = raster.color_scale
    x0, x1, y0, y1 = raster.extent
    im = ax.imshow(
        np.ma.masked_invalid(data),
        origin="lower",
        aspect="auto",
        extent=(x0, x1, y0, y1),
        cmap=_cmap(scale.scheme),
        vmin=scale.min,
        vmax=scale.max,
    )
    fig.colorbar(im, ax=ax, label=raster.I)
    xaxis, yaxis = raster.figure.axes[0], raster.figure.axes[1]
    ax.set_xlabel(xaxis.label)
    ax.set_ylabel(yaxis.label)
    ax.set_title(raster.figure.title)


def _cmap(name: Any) -> str:
    from matplotlib import colormaps

    name = getattr(name, "value", name)
    return name if isinstance(name, str) and name in colormaps else "viridis"


def _image(fig: Any, ax: Any, image: Any) -> None:
    try:
        frame = image.frame()
    except (IndexError, KeyError, ValueError, LookupError):
        ax.set_title(f"{image.field}: no frame")
        return
    im = ax.imshow(np.asarray(frame), cmap=_cmap(getattr(image, "cmap", None)))
    fig.colorbar(im, ax=ax)
    seqs = image.seq_nums
    ax.set_title(f"{image.field}, frame {seqs[-1] if seqs else '?'}")


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
