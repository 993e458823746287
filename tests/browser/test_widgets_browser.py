"""The live widgets in a real JupyterLab + Chromium: what the page shows, and the controls.

Reads back from the page: the points of the LivePlot line (SVG path), the grid's row count
(ipydatagrid data model), the heat-map values (GridHeatMap model and drawn cells), the frame
shown by LiveImage; clicks Pause / Resume / Abort on the run-status widget for a run started
with ``RE(plan)`` and one started with ``await RE(plan)``. Screenshots go to
test-artifacts/browser/.
"""

from __future__ import annotations

import time

import nbformat
import pytest
from _lab import open_notebook, run_all, screenshot, wait_for_views, widget_value
from _widget_probe import (
    figure_line_points,
    grid_cell,
    grid_row_count,
    heatmap_colors,
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


def _notebook(*cells: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])


def test_a_scan_with_all_four_widgets_shows_its_data(lab, lab_page):
    nb = _notebook(
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

    wait_for_views(lab_page, "StreamingDataGridModel")
    # the line: 100 points drawn
    points = wait_until(
        lambda: [n for n in figure_line_points(lab_page, "det4 vs seq_num") if n == 100],
        what="100 points in the LivePlot line",
    )
    assert points == [100]
    # the grid: 100 rows; a cell of the last row holds the last seq_num's data
    assert wait_until(lambda: grid_row_count(lab_page) == 100, what="100 grid rows")
    # the heat map: every cell coloured, values as in the kernel
    hm = wait_until(lambda: heatmap_colors(lab_page), what="heat map")
    assert hm["rows"] == 10 and len(hm["values"]) == 100 and hm["cells"] == 100
    assert all(v is not None for v in hm["values"]), hm
    assert hm["filled"] == 100 and hm["blank"] == 0, hm
    assert hm["domain"] == pytest.approx([min(hm["values"]), max(hm["values"])])
    kernel_values = kernel_exec(lab_page, "print(raster.data.ravel().tolist())")
    expected = [float(v) for v in kernel_values.strip().strip("[]").split(",")]
    assert hm["values"] == pytest.approx(expected)
    # the image: following the newest frame, 100 of 100
    assert widget_value(lab_page, "IntSliderModel", "description") == "frame"
    assert widget_value(lab_page, "IntSliderModel", "value") == 100
    assert widget_value(lab_page, "IntSliderModel", "max") == 100
    href = lab_page.locator(".livescan-liveimage image").first.get_attribute("href")
    assert href and href.startswith("blob:")
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
    screenshot(lab_page, "widgets-all-four-page")


@pytest.mark.parametrize("style", ["handle", "await"])
def test_pause_resume_abort_from_the_status_widget(lab, lab_page, style):
    plan = "scan([det], motor, -1, 1, num=2000)"
    start = (
        f"h = RE({plan}, [LivePlot('det', 'motor')])"
        if style == "handle"
        else (f"result = await RE({plan}, [LivePlot('det', 'motor')])")
    )
    nb = _notebook(SETUP + "motor.delay = 0.01", start)
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
