"""Executed notebooks stay readable without widgets: each run's output carries a text table
and a PNG of its figures next to the widget view."""

from __future__ import annotations

import base64
import io

import nbformat
import numpy as np
import pytest
from PIL import Image

from _nb import execute_notebook

CELLS = [
    "from livescan import RunEngine\n"
    "from livescan.callbacks import LiveTable, LivePlot, LiveRaster\n"
    "from livescan.plans import scan, grid_scan\n"
    "from livescan.sim import det, motor, det4, motor1, motor2\n"
    "RE = RunEngine()",
    "await RE(scan([det], motor, -1, 1, num=7),\n"
    "         [LiveTable([det, motor]), LivePlot('det', 'motor')])",
    "await RE(grid_scan([det4], motor1, -1, 1, 4, motor2, -1, 1, 5), LiveRaster((4, 5), 'det4'))",
]

WIDGET = "application/vnd.jupyter.widget-view+json"


@pytest.mark.notebook
def test_each_run_output_has_a_text_table_and_a_picture(tmp_path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in CELLS]
    path = tmp_path / "fallbacks.ipynb"
    nbformat.write(nb, path)
    out = execute_notebook(path, timeout=120)
    for cell in out.cells[1:]:
        runs = [o for o in cell.outputs if WIDGET in o.get("data", {})]
        assert len(runs) == 1, cell.outputs
        data = runs[0]["data"]
        assert {"text/plain", "image/png"} <= set(data)
        picture = np.asarray(Image.open(io.BytesIO(base64.b64decode(data["image/png"]))))
        assert (
            picture.shape[0] > 200
            and len(np.unique(picture.reshape(-1, picture.shape[-1]), axis=0)) > 50
        )
    text = out.cells[1].outputs[0]["data"]["text/plain"]
    lines = text.splitlines()
    assert lines[0].startswith("scan (scan 1): success, 7/7 events")
    assert "|   seq_num |       time |        det |      motor | motor_setpoint |" in lines
    assert sum(line.startswith("|") and line.split("|")[1].strip().isdigit() for line in lines) == 7
    assert lines[-1].startswith("generator scan ['")
    assert out.cells[2].outputs[0]["data"]["text/plain"].startswith("grid_scan (scan 2): success")


@pytest.mark.notebook
def test_the_stored_widget_state_holds_the_final_table_rows(tmp_path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in CELLS[:2]]
    path = tmp_path / "table_state.ipynb"
    nbformat.write(nb, path)
    out = execute_notebook(path, timeout=120)
    state = out.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    grids = [m for m in state.values() if m["model_name"] == "DataGridModel"]
    assert len(grids) == 1
    assert grids[0]["state"]["_data"]["data"]["seq_num"]["shape"] == [7]
    buffers = {tuple(b["path"]): b for b in grids[0]["buffers"]}
    det = grids[0]["state"]["_data"]["data"]["det"]
    raw = base64.b64decode(buffers[("_data", "data", "det", "value")]["data"])
    np.testing.assert_allclose(
        np.frombuffer(raw, dtype=det["dtype"]), np.exp(-(np.linspace(-1, 1, 7) ** 2) / 2)
    )
