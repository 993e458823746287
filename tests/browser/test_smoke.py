"""Smoke test of the browser harness: an ipywidgets slider and a bqplot line in JupyterLab."""

from __future__ import annotations

import sys

import nbformat
import pytest
from _lab import (
    count_path_points,
    notebook_cells,
    open_notebook,
    run_all,
    screenshot,
    wait_for_js,
    wait_for_views,
    widget_value,
)

pytestmark = pytest.mark.browser


def smoke_notebook() -> nbformat.NotebookNode:
    cells = [
        "import sys\nprint(sys.executable)",
        "import ipywidgets\n\nslider = ipywidgets.IntSlider(value=7, description='seven')\nslider",
        "import bqplot as bq\n\n"
        "sx, sy = bq.LinearScale(), bq.LinearScale()\n"
        "line = bq.Lines(x=[0, 1, 2, 3, 4], y=[0, 1, 4, 9, 16], scales={'x': sx, 'y': sy})\n"
        "axes = [bq.Axis(scale=sx), bq.Axis(scale=sy, orientation='vertical')]\n"
        "fig = bq.Figure(marks=[line], axes=axes, title='five points')\n"
        "fig",
    ]
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])


def test_slider_and_bqplot_line_render(lab, lab_page):
    name = lab.add_notebook(smoke_notebook(), "smoke")
    open_notebook(lab_page, lab, name)
    run_all(lab_page)

    # The kernel is the interpreter running the tests (the repo's venv).
    stdout = "".join(
        out.get("text", "") for out in notebook_cells(lab_page)[0]["outputs"] if "text" in out
    )
    assert stdout.strip() == sys.executable
    kernels = lab.api("GET", "/api/sessions")
    assert [k["kernel"]["name"] for k in kernels] == ["python3"]
    assert lab.api("GET", "/api/kernelspecs")["kernelspecs"]["python3"]["spec"]["argv"][0] == (
        sys.executable
    )

    wait_for_views(lab_page, "IntSliderModel")
    assert widget_value(lab_page, "IntSliderModel", "value") == 7
    assert widget_value(lab_page, "IntSliderModel", "description") == "seven"

    wait_for_views(lab_page, "FigureModel")
    d = wait_for_js(
        lab_page,
        """() => {
             const path = document.querySelector('.bqplot path.line');
             const d = path && path.getAttribute('d');
             return d && d.length > 0 ? d : null;
           }""",
    )
    assert count_path_points(d) == 5, d

    figure = lab_page.locator(".bqplot").first
    box = figure.bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 200, box
    assert screenshot(figure, "smoke-bqplot-figure").stat().st_size > 0
    assert screenshot(lab_page, "smoke-notebook").stat().st_size > 0
