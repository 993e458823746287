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


def _picture(data: dict) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data["image/png"]))))


def _fallback(cell) -> dict:
    """The run's fallback output: the one with the fallback's HTML."""
    (out,) = [o for o in cell.outputs if "livescan-fallback" in o.get("data", {}).get(
        "text/html", "")]  # fmt: skip
    return out["data"]


@pytest.mark.notebook
def test_each_run_leaves_its_text_tables_and_a_picture_below_its_live_view(tmp_path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in CELLS]
    path = tmp_path / "fallbacks.ipynb"
    nbformat.write(nb, path)
    out = execute_notebook(path, timeout=120)
    for cell in out.cells[1:]:
        live = [o for o in cell.outputs if WIDGET in o.get("data", {})]
        assert len(live) == 1, cell.outputs
        data = _fallback(cell)
        assert {"text/plain", "image/png", "text/html"} <= set(data)
        picture = _picture(data)
        assert (
            picture.shape[0] > 200
            and len(np.unique(picture.reshape(-1, picture.shape[-1]), axis=0)) > 50
        )
        assert data["image/png"] in data["text/html"]  # the same picture, inline
    live = next(o for o in out.cells[1].outputs if WIDGET in o.get("data", {}))["data"]
    # shown once, never updated (an update rebuilds every view in JupyterLab)
    assert live["text/plain"] == "scan: live view; the run's summary follows"
    lines = _fallback(out.cells[1])["text/plain"].splitlines()
    assert lines[0].startswith("scan (scan 1): success, 7/7 events")
    assert "|   seq_num |       time |        det |      motor | motor_setpoint |" in lines
    assert sum(line.startswith("|") and line.split("|")[1].strip().isdigit() for line in lines) == 7
    assert lines[-1].startswith("generator scan ['")
    assert "|   seq_num |" in _fallback(out.cells[1])["text/html"]
    assert _fallback(out.cells[2])["text/plain"].startswith("grid_scan (scan 2): success")


BIG = [
    "from livescan import RunEngine\n"
    "from livescan.callbacks import LiveTable, LivePlot\n"
    "from livescan.plans import count\n"
    "from livescan.sim import det\n"
    "RE = RunEngine()\n"
    "plot = LivePlot('det')\n"
    "plot",
    "await RE(count([det], 100_000), [LiveTable([det]), plot])",
]


@pytest.mark.notebook
def test_a_100000_event_run_adds_little_to_the_saved_notebook_and_reads_without_widgets(
    tmp_path,
) -> None:
    """Saved size of a 100,000-event run with a table and a plot stays under 300 kB
    (widget state included), and a plain viewer — nbconvert's HTML with no widget
    scripts — shows the table's text and the figures' pictures."""
    from nbconvert import HTMLExporter

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in BIG[:1]]
    nbformat.write(nb, tmp_path / "empty.ipynb")
    empty = execute_notebook(tmp_path / "empty.ipynb", timeout=120)
    nb.cells = [nbformat.v4.new_code_cell(c) for c in BIG]
    nbformat.write(nb, tmp_path / "big.ipynb")
    out = execute_notebook(tmp_path / "big.ipynb", timeout=300)
    grown = len(nbformat.writes(out)) - len(nbformat.writes(empty))
    print(f"saved notebook grew by {grown:,} bytes")
    assert grown <= 300_000, f"a 100,000-event run grew the saved notebook by {grown:,} bytes"

    text = _fallback(out.cells[1])["text/plain"]
    assert "count (scan 1): success, 100000/100000 events" in text
    seqs = [line.split("|")[1].strip() for line in text.splitlines() if line.startswith("|")]
    assert seqs[-1] == "100000" and "99,980 rows not shown" in text
    # the plot shown on its own (a cell's last expression) left its picture there too
    assert _picture(_fallback(out.cells[0])).shape[0] > 200

    for keep_state in (True, False):
        shown = nbformat.from_dict(out)
        if not keep_state:
            shown.metadata.pop("widgets", None)
        html, _ = HTMLExporter().from_notebook_node(shown)
        assert "99,980 rows not shown" in html
        assert _fallback(out.cells[1])["image/png"] in html  # the picture, inline


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
