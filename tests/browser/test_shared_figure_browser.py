"""Every line of a shared figure and of a Dashboard's kept figure is drawn in every display
of it, mid-run and at the end, also when a line joins while a display is being built.

bqplot's Figure view reads its ``marks``, builds a view per mark and only then listens to
``change:marks``; a line that joins in between is missing from that display unless the marks
change again (livescan sends them again, see ``livescan.widgets._plot._Resend``). Under
load that gap is long; here it is made long on purpose and deterministic: the page holds the
mark views of every Figure view built while a gate is shut (the real bqplot code, only
delayed), the test waits until those displays have read the marks and the kernel's new line
has reached the page, then opens the gate. Those displays then miss the join for certain;
the test counts the points of every ``path.line`` each display draws.
"""

from __future__ import annotations

import pytest
from _lab import count_path_points, notebook_of, open_notebook, run_all, screenshot
from _widget_probe import kernel_exec, wait_until

pytestmark = pytest.mark.browser

# Every ipywidgets view in the main area: notebook outputs and the sidecar panel.
ALL_VIEWS_JS = """
const allViews = () => {
  const found = [];
  const seen = new Set();
  const visit = (w) => {
    if (!w || w.isDisposed || (w.node && !w.node.isConnected)) return;
    if (w._view && !seen.has(w._view)) { seen.add(w._view); found.push(w._view); }
    if (typeof w.children === 'function') { for (const c of w.children()) visit(c); }
  };
  for (const w of window.jupyterapp.shell.widgets('main')) visit(w);
  return found;
};
"""

# Shut the gate: from now on a Figure view holds its mark views until the gate opens (the
# marks it read are kept on the view). The first Figure view found gives the class.
SHUT_GATE_JS = (
    "() => {"
    + ALL_VIEWS_JS
    + """
  const g = window.__marksGate = window.__marksGate || {armed: false, views: []};
  const fig = allViews().find((v) => v.model.get('_model_name') === 'FigureModel');
  const proto = Object.getPrototypeOf(fig);
  if (!proto.__livescanGate) {
    const addMark = proto.add_mark;
    proto.add_mark = async function (model) {
      if (g.armed) {
        if (!this.__readMarks) {
          this.__readMarks = this.model.get('marks').map((m) => m.model_id);
          g.views.push(this);
        }
        await g.opened;
      }
      return addMark.call(this, model);
    };
    proto.__livescanGate = true;
  }
  g.opened = new Promise((resolve) => { g.open = () => { g.armed = false; resolve(); }; });
  g.views = [];
  g.armed = true;
}"""
)

# The gated displays of figure `title`: the marks each read, and the marks the model has now.
GATED_JS = """(title) => {
  const g = window.__marksGate;
  const views = g.views.filter((v) => v.model.get('title') === title && v.el.isConnected);
  return {read: views.map((v) => v.__readMarks),
          now: views.length ? views[0].model.get('marks').map((m) => m.model_id) : []};
}"""

# Every display of figure `title`: where it is, and the points of each drawn line.
DISPLAYS_JS = (
    "(title) => {"
    + ALL_VIEWS_JS
    + """
  return allViews()
    .filter((v) => v.model.get('_model_name') === 'FigureModel'
                   && v.model.get('title') === title)
    .map((v) => ({
      where: v.el.closest('.jupyterlab-sidecar') ? 'sidecar' : 'notebook',
      gated: !!v.__readMarks,
      lines: Array.from(v.el.querySelectorAll('path.line'))
                  .filter((p) => !p.closest('.g_legend, .legend'))
                  .map((p) => p.getAttribute('d')),
    }));
}"""
)


def _displays(page, title: str) -> list[dict]:
    shown = page.evaluate(DISPLAYS_JS, title)
    for d in shown:
        d["points"] = [count_path_points(line) for line in d.pop("lines")]
    return shown


def _gated_reads(page, title: str, displays: int, marks: int) -> None:
    """Wait until ``displays`` displays of ``title`` built behind the gate have read the
    figure's ``marks`` (as many as ``marks``) and wait there for their mark views."""

    def read():
        got = page.evaluate(GATED_JS, title)["read"]
        return len(got) == displays and all(len(r) == marks for r in got)

    wait_until(read, timeout=30, what=f"{displays} displays of {title!r} to read {marks} marks")


def _open_gate_after_the_join(page, title: str, marks: int) -> None:
    """Wait until the kernel's new line reached the page (the model has ``marks`` marks,
    more than the gated displays read), then let those displays build their mark views:
    the join came between their reading the marks and listening for changes."""

    def joined():
        state = page.evaluate(GATED_JS, title)
        return state if len(state["now"]) == marks else None

    state = wait_until(joined, timeout=30, what=f"the new line of {title!r} to reach the page")
    assert state["read"] and all(set(r) < set(state["now"]) for r in state["read"]), state
    page.evaluate("() => window.__marksGate.open()")


