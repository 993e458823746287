"""The dashboard's live views: made from a :class:`~livescan.documents.ViewSpec`, kept
across runs (so a new run overplots an earlier one with the same axes) and closed when
forgotten."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import ipywidgets

from livescan.callbacks import LiveTable
from livescan.documents import ViewSpec
from livescan.jupyter._peaks import Peaks
from livescan.widgets import LiveImage, LivePlot, LiveRaster

__all__ = ["ViewCache", "close_tree", "make_view", "mark_centre"]


def make_view(spec: ViewSpec, max_rate: float) -> Any:
    """A new live view (LivePlot, LiveRaster, LiveImage or grid LiveTable) for ``spec``."""
    if spec.kind == "plot":
        return LivePlot(spec.field, spec.x, stream_name=spec.stream, max_rate=max_rate)
    if spec.kind == "raster":
        return LiveRaster(
            list(spec.shape or ()),
            spec.field,
            extent=spec.extent,
            xlabel=spec.xlabel,
            ylabel=spec.ylabel,
            stream_name=spec.stream,
            max_rate=max_rate,
        )
    if spec.kind == "image":
        return LiveImage(spec.field, stream_name=spec.stream, max_rate=min(max_rate, 10.0))
    if spec.kind == "table":
        return LiveTable(list(spec.fields), view="grid", stream_name=spec.stream, out=_discard)
    raise ValueError(f"unknown view kind {spec.kind!r}")


def mark_centre(plot: LivePlot, stats: Peaks, old: list[Any]) -> list[Any]:
    """Put a dashed vertical line at ``cen`` (else ``com``) on ``plot`` instead of the
    marks ``old``; returns the new marks (none if the peak has no centre).

    ``old`` are taken out of the figure, not closed: a display of the figure being built
    may still be making their views (the caller closes them a run later)."""
    import bqplot

    where = stats.cen if stats.cen is not None else stats.com
    marks = [m for m in plot.figure.marks if m not in old]
    new: list[Any] = []
    if where is not None and stats.max is not None and stats.min is not None:
        new.append(
            bqplot.Lines(
                x=[where, where],
                y=[stats.min[1], stats.max[1]],
                scales={"x": plot.x_scale, "y": plot.y_scale},
                line_style="dashed",
                colors=["#555555"],
                labels=[f"cen {where:.4g}"],
                display_legend=False,
            )
        )
    plot.set_marks(marks + new)  # sent again later: a display being built may miss it
    return new


def _discard(_line: str) -> None:
    """Where the dashboard's grid table sends text lines: nowhere (the grid shows them)."""


def widget_of(view: Any) -> Any:
    """The ipywidget that shows ``view`` (a grid table's view widget, else its widget)."""
    return getattr(getattr(view, "view", None), "widget", None) or view.widget


def close_tree(widget: Any, seen: set[int] | None = None) -> None:
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
                close_tree(item, seen)
    widget.close()


class ViewCache:
    """Live views by spec, least recently used first.

    A run asks for its views with :meth:`get`; :meth:`evict` then forgets the views the
    run did not use: all of them when not overplotting, else the oldest beyond ``keep``
    (so a scan, a count and a scan again still overplot). A forgotten view's widget is
    given to ``close`` (default: :func:`close_tree`, at once; the Dashboard closes it once
    no display may still be building it); ``on_forget(spec)`` runs first.
    """

    def __init__(
        self,
        on_forget: Callable[[ViewSpec], None] | None = None,
        *,
        keep: int = 12,
        close: Callable[[Any], None] = close_tree,
    ) -> None:
        self._views: OrderedDict[ViewSpec, Any] = OrderedDict()
        self._on_forget = on_forget
        self._close = close
        self.keep = int(keep)

    def __iter__(self) -> Iterator[ViewSpec]:
        return iter(list(self._views))

    def __len__(self) -> int:
        return len(self._views)

    def __contains__(self, spec: object) -> bool:
        return spec in self._views

    def get(self, spec: ViewSpec, make: Callable[[], Any], *, reuse: bool) -> Any:
        """The cached view of ``spec`` (a fresh one, the old closed, unless ``reuse``)."""
        if not reuse and spec in self._views:
            self.forget(spec)
        view = self._views.get(spec)
        if view is None:
            view = make()
        self._views[spec] = view
        self._views.move_to_end(spec)
        return view

    def evict(self, used: Iterable[ViewSpec], *, overplot: bool) -> None:
        """Forget the views not in ``used`` (only the oldest beyond ``keep`` if overplotting)."""
        keep = set(used)
        unused = [s for s in self._views if s not in keep]
        if overplot:
            unused = unused[: max(0, len(self._views) - self.keep)]
        for spec in unused:
            self.forget(spec)

    def forget(self, spec: ViewSpec) -> None:
        """Drop the view of ``spec`` and close its widgets (see ``close``)."""
        view = self._views.pop(spec)
        if self._on_forget is not None:
            self._on_forget(spec)
        self._close(widget_of(view))

    def clear(self) -> None:
        """Forget every view."""
        for spec in list(self._views):
            self.forget(spec)
