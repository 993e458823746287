"""What each live widget leaves behind for viewers that cannot run widgets.

The widgets implement :class:`livescan.protocols.FigureFallback` (``draw_fallback``) and
the table grid :class:`livescan.protocols.TextFallback` (``fallback_text``) with these
functions; ``livescan.jupyter`` asks the protocols and lays the panels out. matplotlib
(Agg, no pyplot) is imported by the caller that makes the figure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from livescan.widgets._image import LiveImage
    from livescan.widgets._plot import LivePlot
    from livescan.widgets._raster import LiveRaster
    from livescan.widgets._table_view import TableGridView

__all__ = ["draw_image", "draw_plot", "draw_raster", "table_text"]


def draw_plot(plot: LivePlot, fig: Any, ax: Any) -> None:
    """Every run's line of ``plot``, labelled as in its legend."""
    labels = [run.label for run in plot.runs]
    for k, (x, y) in enumerate(plot.data):
        label = labels[k] if k < len(labels) else None
        ax.plot(x, y, marker="o", markersize=3, linewidth=1, label=label)
    ax.set_xlabel(plot.x)
    ax.set_ylabel(plot.y)
    if any(labels):
        ax.legend(fontsize="small")


def draw_raster(raster: LiveRaster, fig: Any, ax: Any) -> None:
    """The raster with its colour scale, extent, axis labels and title."""
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


def draw_image(image: LiveImage, fig: Any, ax: Any) -> None:
    """The newest frame in the chosen colour map, or a title saying there is none."""
    try:
        frame = image.frame()
    except (IndexError, KeyError, ValueError, LookupError):
        ax.set_title(f"{image.field}: no frame")
        return
    im = ax.imshow(np.asarray(frame), cmap=_cmap(image.cmap))
    fig.colorbar(im, ax=ax)
    seqs = image.seq_nums
    ax.set_title(f"{image.field}, frame {seqs[-1] if seqs else '?'}")


def table_text(view: TableGridView) -> str | None:
    """The grid's rows as its LiveTable's text table, or None without a table."""
    table = view.table
    if table is None:
        return None
    frame = view.data
    rows = (
        (seq, t, list(values))
        for seq, t, *values in frame.reset_index().itertuples(index=False, name=None)
    )
    return str(table.format_text(rows))


def _cmap(name: Any) -> str:
    from matplotlib import colormaps

    name = getattr(name, "value", name)
    return name if isinstance(name, str) and name in colormaps else "viridis"
