"""Kept widgets (``livescan.widgets._kept``): the Layouts, Styles and renderers that many
widgets share stay open in the browser when one widget tree holding them is closed."""

from __future__ import annotations

import ipywidgets
import pytest

from livescan.jupyter import _status
from livescan.jupyter._display import run_layout
from livescan.jupyter._status import _layouts
from livescan.jupyter._views import close_tree
from livescan.widgets import LivePlot
from livescan.widgets._kept import Kept, KeptLayout
from livescan.widgets._table_view import _SHARED


@pytest.fixture(autouse=True)
def _fresh_shared_widgets(monkeypatch):
    """The run-status widgets' shared parts are made again in each test (an earlier test's
    are open on its own recording comm)."""
    monkeypatch.setattr(_status, "_SHARED", {})


def _closed(recorder) -> set[str]:
    return {m.comm_id for m in recorder.messages if m.msg_type == "comm_close"}


def _open_in_browser(recorder, widget) -> bool:
    """The browser still holds the widget's model: opened, never closed since."""
    states: dict = {}
    for _message, now in recorder.replay():
        states = now
    return widget.model_id in states and widget.comm is not None


def test_a_kept_layout_survives_the_close_of_a_widget_using_it(recorder):
    shared = KeptLayout(width="96px")
    plain = ipywidgets.Layout(width="96px")
    first = ipywidgets.Button(description="a", layout=shared)
    second = ipywidgets.Button(description="b", layout=shared)
    other = ipywidgets.Button(description="c", layout=plain)
    gone = {first.model_id, other.model_id, plain.model_id}
    close_tree(ipywidgets.HBox([first, other]))  # as the Dashboard closes what it replaces

    closed = _closed(recorder)
    assert gone <= closed  # the tree went
    assert shared.model_id not in closed and _open_in_browser(recorder, shared)
    # the other button still points at the open layout
    assert recorder.state(second)["layout"] == f"IPY_MODEL_{shared.model_id}"
    assert _open_in_browser(recorder, second)
    shared.close()  # closing it directly does nothing either
    assert shared.model_id not in _closed(recorder) and shared.comm is not None


def test_kept_goes_first_among_the_bases():
    class Style(Kept, ipywidgets.ButtonStyle):
        pass

    assert Style.close is Kept.close
    assert issubclass(KeptLayout, ipywidgets.Layout) and KeptLayout.close is Kept.close


def _run_status_parts():
    return list(_layouts().values())


def _grid_parts():
    renderer = _SHARED.get(".3f", "right")
    return [renderer, renderer.text_color, renderer.background_color, _SHARED.hidden()]


@pytest.mark.parametrize("parts", [_run_status_parts, _grid_parts], ids=["status", "grid"])
def test_livescans_shared_widgets_are_kept(recorder, parts):
    widgets = parts()
    assert widgets and all(isinstance(w, Kept) for w in widgets)
    for widget in widgets:
        close_tree(
            ipywidgets.Box(layout=widget) if isinstance(widget, ipywidgets.Layout) else widget
        )
    assert not {w.model_id for w in widgets} & _closed(recorder)
    assert all(_open_in_browser(recorder, w) for w in widgets)
    assert parts() == widgets  # the next run-status widget or grid reuses them


def test_a_run_layout_closed_leaves_the_next_runs_layout_open(recorder):
    first_plot, second_plot = LivePlot("det", "motor"), LivePlot("det", "motor")
    first = run_layout(None, [first_plot])
    close_tree(first)
    assert first.comm is None and first_plot.figure.comm is None
    second = run_layout(None, [second_plot])
    assert second.layout is first.layout and _open_in_browser(recorder, second.layout)
    assert recorder.state(second)["layout"] == f"IPY_MODEL_{second.layout.model_id}"
