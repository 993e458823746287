"""Dashboard: a best-effort live view that picks its widgets from each run's hints.

What it shows for a run (as bluesky's BestEffortCallback decides, and then some):

- a header: scan id, plan, uid, start time, detectors and motors, and at the end the exit
  status and the number of events per stream;
- the run-status widget of the current run (Pause / Resume / Stop / Abort) when it knows
  the engine (``Dashboard(RE=RE)`` or :meth:`Dashboard.attach`);
- a grid table of the dimension fields and the hinted fields;
- 1-D scans: a :class:`~livescan.widgets.LivePlot` per dependent numeric field against the
  dimension, with peak statistics (com, cen, max, min, fwhm) computed at the stop and the
  centre marked on the plot; 2-D rectilinear grids: a :class:`~livescan.widgets.LiveRaster`
  per field; 2-D frames: a :class:`~livescan.widgets.LiveImage` per field;
- the baseline readings (start, end, change);
- with ``store=``, a list of past runs; choosing one replays it into the views.

The dashboard is one ipywidget that persists across runs: new runs overplot the lines of
earlier runs with the same axes, or replace them (``overplot=False``, or the toggle).
"""

from __future__ import annotations

import html
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import ipywidgets

from livescan.callbacks import CallbackBase, LiveTable
from livescan.documents import unpack_event_page
from livescan.jupyter._peaks import Peaks, peak_stats
from livescan.jupyter._status import RunStatus
from livescan.widgets import DEFAULT_MAX_RATE, LiveImage, LivePlot, LiveRaster

__all__ = ["Dashboard", "Peaks", "peak_stats"]

logger = logging.getLogger("livescan.jupyter")

_SCALAR = ("number", "integer")
_LIVE = object()  # the "live" entry of the past-runs list


def _dimensions(start: dict[str, Any]) -> tuple[list[list[str]], str, str]:
    """``(dimension field lists, stream, where they came from)`` of a start document.

    ``hints.dimensions`` first, else one dimension per motor, else ``time``. All
    dimensions must share one stream; if they do not, the first one's stream wins.
    """
    hinted = (start.get("hints") or {}).get("dimensions")
    if hinted:
        dims, streams = [], []
        for entry in hinted:
            fields, stream = entry
            dims.append([str(f) for f in fields])
            streams.append(stream)
        return dims, streams[0], "hints"
    motors = start.get("motors")
    if motors:
        return [[str(m)] for m in motors], "primary", "motors"
    return [["time"]], "primary", "time"


def _frame_dims(shape: Any) -> list[int]:
    dims = [int(s) for s in (shape or [])]
    while len(dims) > 2 and dims[0] == 1:
        dims = dims[1:]
    return dims


def _dependent_fields(descriptor: dict[str, Any], dims: Iterable[str]) -> list[str]:
    """Hinted fields of the descriptor (else every object key), without the dimensions."""
    keys = descriptor.get("data_keys", {})
    fields: list[str] = []
    for hint in (descriptor.get("hints") or {}).values():
        fields.extend(hint.get("fields", []) if isinstance(hint, dict) else [])
    if not fields:
        for object_fields in (descriptor.get("object_keys") or {}).values():
            fields.extend(object_fields)
    if not fields:
        fields = list(keys)
    skip = set(dims)
    return [f for f in dict.fromkeys(fields) if f in keys and f not in skip]


def _close_tree(widget: Any, seen: set[int] | None = None) -> None:
    """Close an ipywidget and every widget it holds (marks, scales, children …)."""
    seen = set() if seen is None else seen
    if not isinstance(widget, ipywidgets.Widget) or id(widget) in seen:
        return
    seen.add(id(widget))
    for name in list(widget.keys):
        value = getattr(widget, name, None)
        if isinstance(value, dict):
            items: Iterable[Any] = value.values()
        elif isinstance(value, list | tuple):
            items = value
        else:
            items = (value,)
        for item in items:
            if isinstance(item, ipywidgets.Widget):
                _close_tree(item, seen)
    widget.close()


