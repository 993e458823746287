"""The Dashboard in a JupyterLab side panel (sidecar, anchor='split-right'), read from the page.

A notebook opens the dashboard with one call, runs a scan and a count; the test reads from
the side panel (not the notebook's outputs) the scan's line, the run-status widget, the
header and the peak statistics, then picks the scan in the past-runs list and checks it is
replayed into the panel. Screenshots go to test-artifacts/browser/.
"""

from __future__ import annotations

import nbformat
import pytest
from _lab import count_path_points, open_notebook, run_all, screenshot
from _widget_probe import kernel_exec, wait_until

pytestmark = pytest.mark.browser

# Views inside the sidecar panel: the panel is a Lumino widget in the shell's main area with
# the class `jupyterlab-sidecar`; widget views hang off its descendants as `_view`.
PANEL_VIEWS_JS = """
() => {
  const app = window.jupyterapp;
  const panels = Array.from(app.shell.widgets('main'))
                      .filter((w) => w.hasClass('jupyterlab-sidecar'));
  if (panels.length !== 1) return null;
  const panel = panels[0];
  const found = [];
  const seen = new Set();
  const visit = (w) => {
    if (w._view && !seen.has(w._view)) { seen.add(w._view); found.push(w._view); }
    if (typeof w.children === 'function') { for (const c of w.children()) visit(c); }
  };
  visit(panel);
  // what the panel shows: the dashboard hides the views it no longer shows in a box of
  // no size that clips them
  const visible = (el) => {
    for (let e = el; e && e !== panel.node; e = e.parentElement) {
      const r = e.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) return false;
    }
    return true;
  };
  const figs = found.filter((v) => v.model.get('_model_name') === 'FigureModel' && visible(v.el));
  const box = panel.node.getBoundingClientRect();
  const nb = window.__livescan.panel();
  const nbBox = nb ? nb.node.getBoundingClientRect() : null;
  const q = (sel) => Array.from(panel.node.querySelectorAll(sel)).find(visible);
  return {
    title: panel.title.label,
    inSideBar: !!panel.node.closest('.jp-SideBar'),
    inMainDock: !!panel.node.closest('#jp-main-dock-panel'),
    box: {x: box.x, width: box.width, height: box.height},
    notebookBox: nbBox && {x: nbBox.x, width: nbBox.width},
    models: found.map((v) => v.model.get('_model_name')),
    figures: figs.map((v) => ({
      title: v.model.get('title'),
      // drawn lines only: the legend draws a sample `path.line` per labelled mark too
      lines: Array.from(v.el.querySelectorAll('path.line'))
                  .filter((p) => !p.closest('.g_legend, .legend'))
                  .map((p) => p.getAttribute('d')),
    })),
    dashboard: !!q('.livescan-dashboard'),
    header: q('.livescan-dashboard-header') ? q('.livescan-dashboard-header').innerText : '',
    status: q('.livescan-run-status') ? q('.livescan-run-status').innerText : '',
    state: q('.livescan-run-status .livescan-state')
             ? q('.livescan-run-status .livescan-state').innerText.trim() : '',
    events: q('.livescan-run-status .livescan-events')
              ? q('.livescan-run-status .livescan-events').innerText.trim() : '',
    buttons: Array.from(panel.node.querySelectorAll('.livescan-run-status button')).filter(visible)
                  .map((b) => b.innerText.trim()),
    peaks: q('.livescan-dashboard-peaks') ? q('.livescan-dashboard-peaks').innerText : '',
    runs: Array.from(panel.node.querySelectorAll('.livescan-dashboard-runs select option'))
               .map((o) => o.text.replace(/\u00a0/g, ' ')),  // labels use no-break spaces
  };
}
"""


def _panel(page) -> dict | None:
    return page.evaluate(PANEL_VIEWS_JS)


