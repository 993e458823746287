"""LiveRaster in a real JupyterLab + Chromium, read from the page's pixels.

A slow snaking 8×8 grid scan with a fixed colour range and a non-default colour map: mid-run,
the screenshot shows exactly the first cells of the scan (in snake order) in the colours
the kernel's values give, the others blank; at the end every cell. The axes are labelled
with the grid's motors and ticked in their positions, the colour bar's tick labels do not
overlap, and the console stays free of errors.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from _lab import console_errors, notebook_of, open_notebook, run_all, screenshot
from _raster_probe import (
    expected_colours,
    raster_area_pixels,
    raster_figure,
    raster_screen_cells,
    snake_order,
)
from _widget_probe import kernel_exec, status_state, wait_until

pytestmark = pytest.mark.browser

SHAPE = (8, 8)
CLIM = (0.0, 2.0)  # det4 stays within (0, 1]: its colours are the map's lower half
CMAP = "magma"
WHITE = np.array([255, 255, 255])


def _kernel_values(page) -> np.ndarray:
    out = kernel_exec(page, "import json; print(json.dumps(raster.data.tolist()))")
    return np.array(json.loads(out.strip().splitlines()[-1]), dtype=float)


def _coloured(cells: np.ndarray) -> np.ndarray:
    """Cells that are not the blank background."""
    return np.abs(cells - WHITE).max(axis=-1) > 12


def _check_cells(cells: np.ndarray, values: np.ndarray) -> int:
    """Coloured cells are a prefix of the scan (snake order), each in its value's colour."""
    coloured = _coloured(cells)
    order = snake_order(SHAPE, snake=True)
    k = int(coloured.sum())
    assert all(coloured[rc] for rc in order[:k]), f"not the first {k} cells of the scan"
    assert np.isfinite(values[coloured]).all(), "a cell drawn that the kernel has not measured"
    want = expected_colours(values, CLIM, CMAP)
    diff = np.abs(cells - want).max(axis=-1)[coloured]
    assert diff.size == 0 or diff.max() <= 8, (diff.max(), np.argwhere(coloured)[diff.argmax()])
    return k


#: what both notebooks start with
SETUP = (
    "from livescan import RunEngine\n"
    "from livescan.callbacks import LiveRaster\n"
    "from livescan.plans import grid_scan\n"
    "from livescan.sim import det4, motor1, motor2\n"
    "RE = RunEngine()\n"
)


def test_raster_cells_colours_axes_and_colour_bar_mid_run_and_at_the_end(lab, lab_page):
    page = lab_page
    errors = console_errors(page)
    nb = notebook_of(
        SETUP + "motor2.delay = 0.06\n"
        f"raster = LiveRaster({SHAPE}, 'det4', clim={CLIM}, cmap={CMAP!r})",
        "h = RE(grid_scan([det4], motor1, -2, 2, 8, motor2, -3, 3, 8, snake_axes=True), raster)",
    )
    name = lab.add_notebook(nb, "raster-live")
    open_notebook(page, lab, name)
    run_all(page)  # `h = RE(...)` returns at once; the run goes on

    # mid-run: some cells drawn, not all, each the right colour at the right place
    def partly_drawn():
        cells = raster_screen_cells(page, SHAPE)
        k = int(_coloured(cells).sum())
        return (cells, k) if 6 <= k <= 50 else None

    cells, _ = wait_until(partly_drawn, timeout=60, interval=0.05, what="a partly drawn raster")
    assert status_state(page) == "running"
    screenshot(page.locator(".livescan-raster").first, "raster-mid-run")
    mid = _check_cells(cells, _kernel_values(page))
    assert 6 <= mid <= 50

    # the end: every cell in its colour
    wait_until(lambda: status_state(page) == "success", timeout=60, what="the run's end")
    (final,) = wait_until(
        lambda: [c] if _coloured(c := raster_screen_cells(page, SHAPE)).all() else None,
        timeout=30,
        what="every cell drawn",
    )
    values = _kernel_values(page)
    assert np.isfinite(values).all()
    assert _check_cells(final, values) == 64
    # varied, not one colour (det4 is symmetric: cells mirror each other)
    assert len({tuple(c) for c in final.reshape(-1, 3)}) >= 8
    screenshot(page.locator(".livescan-raster").first, "raster-final")

    # axes: the motors' names from the start document, ticks in their positions
    fig = raster_figure(page)
    assert {"motor2", "motor1", "det4"} <= set(fig["labels"]), fig["labels"]
    x_ticks = [float(t["text"].replace("\u2212", "-")) for t in fig["x_ticks"]]
    y_ticks = [float(t["text"].replace("\u2212", "-")) for t in fig["y_ticks"]]
    assert min(x_ticks) < 0 and all(-3.5 <= v <= 3.5 for v in x_ticks), x_ticks
    assert min(y_ticks) < 0 and all(-2.3 <= v <= 2.3 for v in y_ticks), y_ticks
    # the colour bar: the fixed limits, at least three tick labels that do not overlap
    bar = fig["bar_ticks"]
    assert len(bar) >= 3, fig["ticks"]
    values_on_bar = [float(t["text"]) for t in bar]
    assert min(values_on_bar) >= CLIM[0] and max(values_on_bar) <= CLIM[1], values_on_bar
    boxes = sorted((t["box"] for t in bar), key=lambda b: b["y"])
    for upper, lower in itertools.pairwise(boxes):
        assert upper["y"] + upper["height"] <= lower["y"] + 0.5, (upper, lower)
    assert not errors, errors


def test_a_raster_of_several_tiles_is_drawn_whole_without_seams(lab, lab_page):
    """A 64×64 grid is two tiles (bands of 32 rows): at the end every cell shows its
    value's colour and no pixel of the raster's area is blank — no seam between bands."""
    page = lab_page
    errors = console_errors(page)
    nb = notebook_of(
        SETUP + f"raster = LiveRaster((64, 64), 'det4', clim={CLIM}, cmap={CMAP!r})\n"
        "assert len(raster.marks) == 2, raster.tiles.grid\n"
        "await RE(grid_scan([det4], motor1, -2, 2, 64, motor2, -3, 3, 64), raster)",
    )
    name = lab.add_notebook(nb, "raster-tiles")
    open_notebook(page, lab, name)
    run_all(page)
    (cells,) = wait_until(
        lambda: [c] if _coloured(c := raster_screen_cells(page, (64, 64))).all() else None,
        timeout=30,
        what="every cell drawn",
    )
    values = _kernel_values(page)
    want = expected_colours(values, CLIM, CMAP)
    assert np.abs(cells - want).max() <= 8, np.abs(cells - want).max()
    shot = raster_area_pixels(page)
    inner = shot[2:-2, 2:-2]
    blank = np.abs(inner - WHITE).max(axis=-1) <= 40  # white, or a grid line through a gap
    assert not blank.any(), np.argwhere(blank)[:10]
    screenshot(page.locator(".livescan-raster").first, "raster-64x64-two-tiles")
    assert not errors, errors
