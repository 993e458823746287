"""What each live widget leaves behind for viewers that cannot run widgets — bounded.

The widgets implement :class:`livescan.protocols.FigureFallback` (``draw_fallback``) and
the table grid :class:`livescan.protocols.TextFallback` (``fallback_text``) with these
functions. Whatever the run's length, a fallback stays small: a table keeps its first
and last rows and says how many it leaves out; a line is min/max decimated to
``MAX_LINE_POINTS``; frames are drawn at most ``MAX_FRAME_SIDE`` pixels a side.

Drawing a PNG costs tens of milliseconds of matplotlib, so it never happens on the run's
path: :func:`render_png` draws on one worker thread and answers with a future;
:func:`fallbacks_settled` waits for every drawing under way (an awaited run in a batch
execution waits for it, so executed notebooks keep the pictures).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import math
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from livescan.widgets._decimate import minmax_indices
from livescan.widgets._line_png import PlotSpec, plot_spec, plots_png

if TYPE_CHECKING:
    from livescan.widgets._image import LiveImage
    from livescan.widgets._plot import LivePlot
    from livescan.widgets._raster import LiveRaster
    from livescan.widgets._table_view import TableGridView

__all__ = [
    "HEAD_ROWS",
    "LIVE_CLASS",
    "MAX_FRAME_SIDE",
    "MAX_LINE_POINTS",
    "TAIL_ROWS",
    "WIDGET_VIEW",
    "FallbackOutputs",
    "draw_image",
    "draw_plot",
    "draw_raster",
    "fallback_bundle",
    "fallbacks_settled",
    "figure_png",
    "keep_pending",
    "placeholder_bundle",
    "render_png",
    "table_text",
    "widget_view_bundle",
]

#: rows a finished table keeps at its start and at its end
HEAD_ROWS = 10
TAIL_ROWS = 10
#: points per line in a fallback picture (min/max decimated beyond)
MAX_LINE_POINTS = 2000
#: pixels a side of a frame in a fallback picture (strided beyond)
MAX_FRAME_SIDE = 512
#: lines with at most this many points get markers
_MARKERS_UP_TO = 200


def draw_plot(plot: LivePlot, fig: Any, ax: Any) -> None:
    """Every run's line of ``plot`` (decimated), labelled as in its legend."""
    labels = [run.label for run in plot.runs]
    for k, (x, y) in enumerate(plot.data):
        idx = minmax_indices(y, MAX_LINE_POINTS)
        label = labels[k] if k < len(labels) else None
        marker = "o" if len(idx) <= _MARKERS_UP_TO else None
        ax.plot(x[idx], y[idx], marker=marker, markersize=3, linewidth=1, label=label)
    ax.set_xlabel(plot.x)
    ax.set_ylabel(plot.y)
    if any(labels):
        ax.legend(fontsize="small")


def draw_raster(raster: LiveRaster, fig: Any, ax: Any) -> None:
    """The raster in its colour map and limits (``clim``), extent, axis labels and title;
    unmeasured pixels blank."""
    data = np.asarray(raster.data, dtype=float)
    vmin, vmax = raster.clim
    x0, x1, y0, y1 = raster.extent
    im = ax.imshow(
        np.ma.masked_invalid(data),
        origin="lower",
        aspect="auto",
        interpolation="nearest",
        extent=(x0, x1, y0, y1),
        cmap=_cmap(raster.cmap),
        vmin=vmin,
        vmax=vmax,
    )
    fig.colorbar(im, ax=ax, label=raster.I)
    xaxis, yaxis = raster.figure.axes[0], raster.figure.axes[1]
    ax.set_xlabel(xaxis.label)
    ax.set_ylabel(yaxis.label)
    ax.set_title(raster.figure.title)