def _wait_for_lines(page, title: str, check, what: str) -> list[dict]:
    last: list[list[dict]] = [[]]

    def done():
        last[0] = _displays(page, title)
        return last[0] if last[0] and all(check(d["points"]) for d in last[0]) else None

    try:
        return wait_until(done, timeout=30, interval=0.1, what=what)
    except TimeoutError as exc:
        raise TimeoutError(f"{exc}; the displays draw {last[0]}") from None


def _running(page, handle: str) -> bool:
    return kernel_exec(page, f"print({handle}.done())").strip() == "False"


def test_every_display_of_a_shared_figure_draws_every_line(lab, lab_page):
    nb = notebook_of(
        "import ipywidgets as W\n"
        "from livescan import RunEngine\n"
        "from livescan.plans import scan\n"
        "from livescan.sim import det, motor, noisy_det\n"
        "from livescan.widgets import LivePlot\n"
        "RE = RunEngine(display=False)\n"
        "a = LivePlot('det', 'motor')\n"
        "b = LivePlot('noisy_det', 'motor', fig=a)  # b draws into a's figure\n"
        "await RE(scan([det], motor, -1, 1, num=11), a)\n"
        "slots = [W.Box(), W.Box()]\n"
        "W.VBox([a.figure, *slots])",
    )
    open_notebook(lab_page, lab, lab.add_notebook(nb, "shared-figure"))
    run_all(lab_page)
    title = "det vs motor"
    _wait_for_lines(lab_page, title, lambda p: p == [11], "a's line")

    # two more displays of the figure, built while b's first line joins it
    lab_page.evaluate(SHUT_GATE_JS)
    kernel_exec(lab_page, "for s in slots: s.children = (a.figure,)")
    _gated_reads(lab_page, title, displays=2, marks=1)
    kernel_exec(lab_page, "motor.delay = 0.05\nh = RE(scan([noisy_det], motor, -1, 1, num=81), b)")
    _open_gate_after_the_join(lab_page, title, marks=2)

    # mid-run: all three displays draw a's line and b's growing one
    shown = _wait_for_lines(
        lab_page, title, lambda p: len(p) == 2 and p[0] == 11 and p[1] >= 2, "b's line mid-run"
    )
    assert _running(lab_page, "h"), "the run ended before every display drew b's line"
    assert len(shown) == 3 and sum(d["gated"] for d in shown) == 2, shown

    # at the end: every display draws both lines whole
    wait_until(lambda: not _running(lab_page, "h"), timeout=60, what="the run to end")
    shown = _wait_for_lines(lab_page, title, lambda p: p == [11, 81], "both lines at the end")
    assert len(shown) == 3, shown
    screenshot(lab_page, "shared-figure-three-displays")


def test_every_display_of_a_dashboards_kept_figure_draws_every_line(lab, lab_page):
    nb = notebook_of(
        "from livescan import RunEngine\n"
        "from livescan.jupyter import Dashboard\n"
        "from livescan.plans import count, scan\n"
        "from livescan.sim import det, motor, noisy_det\n"
        "RE = RunEngine(display=False)\n"
        "dash = Dashboard.in_sidecar(RE=RE, title='livescan')\n"
        "dash.settle = 0  # each run rebuilds the boxes: a kept figure gets new views\n"
        "dash  # shown in the side panel and in this cell",
        "await RE(scan([det], motor, -1, 1, num=21))",
        "await RE(count([noisy_det], num=5))  # the scan's figure is kept, not shown",
    )
    open_notebook(lab_page, lab, lab.add_notebook(nb, "dashboard-kept-figure"))
    run_all(lab_page)
    _wait_for_lines(lab_page, "noisy_det vs time", lambda p: p == [5], "the count")
    assert _displays(lab_page, "det vs motor") == []

    # the next scan shows the kept figure again (new views in both displays), and its
    # line joins while those are being built (its second point comes 0.5 s after its first:
    # time for the page to build the displays up to reading the marks)
    title = "det vs motor"
    lab_page.evaluate(SHUT_GATE_JS)
    kernel_exec(lab_page, "motor.delay = 0.5\nh = RE(scan([det], motor, -2, 2, num=81))")
    # read: the first scan's line and centre marker; then the new line joins
    _gated_reads(lab_page, title, displays=2, marks=2)
    _open_gate_after_the_join(lab_page, title, marks=3)
    kernel_exec(lab_page, "motor.delay = 0.04")

    shown = _wait_for_lines(
        lab_page, title, lambda p: len(p) == 3 and p[:2] == [21, 2] and p[2] >= 2, "mid-run"
    )
    assert _running(lab_page, "h"), "the run ended before every display drew the new line"
    assert sorted(d["where"] for d in shown) == ["notebook", "sidecar"], shown

    # at the end: both lines and the new centre marker (which replaced the first one)
    wait_until(lambda: not _running(lab_page, "h"), timeout=60, what="the run to end")
    shown = _wait_for_lines(lab_page, title, lambda p: p == [21, 81, 2], "the end")
    assert sorted(d["where"] for d in shown) == ["notebook", "sidecar"], shown
    screenshot(lab_page.locator(".jupyterlab-sidecar").first, "dashboard-kept-figure-sidecar")
