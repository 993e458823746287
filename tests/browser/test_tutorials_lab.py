"""The first tutorial in a real browser: run in JupyterLab, and exported to static HTML.

1. JupyterLab + Chromium run ``notebooks/01_getting_started.ipynb`` top to bottom; the page's
   LivePlot lines have every point of their runs and the LiveTable grids every row, with the
   values the run store holds.
2. The tutorial executed headless (nbclient) and exported with ``jupyter nbconvert --to html``
   renders offline: require.js and ``@jupyter-widgets/html-manager@1`` come from the npm
   registry (``npm pack`` into a cache dir of the test session), the bqplot / bqscales /
   ipydatagrid bundles from this environment's ``share/jupyter/nbextensions``; every other
   request is refused. The plot lines are drawn from the stored widget state alone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import nbformat
import pytest
from _lab import (
    REPO,
    count_path_points,
    eval_views,
    open_notebook,
    run_all,
    screenshot,
    wait_for_views,
)
from _widget_probe import kernel_exec
from tests._nb import execute_notebook

pytestmark = pytest.mark.browser

TUTORIAL = REPO / "notebooks" / "01_getting_started.ipynb"
NBEXTENSIONS = Path(sys.prefix) / "share" / "jupyter" / "nbextensions"
NPM_PACKAGES = {"requirejs": "requirejs@2", "html-manager": "@jupyter-widgets/html-manager@1"}


def _lines_by_title(page) -> dict[str, list[list[int]]]:
    """Points drawn per line mark (``path.line`` outside the legend), per figure, by title."""
    ds = eval_views(
        page,
        """(views) => views
             .filter((v) => v.model.get('_model_name') === 'FigureModel')
             .map((v) => [v.model.get('title'),
                          Array.from(v.el.querySelectorAll('path.line'))
                               .filter((p) => !p.closest('.g_legend'))
                               .map((p) => p.getAttribute('d'))])""",
    )
    out: dict[str, list[list[int]]] = {}
    for title, paths in ds:
        out.setdefault(title, []).append([count_path_points(d) for d in paths])
    return out


def _grids(page) -> list[dict]:
    """Every ipydatagrid shown: row count, column headers and the body values."""
    return eval_views(
        page,
        """(views) => views.filter((v) => v.grid && v.grid.dataModel).map((v) => {
             const dm = v.grid.dataModel;
             const rows = dm.rowCount('body'), cols = dm.columnCount('body');
             const header = [...Array(cols).keys()].map((c) => dm.data('column-header', 0, c));
             const body = [...Array(rows).keys()].map(
               (r) => [...Array(cols).keys()].map((c) => dm.data('body', r, c)));
             return {rows, header, body};
           })""",
    )


def _settle(read, done, timeout: float = 60.0):
    """Read the page until ``done(value)`` or the timeout; the last value either way."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


# a live table is a StreamingDataGrid; a finished one a DataGrid holding its rows
GRIDS = ("StreamingDataGridModel", "DataGridModel")


