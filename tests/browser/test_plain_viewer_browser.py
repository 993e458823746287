"""An executed notebook read where widgets cannot render, and where they can (Chromium).

A run with a table and a plot, and a plot shown as a cell's last expression, executed
headless (nbclient) and exported with nbconvert's HTML exporter:

- opened with every request refused (no widget scripts: what a plain viewer shows), each
  output's static fallback is on the page, visible: the run's table text (every row) and
  the PNG of its figures, decoded; the plot shown on its own leaves its PNG too;
- opened with the widget scripts served from local files (as in test_tutorials_lab), the
  live widgets render from the stored state and the fallbacks beside them hide.
"""

from __future__ import annotations

import nbformat
import pytest
from _lab import screenshot
from nbconvert import HTMLExporter
from test_tutorials_lab import _served_file, npm_cache  # noqa: F401 (a fixture)
from tests._nb import execute_notebook

pytestmark = pytest.mark.browser

CELLS = [
    "from livescan import RunEngine\n"
    "from livescan.callbacks import LiveTable, LivePlot\n"
    "from livescan.plans import scan\n"
    "from livescan.sim import det, motor\n"
    "RE = RunEngine()\n"
    "plot = LivePlot('det', 'motor')\n"
    "plot",
    "await RE(scan([det], motor, -1, 1, num=7), [LiveTable([det, motor]), plot])",
]

# Per cell: its fallbacks (shown or not, their text and pictures) and its live widgets.
READ_JS = """
() => Array.from(document.querySelectorAll('.jp-Cell.jp-CodeCell')).map((cell) => ({
  fallbacks: Array.from(cell.querySelectorAll('.livescan-fallback')).map((f) => ({
    visible: f.getClientRects().length > 0 && getComputedStyle(f).display !== 'none',
    text: (f.querySelector('pre') || {}).innerText || '',
    mono: !!f.querySelector('pre')
          && /monospace/.test(getComputedStyle(f.querySelector('pre')).fontFamily),
    images: Array.from(f.querySelectorAll('img')).map((i) => ({
      complete: i.complete, width: i.naturalWidth, height: i.naturalHeight,
      shown: i.getBoundingClientRect().width})),
  })),
  figures: Array.from(cell.querySelectorAll('.bqplot.figure path.line'))
                .filter((p) => !p.closest('.g_legend')).length,
  live: cell.querySelectorAll('.livescan-live').length,
}))
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The executed notebook's HTML file (nbconvert, lab template, widget state kept)."""
    base = tmp_path_factory.mktemp("plain-viewer")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nbformat.write(nb, base / "run.ipynb")
    out = execute_notebook(base / "run.ipynb", timeout=120)
    html, _ = HTMLExporter().from_notebook_node(out)
    path = base / "run.html"
    path.write_text(html, encoding="utf-8")
    return path


def _open(lab_browser, path, serve=None):
    page = lab_browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def handle(route):
        url = route.request.url
        if url.startswith("file://"):
            return route.continue_()
        local = serve(url) if serve else None
        if local is None:
            return route.abort()
        return route.fulfill(path=str(local), content_type="application/javascript")

    page.route("**/*", handle)
    page.goto(path.as_uri())
    return page, errors


def test_a_plain_viewer_shows_the_table_text_and_the_pictures(lab_browser, exported):
    page, errors = _open(lab_browser, exported)  # no widget script can load
    try:
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('.livescan-fallback img'))"
            ".every((i) => i.complete) && document.querySelectorAll('.livescan-fallback img')"
            ".length >= 2",
            timeout=30_000,
        )
        plot_cell, run_cell = page.evaluate(READ_JS)
        for cell in (plot_cell, run_cell):
            assert cell["figures"] == 0 and cell["live"] == 0  # nothing rendered live
            shown = [f for f in cell["fallbacks"] if f["visible"] and f["images"]]
            assert len(shown) == 1, cell
            (img,) = shown[0]["images"]
            assert img["complete"] and img["width"] > 200 and img["shown"] > 200, img
        (table,) = [f for f in run_cell["fallbacks"] if f["text"]]
        text = table["text"]
        assert table["mono"], "the text table is set in a proportional font: columns skew"
        lines = text.splitlines()
        assert lines[0].startswith("scan (scan 1): success, 7/7 events")
        assert any("seq_num" in line and "motor_setpoint" in line for line in lines), text
        rows = [ln for ln in lines if ln.startswith("|") and ln.split("|")[1].strip().isdigit()]
        assert [int(r.split("|")[1]) for r in rows] == list(range(1, 8)), text
        screenshot(page, "plain-viewer-fallbacks")
    finally:
        page.close()
    assert errors == []


def test_where_the_widgets_render_their_fallbacks_hide(lab_browser, exported, npm_cache):  # noqa: F811
    page, errors = _open(lab_browser, exported, lambda url: _served_file(url, npm_cache))
    try:
        # every cell's figure has drawn its line (legend samples aside)
        page.wait_for_function(
            f"() => ({READ_JS})().every((cell) => cell.figures >= 1)", timeout=60_000
        )
        plot_cell, run_cell = page.evaluate(READ_JS)
        for cell in (plot_cell, run_cell):
            assert cell["live"] >= 1 and cell["figures"] >= 1, cell
            assert cell["fallbacks"] and not [f for f in cell["fallbacks"] if f["visible"]], cell
        screenshot(page, "plain-viewer-with-widget-scripts")
    finally:
        page.close()
    assert errors == []
