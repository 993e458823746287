"""Live widgets shown on their own (a cell's last expression), executed headless: each leaves
a static fallback in its cell when a run it watches ends, and plain viewers never get a
widget library's repr (``Figure(axes=[Axis(…``, ``VBox(children=(HTML(…``) as its text.
LiveImage's picture honours a fixed ``clim`` (a frame far below it is drawn in the colour
map's lowest colour)."""

from __future__ import annotations

import base64
import io

import nbformat
import numpy as np
import pytest
from PIL import Image

from _nb import execute_notebook

pytestmark = pytest.mark.notebook

WIDGET = "application/vnd.jupyter.widget-view+json"
CELLS = [
    "from livescan import RunEngine\n"
    "from livescan.callbacks import LiveTable, LivePlot, LiveRaster, LiveImage\n"
    "from livescan.plans import count, grid_scan, scan\n"
    "from livescan.sim import det, det4, direct_img, motor, motor1, motor2\n"
    "RE = RunEngine()",
    "table = LiveTable([det, motor])\ntable",
    "raster = LiveRaster((4, 5), 'det4')\nraster",
    # direct_img's frames read 1..~1060: with limits (5000, 6000) every pixel is below them
    "image = LiveImage('direct_img', clim=(5000, 6000))\nimage",
    "auto = LiveImage('direct_img')\nauto",  # limits from the frame: the control
    "await RE(scan([det], motor, -1, 1, num=7), table)",
    "await RE(grid_scan([det4], motor1, -1, 1, 4, motor2, -1, 1, 5), raster)",
    "await RE(count([direct_img], num=2), [image, auto])",
]


def _picture(data: dict) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data["image/png"]))).convert("RGB"))


def test_widgets_shown_alone_leave_their_fallbacks(tmp_path) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nbformat.write(nb, tmp_path / "alone.ipynb")
    out = execute_notebook(tmp_path / "alone.ipynb", timeout=120)
    shown = {}
    for cell in out.cells[1:5]:
        name = cell.source.split(" = ")[0]
        (live,) = [o for o in cell.outputs if WIDGET in o.get("data", {})]
        text = live["data"]["text/plain"]
        assert not text.startswith(("Figure(", "VBox(", "HBox(", "DataGrid(")), (name, text)
        (fallback,) = [
            o["data"] for o in cell.outputs
            if "livescan-fallback" in o.get("data", {}).get("text/html", "")
        ]  # fmt: skip
        shown[name] = fallback

    # the table: its rows as text, in bluesky's layout
    rows = [ln for ln in shown["table"]["text/plain"].splitlines() if ln.startswith("|")]
    assert "motor_setpoint" in rows[0] and len(rows) == 1 + 7, rows
    # the raster and the image: a picture each, with many colours (not blank)
    raster = _picture(shown["raster"])
    assert raster.shape[0] > 200 and len(np.unique(raster.reshape(-1, 3), axis=0)) > 20
    # the image: every pixel of the frame is below the fixed limits, so the frame is drawn
    # in one colour, viridis' lowest; with limits from the frame its bright spot shows
    assert _lowest_share(_picture(shown["image"])) > 0.99
    assert _lowest_share(_picture(shown["auto"])) < 0.95


def _lowest_share(picture: np.ndarray) -> float:
    """Of the frame's area (the box around the pixels in viridis' lowest colour, #440154,
    left of the colour bar), the share drawn in that colour."""
    lowest = np.all(np.abs(picture.astype(int) - [0x44, 0x01, 0x54]) <= 3, axis=-1)
    lowest[:, int(picture.shape[1] * 0.8) :] = False  # the colour bar is on the right
    rows, cols = np.nonzero(lowest)
    assert rows.size > 1000, "no frame drawn"
    box = lowest[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    return float(box.mean())


DASHBOARD_CELLS = [
    "from livescan import RunEngine\n"
    "from livescan.jupyter import Dashboard\n"
    "from livescan.plans import scan\n"
    "from livescan.sim import det, motor\n"
    "RE = RunEngine()",
    "dash = Dashboard(RE=RE)\ndash",
    "await RE(scan([det], motor, -1, 1, num=7))",
]


def test_a_dashboard_shown_alone_leaves_its_runs_fallback(tmp_path) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in DASHBOARD_CELLS])
    nbformat.write(nb, tmp_path / "dash.ipynb")
    out = execute_notebook(tmp_path / "dash.ipynb", timeout=120)
    cell = out.cells[1]
    # the live view is still there, with a line for plain viewers (not the VBox's repr)
    (live,) = [o for o in cell.outputs if WIDGET in o.get("data", {})]
    assert not live["data"]["text/plain"].startswith("VBox("), live["data"]["text/plain"]
    (fallback,) = [
        o["data"] for o in cell.outputs
        if "livescan-fallback" in o.get("data", {}).get("text/html", "")
    ]  # fmt: skip
    text = fallback["text/plain"]
    assert text.startswith("scan (scan 1): success, 7/7 events"), text
    rows = [ln for ln in text.splitlines() if ln.startswith("|")]
    assert "motor" in rows[0] and "det" in rows[0] and len(rows) == 1 + 7, rows
    assert "peak statistics against motor:" in text and "  det: com " in text, text
    picture = _picture(fallback)  # the plot of det against motor
    assert picture.shape[0] > 100 and len(np.unique(picture.reshape(-1, 3), axis=0)) > 5
