"""Static fallbacks: what a live output leaves behind for viewers that cannot run widgets.

A run shown in a notebook has two outputs: the live view (status + widgets, with a line
of ``text/plain`` that stays true) and, below it, a placeholder. When the run ends the
placeholder becomes the fallback: the run's summary line, the text tables (first and last
rows, bluesky's layout) and one PNG of every plot, raster and frame, as HTML, PNG and plain
text. The live output itself is never updated: JupyterLab answers an update of a widget
output by building every view in it again (the grid, the figures, the status: a 200-300 ms
main-thread task at the end of a run with a table) and leaves the old views alive.
Where the live widgets render (JupyterLab, exported HTML with its widget scripts) the
fallback hides itself; plain viewers, code-hosting sites and exported HTML without widget
scripts show it, so an executed notebook reads like a logbook. It is bounded whatever
the run's length.

Which views leave what is their own business: they implement the protocols
:class:`~livescan.protocols.TextFallback` and :class:`~livescan.protocols.FigureFallback`.
The picture is drawn off the run's path, on the fallback thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from livescan.protocols import FigureFallback, TextFallback
from livescan.widgets import fallback_bundle, figure_png, widget_view_bundle

__all__ = [
    "fallback_image",
    "fallback_text",
    "run_fallback",
    "static_bundle",
    "status_line",
]


def status_line(handle: Any) -> str:
    """``scan (scan 3): success, 11/11 events in 0.2 s`` (and the reason, if any)."""
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


def _panels(subs: Iterable[Any]) -> list[Any]:
    return [obj for obj in subs if isinstance(obj, FigureFallback)]


def fallback_image(subs: Iterable[Any], *, dpi: int = 80) -> bytes | None:
    """A PNG of the final state of every view that draws a figure fallback (plots,
    rasters, images), or None if there is none."""
    return figure_png(_panels(subs), dpi=dpi)


def static_bundle(widget: Any, handle: Any) -> dict[str, Any]:
    """The run's live output: the widget view, and for plain viewers a line that stays
    true (the summary is the first line of the fallback below it)."""
    name = getattr(handle, "plan_name", None) or "run"
    return widget_view_bundle(widget, f"{name}: live view; the run's summary follows")


def run_fallback(
    handle: Any,
    subs: Iterable[Any],
    render: Callable[[list[Any], Callable[[bytes | None], None]], Any] | None,
    update: Callable[[dict[str, Any]], None],
) -> Any:
    """Leave the run's fallback: ``update(bundle)`` with the text at once when there is
    no picture to draw, else once ``render(panels, done)`` has drawn it (None: draw here,
    synchronously). Returns what ``render`` returned (the drawing job), or None."""
    subs = list(subs)
    panels = _panels(subs)
    if not panels:
        update(fallback_bundle(fallback_text(handle, subs), None))
        return None
    if render is None:
        update(fallback_bundle(fallback_text(handle, subs), figure_png(panels)))
        return None
    text: list[str] = []

    def done(png: bytes | None) -> None:
        update(fallback_bundle(text[0] if text else fallback_text(handle, subs), png))

    job = render(panels, done)  # drawn on the fallback thread while the text is made here
    text.append(fallback_text(handle, subs))
    return job
