"""LivePlot: a bqplot line per run, fed by events, decimated and throttled to the browser."""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import bqplot
import ipywidgets
import numpy as np

from livescan.widgets._base import LiveWidget, field_name
from livescan.widgets._buffer import Column
from livescan.widgets._decimate import MinMaxDecimator
from livescan.widgets._fallback import draw_plot
from livescan.widgets._throttle import DEFAULT_MAX_RATE

__all__ = ["LivePlot"]

logger = logging.getLogger("livescan.widgets")

#: Colours given to successive runs (Tableau 10) unless ``colors=`` is passed.
RUN_COLORS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip

_PSEUDO_FIELDS = ("seq_num", "time")
#: limits of an autoscaled axis before it has two distinct values (see ``_flush``)
_UNIT = {"min": 0.0, "max": 1.0}
#: a run's line joins the figure once its axes need no padding, or this long after its
#: first points at the latest (see ``_join``)
_JOIN_AFTER_S = 0.5
#: a figure's ``marks`` (``axes``) go out again this long after their last change (see
#: ``_Resend``)
_RESEND_AFTER_S = 1.0


@dataclass
class _Run:
    uid: str
    label: str
    mark: bqplot.Lines
    start_time: float
    x: Column = field(default_factory=Column)
    y: Column = field(default_factory=Column)
    decimator: MinMaxDecimator = field(default_factory=MinMaxDecimator)
    sent: int = 0  # points the browser has (before decimation)
    joined: bool = False  # the mark is in the figure's marks
    first_sent: float | None = None  # monotonic time of the first points sent
    began: float = field(default_factory=time.monotonic)  # monotonic time of the start


class _Resend:
    """Sends one figure's ``marks`` (or ``axes``) again after they changed, so that every
    display of the figure ends up with every mark (axis).

    bqplot's Figure view (0.13) reads ``axes`` and ``marks``, builds a view per axis and
    per mark, and only then starts listening to ``change:axes`` and ``change:marks``: a
    mark that joins while a display of the figure is being built (a second display of a
    reused figure, a figure shared by several LivePlots, the dashboard's kept figures
    placed again or shown in the side panel and a cell at once) is missing from that
    display for good, and so is an axis (the axes a LivePlot adds to a figure it is
    given, which may be on screen). The kernel cannot know when a display has finished
    building, so after every change the list goes out again, without and then with its
    last item (two small messages; each display's change handler then builds what it
    lacks and drops what it should not have): ``_RESEND_AFTER_S`` after the last change
    (debounced, on the running loop: mid-run), and once more when a run that changed
    them ends (for ``before_runs``: the first run to end after the change), unless that
    resend is still to come. Without a running loop only the end-of-run resend happens.
    """

    def __init__(self, figure: bqplot.Figure, trait: str, *, before_runs: bool = False) -> None:
        self._figure = weakref.ref(figure)
        self.trait = trait
        #: a change made before a run began is resent at its end too (not only a change
        #: made during the run)
        self.before_runs = before_runs
        self._timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None
        self.changed_at = -float("inf")  # monotonic time of the last change
        self._resent_at_end = True  # the end-of-run resend of the last change went out
        #: resends sent so far
        self.resends = 0

    def changed(self) -> None:
        """The figure's list just changed: resend it ``_RESEND_AFTER_S`` from now."""
        self.changed_at = time.monotonic()
        self._resent_at_end = False
        self._cancel()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._timer_loop = loop
        self._timer = loop.call_later(_RESEND_AFTER_S, self._fire)

    def run_ended(self, began: float) -> None:
        """A run that began at ``began`` (monotonic) ended: resend now if it changed the
        list (or ``before_runs``), unless the debounced resend is still to come or this
        change was resent at an end already (several LivePlots of one figure end together)."""
        if self._pending() or self._resent_at_end:
            return
        if self.changed_at < began and not self.before_runs:
            return
        self._resent_at_end = True
        self.resend()

    def _pending(self) -> bool:
        """A debounced resend will still fire (its loop is the running one)."""
        if self._timer is None:
            return False
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        return self._timer_loop is running

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._timer_loop = None

    def _fire(self) -> None:
        self._timer = self._timer_loop = None
        try:
            self.resend()
        except Exception:  # a timer callback must not raise into the loop
            logger.exception("sending a figure's %s again failed", self.trait)

    def resend(self) -> None:
        """Send the list again: without its last item, then with it."""
        figure = self._figure()
        if figure is None or figure.comm is None:  # gone or closed
            return
        items = list(getattr(figure, self.trait))
        if not items:
            return
        setattr(figure, self.trait, items[:-1])
        setattr(figure, self.trait, items)
        self.resends += 1