class Dashboard(CallbackBase):
    """One live view for every run, chosen from the run's hints.

    Parameters
    ----------
    RE:
        A RunEngine: the dashboard subscribes itself (lossy) and shows the run-status
        controls of each run. Without it, subscribe with ``RE.subscribe(dash)`` (views
        only; :meth:`attach` adds the controls later).
    store:
        A :class:`livescan.store.RunStore`: past runs are listed; choosing one replays it.
    overplot:
        New runs add a line to the plots of earlier runs with the same axes (True), or
        replace them (False). The toggle in the dashboard changes it too.
    max_rate:
        Browser updates per second per view at most.
    recent:
        How many past runs the list shows.
    """

    accepts_event_pages = True

    def __init__(
        self,
        *,
        RE: Any = None,
        store: Any = None,
        overplot: bool = True,
        max_rate: float = DEFAULT_MAX_RATE,
        recent: int = 20,
    ) -> None:
        self.store = store
        self.max_rate = float(max_rate)
        self.recent = int(recent)
        #: peak statistics of the last 1-D run, by dependent field
        self.peaks: dict[str, Peaks] = {}
        #: baseline readings of the last run: field -> [reading at start, at end]
        self.baseline: dict[str, list[Any]] = {}
        #: problems met while choosing or feeding views (also shown in the dashboard)
        self.notes: list[str] = []
        self.plots: dict[str, LivePlot] = {}
        self.rasters: dict[str, LiveRaster] = {}
        self.images: dict[str, LiveImage] = {}
        self.table: LiveTable | None = None
        self.status: RunStatus | None = None
        self.sidecar: Any = None
        self.replaying: Any = None  # the stored run being replayed, if any
        self._engine: Any = None
        self._token: int | None = None
        self._cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._children: list[Callable[[str, dict[str, Any]], Any]] = []
        self._image_children: list[LiveImage] = []
        self._markers: dict[str, list[Any]] = {}
        self._reset_run()
        self._build(overplot)
        if store is not None:
            self.refresh_runs()
        if RE is not None:
            self.attach(RE)

    # -- the widget ----------------------------------------------------------------------
    def _build(self, overplot: bool) -> None:
        W = ipywidgets
        self.header = W.HTML("<i>waiting for a run</i>")
        self.header.add_class("livescan-dashboard-header")
        self.status_box = W.Box(layout=W.Layout(width="100%"))
        self.mode = W.ToggleButtons(
            options=[("Overplot", True), ("Replace", False)],
            value=bool(overplot),
            tooltips=["New runs add lines to the plots", "New runs replace the plots"],
            style={"button_width": "80px"},
        )
        self.run_list = W.Dropdown(
            options=[("live", _LIVE)],
            value=_LIVE,
            description="Past runs",
            layout=W.Layout(width="auto", min_width="260px", flex="1 1 auto"),
            disabled=self.store is None,
        )
        self.run_list.add_class("livescan-dashboard-runs")
        self.run_list.observe(self._on_pick, names="value")
        self.clear_button = W.Button(description="Clear", icon="trash",
                                     tooltip="Remove every view and line",
                                     layout=W.Layout(width="80px"))  # fmt: skip
        self.clear_button.on_click(lambda _b: self.clear())
        controls = W.HBox(
            [self.mode, self.run_list, self.clear_button],
            layout=W.Layout(flex_flow="row wrap", align_items="center"),
        )
        self.plots_box = W.Box(layout=W.Layout(display="flex", flex_flow="row wrap", width="100%"))
        self.plots_box.add_class("livescan-dashboard-plots")
        self.peaks_html = W.HTML()
        self.peaks_html.add_class("livescan-dashboard-peaks")
        self.images_box = W.VBox(layout=W.Layout(width="100%"))
        self.table_box = W.Box(layout=W.Layout(width="100%"))
        self.baseline_html = W.HTML()
        self.baseline_html.add_class("livescan-dashboard-baseline")
        self.notes_html = W.HTML()
        self.widget = W.VBox(
            [
                self.header,
                self.status_box,
                controls,
                self.plots_box,
                self.peaks_html,
                self.images_box,
                self.table_box,
                self.baseline_html,
                self.notes_html,
            ],
            layout=W.Layout(width="100%", padding="4px"),
        )
        self.widget.add_class("livescan-dashboard")

    @property
    def overplot(self) -> bool:
        """True: new runs add lines to matching plots; False: they replace the plots."""
        return bool(self.mode.value)

    @overplot.setter
    def overplot(self, value: bool) -> None:
        self.mode.value = bool(value)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # -- engine and side panel -----------------------------------------------------------
    def attach(self, RE: Any, *, subscribe: bool = True) -> Dashboard:
        """Show the run-status controls of ``RE``'s runs; subscribe (lossy) unless told not."""
        if self._engine is not None:
            self.detach()
        self._engine = RE
        RE.add_listener(self._on_run_change)
        if subscribe:
            self._token = RE.subscribe(self)
        return self

    def detach(self) -> None:
        """Undo :meth:`attach`: no more documents or status from the engine."""
        if self._engine is None:
            return
        try:
            self._engine.remove_listener(self._on_run_change)
        except ValueError:
            pass
        if self._token is not None:
            self._engine.unsubscribe(self._token)
        self._engine, self._token = None, None

    def _on_run_change(self, handle: Any) -> None:
        if self.status is not None and self.status.handle is handle:
            return
        if handle.done() or handle.state == "queued":
            return
        self.show_status(handle)

    def show_status(self, handle: Any) -> RunStatus:
        """Show ``handle``'s run-status widget (Pause / Resume / Stop / Abort) on top."""
        old = self.status
        self.status = RunStatus(handle)
        self.status_box.children = (self.status.widget,)
        if old is not None:
            _close_tree(old.widget)
        return self.status

    def open_sidecar(self, title: str = "livescan", anchor: str = "split-right") -> Any:
        """Show the dashboard in a JupyterLab side panel (sidecar); returns the Sidecar.

        ``anchor='split-right'`` (default) gives the plots half the main area; ``'right'``
        is the narrow right sidebar. A second call replaces the first panel.
        """
        from sidecar import Sidecar

        if self.sidecar is not None:
            self.sidecar.close()
        panel = Sidecar(title=title, anchor=anchor)
        data = self.widget._repr_mimebundle_()
        panel.outputs = ({"output_type": "display_data", "data": data, "metadata": {}},)
        self.sidecar = panel
        return panel

    @classmethod
    def in_sidecar(
        cls, *, title: str = "livescan", anchor: str = "split-right", **kwargs: Any
    ) -> Dashboard:
        """Make a dashboard (``**kwargs`` as for the constructor) and open its side panel."""
        dash = cls(**kwargs)
        dash.open_sidecar(title=title, anchor=anchor)
        return dash

    # -- documents -----------------------------------------------------------------------
    def _reset_run(self) -> None:
        self._start: dict[str, Any] | None = None
        self._from_store = False
        self._stop: dict[str, Any] | None = None
        self._streams: dict[str, str] = {}  # descriptor uid -> stream name
        self._dims: list[list[str]] = []
        self._dim_stream = "primary"
        self._pending: list[tuple[str, dict[str, Any]]] = []  # resource/datum before views
        self._built = False
        self._baseline_desc: dict[str, Any] = {}
        self._x: str | None = None
        self._precision: dict[str, Any] = {}
        self._children = []
        self._image_children = []

    def start(self, doc: dict[str, Any]) -> None:
        if self._start is not None and self._stop is None:
            self._note(f"run {str(self._start.get('uid'))[:8]} ended without a stop document")
        self._reset_run()
        self._start = doc
        self._from_store = self.replaying is not None
        self.notes = []
        self.peaks = {}
        self.baseline = {}
        self.peaks_html.value = ""
        self.baseline_html.value = ""
        self.notes_html.value = ""
        self._dims, self._dim_stream, source = _dimensions(doc)
        if source != "hints":
            self._note(f"no hints.dimensions in the start document: using {source}")
        if self.replaying is None and self.store is not None:
            self._select_live()
        self._render_header()

    def descriptor(self, doc: dict[str, Any]) -> None:
        name = doc.get("name", "primary")
        self._streams[doc["uid"]] = name
        if name == self._dim_stream:
            if not self._built:
                self._choose_views(doc)
            self._feed("descriptor", doc)
        elif name == "baseline":
            self._baseline_desc = doc
        self._render_header()

    def resource(self, doc: dict[str, Any]) -> None:
        self._external("resource", doc)

    def datum(self, doc: dict[str, Any]) -> None:
        self._external("datum", doc)

    def datum_page(self, doc: dict[str, Any]) -> None:
        self._external("datum_page", doc)

    def _external(self, name: str, doc: dict[str, Any]) -> None:
        if not self._built:
            self._pending.append((name, doc))
            return
        for child in self._image_children:
            self._call(child, name, doc)

    def event(self, doc: dict[str, Any]) -> None:
        stream = self._streams.get(doc["descriptor"])
        if stream == self._dim_stream:
            self._feed("event", doc)
        elif stream == "baseline":
            self._baseline_event(doc)

    def event_page(self, doc: dict[str, Any]) -> None:
        stream = self._streams.get(doc["descriptor"])
        if stream == self._dim_stream:
            self._feed("event_page", doc)
        elif stream == "baseline":
            for event in unpack_event_page(doc):
                self._baseline_event(event)

    def stop(self, doc: dict[str, Any]) -> None:
        if self._start is None or doc.get("run_start") != self._start.get("uid"):
            return
        self._stop = doc
        self._feed("stop", doc)
        for step in (self._compute_peaks, self._render_baseline):
            try:
                step()
            except Exception as exc:  # the header and the run list still get updated
                logger.exception("dashboard: %s failed", step.__name__)
                self._note(f"{step.__name__.strip('_')} failed: {type(exc).__name__}: {exc}")
        self._render_header()
        if self.store is not None and self.replaying is None:
            self.refresh_runs()

    def _feed(self, name: str, doc: dict[str, Any]) -> None:
        for child in self._children:
            self._call(child, name, doc)

    def _call(self, child: Callable[[str, dict[str, Any]], Any], name: str, doc: Any) -> None:
        try:
            child(name, doc)
        except Exception as exc:  # one view failing must not starve the others
            logger.warning("dashboard view %r failed on %s: %s", child, name, exc)
            self._note(f"{type(child).__name__} failed on {name}: {type(exc).__name__}: {exc}")

    def _note(self, text: str) -> None:
        if text in self.notes:
            return
        self.notes.append(text)
        items = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes[-8:])
        self.notes_html.value = f"<ul style='margin:2px 0;color:#9a6700'>{items}</ul>"

    # -- choosing views ------------------------------------------------------------------
    def _choose_views(self, descriptor: dict[str, Any]) -> None:
        start = self._start or {}
        keys = descriptor.get("data_keys", {})
        dim_fields = [f for dim in self._dims for f in dim]
        missing = [f for f in dim_fields if f != "time" and f not in keys]
        if missing:
            self._note(f"dimension field(s) {missing} are not in the {self._dim_stream!r} stream")
        deps = _dependent_fields(descriptor, dim_fields)
        scalars = [f for f in deps if keys[f].get("dtype") in _SCALAR and not keys[f].get("shape")]
        frames = [
            f
            for f in deps
            if keys[f].get("dtype") == "array" and len(_frame_dims(keys[f].get("shape"))) == 2
        ]
        other = [f for f in deps if f not in scalars and f not in frames]
        for f in other:
            if keys[f].get("dtype") == "array":
                self._note(f"{f!r} has shape {keys[f].get('shape')}: not shown")

        used: list[tuple[Any, ...]] = []
        plots: dict[str, LivePlot] = {}
        rasters: dict[str, LiveRaster] = {}
        images: dict[str, LiveImage] = {}
        ndim = len(self._dims)
        self._x = None
        if scalars and start.get("num_points") == 1:
            self._note("a single point: shown in the table only")
        elif scalars and ndim == 1:
            x: str | None = self._dims[0][0]
            if x != "time" and x not in keys:
                x = None  # noted above; plot against seq_num
            self._x = x
            self._precision = {k: v.get("precision", 4) for k, v in keys.items()}
            for y in scalars:
                plots[y] = self._view(
                    ("plot", y, x or "seq_num"), lambda y=y, x=x: self._new_plot(y, x), used
                )
        elif scalars and ndim == 2 and self._gridded(start):
            shape = [int(v) for v in start["shape"]]
            extent = self._extent(start)
            ylabel, xlabel = self._dims[0][0], self._dims[1][0]
            for f in scalars:
                key = ("raster", f, tuple(shape), extent, xlabel, ylabel)
                rasters[f] = self._view(
                    key,
                    lambda f=f, shape=shape, extent=extent, xl=xlabel, yl=ylabel: LiveRaster(
                        shape,
                        f,
                        extent=extent,
                        xlabel=xl,
                        ylabel=yl,
                        stream_name=self._dim_stream,
                        max_rate=self.max_rate,
                    ),
                    used,
                )
        elif scalars:
            why = "not a rectilinear grid" if ndim == 2 else f"{ndim} dimensions"
            self._note(f"{why}: plotted against seq_num")
            for y in scalars:
                plots[y] = self._view(
                    ("plot", y, "seq_num"), lambda y=y: self._new_plot(y, None), used
                )
        for f in frames:
            images[f] = self._view(
                ("image", f),
                lambda f=f: LiveImage(
                    f, stream_name=self._dim_stream, max_rate=min(self.max_rate, 10.0)
                ),
                used,
            )
        table_fields = [f for f in dim_fields if f in keys] + [
            f for f in deps if f not in frames and keys[f].get("dtype") != "array"
        ]
        table_fields = list(dict.fromkeys(table_fields))
        table = None
        if table_fields:
            table = self._view(
                ("table", tuple(table_fields), self._dim_stream),
                lambda: LiveTable(
                    table_fields, view="grid", stream_name=self._dim_stream, out=_discard
                ),
                used,
            )
        self._evict(used)

        self.plots, self.rasters, self.images, self.table = plots, rasters, images, table
        self._children = [*plots.values(), *rasters.values(), *images.values()]
        if table is not None:
            self._children.append(table)
        self._image_children = list(images.values())
        self.plots_box.children = tuple(
            ipywidgets.Box(
                [v.widget], layout=ipywidgets.Layout(flex="1 1 420px", min_width="320px")
            )
            for v in [*plots.values(), *rasters.values()]
        )
        self.images_box.children = tuple(v.widget for v in images.values())
        view = getattr(table, "view", None)
        self.table_box.children = (view.widget,) if view is not None else ()
        self._built = True

        for child in self._children:
            self._call(child, "start", start)
        for name, doc in self._pending:
            for child in self._image_children:
                self._call(child, name, doc)
        self._pending = []

    def _view(self, key: tuple[Any, ...], make: Callable[[], Any], used: list) -> Any:
        reuse = self.overplot or key[0] != "plot"
        if not reuse and key in self._cache:
            self._forget(key)  # replace mode: a fresh plot, the old one closed
        view = self._cache.get(key)
        if view is None:
            view = make()
        self._cache[key] = view
        self._cache.move_to_end(key)
        used.append(key)
        return view

    def _new_plot(self, y: str, x: str | None) -> LivePlot:
        return LivePlot(y, x, stream_name=self._dim_stream, max_rate=self.max_rate)

    def _evict(self, used: list[tuple[Any, ...]]) -> None:
        """Forget views not used by this run: all of them in replace mode, else the oldest
        beyond a dozen (so a scan, a count and a scan again still overplot)."""
        keep = set(used)
        unused = [k for k in self._cache if k not in keep]
        if self.overplot:
            unused = unused[: max(0, len(self._cache) - 12)]
        for key in unused:
            self._forget(key)

    def _forget(self, key: tuple[Any, ...]) -> None:
        view = self._cache.pop(key)
        if key[0] == "plot":
            self._markers.pop(key[1], None)
        widget = getattr(getattr(view, "view", None), "widget", None) or view.widget
        _close_tree(widget)

    @staticmethod
    def _gridded(start: dict[str, Any]) -> bool:
        hints = start.get("hints") or {}
        shape, extents = start.get("shape"), start.get("extents")
        return (
            hints.get("gridding") == "rectilinear"
            and shape is not None
            and len(shape) == 2
            and extents is not None
            and len(extents) == 2
        )

    @staticmethod
    def _extent(start: dict[str, Any]) -> tuple[float, float, float, float]:
        """Pixel edges so that pixel centres sit at the grid positions: the slow axis
        (first dimension) runs along the rows, the fast one along the columns."""
        (s0, s1), (f0, f1) = ([float(v) for v in e] for e in start["extents"])
        rows, cols = (int(v) for v in start["shape"])
        half_row = (s1 - s0) / max(1, rows - 1) / 2
        half_col = (f1 - f0) / max(1, cols - 1) / 2
        return (f0 - half_col, f1 + half_col, s0 - half_row, s1 + half_row)

    # -- at the stop ---------------------------------------------------------------------
    def _compute_peaks(self) -> None:
        if self._x is None or self._x == "time":
            return
        rows = []
        precision = self._precision

        def fx(v: Any) -> str:
            return _fmt_num(v, precision.get(self._x or "", 4)) or "–"

        def fy(field: str, v: Any) -> str:
            return _fmt_num(v, precision.get(field, 4)) or "–"

        for y, plot in self.plots.items():
            if not plot.runs or plot.runs[-1].uid != (self._start or {}).get("uid"):
                continue
            xs, ys = plot.data[-1]
            stats = peak_stats(xs, ys, x_name=self._x, y_name=y)
            if stats.points < 2:
                continue
            self.peaks[y] = stats
            self._mark_centre(y, plot, stats)
            mx, mn = stats.max or (None, None), stats.min or (None, None)
            rows.append(
                f"<tr><td><b>{html.escape(y)}</b></td><td>{fx(stats.com)}</td>"
                f"<td>{fx(stats.cen)}</td><td>{fx(mx[0])} → {fy(y, mx[1])}</td>"
                f"<td>{fx(mn[0])} → {fy(y, mn[1])}</td><td>{fx(stats.fwhm)}</td></tr>"
            )
        if rows:
            head = (
                f"<tr><th></th><th>com</th><th>cen</th><th>max ({html.escape(self._x)} → y)</th>"
                f"<th>min</th><th>fwhm</th></tr>"
            )
            self.peaks_html.value = (
                "<table class='livescan-peaks' style='border-collapse:collapse;"
                "font-family:monospace;font-size:12px' cellpadding='3'>"
                f"{head}{''.join(rows)}</table>"
            )

    def _mark_centre(self, y: str, plot: LivePlot, stats: Peaks) -> None:
        """A dashed vertical line at ``cen`` (else ``com``) on the plot, one per field."""
        import bqplot

        where = stats.cen if stats.cen is not None else stats.com
        old = self._markers.pop(y, [])
        marks = [m for m in plot.figure.marks if m not in old]
        if where is not None and stats.max is not None and stats.min is not None:
            mark = bqplot.Lines(
                x=[where, where],
                y=[stats.min[1], stats.max[1]],
                scales={"x": plot.x_scale, "y": plot.y_scale},
                line_style="dashed",
                colors=["#555555"],
                labels=[f"cen {where:.4g}"],
                display_legend=False,
            )
            marks.append(mark)
            self._markers[y] = [mark]
        plot.figure.marks = marks
        for m in old:
            m.close()  # not its scales: the plot's lines share them

    def _baseline_event(self, doc: dict[str, Any]) -> None:
        for key, value in doc.get("data", {}).items():
            readings = self.baseline.setdefault(key, [])
            if len(readings) < 2:
                readings.append(value)
            else:
                readings[-1] = value
        self._render_baseline()

    def _render_baseline(self) -> None:
        if not self.baseline:
            return
        keys = self._baseline_desc.get("data_keys", {})
        rows = []
        for field, readings in self.baseline.items():
            prec = keys.get(field, {}).get("precision", 4)
            first = readings[0]
            last = readings[1] if len(readings) > 1 else None
            change = ""
            if isinstance(first, int | float) and isinstance(last, int | float):
                change = _fmt_num(last - first, prec)
            rows.append(
                f"<tr><td>{html.escape(field)}</td><td>{_fmt_num(first, prec)}</td>"
                f"<td>{_fmt_num(last, prec)}</td><td>{change}</td></tr>"
            )
        self.baseline_html.value = (
            "<b>Baseline</b><table class='livescan-baseline' style='border-collapse:collapse;"
            "font-family:monospace;font-size:12px' cellpadding='3'>"
            "<tr><th>field</th><th>start</th><th>end</th><th>change</th></tr>"
            f"{''.join(rows)}</table>"
        )

    def _render_header(self) -> None:
        s = self._start or {}
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
        dims = ", ".join(" / ".join(d) for d in self._dims)
        if dims:
            detail.append(f"dimensions: {html.escape(dims)}")
        streams = sorted(set(self._streams.values()))
        if streams:
            detail.append("streams: " + html.escape(", ".join(streams)))
        if detail:
            lines.append(" · ".join(detail))
        if self._stop is not None:
            status = str(self._stop.get("exit_status", "?"))
            events = self._stop.get("num_events") or {}
            counts = ", ".join(f"{k}: {v}" for k, v in events.items())
            reason = self._stop.get("reason") or ""
            lines.append(
                f"finished: <span class='livescan-dashboard-exit'>{html.escape(status)}</span>"
                + (f" — {html.escape(reason)}" if reason else "")
                + (f" · events {html.escape(counts)}" if counts else "")
            )
        if self._from_store:
            lines.append("<i>replayed from the run store</i>")
        self.header.value = "<div style='line-height:1.5'>" + "<br>".join(lines) + "</div>"

    # -- past runs -----------------------------------------------------------------------
    def refresh_runs(self) -> None:
        """Reload the list of past runs from the store (newest first)."""
        if self.store is None:
            return
        options: list[tuple[str, Any]] = [("live", _LIVE)]
        for run in reversed(self.store[-self.recent :]):
            start = run.start
            when = time.strftime("%m-%d %H:%M:%S", time.localtime(float(start.get("time", 0))))
            status = run.exit_status or "unfinished"
            label = (
                f"{start.get('scan_id', '?')} · {start.get('plan_name', '?')} · {when} · {status}"
            )
            options.append((label, run.uid))
        current = self.run_list.value
        values = [v for _, v in options]
        self.run_list.unobserve(self._on_pick, names="value")
        try:
            self.run_list.options = options
            self.run_list.value = current if current in values else _LIVE
        finally:
            self.run_list.observe(self._on_pick, names="value")
        self.run_list.disabled = False

    def _select_live(self) -> None:
        if self.run_list.value is not _LIVE:
            self.run_list.unobserve(self._on_pick, names="value")
            try:
                self.run_list.value = _LIVE
            finally:
                self.run_list.observe(self._on_pick, names="value")

    def _on_pick(self, change: dict[str, Any]) -> None:
        if change["new"] is _LIVE or change["new"] is None:
            return
        self.show_run(change["new"])

    def show_run(self, run: Any) -> bool:
        """Replay a stored run (a Run, a uid or a store key) into the views.

        Refused (returns False, with a note) while a live run is in progress.
        """
        from livescan.store import replay

        if self._start is not None and self._stop is None and self.replaying is None:
            self._note("a run is in progress: past runs can be shown when it ends")
            self._select_live()
            return False
        if not hasattr(run, "documents"):
            if self.store is None:
                raise ValueError("this dashboard has no store: give a Run, not a key")
            run = self.store[run]
        self.replaying = run
        try:
            replay(run, self)
        finally:
            self.replaying = None
        return True

    def clear(self) -> None:
        """Remove every view (and the lines of earlier runs)."""
        for key in list(self._cache):
            self._forget(key)
        self.plots, self.rasters, self.images, self.table = {}, {}, {}, None
        self._children, self._image_children = [], []
        self.plots_box.children = ()
        self.images_box.children = ()
        self.table_box.children = ()
        self.peaks_html.value = ""


def _fmt_num(value: Any, prec: Any = 4) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        try:
            text = f"{value:.{int(prec)}f}"
            return text[1:] if text.startswith("-") and float(text) == 0 else text
        except (TypeError, ValueError):
            return f"{value:.4g}"
    return html.escape(str(value))


def _discard(_line: str) -> None:
    """Where the dashboard's grid table sends text lines: nowhere (the grid shows them)."""
