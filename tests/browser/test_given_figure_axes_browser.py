"""The axes a LivePlot adds to a figure it is given reach every display of that figure,
also displays being built when they are added.

bqplot's Figure view reads ``axes``, builds their views, then its marks', and only then
listens to ``change:axes``; an axis added in between is missing from that display unless
the axes change again (livescan sends them again, ``livescan.widgets._plot._Resend``).
As in ``test_shared_figure_browser``, the page holds the mark views of every Figure view
built while a gate is shut (by then the view has read and built its axes); the test adds
the LivePlot once the held displays have read the marks, and opens the gate after the
new axes reached the page. The test reads the axis labels each display draws.
"""

from __future__ import annotations

import pytest
from _lab import notebook_of, open_notebook, run_all, screenshot
from _widget_probe import kernel_exec, wait_until
from test_dashboard_race_browser import wait_reading
from test_shared_figure_browser import ALL_VIEWS_JS, SHUT_GATE_JS, _gated_reads

pytestmark = pytest.mark.browser

TITLE = "mine"

# Every display of the figure `title`: whether its views were held, its axes' labels.
AXES_JS = (
    "(title) => {"
    + ALL_VIEWS_JS
    + """
  const axes = (v) => ({
    gated: !!v.__readMarks,
    axes: v.model.get('axes').length,
    labels: Array.from(v.el.querySelectorAll('text.axislabel')).map((t) => t.textContent).sort(),
  });
  const isFigure = (v) => v.model.get('_model_name') === 'FigureModel';
  return allViews().filter((v) => isFigure(v) && v.model.get('title') === title).map(axes);
}"""
)


def _displays(page) -> list[dict]:
    return page.evaluate(AXES_JS, TITLE)


def _wait_for_labels(page, want: list[str], what: str) -> list[dict]:
    """Wait until every display of the figure draws axes labelled ``want``."""
    return wait_reading(
        lambda: _displays(page), lambda ds: ds and all(d["labels"] == want for d in ds), what
    )


def test_axes_added_to_a_figure_being_displayed_reach_every_display(lab, lab_page):
    nb = notebook_of(
        "import bqplot\n"
        "import ipywidgets as W\n"
        "from livescan import RunEngine\n"
        "from livescan.plans import scan\n"
        "from livescan.sim import det, motor\n"
        "from livescan.widgets import LivePlot\n"
        "RE = RunEngine(display=False)\n"
        "sx, sy = bqplot.LinearScale(), bqplot.LinearScale()\n"
        "guide = bqplot.Lines(x=[-1, 1], y=[0, 1], scales={'x': sx, 'y': sy})\n"
        f"fig = bqplot.Figure(title={TITLE!r}, marks=[guide])  # a figure of one's own, no axes\n"
        "slots = [W.Box(), W.Box()]\n"
        "W.VBox([fig, *slots])",
    )
    open_notebook(lab_page, lab, lab.add_notebook(nb, "given-figure-axes"))
    run_all(lab_page)
    _wait_for_labels(lab_page, [], "the figure without axes")

    # two more displays of the figure, built while the plot adds its axes to it
    lab_page.evaluate(SHUT_GATE_JS)
    kernel_exec(lab_page, "for s in slots: s.children = (fig,)")
    _gated_reads(lab_page, TITLE, displays=2, marks=1)  # axes read (none), marks held
    kernel_exec(lab_page, "plot = LivePlot('det', 'motor', fig=fig)")
    wait_until(
        lambda: all(d["axes"] == 2 for d in _displays(lab_page)),
        timeout=30,
        what="the new axes to reach the page",
    )
    held = [d for d in _displays(lab_page) if d["gated"]]
    assert len(held) == 2 and all(d["labels"] == [] for d in held), held
    lab_page.evaluate("() => window.__marksGate.open()")

    # every display draws both axes, with the plot's labels; a run draws into them
    shown = _wait_for_labels(lab_page, ["det", "motor"], "both axes in every display")
    assert len(shown) == 3 and sum(d["gated"] for d in shown) == 2, shown
    kernel_exec(lab_page, "await RE(scan([det], motor, -1, 1, num=11), plot)")
    shown = _wait_for_labels(lab_page, ["det", "motor"], "both axes after the run")
    assert len(shown) == 3, shown
    screenshot(lab_page.locator(".jp-OutputArea-output").first, "given-figure-axes")