def draw_image(image: LiveImage, fig: Any, ax: Any) -> None:
    """The newest frame in the viewer's colour map and contrast limits, or a title saying
    there is none."""
    try:
        frame = np.asarray(image.frame())
    except (IndexError, KeyError, ValueError, LookupError):
        ax.set_title(f"{image.field}: no frame")
        return
    step = max(1, math.ceil(max(frame.shape[:2]) / MAX_FRAME_SIDE))
    limits: dict[str, float] = {}
    if not image.auto_clim.value:
        limits["vmin"], limits["vmax"] = (float(v) for v in image.clim.value)
    im = ax.imshow(frame[::step, ::step], cmap=_cmap(image.cmap), **limits)
    fig.colorbar(im, ax=ax)
    seqs = image.seq_nums
    ax.set_title(f"{image.field}, frame {seqs[-1] if seqs else '?'}")


def table_text(view: TableGridView) -> str | None:
    """The grid's first and last rows as its LiveTable's text table (with a line saying
    how many rows are left out between them), or None without a table."""
    from livescan.widgets._table_view import format_time

    table = view.table
    if table is None:
        return None
    n = len(view)
    if n <= HEAD_ROWS + TAIL_ROWS:
        ranges, elided = [range(n)], None
    else:
        ranges = [range(HEAD_ROWS), range(n - TAIL_ROWS, n)]
        elided = (HEAD_ROWS, n - HEAD_ROWS - TAIL_ROWS)
    seqs, times = view._seq.view(), view._time.view()
    values = [col.view() for col in view._values]
    rows = [
        (int(seqs[i]), format_time(float(times[i])), [v[i].item() if hasattr(v[i], "item")
                                                      else v[i] for v in values])
        for r in ranges
        for i in r
    ]  # fmt: skip
    return str(table.format_text(rows, elided=elided))


def _plot_specs(panels: Sequence[Any]) -> list[PlotSpec] | None:
    """Snapshots of the panels when they are all LivePlots (drawn by Pillow), else None."""
    from livescan.widgets._plot import LivePlot

    if not panels or not all(isinstance(p, LivePlot) for p in panels):
        return None
    return [plot_spec(p, MAX_LINE_POINTS) for p in panels]


def figure_png(panels: Sequence[Any], *, dpi: int = 80) -> bytes | None:
    """A PNG with one panel per view that draws a figure fallback, or None for none.

    Line plots alone are drawn by Pillow (milliseconds, see ``_line_png``); pictures with
    rasters or frames by matplotlib."""
    if not panels:
        return None
    specs = _plot_specs(panels)
    if specs is not None:
        return plots_png(specs)
    from matplotlib.figure import Figure  # Agg, no pyplot state

    cols = min(len(panels), 2)
    rows = math.ceil(len(panels) / cols)
    fig = Figure(figsize=(5.2 * cols, 3.6 * rows), dpi=dpi, layout="constrained")
    for i, obj in enumerate(panels):
        obj.draw_fallback(fig, fig.add_subplot(rows, cols, i + 1))
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


_executor: concurrent.futures.ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
_pending: set[asyncio.Future[Any]] = set()


def render_png(panels: Sequence[Any], done: Callable[[bytes | None], None]) -> asyncio.Future[Any]:
    """Draw ``figure_png(panels)`` on the fallback thread; then call ``done(png)`` on the
    running loop. Returns the future of the whole job (errors are logged there)."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = concurrent.futures.ThreadPoolExecutor(
                1, thread_name_prefix="livescan-fallback"
            )
    loop = asyncio.get_running_loop()
    panels = list(panels)
    specs = _plot_specs(panels)  # plots are read here, on the loop's thread

    def draw() -> bytes | None:
        return plots_png(specs) if specs is not None else figure_png(panels)

    async def job() -> None:
        assert _executor is not None
        png = await loop.run_in_executor(_executor, draw)
        done(png)

    return keep_pending(asyncio.ensure_future(job()))


def keep_pending(fut: asyncio.Future[Any]) -> asyncio.Future[Any]:
    """Count ``fut`` (output work under way) among what :func:`fallbacks_settled` waits
    for, until it is done; returns it."""
    _pending.add(fut)
    fut.add_done_callback(_pending.discard)
    return fut


async def fallbacks_settled(timeout: float = 30.0) -> None:
    """Wait (at most ``timeout`` seconds) until every fallback picture under way has been
    drawn and handed on; errors are the jobs' own business."""
    if _pending:
        await asyncio.wait(set(_pending), timeout=timeout)