def test_first_tutorial_runs_in_jupyterlab(lab, lab_page):
    name = lab.add_notebook(TUTORIAL)
    open_notebook(lab_page, lab, name)
    run_all(lab_page, timeout=300)
    wait_for_views(lab_page, GRIDS, count=3)

    # The plot: the reused LivePlot shows both scans (31 and 21 points) wherever it is shown;
    # the noisy scan has all its 41 points.
    want = {"det vs motor": [[31, 21], [31, 21]], "noisy_det vs motor": [[41]]}
    lines = _settle(lambda: _lines_by_title(lab_page), lambda got: got == want)
    assert lines == want

    # The tables: the count (4 rows), then the two scans, rows as the run store has them.
    grids = _settle(lambda: _grids(lab_page), lambda g: [x["rows"] for x in g] == [4, 31, 21])
    assert [x["rows"] for x in grids] == [4, 31, 21]
    stored = json.loads(
        kernel_exec(
            lab_page,
            "import json; print(json.dumps({s: {k: db[s]['primary'][k].tolist() "
            "for k in ('det1', 'det', 'motor') if k in db[s]['primary'].read()} "
            "for s in (2, 4, 5)}))",
        )
    )
    count_grid, scan_grid, _ = grids
    # A StreamingDataGrid fetches the rows on screen from the kernel: compare those (at least
    # the first ten) with the store.
    checks = [(count_grid, "det1", stored["2"]["det1"])]
    checks += [(scan_grid, "det", stored["4"]["det"]), (scan_grid, "motor", stored["4"]["motor"])]
    for grid, field, want in checks:
        col = grid["header"].index(field)
        shown = [row[col] for row in grid["body"]]
        loaded = [i for i, v in enumerate(shown) if v not in (None, "...")]  # "..." = not fetched
        assert loaded[: min(10, len(want))] == list(range(min(10, len(want)))), (field, shown)
        assert [shown[i] for i in loaded] == pytest.approx([want[i] for i in loaded], abs=5e-4)
    # summary lines and run states as the page shows them
    summaries = lab_page.locator(".livescan-livetable").all_inner_texts()
    assert any("(scan num: 4)" in s for s in summaries), summaries
    states = lab_page.locator(".livescan-run-status .livescan-state").all_inner_texts()
    assert [s.strip() for s in states] == ["success"] * 6

    figure = lab_page.locator(".bqplot.figure").first
    figure.scroll_into_view_if_needed()
    screenshot(figure, "tutorial-01-plot")
    screenshot(lab_page, "tutorial-01-page")


# -- exported HTML, offline --------------------------------------------------------------------


@pytest.fixture(scope="session")
def npm_cache(tmp_path_factory) -> dict[str, Path]:
    """``npm pack`` require.js and the widget HTML manager once per session; unpacked dirs."""
    npm = shutil.which("npm")
    assert npm, "npm is needed for the exported-HTML test (apt-get install npm)"
    base = tmp_path_factory.mktemp("npm")
    out = {}
    for key, spec in NPM_PACKAGES.items():
        dest = base / key
        dest.mkdir()
        result = subprocess.run(
            [npm, "pack", spec, "--silent", "--pack-destination", str(dest)],
            cwd=dest,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "npm_config_cache": str(base / "npm-cache")},
        )
        assert result.returncode == 0, result.stderr
        tarball = next(dest.glob("*.tgz"))
        with tarfile.open(tarball) as tar:
            tar.extractall(dest, filter="data")
        out[key] = dest / "package"
    return out


def _served_file(url: str, npm: dict[str, Path]) -> Path | None:
    """The local file for a CDN URL the exported page asks for, or None."""
    if re.search(r"/require(\.min)?\.js$", url):
        return npm["requirejs"] / "require.js"
    if "@jupyter-widgets/html-manager" in url and url.endswith("/embed-amd.js"):
        return npm["html-manager"] / "dist" / "embed-amd.js"
    match = re.search(r"/(bqplot|bqscales|ipydatagrid)@[^/]*/dist/index\.js$", url)
    if match:
        return NBEXTENSIONS / match[1] / "index.js"
    return None


def _exported_page(lab_browser, npm_cache, tmp_path, monkeypatch, tutorial: Path):
    """Execute ``tutorial``, convert it to HTML, open the page offline (widget scripts
    served from local files, every other request refused). Returns (page, served, errors)."""
    monkeypatch.setenv("LIVESCAN_TUTORIAL_DIR", str(tmp_path / "scratch"))
    executed = execute_notebook(tutorial, timeout=180)
    nbformat.write(executed, tmp_path / "tutorial.ipynb")
    subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", "tutorial.ipynb"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=120,
    )
    html = tmp_path / "tutorial.html"
    served: list[str] = []

    def handle(route):
        url = route.request.url
        if url.startswith("file://"):
            return route.continue_()
        path = _served_file(url, npm_cache)
        if path is None:
            return route.abort()
        served.append(url)
        return route.fulfill(path=str(path), content_type="application/javascript")

    page = lab_browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.route("**/*", handle)
    page.goto(html.as_uri())
    return page, served, errors


