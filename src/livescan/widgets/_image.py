"""LiveImage: a frame viewer with a follow-the-newest slider, colour map, contrast limits
and row/column cross sections at a movable crosshair.

Frames may sit inside the events or in files (resource/datum, read only when shown);
the last ``max_frames`` are kept in a :class:`~livescan.widgets._frame_store.FrameStore`.
What the browser gets is one display-sized, colour-mapped PNG per update plus the two
profiles, at most ``max_rate`` times a second.
"""

from __future__ import annotations

import html
import logging
from collections import deque
from collections.abc import Mapping
from typing import Any

import bqplot
import ipywidgets
import numpy as np

from livescan.documents import Filler, frame_dims
from livescan.widgets._base import LiveWidget
from livescan.widgets._colormap import (
    COLORMAPS,
    apply_colormap,
    colormap_lut,
    downsample,
    encode_png,
)
from livescan.widgets._decimate import minmax_indices
from livescan.widgets._fallback import draw_image
from livescan.widgets._frame_store import FrameStore, ImageShapeError
from livescan.widgets._raster_tiles import bar_colors

__all__ = ["ImageShapeError", "LiveImage"]

logger = logging.getLogger("livescan.widgets")


class LiveImage(LiveWidget):
    """Show the frames of ``field`` as they arrive.

    Parameters
    ----------
    field:
        A 2-D array field (a camera's image), in the events or stored externally.
    cmap:
        Initial colour map (``'viridis'``, ``'gray'``, ``'magma'`` … or any matplotlib name).
    clim:
        Initial fixed contrast limits; by default they follow each frame's min and max.
    max_frames:
        How many of the newest frames are kept for the slider (memory bound).
    display_size:
        Frames are block-averaged to at most this many pixels a side before sending.
    handlers, root_map:
        Passed to :class:`livescan.documents.Filler` for externally stored frames.
    """

    def __init__(
        self,
        field: str,
        *,
        cmap: str = "viridis",
        clim: tuple[float, float] | None = None,
        max_frames: int = 64,
        display_size: int = 512,
        stream_name: str = "primary",
        handlers: Mapping[str, Any] | None = None,
        root_map: Mapping[str, str] | None = None,
        max_rate: float = 10.0,
    ) -> None:
        if not isinstance(field, str):
            raise TypeError(f"LiveImage field must be a field name (str), not {field!r}")
        store = FrameStore(field, max_frames, handlers=handlers, root_map=root_map)
        super().__init__(max_rate=max_rate)
        self.field = field
        self.stream_name = stream_name
        self.display_size = int(display_size)
        #: the frames kept, by seq_num
        self.store = store
        self._descriptors: set[str] = set()
        self._rendered: tuple | None = None
        self._updating = False
        self._expected: int | None = None
        self.error: str | None = None
        self._build(cmap, clim)

    # -- widget --------------------------------------------------------------------------
    def _build(self, cmap: str, clim: tuple[float, float] | None) -> None:
        options = list(COLORMAPS) if cmap in COLORMAPS else [cmap, *COLORMAPS]
        # The colour table now (it may import matplotlib, ~0.15-1 s), not in the run's first
        # flush: the throttle holds the next flush back 10x as long as one took, so a slow
        # first flush froze the picture at frame 1 or 2 for seconds of a live run.
        colormap_lut(cmap)
        # bqplot's Image mark redraws only when its ``image`` trait points to another
        # widget, never when that widget's ``value`` changes: every new picture is a new
        # ipywidgets.Image (its PNG travels in the comm_open) and the old one is closed.
        self._image_layout = ipywidgets.Layout()  # shared: no Layout model per frame
        self.image = ipywidgets.Image(format="png", value=b"", layout=self._image_layout)
        self.x_scale = bqplot.LinearScale(min=0, max=1)
        self.y_scale = bqplot.LinearScale(min=0, max=1, reverse=True)  # row 0 at the top
        self.image_mark = bqplot.Image(
            image=self.image,
            x=(0, 1),
            y=(1, 0),
            scales={"x": self.x_scale, "y": self.y_scale},
            interactions={"click": "select"},
        )
        self.image_mark.on_element_click(self._on_click)
        self.hline = bqplot.Lines(
            x=[0, 1], y=[0.5, 0.5], scales={"x": self.x_scale, "y": self.y_scale},
            colors=["#ff4040"], stroke_width=1, interactions={},
        )  # fmt: skip
        self.vline = bqplot.Lines(
            x=[0.5, 0.5], y=[0, 1], scales={"x": self.x_scale, "y": self.y_scale},
            colors=["#ff4040"], stroke_width=1, interactions={},
        )  # fmt: skip
        lo, hi = (0.0, 1.0) if clim is None else (float(clim[0]), float(clim[1]))
        # The colour bar: the limits and colour map the picture is painted with in the
        # kernel (no mark uses the scale; only the bar shows it). Few ticks: the bar is short.
        self.color_scale = bqplot.ColorScale(colors=bar_colors(cmap), min=lo, max=hi)
        self.image_figure = bqplot.Figure(
            marks=[self.image_mark, self.hline, self.vline],
            axes=[
                bqplot.Axis(scale=self.x_scale, label="column"),
                bqplot.Axis(scale=self.y_scale, label="row", side="left"),
                bqplot.ColorAxis(
                    scale=self.color_scale, side="right", num_ticks=4, tick_format=".4~g"
                ),
            ],
            title=self.field,
            padding_x=0,
            padding_y=0,
            fig_margin={"top": 40, "bottom": 40, "left": 50, "right": 104},
            layout=ipywidgets.Layout(width="514px", max_width="100%", height="420px", flex="none"),
        )
        self.row_profile, self.row_figure = _profile(
            ("column", "row profile"), reverse_y=False, width="420px", height="200px"
        )
        self.col_profile, self.col_figure = _profile(
            ("column profile", "row"), reverse_y=True, width="220px", height="420px", x_ticks=3
        )
        # min 1 from the start: raising min above the value later made the browser's
        # slider clamp and send value 1 back, which the kernel took for the user leaving
        # "follow newest" (the image froze at frame 2 of a live run)
        self.slider = ipywidgets.IntSlider(
            value=1, min=1, max=1, description="frame", disabled=True,
            layout=ipywidgets.Layout(width="420px"),
        )  # fmt: skip
        self.follow = ipywidgets.ToggleButton(
            value=True, description="Follow newest", icon="forward",
            tooltip="Show each new frame as it arrives",
        )  # fmt: skip
        self.cmap = ipywidgets.Dropdown(options=options, value=cmap, description="colour map")
        self.auto_clim = ipywidgets.Checkbox(value=clim is None, description="auto limits")
        self.clim = ipywidgets.FloatRangeSlider(
            value=(lo, hi), min=min(lo, 0.0), max=max(hi, 1.0), step=0.001 * (hi - lo or 1),
            description="limits", readout_format=".4g", continuous_update=False,
            layout=ipywidgets.Layout(width="420px"),
        )  # fmt: skip
        self.row = ipywidgets.IntSlider(value=0, min=0, max=0, description="row")
        self.col = ipywidgets.IntSlider(value=0, min=0, max=0, description="column")
        self.info = ipywidgets.HTML(value="<i>waiting for frames</i>")
        for w in (self.slider, self.follow, self.cmap, self.auto_clim, self.clim,
                  self.row, self.col):  # fmt: skip
            w.observe(self._on_control, names="value")
        self.widget = ipywidgets.VBox(
            [
                ipywidgets.HBox([self.slider, self.follow]),
                # figures keep their size (flex none: a narrow side panel squeezed the
                # frame and crowded its ticks); the column profile wraps below instead
                ipywidgets.HBox(
                    [self.image_figure, self.col_figure],
                    layout=ipywidgets.Layout(flex_flow="row wrap"),
                ),
                self.row_figure,
                ipywidgets.HBox([self.cmap, self.auto_clim]),
                self.clim,
                ipywidgets.HBox([self.row, self.col]),
                self.info,
            ]
        )
        self.widget.add_class("livescan-liveimage")

    def _on_control(self, change: dict[str, Any]) -> None:
        if self._updating:
            return
        owner = change["owner"]
        if owner is self.slider:
            self.follow.value = bool(self.frames) and self.slider.value >= self.frames[-1][0]
        elif owner is self.clim:
            self.auto_clim.value = False
        self._rendered = None
        self._throttle.poke()

    def _on_click(self, _mark: Any, content: dict[str, Any]) -> None:
        data = content.get("data", {})
        try:
            c, r = int(np.floor(data["click_x"])), int(np.floor(data["click_y"]))
        except (KeyError, TypeError, ValueError):
            return
        with self.widget.hold_sync():
            self.col.value = min(max(c, self.col.min), self.col.max)
            self.row.value = min(max(r, self.row.min), self.row.max)

    # -- documents -----------------------------------------------------------------------
    def start(self, doc: dict[str, Any]) -> None:
        self._throttle.flush_now()
        self.store.start(doc)
        self._rendered = None
        self._expected = doc.get("num_points")
        self.follow.value = True
        self._descriptors = set()
        self.image_figure.title = f"{self.field} · scan {doc.get('scan_id', '?')}"

    def descriptor(self, doc: dict[str, Any]) -> None:
        self.store("descriptor", doc)
        if not self._accept_descriptor(doc, [self.field]):
            return
        dk = doc["data_keys"][self.field]
        dims = frame_dims(dk.get("shape"))
        if dk.get("dtype") not in (None, "array") or (dims is not None and len(dims) != 2):
            msg = (
                f"LiveImage: field {self.field!r} is not a 2-D frame (dtype "
                f"{dk.get('dtype')!r}, shape {dk.get('shape')}); LiveImage shows 2-D "
                "images — use LivePlot for scalars or pick the camera's image field"
            )
            self._show_error(msg)
            raise ImageShapeError(msg)
        self._descriptors.add(doc["uid"])

    def _show_error(self, msg: str) -> None:
        self.info.value = f"<b style='color:#c00'>{html.escape(msg)}</b>"

    def resource(self, doc: dict[str, Any]) -> None:
        self.store("resource", doc)

    def datum(self, doc: dict[str, Any]) -> None:
        self.store("datum", doc)

    def stream_resource(self, doc: dict[str, Any]) -> None:
        self.store("stream_resource", doc)

    def stream_datum(self, doc: dict[str, Any]) -> None:
        """Frames a detector wrote to its own file: kept as row ids, read when shown."""
        key, rows = self.store.filler.add_stream_datum(doc)
        if key == self.field and doc["descriptor"] in self._descriptors:
            self.store.add_page([s for s, _ in rows], [r for _, r in rows], [False] * len(rows))
            self._throttle.poke()

    #: The lossy lane batches events into pages for us (one call per ~10 ms of scan);
    #: a single event (a replay, bluesky's RunEngine) arrives as a page of one.
    accepts_event_pages = True
    mutates_documents = False  # reads only: the lossy lane need not copy

    def event_page(self, doc: dict[str, Any]) -> None:
        """Many events at once: only the newest ``max_frames`` of them are kept."""
        if doc["descriptor"] not in self._descriptors:
            return
        try:
            values = doc["data"][self.field]
        except KeyError:
            return
        filled = (doc.get("filled") or {}).get(self.field)
        self.store.add_page(doc["seq_num"], values, filled)
        self._throttle.poke()

    def stop(self, doc: dict[str, Any]) -> None:
        self._throttle.flush_now()

    # -- frames --------------------------------------------------------------------------
    @property
    def frames(self) -> deque[tuple[int, Any]]:
        """``(seq_num, array or datum id)`` of the frames kept, oldest first."""
        return self.store.frames

    @property
    def filler(self) -> Filler:
        """The Filler that reads the kept file-backed frames."""
        return self.store.filler

    @property
    def seq_nums(self) -> list[int]:
        """The seq_nums of the frames kept (oldest first)."""
        return self.store.seq_nums

    def frame(self, seq_num: int | None = None) -> np.ndarray:
        """The full-resolution frame ``seq_num`` (newest by default), read if external."""
        return self.store.frame(seq_num)

    def draw_fallback(self, fig: Any, ax: Any) -> None:
        """Draw the newest frame on a matplotlib ``ax`` (the static fallback)."""
        draw_image(self, fig, ax)

    # -- browser side --------------------------------------------------------------------
    def _flush(self) -> None:
        # The slider's range changes rarely (it spans the run's num_points, or doubles);
        # a range change goes in its own message before the value: the browser's slider
        # re-sends a stale or clamped value when range and value change together.
        if not self.frames:
            return
        first, last = self.frames[0][0], self.frames[-1][0]
        self._updating = True
        try:
            top = self.slider.max
            if last > top or self.slider.disabled:
                top = max(last, self._expected or 0, 2 * top if last > top else top)
                with self.slider.hold_sync():
                    self.slider.disabled = False
                    self.slider.max = top
                    self.slider.min = 1
            if self.follow.value:
                self.slider.value = last
            self._render(min(max(self.slider.value, first), last))
        finally:
            self._updating = False

    def _render(self, seq: int) -> None:
        try:
            frame = self.frame(seq)
        except Exception as exc:  # a file not readable yet, a missing handler …
            self.error = f"frame {seq}: {exc}"
            self._show_error(self.error)
            return
        self.error = None
        h, w = frame.shape
        if self.row.max != h - 1 or self.col.max != w - 1:
            # range first, value in its own message (the browser clamps a value sent
            # together with a new range to the old one)
            self.row.max, self.col.max = h - 1, w - 1
            self.row.value, self.col.value = h // 2, w // 2
            for scale, n in ((self.x_scale, w), (self.y_scale, h)):
                with scale.hold_sync():
                    scale.min, scale.max = 0.0, float(n)
            with self.image_mark.hold_sync():
                # y runs downwards (row 0 at the top): the mark's y is (bottom, top) in
                # data units, so (h, 0) keeps the picture upright on the reversed scale
                self.image_mark.x, self.image_mark.y = (0.0, float(w)), (float(h), 0.0)
        small = downsample(frame, self.display_size)
        if self.auto_clim.value:
            finite = small[np.isfinite(small)]
            lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
            hi = hi if hi > lo else lo + 1.0
            if lo < self.clim.min or hi > self.clim.max:  # widen only: rare messages
                with self.clim.hold_sync():
                    self.clim.min, self.clim.max = min(self.clim.min, lo), max(self.clim.max, hi)
                    self.clim.step = (self.clim.max - self.clim.min) / 1000
            self.clim.value = (lo, hi)
        clim = tuple(self.clim.value)
        r, c = self.row.value, self.col.value
        key = (seq, clim, self.cmap.value, frame.shape)
        if key != self._rendered:
            self._color_bar(clim, self.cmap.value)
            png = encode_png(apply_colormap(small, clim, self.cmap.value))
            old, self.image = (
                self.image,
                ipywidgets.Image(value=png, format="png", layout=self._image_layout),
            )
            self.image_mark.image = self.image
            old.close()
            self._rendered = key
        row_y = np.asarray(frame[r, :], dtype=np.float64)
        col_x = np.asarray(frame[:, c], dtype=np.float64)
        ri, ci = minmax_indices(row_y, 2000), minmax_indices(col_x, 2000)
        with self.row_profile.hold_sync():
            self.row_profile.x, self.row_profile.y = ri + 0.5, row_y[ri]
        with self.col_profile.hold_sync():
            self.col_profile.x, self.col_profile.y = col_x[ci], ci + 0.5
        with self.hline.hold_sync():
            self.hline.x, self.hline.y = [0.0, float(w)], [r + 0.5, r + 0.5]
        with self.vline.hold_sync():
            self.vline.x, self.vline.y = [c + 0.5, c + 0.5], [0.0, float(h)]
        kept = len(self.frames)
        self.info.value = (
            f"frame <b>{seq}</b> of {self.frames[-1][0]} (keeping the last {kept}) · "
            f"{h}×{w} {frame.dtype} · crosshair row {r}, column {c} = {frame[r, c]!s}"
        )

    def _color_bar(self, clim: tuple[float, float], cmap: str) -> None:
        """The colour bar shows ``clim`` in ``cmap`` (only what changed is sent)."""
        scale = self.color_scale
        colors = bar_colors(cmap)
        lo, hi = float(clim[0]), float(clim[1])
        hi = hi if hi > lo else lo + 1.0
        if (scale.min, scale.max) != (lo, hi) or list(scale.colors) != colors:
            with scale.hold_sync():
                scale.min, scale.max = lo, hi
                if list(scale.colors) != colors:
                    scale.colors = colors


def _profile(
    labels: tuple[str, str],
    *,
    reverse_y: bool,
    width: str,
    height: str,
    x_ticks: int | None = None,
):
    """A small figure with one line: a cross section of the shown frame."""
    sx, sy = bqplot.LinearScale(), bqplot.LinearScale(reverse=reverse_y)
    line = bqplot.Lines(x=np.zeros(0), y=np.zeros(0), scales={"x": sx, "y": sy})
    fig = bqplot.Figure(
        marks=[line],
        axes=[
            bqplot.Axis(scale=sx, label=labels[0], num_ticks=x_ticks),
            bqplot.Axis(scale=sy, side="left", label=labels[1]),
        ],
        # 24 px on the right: room for the last x tick label ("1024" was cut off)
        fig_margin={"top": 10, "bottom": 40, "left": 60, "right": 24},
        layout=ipywidgets.Layout(width=width, height=height, flex="none"),
    )
    return line, fig
