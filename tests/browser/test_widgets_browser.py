"""The live widgets in a real JupyterLab + Chromium: what the page shows, and the controls.

Reads back from the page: the points of the LivePlot line (SVG path), the grid's row count
(ipydatagrid data model) and cell text (through the grid's own cell renderers), the colour
of each raster cell in a screenshot, the frame LiveImage draws (the screenshot of its
``<image>`` compared cell by cell with the kernel's colour-mapped frame); clicks Pause /
Resume / Abort on the run-status widget for a run started with ``RE(plan)`` and one started
with ``await RE(plan)``. Screenshots go to test-artifacts/browser/.
"""

from __future__ import annotations

import io
import json
import time

import numpy as np
import pytest
from _lab import notebook_of, open_notebook, run_all, screenshot, wait_for_views, widget_value
from _raster_probe import expected_colours, raster_screen_cells
from _widget_probe import (
    figure_line_points,
    grid_cell,
    grid_cell_text,
    grid_row_count,
    image_element,
    kernel_exec,
    start_run_all,
    status_events,
    status_state,
    wait_until,
)

pytestmark = pytest.mark.browser

SETUP = """\
from livescan import RunEngine
from livescan.callbacks import LiveTable, LivePlot, LiveRaster, LiveImage
from livescan.plans import grid_scan, scan
from livescan.sim import det, det4, direct_img, motor, motor1, motor2
RE = RunEngine()
"""


def test_a_scan_with_all_four_widgets_shows_its_data(lab, lab_page):
    nb = notebook_of(
        SETUP,
        "table = LiveTable(['det4', 'motor1', 'motor2'])\n"
        "plot = LivePlot('det4')\n"
        "raster = LiveRaster((10, 10), 'det4', xlabel='motor2', ylabel='motor1')\n"
        "image = LiveImage('direct_img')\n"
        "result = await RE(grid_scan([det4, direct_img], motor1, -1, 1, 10, motor2, -1, 1, 10,"
        " snake_axes=True), [table, plot, raster, image])\n"
        "print(result.exit_status, len(raster.data[raster.data == raster.data]))",
    )
    name = lab.add_notebook(nb, "widgets-all-four")
    open_notebook(lab_page, lab, name)
    run_all(lab_page)

    wait_for_views(lab_page, ("StreamingDataGridModel", "DataGridModel"))
    # the line: 100 points drawn
    points = wait_until(
        lambda: [n for n in figure_line_points(lab_page, "det4 vs seq_num") if n == 100],
        what="100 points in the LivePlot line",
    )
    assert points == [100]
    # the grid: 100 rows; a cell of the last row holds the last seq_num's data
    assert wait_until(lambda: grid_row_count(lab_page) == 100, what="100 grid rows")
    # the grid draws the descriptor's precision (3): 1.0 shows as "1.000"
    assert wait_until(lambda: grid_cell_text(lab_page, 0, "motor1"), what="cell text") == "-1.000"
    det4_first = float(kernel_exec(lab_page, "print(repr(float(table.view.data['det4'].iloc[0])))"))
    assert grid_cell_text(lab_page, 0, "det4") == f"{det4_first:.3f}"
    # the raster: every cell drawn in the colour viridis gives the kernel's value, with
    # the exact range of the run's values as colour limits
    values = np.array(json.loads(kernel_exec(lab_page, "print(raster.data.tolist())")), float)
    clim = json.loads(kernel_exec(lab_page, "print(list(raster.clim))"))
    assert np.isfinite(values).all() and clim == pytest.approx([values.min(), values.max()])
    (cells,) = wait_until(lambda: [raster_screen_cells(lab_page, (10, 10))], what="raster")
    want = expected_colours(values, tuple(clim), "viridis")
    assert np.abs(cells - want).max() <= 8, np.abs(cells - want).max()
    assert len({tuple(c) for c in cells.reshape(-1, 3)}) >= 10  # not one flat colour
    # the image: following the newest frame, 100 of 100
    assert widget_value(lab_page, "IntSliderModel", "description") == "frame"
    assert widget_value(lab_page, "IntSliderModel", "value") == 100
    assert widget_value(lab_page, "IntSliderModel", "max") == 100
    _assert_frame_drawn(lab_page, "image")
    # the crosshair sliders hold what the kernel set (centre of the 64×64 frame)
    assert widget_value(lab_page, "IntSliderModel", "value", index=1) == 32
    assert widget_value(lab_page, "IntSliderModel", "value", index=2) == 32
    info = lab_page.locator(".livescan-liveimage").inner_text()
    assert "frame 100 of 100" in info
    # the summary line of the table at stop
    assert "(scan num: 1)" in lab_page.locator(".livescan-livetable").inner_text()
    assert "abort" not in status_state(lab_page) and status_state(lab_page) == "success"
    assert status_events(lab_page) == 100
    assert grid_cell(lab_page, 99, 0) is not None

    lab_page.locator(".livescan-run").first.scroll_into_view_if_needed()
    screenshot(lab_page.locator(".livescan-run").first, "widgets-all-four-run")
    screenshot(lab_page.locator(".livescan-liveimage").first, "widgets-liveimage")
    screenshot(lab_page.locator(".livescan-raster").first, "widgets-liveraster")
    screenshot(lab_page.locator(".livescan-livetable").first, "widgets-livetable")
    screenshot(lab_page, "widgets-all-four-page")


