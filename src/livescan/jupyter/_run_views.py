"""RunViews: the Dashboard's live views of the current run — chosen from its hints, fed
its documents (a view failing leaves a note, the others go on), kept across runs in a
:class:`~livescan.jupyter._views.ViewCache`, and given a centre marker at the stop."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from livescan.callbacks import LiveTable
from livescan.documents import ViewSpec, choose_views
from livescan.jupyter._peaks import Peaks, peak_stats
from livescan.jupyter._views import ViewCache, make_view, mark_centre
from livescan.widgets import LiveImage, LivePlot, LiveRaster

__all__ = ["RunViews"]

logger = logging.getLogger("livescan.jupyter")

Child = Callable[[str, dict[str, Any]], Any]


class RunViews:
    """The views of the current run. ``note(text)`` shows a problem; ``close(widget)``
    closes the widget of a view the cache forgot."""

    def __init__(
        self, max_rate: float, note: Callable[[str], None], close: Callable[[Any], None]
    ) -> None:
        self.max_rate = max_rate
        self._note = note
        self.cache = ViewCache(self._forget_markers, close=close)
        self.plots: dict[str, LivePlot] = {}
        self.rasters: dict[str, LiveRaster] = {}
        self.images: dict[str, LiveImage] = {}
        self.table: LiveTable | None = None
        #: the centre markers on each plot, by dependent field
        self.markers: dict[str, list[Any]] = {}
        #: markers taken off a plot at its last stop, closed at its next one (or when the
        #: plot is forgotten): a display of the figure may still have been building them
        self._replaced: dict[str, list[Any]] = {}
        self.x: str | None = None  # the plots' x field
        self.precision: dict[str, Any] = {}  # by field, from the descriptor
        self.reset()

    def reset(self) -> None:
        """A new run: no views chosen yet."""
        self.children: list[Child] = []  # every view the run's documents go to
        self._image_children: list[LiveImage] = []
        self.pending: list[tuple[str, dict[str, Any]]] = []  # resource/datum before views
        self.built = False
        self.x = None
        self.precision = {}

    @property
    def figures(self) -> list[Any]:
        """The widgets of the run's plots and rasters."""
        return [v.widget for v in (*self.plots.values(), *self.rasters.values())]

    @property
    def image_widgets(self) -> list[Any]:
        """The widgets of the run's images."""
        return [v.widget for v in self.images.values()]

    @property
    def table_widgets(self) -> list[Any]:
        """The grid of the run's table (none without one)."""
        view = getattr(self.table, "view", None)
        return [view.widget] if view is not None else []

    def choose(self, start: dict[str, Any], descriptor: dict[str, Any], overplot: bool) -> None:
        """Choose the run's views from its hints (reusing kept ones) and start them."""
        notes: list[str] = []
        specs = choose_views(start, descriptor, notes=notes)
        for note in notes:
            self._note(note)
        plots: dict[str, LivePlot] = {}
        rasters: dict[str, LiveRaster] = {}
        images: dict[str, LiveImage] = {}
        table = None
        for spec in specs:
            view = self.cache.get(
                spec,
                functools.partial(make_view, spec, self.max_rate),
                reuse=overplot or spec.kind != "plot",
            )
            if spec.kind == "plot":
                plots[spec.field] = view
            elif spec.kind == "raster":
                rasters[spec.field] = view
            elif spec.kind == "image":
                images[spec.field] = view
            else:
                table = view
        self.cache.evict(specs, overplot=overplot)
        self.x = next((s.x for s in specs if s.kind == "plot"), None)
        keys = descriptor.get("data_keys", {})
        self.precision = {k: v.get("precision", 4) for k, v in keys.items()}

        self.plots, self.rasters, self.images, self.table = plots, rasters, images, table
        self.children = [*plots.values(), *rasters.values(), *images.values()]
        if table is not None:
            self.children.append(table)
        self._image_children = list(images.values())
        self.built = True

        self.feed("start", start)
        for name, doc in self.pending:
            for child in self._image_children:
                self._call(child, name, doc)
        self.pending = []

    def feed(self, name: str, doc: dict[str, Any]) -> None:
        """Give every view of the run a document."""
        for child in self.children:
            self._call(child, name, doc)

    def external(self, name: str, doc: dict[str, Any]) -> None:
        """A resource or datum: to the images (held until the views are chosen)."""
        if not self.built:
            self.pending.append((name, doc))
            return
        for child in self._image_children:
            self._call(child, name, doc)

    def _call(self, child: Child, name: str, doc: Any) -> None:
        try:
            child(name, doc)
        except Exception as exc:  # one view failing must not starve the others
            logger.warning("dashboard view %r failed on %s: %s", child, name, exc)
            self._note(f"{type(child).__name__} failed on {name}: {type(exc).__name__}: {exc}")

    def peaks(self, start_uid: Any) -> dict[str, Peaks]:
        """Peak statistics of each plot's line of run ``start_uid`` against a motor (not
        time), each plot's centre marked."""
        if self.x is None or self.x == "time":
            return {}
        peaks: dict[str, Peaks] = {}
        for y, plot in self.plots.items():
            if not plot.runs or plot.runs[-1].uid != start_uid:
                continue
            xs, ys = plot.data[-1]
            stats = peak_stats(xs, ys, x_name=self.x, y_name=y)
            if stats.points < 2:
                continue
            peaks[y] = stats
            self._close_replaced(y)
            old = self.markers.pop(y, [])
            self.markers[y] = mark_centre(plot, stats, old)
            self._replaced[y] = old
        return peaks

    def _close_replaced(self, field: str) -> None:
        for mark in self._replaced.pop(field, []):
            mark.close()  # not its scales: the plot's lines share them

    def _forget_markers(self, spec: ViewSpec) -> None:
        if spec.kind == "plot":
            self.markers.pop(spec.field, None)  # closed with the figure
            self._close_replaced(spec.field)

    def clear(self) -> None:
        """Forget every view."""
        self.cache.clear()
        self.plots, self.rasters, self.images, self.table = {}, {}, {}, None
        self.children, self._image_children = [], []