def _cmap(name: Any) -> str:
    from matplotlib import colormaps

    name = getattr(name, "value", name)
    return name if isinstance(name, str) and name in colormaps else "viridis"


# -- outputs ------------------------------------------------------------------------------
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: class of the elements (run boxes, widgets shown on their own) whose live view makes
#: the fallback beside them redundant
LIVE_CLASS = "livescan-live"
# Where the live widgets render (JupyterLab, exported HTML with its widget scripts) the
# fallback beside them hides itself; where they cannot (no widget scripts, a plain
# viewer) it shows.
_FALLBACK_CSS = (
    "<style>.jp-OutputArea:has(.livescan-live) .livescan-fallback,"
    ".output_area:has(.livescan-live) .livescan-fallback{display:none}</style>"
)


def widget_view_bundle(widget: Any, text: str) -> dict[str, Any]:
    """A raw mime bundle showing ``widget`` (its view) with ``text`` for plain viewers."""
    return {
        WIDGET_VIEW: {"version_major": 2, "version_minor": 0, "model_id": widget.model_id},
        "text/plain": text,
    }


def placeholder_bundle() -> dict[str, Any]:
    """The output a fallback will replace: nothing to see yet."""
    return {"text/html": '<div class="livescan-fallback"></div>', "text/plain": ""}


def fallback_bundle(text: str | None, png: bytes | None) -> dict[str, Any]:
    """The static fallback output: the text tables and the picture, as HTML (with the
    rule that hides it next to live widgets), PNG and plain text."""
    import base64
    import html

    b64 = base64.b64encode(png).decode("ascii") if png else None
    # monospace said outright: some exporters (nbconvert's lab template) set <pre> in the
    # page's proportional font, and the text tables' columns no longer line up
    body = f'<pre style="font-family:monospace">{html.escape(text)}</pre>' if text else ""
    if b64:
        body += f'<img src="data:image/png;base64,{b64}" alt="livescan run"/>'
    bundle: dict[str, Any] = {
        "text/html": f'{_FALLBACK_CSS}<div class="livescan-fallback">{body}</div>',
        "text/plain": text or "",
    }
    if b64:
        bundle["image/png"] = b64
    return bundle


class FallbackOutputs:
    """The outputs where a live view shown on its own (a cell's last expression,
    ``display(plot)``) leaves its static fallback each time a run it watches ends."""

    def __init__(self) -> None:
        self.handles: list[Any] = []

    def show(self, widget: Any, text: str) -> None:
        """Display ``widget``'s view, then a placeholder output for its fallback."""
        from IPython.display import display

        widget.add_class(LIVE_CLASS)
        display(widget_view_bundle(widget, text), raw=True)
        handle = display(placeholder_bundle(), raw=True, display_id=True)
        if handle is not None:
            self.handles.append(handle)

    def leave(self, view: Any) -> None:
        """Replace the placeholders by ``view``'s fallback (text now, the picture when the
        fallback thread has drawn it)."""
        if not self.handles:
            return
        text = view.fallback_text() if hasattr(view, "fallback_text") else None
        handles = list(self.handles)

        def update(png: bytes | None) -> None:
            for handle in handles:
                handle.update(fallback_bundle(text, png), raw=True)

        if hasattr(view, "draw_fallback"):
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                update(figure_png([view]))
                return
            render_png([view], update)
        else:
            update(None)
