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

Here: the documents and the engine; the widgets are in ``_dashboard_face``, the run's
views in ``_run_views``, how the boxes show them in ``_shelf``.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

from livescan.callbacks import CallbackBase, LiveTable
from livescan.documents import run_dimensions, unpack_event_page
from livescan.jupyter import _panels
from livescan.jupyter._dashboard_face import DashboardFace
from livescan.jupyter._history import RunHistory
from livescan.jupyter._peaks import Peaks, peak_stats
from livescan.jupyter._run_views import RunViews
from livescan.jupyter._status import RunStatus
from livescan.widgets import (
    DEFAULT_MAX_RATE,
    LiveImage,
    LivePlot,
    LiveRaster,
    widget_view_bundle,
)

__all__ = ["Dashboard", "Peaks", "peak_stats"]

logger = logging.getLogger("livescan.jupyter")

#: what plain viewers show for the live view (each run's summary follows below it)
_PLAIN = "livescan Dashboard: live view; the last run it followed is summarised below"


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
    mutates_documents = False  # reads only: the lossy lane need not copy

    def __init__(
        self,
        *,
        RE: Any = None,
        store: Any = None,
        overplot: bool = True,
        max_rate: float = DEFAULT_MAX_RATE,
        recent: int = 20,
    ) -> None:
        self.history = RunHistory(store, recent, self.show_run)
        #: peak statistics of the last 1-D run, by dependent field
        self.peaks: dict[str, Peaks] = {}
        #: baseline readings of the last run: field -> [reading at start, at end]
        self.baseline: dict[str, list[Any]] = {}
        #: problems met while choosing or feeding views (also shown in the dashboard)
        self.notes: list[str] = []
        self.status: RunStatus | None = None
        self.sidecar: Any = None
        self.replaying: Any = None  # the stored run being replayed, if any
        self._engine: Any = None
        self._token: int | None = None
        self._face = DashboardFace(overplot=overplot, run_list=self.history.widget,
                                   on_clear=self.clear)  # fmt: skip
        face = self._face  # its widgets are the dashboard's own
        self.header, self.status_box, self.mode = face.header, face.status_box, face.mode
        self.run_list, self.clear_button = face.run_list, face.clear_button
        self.plots_box, self.images_box, self.table_box = (
            face.plots_box, face.images_box, face.table_box
        )  # fmt: skip
        self.peaks_html, self.baseline_html = face.peaks_html, face.baseline_html
        self.notes_html, self.widget = face.notes_html, face.widget
        self._views = RunViews(float(max_rate), self._note, self._face.close_late)
        self._reset_run()
        if store is not None:
            self.refresh_runs()
        if RE is not None:
            self.attach(RE)

    # -- the widget ----------------------------------------------------------------------
    @property
    def max_rate(self) -> float:
        """Browser updates per second per view at most (for views made from now on)."""
        return self._views.max_rate

    @max_rate.setter
    def max_rate(self, value: float) -> None:
        self._views.max_rate = float(value)

    @property
    def plots(self) -> dict[str, LivePlot]:
        """The current run's plots, by dependent field."""
        return self._views.plots

    @property
    def rasters(self) -> dict[str, LiveRaster]:
        """The current run's rasters, by field."""
        return self._views.rasters

    @property
    def images(self) -> dict[str, LiveImage]:
        """The current run's image viewers, by field."""
        return self._views.images

    @property
    def table(self) -> LiveTable | None:
        """The current run's grid table."""
        return self._views.table

    @property
    def settle(self) -> float:
        """Seconds after its last change a box of the dashboard may take out (and close)
        the views it no longer shows; until then they are hidden (see ``_shelf``)."""
        return self._face.settle

    @settle.setter
    def settle(self, seconds: float) -> None:
        self._face.settle = seconds

    @property
    def store(self) -> Any:
        """The run store whose past runs are listed (None: no list)."""
        return self.history.store

    @store.setter
    def store(self, store: Any) -> None:
        self.history.store = store

    @property
    def recent(self) -> int:
        """How many past runs the list shows."""
        return self.history.recent

    @recent.setter
    def recent(self, value: int) -> None:
        self.history.recent = int(value)

    @property
    def overplot(self) -> bool:
        """True: new runs add lines to matching plots; False: they replace the plots."""
        return bool(self.mode.value)

    @overplot.setter
    def overplot(self, value: bool) -> None:
        self.mode.value = bool(value)

    def _ipython_display_(self) -> None:
        """Show the dashboard (a cell's last expression, ``display(dash)``), and below it
        the place for its static fallback, which each run it follows fills when it ends
        (for viewers that cannot run widgets)."""
        self._face.show_in_cell(_PLAIN)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The live view alone (for front ends that do not use ``_ipython_display_``)."""
        self._face.displayed()
        return widget_view_bundle(self.widget, _PLAIN)

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
        self._face.show_status(self.status.widget)
        if old is not None:
            self._face.close_late(old.widget)
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
        self._face.displayed()
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
        self._baseline_desc: dict[str, Any] = {}
        self._views.reset()

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
        self._dims, self._dim_stream, source = run_dimensions(doc)
        if source != "hints":
            self._note(f"no hints.dimensions in the start document: using {source}")
        if self.replaying is None and self.store is not None:
            self.history.select_live()
        self._render_header()

    def descriptor(self, doc: dict[str, Any]) -> None:
        name = doc.get("name", "primary")
        self._streams[doc["uid"]] = name
        if name == self._dim_stream:
            views = self._views
            if views.built:
                views.feed("descriptor", doc)
            else:
                views.choose(self._start or {}, doc, self.overplot)
                views.feed("descriptor", doc)
                # on the page only now: each view's first state already holds the run's
                # marks and columns, so the browser draws it once (not once empty and
                # again, as a grid replaced at its descriptor would be)
                self._face.show_views(views.figures, views.image_widgets, views.table_widgets)
        elif name == "baseline":
            self._baseline_desc = doc
        self._render_header()

    def resource(self, doc: dict[str, Any]) -> None:
        self._views.external("resource", doc)

    def datum(self, doc: dict[str, Any]) -> None:
        self._views.external("datum", doc)

    def datum_page(self, doc: dict[str, Any]) -> None:
        self._views.external("datum_page", doc)

    def event(self, doc: dict[str, Any]) -> None:
        stream = self._streams.get(doc["descriptor"])
        if stream == self._dim_stream:
            self._views.feed("event", doc)
        elif stream == "baseline":
            self._baseline_event(doc)

    def event_page(self, doc: dict[str, Any]) -> None:
        stream = self._streams.get(doc["descriptor"])
        if stream == self._dim_stream:
            self._views.feed("event_page", doc)
        elif stream == "baseline":
            for event in unpack_event_page(doc):
                self._baseline_event(event)

    def stop(self, doc: dict[str, Any]) -> None:
        if self._start is None or doc.get("run_start") != self._start.get("uid"):
            return
        self._stop = doc
        self._views.feed("stop", doc)
        for step in (self._compute_peaks, self._render_baseline):
            try:
                step()
            except Exception as exc:  # the header and the run list still get updated
                logger.exception("dashboard: %s failed", step.__name__)
                self._note(f"{step.__name__.strip('_')} failed: {type(exc).__name__}: {exc}")
        self._render_header()
        try:
            peaks = _PeaksText(self._views.x, self.peaks, self._views.precision)
            self._face.leave_fallback(self._summary(doc), [*self._views.children, peaks])
        except Exception:  # a fallback must never break the dashboard
            logger.exception("dashboard: could not leave a static fallback")
        if self.store is not None and self.replaying is None:
            self.refresh_runs()

    def _summary(self, stop: dict[str, Any]) -> SimpleNamespace:
        """The run as ``status_line`` reads a run handle, from its start and stop."""
        start = self._start or {}
        counts = stop.get("num_events") or {}
        reasons = [stop.get("reason") or "", "replayed from the run store" * self._from_store]
        return SimpleNamespace(
            plan_name=start.get("plan_name") or "run",
            scan_id=start.get("scan_id"),
            exit_status=stop.get("exit_status"),
            num_points=start.get("num_points"),
            num_events=counts.get(self._dim_stream, 0),
            elapsed=max(0.0, float(stop.get("time", 0.0)) - float(start.get("time", 0.0))),
            reason="; ".join(r for r in reasons if r),
        )

    def _note(self, text: str) -> None:
        if text in self.notes:
            return
        self.notes.append(text)
        self.notes_html.value = _panels.notes_html(self.notes)

    # -- at the stop ---------------------------------------------------------------------
    def _compute_peaks(self) -> None:
        peaks = self._views.peaks((self._start or {}).get("uid"))
        self.peaks.update(peaks)
        if peaks and self._views.x is not None:
            self.peaks_html.value = _panels.peaks_html(self._views.x, peaks, self._views.precision)

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
        self.baseline_html.value = _panels.baseline_html(self.baseline, keys)

    def _render_header(self) -> None:
        self.header.value = _panels.header_html(
            self._start, self._stop, self._dims, self._streams.values(),
            from_store=self._from_store,
        )  # fmt: skip

    # -- past runs -----------------------------------------------------------------------
    def refresh_runs(self) -> None:
        """Reload the list of past runs from the store (newest first)."""
        self.history.refresh()

    def show_run(self, run: Any) -> bool:
        """Replay a stored run (a Run, a uid or a store key) into the views.

        Refused (returns False, with a note) while a live run is in progress.
        """
        from livescan.store import replay

        if self._start is not None and self._stop is None and self.replaying is None:
            self._note("a run is in progress: past runs can be shown when it ends")
            self.history.select_live()
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
        self._views.clear()
        self._face.show_views([], [], [])
        self.peaks_html.value = ""


class _PeaksText:
    """The run's peak statistics as lines of text, for its static fallback."""

    def __init__(self, x: str | None, peaks: dict[str, Peaks], precision: dict[str, Any]):
        self.x, self.peaks, self.precision = x, dict(peaks), precision

    def fallback_text(self) -> str | None:
        if not self.peaks or self.x is None:
            return None

        def f(field: str, value: Any) -> str:
            return _panels.fmt_num(value, self.precision.get(field, 4)) or "–"

        lines = [f"peak statistics against {self.x}:"]
        for y, p in self.peaks.items():
            mx, mn = p.max or (None, None), p.min or (None, None)
            lines.append(
                f"  {y}: com {f(self.x, p.com)}, cen {f(self.x, p.cen)}, "
                f"max {f(y, mx[1])} at {f(self.x, mx[0])}, min {f(y, mn[1])} at "
                f"{f(self.x, mn[0])}, fwhm {f(self.x, p.fwhm)}"
            )
        return "\n".join(lines)