def test_exported_html_of_the_tutorial_draws_the_plot_offline(
    lab_browser, npm_cache, tmp_path, monkeypatch
):
    page, served, errors = _exported_page(lab_browser, npm_cache, tmp_path, monkeypatch,
                                          TUTORIAL)  # fmt: skip
    try:
        # every figure view, its title and the points of each line mark (legend samples aside)
        read_figures = """() => Array.from(document.querySelectorAll('.bqplot.figure')).map(
            (f) => [f.querySelector('.mainheading')?.textContent,
                    Array.from(f.querySelectorAll('path.line'))
                         .filter((p) => !p.closest('.g_legend'))
                         .map((p) => p.getAttribute('d') || '')])"""
        page.wait_for_function(
            f"() => ({read_figures})().flatMap(([t, ds]) => ds).filter((d) => d).length >= 5",
            timeout=60_000,
        )
        page.wait_for_timeout(500)  # let the last transition finish
        figures = [
            (title, [count_path_points(d) for d in ds]) for title, ds in page.evaluate(read_figures)
        ]
        # the reused plot shown twice (31 + 21 points each), the noisy scan (41 points)
        assert figures == [
            ("det vs motor", [31, 21]),
            ("det vs motor", [31, 21]),
            ("noisy_det vs motor", [41]),
        ], figures
        states = page.locator(".livescan-run-status .livescan-state").all_inner_texts()
        assert [s.strip() for s in states] == ["success"] * 6
        # the finished tables: grids drawn (ipydatagrid paints on canvases) with their rows
        tables = page.locator(".livescan-livetable")
        assert tables.count() == 3
        summaries = [t.inner_text() for t in tables.all()]
        assert any("(scan num: 4)" in s for s in summaries), summaries
        shot = screenshot(tables.nth(1), "tutorial-01-exported-html-table")
        assert _distinct_colours(shot) > 20  # text in cells, not an empty grid
        assert any("embed-amd.js" in u for u in served)
        assert any("/bqplot@" in u for u in served)
        assert any("/ipydatagrid@" in u for u in served)
        assert not errors, errors
        page.locator(".bqplot.figure").first.scroll_into_view_if_needed()
        screenshot(page.locator(".bqplot.figure").first, "tutorial-01-exported-html-plot")
        screenshot(page, "tutorial-01-exported-html")
    finally:
        page.close()


def _distinct_colours(png: Path) -> int:
    from PIL import Image

    with Image.open(png) as im:
        return len(set(im.convert("RGB").getdata()))


def test_exported_html_shows_heat_maps_and_camera_frames_offline(
    lab_browser, npm_cache, tmp_path, monkeypatch
):
    tutorial = REPO / "notebooks" / "03_rasters_and_images.ipynb"
    page, _, errors = _exported_page(lab_browser, npm_cache, tmp_path, monkeypatch,
                                          tutorial)  # fmt: skip
    try:
        # the raster: its PNG tile drawn, painted with many colours (viridis), not one
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('.livescan-raster image'))"
            ".some((i) => (i.getAttribute('href') || '').startsWith('blob:'))",
            timeout=60_000,
        )
        page.wait_for_timeout(500)
        tile = page.locator(".livescan-raster image").first
        assert _distinct_colours(screenshot(tile, "tutorial-03-exported-raster-tile")) >= 10
        # the camera frames: a PNG in each image viewer, drawn with real content
        images = page.locator(".livescan-liveimage image")
        assert images.count() >= 1
        href = images.first.get_attribute("href") or images.first.get_attribute("xlink:href")
        assert href and href.startswith(("blob:", "data:image/png")), href
        shot = screenshot(page.locator(".livescan-liveimage").first, "tutorial-03-exported-image")
        assert _distinct_colours(shot) > 50
        screenshot(page.locator(".livescan-raster").first, "tutorial-03-exported-raster")
        assert not errors, errors
    finally:
        page.close()
