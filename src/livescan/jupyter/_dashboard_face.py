"""The Dashboard's ipywidgets: its header, controls, boxes of views and HTML panels, and
the shelves that show views in those boxes without taking anything out of them while
the browser may be building it (see ``livescan.jupyter._shelf``); and the outputs where
the dashboard, shown in a cell, leaves each run's static fallback."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets

from livescan.jupyter._fallback import run_fallback
from livescan.jupyter._shelf import Shelf
from livescan.jupyter._views import close_tree
from livescan.widgets import FallbackOutputs, render_png

__all__ = ["DashboardFace"]


class DashboardFace:
    """The widgets of one dashboard; ``run_list`` is its past-runs list, ``on_clear()``
    runs when the Clear button is clicked."""

    def __init__(
        self, *, overplot: bool, run_list: ipywidgets.Widget, on_clear: Callable[[], Any]
    ) -> None:
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
        self.run_list = run_list
        self.clear_button = W.Button(description="Clear", icon="trash",
                                     tooltip="Remove every view and line",
                                     layout=W.Layout(width="80px"))  # fmt: skip
        self.clear_button.on_click(lambda _b: on_clear())
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
        # what the boxes show: their children only grow while views may be building
        full = {"width": "100%"}
        self._status_shelf = Shelf(self.status_box, **full)
        self._plot_shelf = Shelf(self.plots_box, flex="1 1 420px", min_width="320px")
        self._view_shelves = (self._plot_shelf, Shelf(self.images_box, **full),
                              Shelf(self.table_box, **full))  # fmt: skip
        self._shelves = (self._status_shelf, *self._view_shelves)
        self._outputs = FallbackOutputs()  # where the dashboard was shown in a cell
        self._fallbacks = 0  # fallbacks left so far: only the newest one lands

    @property
    def settle(self) -> float:
        """Seconds after its last change a box may take out (and close) what it hides."""
        return self._plot_shelf.settle

    @settle.setter
    def settle(self, seconds: float) -> None:
        for shelf in self._shelves:
            shelf.settle = float(seconds)

    def show_status(self, widget: ipywidgets.Widget) -> None:
        """Show the run-status ``widget`` (the one it replaces hidden)."""
        self._status_shelf.show([widget])

    def show_views(
        self,
        figures: Sequence[ipywidgets.Widget],
        images: Sequence[ipywidgets.Widget],
        tables: Sequence[ipywidgets.Widget],
    ) -> None:
        """Show these views (plots and rasters, images, tables), and hide the others."""
        for shelf, widgets in zip(self._view_shelves, (figures, images, tables)):
            shelf.show(widgets)

    def close_late(self, widget: ipywidgets.Widget) -> None:
        """Close ``widget`` once no box holds it (at once if none ever did)."""
        if not any(shelf.retire(widget) for shelf in self._shelves):
            close_tree(widget)

    def show_in_cell(self, text: str) -> None:
        """Display the dashboard in the current cell (``text`` for plain viewers), and
        below it the place for the fallback each run it follows leaves."""
        self.displayed()
        self._outputs.show(self.widget, text)

    def leave_fallback(self, summary: Any, views: Sequence[Any]) -> None:
        """Fill the places shown by :meth:`show_in_cell` with the run's fallback: the
        ``summary`` line (a handle-like, see ``livescan.jupyter._fallback.status_line``),
        the views' text tables and one PNG of their figures, drawn on the fallback thread
        (here without a running loop). A picture drawn after a later run's fallback left
        is dropped."""
        if not self._outputs.handles:
            return
        self._fallbacks += 1
        mine = self._fallbacks

        def update(bundle: dict[str, Any]) -> None:
            if mine == self._fallbacks:
                for handle in self._outputs.handles:
                    handle.update(bundle, raw=True)

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            run_fallback(summary, views, None, update)
        else:
            run_fallback(summary, views, render_png, update)

    def displayed(self) -> None:
        """The dashboard was displayed again: its views are being built from now on."""
        for shelf in self._shelves:
            shelf.touch()
