"""display_run: a run's status widget plus the live widgets it was given, in one layout."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Protocol

import ipywidgets

from livescan.engine import DisplaySlot
from livescan.jupyter._cells import (
    batch_execution,
    current_cell_id,
    remember_run,
    show_earlier_runs,
)
from livescan.jupyter._fallback import run_fallback, static_bundle
from livescan.jupyter._status import FULL_ROW, RunLike, RunStatus, _shared
from livescan.widgets import LIVE_CLASS, fallbacks_settled, placeholder_bundle, render_png
from livescan.widgets._kept import KeptLayout

__all__ = ["display_run", "live_widget_of", "run_layout"]

log = logging.getLogger("livescan.jupyter")


class ShownRun(RunLike, Protocol):
    """A run handle with its display slot (``RunHandle.display``)."""

    display: DisplaySlot


def live_widget_of(obj: Any) -> ipywidgets.Widget | None:
    """The ipywidget a subscription shows, or None (text callbacks, exporters …).

    Live widgets have a ``widget`` attribute; a LiveTable in grid mode has a ``view``
    with one; a bare ipywidget is itself.
    """
    if isinstance(obj, ipywidgets.Widget):
        return obj
    for holder in (obj, getattr(obj, "view", None)):
        w = getattr(holder, "widget", None) if holder is not None else None
        if isinstance(w, ipywidgets.Widget):
            return w
    return None


def _kind(obj: Any, widget: ipywidgets.Widget) -> str:
    classes = set(getattr(widget, "_dom_classes", ()))
    if "livescan-liveimage" in classes:
        return "image"
    if "livescan-livetable" in classes:
        return "table"
    return "figure"


def run_layout(status: RunStatus | ipywidgets.Widget | None, subs: Iterable[Any]) -> ipywidgets.Box:
    """Status on top; tables, then plots, side by side in columns at least 360 px wide
    that share the width (wrapping on narrow pages); images below, full width.

    One grid box: the live widgets are its children, not wrapped in boxes of their own,
    so a run opens one comm for its layout (each box is a comm opened with its full
    state); its Layout widgets are shared with every other run's.
    """
    tables: list[ipywidgets.Widget] = []
    figures: list[ipywidgets.Widget] = []
    images: list[ipywidgets.Widget] = []
    seen: set[int] = set()
    for obj in subs:
        widget = live_widget_of(obj)
        if widget is None or id(widget) in seen:
            continue
        seen.add(id(widget))
        {"image": images, "table": tables}.get(_kind(obj, widget), figures).append(widget)
    children: list[ipywidgets.Widget] = []
    if status is not None:
        children.append(status.widget if isinstance(status, RunStatus) else status)
    children += tables + figures
    if images:  # a full row each: a box that spans the grid's columns
        full_row = _shared("full row", lambda: KeptLayout(grid_area=FULL_ROW))
        children += [ipywidgets.Box([image], layout=full_row) for image in images]
    grid = _shared(f"run grid {len(tables) + len(figures)}", lambda: KeptLayout(
        width="100%", grid_template_columns=_columns(len(tables) + len(figures)),
        grid_gap="2px 4px", align_items="flex-start"))  # fmt: skip
    return ipywidgets.GridBox(children, layout=grid, _dom_classes=("livescan-run", LIVE_CLASS))


def _columns(n: int) -> str:
    """Grid columns for ``n`` tables and figures: as many as fit, at most ``n``, each at
    least 360 px wide, sharing the width (one widget takes it all)."""
    if n <= 1:
        return "minmax(0, 1fr)"
    return f"repeat(auto-fit, minmax(min(max(360px, calc(100% / {n} - 4px)), 100%), 1fr))"


def display_run(handle: ShownRun) -> ipywidgets.Box | None:
    """Show ``handle``'s run-status widget and its per-run live widgets in the current
    cell's output (once per handle, recorded in ``handle.display``). Returns the box."""
    slot = handle.display
    if not slot.claim():
        return None
    from IPython.display import display

    status = RunStatus(handle)
    slot.status = status
    subs = list(getattr(handle, "subscriptions", ()) or ())
    box = run_layout(status, subs)
    cell = current_cell_id()
    show_earlier_runs(cell, handle)  # this cell ran again: its runs still going stay shown
    # a raw bundle: ipywidgets' own builds a text/plain repr of the whole widget tree
    # (~60 widgets with a plot and a table, milliseconds) only to cut it at 110 characters
    output = display(static_bundle(box, handle), raw=True, display_id=True)
    placeholder = display(placeholder_bundle(), raw=True, display_id=True)
    if output is not None and placeholder is not None:

        def show_again() -> None:  # the same views and display ids: updates reach both
            display(static_bundle(box, handle), raw=True, display_id=output.display_id)
            display(placeholder_bundle(), raw=True, display_id=placeholder.display_id)

        remember_run(cell, handle, show_again)
        _leave_fallback_at_the_end(handle, subs, placeholder, wait=batch_execution())
    return box


def _leave_fallback_at_the_end(
    handle: ShownRun, subs: list[Any], placeholder: Any, *, wait: bool
) -> None:
    """When the run finishes, the placeholder below its live output becomes the static
    fallback: the summary line, text tables and a picture of the figures, drawn off the
    run's path. The live output is left alone: updating it would make JupyterLab build
    every view in it again (see ``livescan.jupyter._fallback``).

    With ``wait`` (a batch execution: nbclient, papermill) an awaited run returns once
    the fallback, and the output work the widgets left pending (a finished table's grid
    shown), is in place, so executed notebooks keep it. In an interactive client the
    run returns as soon as it ended, and its output settles moments later: the next
    statement (the next scan) does not wait for pictures."""
    slot = handle.display

    def finished(h: Any) -> None:
        if not h.done() or slot.fallback_left:
            return
        slot.fallback_left = True
        try:
            run_fallback(h, subs, render_png, lambda b: placeholder.update(b, raw=True))
        except Exception:  # a fallback must never hide the run's own result
            log.exception("could not leave a static fallback for %r", h)
        if wait:
            slot.add_pending(fallbacks_settled())

    handle.add_listener(finished)