#: the resends of each figure's marks, and of the axes of figures a LivePlot added to
_RESENDS: weakref.WeakKeyDictionary[Any, _Resend] = weakref.WeakKeyDictionary()
_AXES_RESENDS: weakref.WeakKeyDictionary[Any, _Resend] = weakref.WeakKeyDictionary()


def _resends(figure: bqplot.Figure) -> _Resend:
    """The one marks :class:`_Resend` of ``figure`` (shared by every LivePlot drawing in it)."""
    resend = _RESENDS.get(figure)
    if resend is None:
        resend = _RESENDS[figure] = _Resend(figure, "marks")
    return resend


def _axes_changed(figure: bqplot.Figure) -> None:
    """A LivePlot just added axes to ``figure`` (which may be on screen): send them again."""
    resend = _AXES_RESENDS.get(figure)
    if resend is None:
        resend = _AXES_RESENDS[figure] = _Resend(figure, "axes", before_runs=True)
    resend.changed()


def _run_ended(figure: bqplot.Figure, began: float) -> None:
    """A run of a LivePlot drawing into ``figure`` ended: the end-of-run resends."""
    _resends(figure).run_ended(began)
    axes = _AXES_RESENDS.get(figure)
    if axes is not None:
        axes.run_ended(began)


class LivePlot(LiveWidget):
    """Plot ``y`` against ``x`` live, one line per run on the same bqplot figure.

    Parameters
    ----------
    y:
        Field to plot on the vertical axis, or a device (its hinted field).
    x:
        Field (or device) on the horizontal axis; ``None`` means ``seq_num``; ``'time'``
        is seconds since the run started.
    legend_keys:
        Start-document keys whose values follow the scan id in the legend
        (``"3: Si 300"``); by default the legend reads ``"3: y"``.
    xlim, ylim:
        Fixed ``(min, max)`` limits; otherwise the axes autoscale.
    fig:
        A ``bqplot.Figure`` (or another LivePlot) to draw into, sharing its scales.
    stream_name:
        Only events of this stream are plotted.
    max_points:
        Points per line sent to the browser; longer lines are min/max decimated.
    max_rate:
        Browser updates per second at most.
    **kwargs:
        Passed to ``bqplot.Lines`` (``colors``, ``marker``, ``line_style``, ``stroke_width`` …).
    """

    figure: bqplot.Figure  # the figure drawn into (bqplot ships no types: Any to mypy)

    def __init__(
        self,
        y: Any,
        x: Any = None,
        *,
        legend_keys: Sequence[str] | None = None,
        xlim: tuple[float, float] | None = None,
        ylim: tuple[float, float] | None = None,
        fig: bqplot.Figure | LivePlot | None = None,
        stream_name: str = "primary",
        max_points: int = 2000,
        max_rate: float = DEFAULT_MAX_RATE,
        **kwargs: Any,
    ) -> None:
        y = field_name(y, "LivePlot y")
        x = field_name(x, "LivePlot x", optional=True)
        super().__init__(max_rate=max_rate)
        self.y = y
        self.x = x or "seq_num"
        self.legend_keys = list(legend_keys or [])
        self.stream_name = stream_name
        self.max_points = int(max_points)
        MinMaxDecimator(self.max_points)  # validates max_points early
        self.line_kwargs = kwargs
        self.runs: list[_Run] = []
        self._current: _Run | None = None
        self._descriptors: set[str] = set()

        if isinstance(fig, LivePlot):
            fig = fig.figure
        if fig is not None and not isinstance(fig, bqplot.Figure):
            raise TypeError(f"fig must be a bqplot.Figure or a LivePlot, not {type(fig).__name__}")
        xs = ys = None
        if fig is not None:
            for ax in fig.axes:
                if ax.orientation == "vertical" and ys is None:
                    ys = ax.scale
                elif ax.orientation != "vertical" and xs is None:
                    xs = ax.scale
        new_axes = []
        if xs is None:
            xs = bqplot.LinearScale(**(_limits(xlim, "xlim") or _UNIT))
            # at most 4 significant digits, no exponent (a count's times read 0.03148,
            # not 3.148e-2), and fewer ticks than d3's default on a narrow figure
            new_axes.append(bqplot.Axis(scale=xs, label=self.x, grid_lines="dashed",
                                        tick_format=".4~r", num_ticks=6))  # fmt: skip
        if ys is None:
            ys = bqplot.LinearScale(**(_limits(ylim, "ylim") or _UNIT))
            new_axes.append(bqplot.Axis(scale=ys, label=self.y, side="left", grid_lines="dashed",
                                        label_offset="48px"))  # fmt: skip
        self.x_scale, self.y_scale = xs, ys
        # scales this plot made without limits: it keeps them from collapsing to a point
        self._auto_scales = [
            s
            for s, lim in ((xs, xlim), (ys, ylim))
            if lim is None and any(a.scale is s for a in new_axes)
        ]
        if fig is None:
            fig = bqplot.Figure(
                marks=[],
                axes=new_axes,
                title=f"{self.y} vs {self.x}",
                legend_location="top-right",
                fig_margin={"top": 50, "bottom": 50, "left": 66, "right": 20},
                layout=ipywidgets.Layout(width="100%", min_width="360px", height="340px"),
            )
        elif new_axes:  # a figure given, maybe on screen: the axes go out again later
            fig.axes = [*fig.axes, *new_axes]
            _axes_changed(fig)
        self.figure = fig
        #: the first run's line, made with the plot (not while the run holds the loop:
        #: a mark opened in a kernel costs ~1 ms of a short run); it joins the figure
        #: with its first points, as every run's line (``_join``)
        self._spare: bqplot.Lines | None = self._new_mark(self.y)

    @property
    def widget(self) -> bqplot.Figure:
        """The bqplot figure to display."""
        return self.figure

    # -- data access -------------------------------------------------------------------
    @property
    def data(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Every point received, as ``(x, y)`` arrays per run (oldest run first)."""
        return [(r.x.view().copy(), r.y.view().copy()) for r in self.runs]

    def draw_fallback(self, fig: Any, ax: Any) -> None:
        """Draw every run's line on a matplotlib ``ax`` (the static fallback)."""
        draw_plot(self, fig, ax)

    # -- documents ---------------------------------------------------------------------
    def start(self, doc: dict[str, Any]) -> None:
        self._descriptors = set()
        scan_id = doc.get("scan_id", "?")
        if self.legend_keys:
            label = f"{scan_id}: " + " ".join(str(doc.get(k, "")) for k in self.legend_keys)
        else:
            label = f"{scan_id}: {self.y}"
        mark, self._spare = self._spare, None
        if mark is None:
            mark = self._new_mark(label)
        else:  # made with the plot (see __init__): only its legend is new
            mark.labels = [label]
        run = _Run(
            uid=doc["uid"],
            label=label,
            mark=mark,
            start_time=float(doc.get("time", 0.0)),
            decimator=MinMaxDecimator(self.max_points),
        )
        self.runs.append(run)
        self._current = run  # the mark joins the figure with its first points (_join)

    def _new_mark(self, label: str) -> bqplot.Lines:
        """The empty line of the next run (its colour the next of ``RUN_COLORS``)."""
        kwargs = dict(self.line_kwargs)
        kwargs.setdefault("colors", [RUN_COLORS[len(self.runs) % len(RUN_COLORS)]])
        return bqplot.Lines(
            x=np.zeros(0),
            y=np.zeros(0),
            scales={"x": self.x_scale, "y": self.y_scale},
            labels=[label],
            display_legend=True,
            **kwargs,
        )

    _pseudo_fields = _PSEUDO_FIELDS

    def descriptor(self, doc: dict[str, Any]) -> None:
        if self._accept_descriptor(doc, [self.y, self.x]):
            self._descriptors.add(doc["uid"])

    def _show_error(self, msg: str) -> None:
        self.figure.title = msg

    #: The lossy lane batches events into pages for us (one call per ~10 ms of scan).
    accepts_event_pages = True
    mutates_documents = False  # reads only: the lossy lane need not copy

    def event(self, doc: dict[str, Any]) -> None:
        xy = self._xy(doc)
        if xy is not None:
            run, xv, yv = xy
            run.x.append(xv)
            run.y.append(yv)
            self._throttle.poke()

    def event_page(self, doc: dict[str, Any]) -> None:
        """Many events at once: whole columns appended (column-wise event_page)."""
        xy = self._xy(doc)
        if xy is not None:
            run, xv, yv = xy
            run.x.extend(np.array(xv, dtype=np.float64))
            run.y.extend(np.array(yv, dtype=np.float64))
            self._throttle.poke()

    def _xy(self, doc: dict[str, Any]) -> tuple[_Run, Any, Any] | None:
        """The current run and the x and y of an event (values) or a page (columns)."""
        run = self._current
        if run is None or doc["descriptor"] not in self._descriptors:
            return None
        data = doc["data"]
        try:
            yv = data[self.y]
            if self.x == "seq_num" and "seq_num" not in data:
                xv = doc["seq_num"]
            elif self.x == "time" and "time" not in data:
                xv = np.subtract(doc["time"], run.start_time)
            else:
                xv = data[self.x]
        except KeyError:
            return None
        return run, xv, yv

    def stop(self, doc: dict[str, Any]) -> None:
        self._throttle.flush_now()
        run = self._current
        if run is not None:
            self._join(run)  # a run without points still shows in the legend
            _run_ended(self.figure, run.began)
            if run.y.n == 0:
                logger.warning(
                    "LivePlot(%r, %r) got no data in run %s", self.y, self.x, run.uid[:8]
                )
        self._current = None

    def _join(self, run: _Run) -> None:
        """Put ``run``'s line into the figure (once), after every scale change it needed.

        bqplot's Lines view listens to its scales before it has drawn once; a scale
        change (``min``/``max``) reaching the page in that gap throws in the page ("Error
        setting state: Cannot read properties of undefined (reading 'x')"). The page
        builds that view when the figure's ``marks`` change, so a line joins the figure
        only after the limits its points need went out, and only once those limits are
        settled (no padding left to undo) or ``_JOIN_AFTER_S`` after its first points (a
        constant reading stays padded): no limit change follows the join within a run
        except that late return from padding. A line of one point draws nothing yet.
        """
        if not run.joined:
            run.joined = True
            self.set_marks([*self.figure.marks, run.mark])

    def set_marks(self, marks: Iterable[Any]) -> None:
        """Make ``marks`` the figure's marks, and send them again a little later.

        Every change of the marks of a LivePlot's figure goes through here (its lines,
        the dashboard's centre marker): a display of the figure being built when they
        change misses the change (see ``_Resend``), so they go out again after it.
        """
        self.figure.marks = list(marks)
        _resends(self.figure).changed()

    # -- browser side ------------------------------------------------------------------
    def _flush(self) -> None:
        run = self._current or (self.runs[-1] if self.runs else None)
        if run is None or run.sent == run.y.n:
            return
        x, y = run.x.view(), run.y.view()
        idx = run.decimator.indices(y)
        new_x, new_y = x[idx], y[idx]
        # The browser must never autoscale to a collapsed domain (one point, or equal
        # values): bqplot's axis then builds the tick format ".undefinedg", throws, and the
        # figure stays blank. So padded limits go out before the points that need them,
        # and a return to autoscaling only after the points that span a range.
        limits = {
            scale: _open_limits(
                [new_x if scale is self.x_scale else new_y]
                + [
                    r.mark.x if scale is self.x_scale else r.mark.y
                    for r in self.runs
                    if r is not run
                ]
            )
            for scale in self._auto_scales
        }
        for scale, lim in limits.items():
            if lim is not None:
                _set_limits(scale, lim)
        with run.mark.hold_sync():
            run.mark.x = new_x
            run.mark.y = new_y
        for scale, lim in limits.items():
            if lim is None:
                _set_limits(scale, lim)
        run.sent = run.y.n
        now = time.monotonic()
        if run.first_sent is None:
            run.first_sent = now
        settled = all(lim is None for lim in limits.values())
        if settled or now - run.first_sent >= _JOIN_AFTER_S:
            self._join(run)

    def shown(self, run: int = -1) -> tuple[np.ndarray, np.ndarray]:
        """What the browser was last sent for one run: ``(x, y)`` after decimation."""
        mark = self.runs[run].mark
        return np.asarray(mark.x), np.asarray(mark.y)


def _limits(lim: tuple[float, float] | None, name: str) -> dict[str, float]:
    if lim is None:
        return {}
    try:
        lo, hi = (float(v) for v in lim)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be (min, max), not {lim!r}") from None
    if not lo < hi:
        raise ValueError(f"{name} must have min < max, not {lim!r}")
    return {"min": lo, "max": hi}


def _open_limits(arrays: list[Any]) -> tuple[float, float] | None:
    """Padded ``(min, max)`` where all shown values are equal (a constant reading, a single
    point) or there are none yet; None (autoscale) where they span a range."""
    finite = [a[np.isfinite(a)] for a in (np.asarray(v, dtype=float) for v in arrays) if a.size]
    finite = [a for a in finite if a.size]
    if not finite:
        return (0.0, 1.0)
    lo = min(float(a.min()) for a in finite)
    hi = max(float(a.max()) for a in finite)
    if hi - lo > 1e-12 * max(1.0, abs(hi)):
        return None
    pad = max(abs(hi) * 0.05, 1e-3)
    return (lo - pad, hi + pad)


def _set_limits(scale: bqplot.LinearScale, lim: tuple[float, float] | None) -> None:
    lo, hi = (None, None) if lim is None else lim
    if scale.min != lo or scale.max != hi:
        with scale.hold_sync():
            scale.min, scale.max = lo, hi
