"""Shelf: a Box of the Dashboard whose children only grow while the browser may be
building their views; what it no longer shows is hidden, and taken out and closed late.

ipywidgets' BoxView, once every child view of a new children list is built, posts a
Lumino resize message to each of them. Its child views are kept per position: a new
list that is not the old one plus new items at the end disposes the views from the first
difference on. A child view disposed (taken out, or its model closed) while the list it
belonged to was still being built (a bqplot figure or a data grid takes a while; the
page loads their code on first use) then fails the resize with "Cannot read properties
of null (reading 'processLuminoMessage')". The Dashboard changed its boxes' children at
every run and closed what they no longer showed, so a quick run followed by another
could throw in the browser.

So each widget sits in a small wrapper Box of its own, the box's children only ever get
wrappers appended, and a widget no longer shown has its wrapper hidden; the order the
widgets show in is the wrappers' flex ``order``. Hidden is a wrapper of no size that
clips what it holds, not ``display: none``: a view built inside a ``display: none`` box
(the dashboard displayed again, or a view released late) is built at size 0, and bqplot
then sets negative sizes ("<rect> attribute width: A negative value is not valid"); in a
clipping box each view keeps its own size. A widget shown
again is only unhidden: its views stay built. The box is rebuilt to exactly what it
shows, and what it no longer holds is closed (with the widgets given to :meth:`retire`),
only when its last change is ``settle`` seconds old, or once it holds ``max_children``
(runs in a tight loop). A new display of the box (a cell, the side panel) counts as a
change (:meth:`touch`): its views are being built too. TableGridView does the same with
its grids (``livescan.widgets._table_view``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import ipywidgets

from livescan.jupyter._views import close_tree

__all__ = ["MAX_CHILDREN", "SETTLE_S", "Shelf"]

#: seconds after its last change a shelf may take children out and close them
SETTLE_S = 10.0
#: wrappers a shelf holds at most before it is rebuilt however recent its last change
MAX_CHILDREN = 16
#: a hidden wrapper's layout: it takes no room and clips (hides) the widget it holds
_HIDDEN = {
    "flex": "0 0 0px",
    "width": "0px",
    "height": "0px",
    "min_width": "0px",
    "min_height": "0px",
    "overflow": "hidden",
    "visibility": "hidden",
}


class Shelf:
    """The widgets shown in ``box``, each in a wrapper Box with a Layout of ``layout``."""

    def __init__(self, box: ipywidgets.Box, **layout: Any) -> None:
        self.box = box
        self._layout = layout
        #: a shown wrapper's layout: ``layout``, and none of the hidden one's traits
        self._shown = {**dict.fromkeys(_HIDDEN), **layout}
        self._wrappers: dict[int, ipywidgets.Box] = {}  # id(widget) -> its wrapper
        self._retired: list[ipywidgets.Widget] = []  # closed when the shelf is rebuilt
        self.changed_at = -math.inf  # monotonic time of the last change of the children
        self.settle = SETTLE_S
        self.max_children = MAX_CHILDREN

    def touch(self) -> None:
        """The box was just displayed: its views are being built from now on."""
        self.changed_at = time.monotonic()

    def shown(self) -> list[ipywidgets.Widget]:
        """The widgets the box shows, in the order they show in."""
        visible = [b for b in self.box.children if b.layout.visibility != "hidden"]
        visible.sort(key=lambda b: int(b.layout.order or 0))
        return [b.children[0] for b in visible]

    def show(self, widgets: Sequence[ipywidgets.Widget]) -> None:
        """Show ``widgets`` in this order, and no other."""
        widgets = list(widgets)
        children = self.box.children
        added = sum(self._wrapper(w) is None for w in widgets)
        now = time.monotonic()
        if now - self.changed_at >= self.settle or len(children) + added > self.max_children:
            self._rebuild(widgets, now)
        else:
            keep = {id(w) for w in widgets}
            for box in children:
                if id(box.children[0]) not in keep:
                    _set(box.layout, _HIDDEN)
            new = tuple(self._wrap(w) for w in widgets if self._wrapper(w) is None)
            if new:
                self.box.children = (*children, *new)
                self.changed_at = now
        for i, widget in enumerate(widgets):
            _set(self._wrap(widget).layout, {**self._shown, "order": str(i)})

    def retire(self, widget: ipywidgets.Widget) -> bool:
        """Close ``widget`` (and all it holds) once it is out of the box; False (nothing
        done) if the box never held it."""
        if self._wrapper(widget) is None:
            return False
        self._retired.append(widget)
        return True

    def _rebuild(self, widgets: list[ipywidgets.Widget], now: float) -> None:
        """The box's last change is old: make its children exactly ``widgets``' wrappers,
        and close the wrappers taken out and the widgets retired."""
        wanted = tuple(self._wrap(w) for w in widgets)
        if wanted != self.box.children:
            gone = [b for b in self.box.children if b not in wanted]
            self.box.children = wanted
            self.changed_at = now
            for box in gone:
                del self._wrappers[id(box.children[0])]
                box.layout.close()
                box.close()  # not the widget it shows: the Dashboard may show it again
        retired, self._retired = self._retired, []
        for widget in retired:
            if self._wrapper(widget) is None:
                close_tree(widget)
            else:  # shown again since it was retired: it stays
                self._retired.append(widget)

    def _wrapper(self, widget: ipywidgets.Widget) -> ipywidgets.Box | None:
        box = self._wrappers.get(id(widget))
        return box if box is not None and box.children[0] is widget else None

    def _wrap(self, widget: ipywidgets.Widget) -> ipywidgets.Box:
        box = self._wrapper(widget)
        if box is None:
            box = ipywidgets.Box([widget], layout=ipywidgets.Layout(**self._layout))
            self._wrappers[id(widget)] = box
        return box


def _set(layout: ipywidgets.Layout, traits: dict[str, Any]) -> None:
    """Give ``layout`` these trait values, in one message (none if it has them)."""
    changed = {k: v for k, v in traits.items() if getattr(layout, k) != v}
    if changed:
        with layout.hold_sync():
            for name, value in changed.items():
                setattr(layout, name, value)