def _wait_for_panel(page, title: str, points: list[int], what: str) -> dict:
    """Poll the side panel until figure ``title`` draws lines of ``points`` points."""
    last: list[dict | None] = [None]

    def ready():
        last[0] = _panel(page)
        return last[0] if _line_points(last[0], title) == points else None

    try:
        return wait_until(ready, what=what)
    except TimeoutError as exc:
        figures = [(f["title"], _line_points(last[0], f["title"])) for f in (last[0] or {}).get(
            "figures", [])]  # fmt: skip
        raise TimeoutError(f"{exc}; the panel shows {figures}") from None


def _line_points(info: dict | None, title: str) -> list[int]:
    if not info:
        return []
    for fig in info["figures"]:
        if fig["title"] == title:
            return [count_path_points(d) for d in fig["lines"]]
    return []


def test_dashboard_opens_in_the_split_right_side_panel_and_shows_the_scan(lab, lab_page):
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(c)
            for c in (
                "import tempfile\n"
                "from livescan import RunEngine\n"
                "from livescan.jupyter import Dashboard\n"
                "from livescan.plans import count, scan\n"
                "from livescan.sim import det, motor, noisy_det\n"
                "from livescan.store import RunStore\n"
                "RE = RunEngine()\n"
                "db = RunStore(tempfile.mkdtemp())\n"
                "RE.subscribe_lossless(db)\n"
                "dash = Dashboard.in_sidecar(RE=RE, store=db, overplot=False, title='livescan')",
                # 0.4 s: a run's Pause/Resume/Stop/Abort buttons show once it has lasted
                # 0.25 s (RunStatus.controls_after), and stay when it ends
                "motor.delay = 0.01\n"
                "result = await RE(scan([det], motor, -3, 3, num=41))\nprint(result.exit_status)",
            )
        ]
    )
    name = lab.add_notebook(nb, "dashboard-sidecar")
    open_notebook(lab_page, lab, name)
    run_all(lab_page)

    # the side panel: one sidecar in the main area, split to the right of the notebook
    info = _wait_for_panel(lab_page, "det vs motor", [41, 2], "the scan and its centre marker")
    assert info["title"] == "livescan"
    assert info["inMainDock"] and not info["inSideBar"]
    assert info["notebookBox"] and info["box"]["x"] >= info["notebookBox"]["x"] + 200
    assert info["box"]["width"] > 400 and info["box"]["height"] > 300
    assert info["dashboard"]
    # the plot with the scan's points, its peak statistics and the status controls
    # the table of dims + hinted fields (a DataGrid holding its rows once the run ended)
    assert {"StreamingDataGridModel", "DataGridModel"} & set(info["models"])
    assert info["state"] == "success" and info["events"] == "41"
    assert info["buttons"] == ["Pause", "Resume", "Stop", "Abort"]
    assert "scan 1" in info["header"] and "success" in info["header"]
    assert "det" in info["peaks"] and "fwhm" in info["peaks"]
    cen = float(kernel_exec(lab_page, "print(dash.peaks['det'].cen)"))
    assert abs(cen) < 0.01  # det is a Gaussian centred at motor = 0

    panel = lab_page.locator(".jupyterlab-sidecar").first
    screenshot(panel, "dashboard-sidecar-scan")
    screenshot(lab_page, "dashboard-sidecar-page")

    # a count replaces the views (noisy_det vs time); the past-runs list has both runs
    kernel_exec(lab_page, "await RE(count([noisy_det], num=5))")
    info = _wait_for_panel(lab_page, "noisy_det vs time", [5], "the count's 5 points")
    assert _line_points(info, "det vs motor") == []
    assert len(info["runs"]) == 3 and info["runs"][0] == "live"
    assert info["runs"][2].startswith("1 · scan")

    # choose the scan in the list: it is replayed into the panel
    lab_page.locator(".jupyterlab-sidecar .livescan-dashboard-runs select").select_option(index=2)
    info = _wait_for_panel(lab_page, "det vs motor", [41, 2], "the replayed scan")
    assert "replayed from the run store" in info["header"] and "scan 1" in info["header"]
    screenshot(lab_page.locator(".jupyterlab-sidecar").first, "dashboard-sidecar-replayed")