def _assert_frame_drawn(page, var: str) -> None:
    """The LiveImage's picture is on the page: its ``<image>`` holds a 64×64 PNG, and the
    screenshot of it shows, cell by cell, the kernel's frame through the colour map
    (row 0 at the top). Cells under the crosshair (row/column 32) are not sampled."""
    from PIL import Image

    el = wait_until(
        lambda: (e := image_element(page)) and e["bytes"] > 0 and e, what="a PNG in <image>"
    )
    assert el["natural"] == [64, 64], el
    assert el["rect"]["width"] > 200 and el["rect"]["height"] > 200, el
    code = (
        "import json\nfrom livescan.widgets import apply_colormap\n"
        f"print(json.dumps(apply_colormap({var}.frame(), tuple({var}.clim.value), "
        f"{var}.cmap.value).tolist()))"
    )
    expected = np.array(json.loads(kernel_exec(page, code)), dtype=int)
    assert expected.shape == (64, 64, 3)
    png = page.locator(".livescan-liveimage image").first.screenshot()
    shot = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)
    h, w = shot.shape[:2]
    assert shot.std() > 10, "the image area is one flat colour"
    picks = [4, 12, 20, 28, 36, 44, 52, 60]
    drawn = np.array(
        [[shot[int((r + 0.5) * h / 64), int((c + 0.5) * w / 64)] for c in picks] for r in picks]
    )
    want = expected[np.ix_(picks, picks)]
    assert np.abs(drawn - want).max() <= 12, (drawn - want).max()
    assert len({tuple(p) for p in drawn.reshape(-1, 3)}) >= 8  # varied, not flat


@pytest.mark.parametrize("style", ["handle", "await"])
def test_pause_resume_abort_from_the_status_widget(lab, lab_page, style):
    plan = "scan([det], motor, -1, 1, num=2000)"
    start = (
        f"h = RE({plan}, [LivePlot('det', 'motor')])"
        if style == "handle"
        else (f"result = await RE({plan}, [LivePlot('det', 'motor')])")
    )
    nb = notebook_of(SETUP + "motor.delay = 0.01", start)
    name = lab.add_notebook(nb, f"widgets-controls-{style}")
    open_notebook(lab_page, lab, name)
    if style == "handle":
        run_all(lab_page)  # the cell returns at once; the run goes on in the kernel loop
    else:
        start_run_all(lab_page)  # the cell stays busy until the run ends

    wait_until(lambda: status_events(lab_page) >= 20, what="20 events")
    assert status_state(lab_page) == "running"
    lab_page.locator('.livescan-run-status button.jupyter-button:has-text("Pause")').click()
    wait_until(lambda: status_state(lab_page) == "paused", what="paused state")
    paused_at = status_events(lab_page)
    time.sleep(1.5)
    assert status_events(lab_page) == paused_at  # nothing grows while paused
    screenshot(lab_page.locator(".livescan-run").first, f"widgets-paused-{style}")

    lab_page.locator('.livescan-run-status button.jupyter-button:has-text("Resume")').click()
    wait_until(lambda: status_events(lab_page) > paused_at + 10, what="events after resume")
    assert status_state(lab_page) == "running"
    lab_page.locator('.livescan-run-status button.jupyter-button:has-text("Abort")').click()
    wait_until(lambda: status_state(lab_page) == "abort", what="abort state")
    final = status_events(lab_page)
    assert paused_at + 10 < final < 2000

    var = "h" if style == "handle" else "result"
    out = kernel_exec(lab_page, f"print({var}.exit_status, RE.state)")
    assert out.split() == ["abort", "idle"]
    line = figure_line_points(lab_page, "det vs motor")
    assert line and line[0] == final  # the plot got the final state too
    screenshot(lab_page.locator(".livescan-run").first, f"widgets-aborted-{style}")
