"""LiveRaster: a raster filled pixel by pixel from seq_num, drawn as colour-mapped PNG tiles
(bqplot ``Image`` marks) with a colour bar; reusable across runs."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any

import bqplot
import ipywidgets
import numpy as np

from livescan.widgets._base import LiveWidget, field_name
from livescan.widgets._colormap import colormap_lut
from livescan.widgets._fallback import draw_raster
from livescan.widgets._raster_tiles import TileGrid, bar_colors, raster_rgba
from livescan.widgets._throttle import DEFAULT_MAX_RATE

__all__ = ["LiveRaster", "RasterShapeWarning"]

logger = logging.getLogger("livescan.widgets")


def grid_extent(
    start: dict[str, Any], shape: Sequence[int]
) -> tuple[float, float, float, float] | None:
    """``(left, right, bottom, top)`` of a 2-D grid scan's pixels from its start document
    (``extents`` per motor, slow first), pixel centres on the grid positions; None when
    the document has no such grid of this ``shape``."""
    extents, doc_shape = start.get("extents"), start.get("shape")
    if not extents or len(extents) != 2 or doc_shape is None:
        return None
    if [int(v) for v in doc_shape] != [int(v) for v in shape]:
        return None
    try:
        (s0, s1), (f0, f1) = ([float(v) for v in e] for e in extents)
    except (TypeError, ValueError):
        return None
    rows, cols = (int(v) for v in shape)
    half_row = (s1 - s0) / max(1, rows - 1) / 2 or 0.5
    half_col = (f1 - f0) / max(1, cols - 1) / 2 or 0.5
    return (f0 - half_col, f1 + half_col, s0 - half_row, s1 + half_row)


class RasterShapeWarning(UserWarning):
    """The raster does not hold every point of the run; extra points are ignored."""


class LiveRaster(LiveWidget):
    """Show field ``I`` of a grid scan as a raster image, one pixel per event.

    Pixel ``k = seq_num - 1`` goes to ``(row, col) = divmod(k, ncols)``; when the start
    document says the fast axis snakes (``snaking[1]``), odd rows run backwards. Pixels
    not measured yet are blank. Unlike bluesky's LiveGrid the same LiveRaster can be
    used for run after run (each start clears it).

    The kernel keeps every value (:attr:`data`); the browser gets PNG tiles colour-mapped
    in the kernel (bqplot ``Image`` marks, bands of rows): a flush re-encodes and sends
    only the tiles whose pixels changed, and the stop sends the final state.

    Parameters
    ----------
    raster_shape:
        ``(rows, columns)``: slow axis first, as in ``grid_scan``.
    I:
        The field to colour by, or a device (its hinted field).
    clim:
        Fixed ``(min, max)`` colour limits; otherwise they follow the data.
    cmap:
        A colour map name (``'viridis'``, ``'magma'``, ``'Greys'``, ``'RdBu'`` … any of
        matplotlib's).
    xlabel, ylabel:
        Axis labels; by default the grid's motors from the start document (fast axis
        along x), else ``column`` / ``row``.
    extent:
        ``(left, right, bottom, top)`` in data units (as matplotlib's ``imshow``); by
        default the motors' positions from the start document (``extents``), pixel
        centres on the grid points, else pixel indices.
    """

    def __init__(
        self,
        raster_shape: Sequence[int],
        I: Any,  # noqa: E741 - bluesky's name
        *,
        clim: tuple[float, float] | None = None,
        cmap: str = "viridis",
        xlabel: str | None = None,
        ylabel: str | None = None,
        extent: Sequence[float] | None = None,
        stream_name: str = "primary",
        title: str | None = None,
        max_rate: float = DEFAULT_MAX_RATE,
    ) -> None:
        try:
            nrows, ncols = (int(v) for v in raster_shape)
        except (TypeError, ValueError):
            raise ValueError(
                f"raster_shape must be (rows, columns), not {raster_shape!r}"
            ) from None
        if nrows < 1 or ncols < 1:
            raise ValueError(f"raster_shape must be positive, not {raster_shape!r}")
        I = field_name(I, "LiveRaster I")  # noqa: E741
        if not isinstance(cmap, str):
            raise TypeError(f"cmap must be a colour map name such as 'viridis', not {cmap!r}")
        colormap_lut(cmap)  # an unknown name fails here, naming the choices
        lo, hi = (0.0, 1.0) if clim is None else (float(v) for v in clim)
        if not lo < hi:
            raise ValueError(f"clim must have min < max, not {clim!r}")
        if extent is None:
            x0, x1, y0, y1 = -0.5, ncols - 0.5, -0.5, nrows - 0.5
        else:
            try:
                x0, x1, y0, y1 = (float(v) for v in extent)
            except (TypeError, ValueError):
                raise ValueError(
                    f"extent must be (left, right, bottom, top), not {extent!r}"
                ) from None
        super().__init__(max_rate=max_rate)
        self._auto_extent = extent is None
        self._auto_labels = (xlabel is None, ylabel is None)
        self.raster_shape = (nrows, ncols)
        self.I = I
        self.cmap = cmap
        self.stream_name = stream_name
        self.title = title
        self.extent = (x0, x1, y0, y1)
        self.array = np.full(self.raster_shape, np.nan)
        self.ignored = 0  # points beyond the raster in the current run
        self.snaking = False
        self._descriptors: set[str] = set()

        self._fixed_clim = clim is not None
        # The colour scale always has finite limits: fixed ones, or a placeholder (0, 1)
        # that the flushes replace by the measured range. Only the colour bar uses it; the
        # tiles are coloured in the kernel with the same limits and colour map.
        self.color_scale = bqplot.ColorScale(colors=bar_colors(cmap), min=lo, max=hi)
        self.x_scale = bqplot.LinearScale(min=min(x0, x1), max=max(x0, x1), reverse=x1 < x0)
        self.y_scale = bqplot.LinearScale(min=min(y0, y1), max=max(y0, y1), reverse=y1 < y0)
        self.tiles = TileGrid(self.raster_shape)
        self._tile_layout = ipywidgets.Layout()
        blank = np.full(self.raster_shape, np.nan)
        self.marks = [
            bqplot.Image(
                image=self._image_widget(self.tiles.png(k, blank, (lo, hi), cmap)),
                scales={"x": self.x_scale, "y": self.y_scale},
                pixelated=True,
            )
            for k in range(len(self.tiles))
        ]
        self._place_tiles()
        n_tiles = len(self.tiles)
        self._dirty = np.zeros(n_tiles, dtype=bool)  # tiles changed since the last flush
        self._filled = np.zeros(n_tiles, dtype=bool)  # tiles holding a measured pixel
        self._shown_clim = (lo, hi)  # the limits the tiles in the browser are coloured with
        self._live_limits = False  # the colour range was set from this run's pixels
        self._stopping = False
        #: what the browser was sent: tile flushes and their PNG bytes (cumulative)
        self.sent_tiles = 0
        self.sent_bytes = 0
        axes = [
            bqplot.Axis(scale=self.x_scale, label=xlabel or "column"),
            bqplot.Axis(scale=self.y_scale, label=ylabel or "row", side="left"),
            # the colour bar is short: a few ticks, or their labels overlap
            bqplot.ColorAxis(
                scale=self.color_scale,
                label=I,
                side="right",
                num_ticks=4,
                tick_format=".3~g",
            ),
        ]
        self.figure = bqplot.Figure(
            marks=list(self.marks),
            axes=axes,
            title=title or I,
            # room on the right for the colour bar and its tick labels (7-8 characters:
            # "0.00151", "1.23e+5"); with 80 px the widest ones were cut off at the edge
            fig_margin={"top": 50, "bottom": 50, "left": 60, "right": 104},
            layout=ipywidgets.Layout(width="100%", min_width="360px", height="380px"),
        )
        self.figure.add_class("livescan-raster")
        self.widget = ipywidgets.VBox([self.figure], layout=ipywidgets.Layout(width="100%"))

    def _image_widget(self, png: bytes) -> ipywidgets.Image:
        # one Layout for every tile picture: each widget would otherwise open its own,
        # which closing the picture leaves behind
        return ipywidgets.Image(value=png, format="png", layout=self._tile_layout)

    @property
    def data(self) -> np.ndarray:
        """The raster of the current (or last) run; NaN where nothing was measured."""
        return self.array.copy()

    @property
    def clim(self) -> tuple[float, float]:
        """The colour limits the raster is drawn with (fixed, or the measured range)."""
        return (float(self.color_scale.min), float(self.color_scale.max))

    def rgba(self) -> np.ndarray:
        """The raster as (rows, cols, 4) uint8 RGBA in its colour map and limits (row 0
        first; NaN transparent): what the browser's tiles show after the last flush."""
        return raster_rgba(self.array, self._shown_clim, self.cmap)

    def draw_fallback(self, fig: Any, ax: Any) -> None:
        """Draw the raster on a matplotlib ``ax`` (the static fallback)."""
        draw_raster(self, fig, ax)

    def start(self, doc: dict[str, Any]) -> None:
        self._descriptors = set()
        self.array = np.full(self.raster_shape, np.nan)
        self._dirty |= self._filled  # blank what the last run drew
        self._filled[:] = False
        self._live_limits = False
        self.ignored = 0
        snaking = doc.get("snaking") or (False, False)
        self.snaking = bool(snaking[1]) if len(snaking) > 1 else False
        size = self.raster_shape[0] * self.raster_shape[1]
        num_points = doc.get("num_points")
        shape = doc.get("shape")
        problem = None
        if num_points is not None and int(num_points) != size:
            problem = f"the run has num_points={num_points}"
        elif shape is not None and tuple(shape) != self.raster_shape:
            problem = f"the run's shape is {tuple(shape)}"
        if problem:
            warnings.warn(
                f"LiveRaster: raster_shape {self.raster_shape} holds {size} points but "
                f"{problem}; points beyond {size} will be ignored",
                RasterShapeWarning,
                stacklevel=2,
            )
        self.figure.title = f"{self.title or self.I} · scan {doc.get('scan_id', '?')}"
        self._axes_from_start(doc)
        self._throttle.poke()

    def _place_tiles(self) -> None:
        """Each tile's image spans its pixels' edges in data units (extent)."""
        (nrows, ncols), (x0, x1, y0, y1) = self.raster_shape, self.extent
        row_edges, col_edges = np.linspace(y0, y1, nrows + 1), np.linspace(x0, x1, ncols + 1)
        for k, mark in enumerate(self.marks):
            r0, r1, c0, c1 = self.tiles.bounds(k)
            with mark.hold_sync():
                mark.x = col_edges[[c0, c1]]
                mark.y = row_edges[[r0, r1]]

    def _axes_from_start(self, doc: dict[str, Any]) -> None:
        """Where not given: the extent from the grid's motor positions and the axis labels
        from its motors (slow axis on y, fast on x), when the start document has them."""
        nrows, ncols = self.raster_shape
        extent = None
        if self._auto_extent:
            extent = grid_extent(doc, self.raster_shape) or (
                -0.5, ncols - 0.5, -0.5, nrows - 0.5
            )  # fmt: skip
        if extent is not None and extent != self.extent:
            x0, x1, y0, y1 = self.extent = extent
            with self.x_scale.hold_sync():
                self.x_scale.min, self.x_scale.max = min(x0, x1), max(x0, x1)
                self.x_scale.reverse = x1 < x0
            with self.y_scale.hold_sync():
                self.y_scale.min, self.y_scale.max = min(y0, y1), max(y0, y1)
                self.y_scale.reverse = y1 < y0
            self._place_tiles()
        motors = [str(m) for m in doc.get("motors") or []]
        names = (motors[1], motors[0]) if len(motors) == 2 else ("column", "row")
        for axis, auto, label in zip(self.figure.axes[:2], self._auto_labels, names):
            if auto and axis.label != label:
                axis.label = label

    def descriptor(self, doc: dict[str, Any]) -> None:
        if self._accept_descriptor(doc, [self.I]):
            self._descriptors.add(doc["uid"])

    def _show_error(self, msg: str) -> None:
        self.figure.title = msg

    #: The lossy lane batches events into pages for us (one call per ~10 ms of scan);
    #: a single event (a replay, bluesky's RunEngine) arrives as a page of one.
    accepts_event_pages = True
    mutates_documents = False  # reads only: the lossy lane need not copy

    def event_page(self, doc: dict[str, Any]) -> None:
        """Many events at once: their pixels set with one fancy-indexed assignment."""
        if doc["descriptor"] not in self._descriptors:
            return
        try:
            values = np.array(doc["data"][self.I], dtype=np.float64)
        except KeyError:
            return
        nrows, ncols = self.raster_shape
        k = np.asarray(doc["seq_num"], dtype=np.int64) - 1
        inside = (k >= 0) & (k < nrows * ncols)
        if not inside.all():
            self.ignored += int(k.size - inside.sum())
            k, values = k[inside], values[inside]
        row, col = np.divmod(k, ncols)
        if self.snaking:
            col = np.where(row % 2 == 1, ncols - 1 - col, col)
        self.array[row, col] = values
        touched = self.tiles.index(row, col)
        self._dirty[touched] = True
        self._filled[touched] = True
        self._throttle.poke()

    def stop(self, doc: dict[str, Any]) -> None:
        self._stopping = True
        try:
            self._throttle.flush_now()
        finally:
            self._stopping = False
        if self.ignored:
            logger.warning(
                "LiveRaster(%r): %d points beyond raster_shape %s were ignored",
                self.I, self.ignored, self.raster_shape,
            )  # fmt: skip

    def _limits(self) -> tuple[float, float]:
        """The colour limits for this flush. Fixed ones, else the measured range, kept
        from the last run until the first pixel of a new run arrives. While the run is
        live they only widen, with headroom on the side that grew: new limits recolour
        (and resend) every tile that holds data, so they must change rarely. The stop
        sets the exact range."""
        cur = (float(self.color_scale.min), float(self.color_scale.max))
        if self._fixed_clim:
            return cur
        finite = self.array[np.isfinite(self.array)]
        if not finite.size:
            return cur
        lo, hi = float(finite.min()), float(finite.max())
        hi = hi if hi > lo else lo + max(1e-12, abs(lo) * 1e-9)
        if not self._stopping and self._live_limits:
            span = max(hi, cur[1]) - min(lo, cur[0])
            lo = cur[0] if lo >= cur[0] else lo - 0.25 * span
            hi = cur[1] if hi <= cur[1] else hi + 0.25 * span
        self._live_limits = True
        return lo, hi

    def _flush(self) -> None:
        clim = self._limits()
        if clim != (self.color_scale.min, self.color_scale.max):
            with self.color_scale.hold_sync():
                self.color_scale.min, self.color_scale.max = clim
        if clim != self._shown_clim:
            self._dirty |= self._filled
            self._shown_clim = clim
        for k in np.flatnonzero(self._dirty):
            png = self.tiles.png(int(k), self.array, clim, self.cmap)
            mark = self.marks[k]
            old = mark.image
            # bqplot's Image view redraws when the mark's image *widget* changes (not
            # when that widget's value does): each update is a new Image widget, and the
            # browser resolves it before drawing, so the newest tile always shows.
            mark.image = self._image_widget(png)
            old.close()
            self.sent_tiles += 1
            self.sent_bytes += len(png)
        self._dirty[:] = False

    @property
    def mark(self) -> bqplot.Image:
        """The image of the first tile (the only one for up to ``TILE_PIXELS`` pixels);
        ``marks`` holds every tile, ``tiles`` says which pixels each holds."""
        return self.marks[0]
