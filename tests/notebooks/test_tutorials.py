"""Every tutorial in notebooks/ runs headless, and its stored widget state holds each run's data.

Each notebook is executed once (nbclient, kernel = this interpreter, ``store_widget_state``)
with ``LIVESCAN_TUTORIAL_DIR`` pointing at a temp folder; any error output fails. The
notebooks save every run into ``<folder>/runs``; the widget-state test reads those runs back
and compares them with what the stored widgets hold: each run's status line (state, events),
each LivePlot line (every x/y point), each LiveRaster heat map (every pixel at its grid
position), each LiveTable grid (row count, columns) and each LiveImage (frame count, and the
spot of the last frame where the stored PNG is brightest).
"""

from __future__ import annotations

import re

import jupytext
import nbformat
import numpy as np
import pytest

from livescan.store import RunStore
from livescan.widgets._raster_tiles import raster_rgba
from tests.notebooks._widget_state import WidgetState, png_luminance
from tests.notebooks.conftest import NOTEBOOKS, TUTORIALS

pytestmark = pytest.mark.notebook

# What each tutorial shows (so the widget-state check is never vacuous).
EXPECTED = {
    "01_getting_started": {"runs": 6, "lines": 3, "tables": 3},
    "02_subscriptions": {"runs": 8, "lines": 3, "tables": 5},
    "03_rasters_and_images": {"runs": 4, "lines": 1, "heat_maps": 2, "images": 2, "tables": 1},
    "04_exporting": {"runs": 7},
    "05_saved_runs": {"runs": 4, "lines": 1, "heat_maps": 1, "images": 1},
    "06_custom_callbacks": {"runs": 5, "lines": 1, "tables": 1},
    "07_beyond_one_machine": {"runs": 2},  # its LivePlot shows a derived run (no scan_id)
}


def test_the_tutorials_are_there():
    assert sorted(EXPECTED) == TUTORIALS, "add the new notebook to EXPECTED"
    assert TUTORIALS[0] == "01_getting_started"


def test_notebooks_are_built_from_their_sources_and_committed_clean():
    """Each ``NN_name.ipynb`` holds exactly the cells of its jupytext source ``NN_name.py``."""
    rebuild = "rebuild them with: python notebooks/build.py"
    sources = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.py"))
    assert sources == TUTORIALS, (
        f"every tutorial is a pair NN_name.py + NN_name.ipynb; sources {sources}, "
        f"notebooks {TUTORIALS}; write the .py (percent format), then {rebuild}"
    )
    stale = []
    for name in TUTORIALS:
        text = jupytext.read(NOTEBOOKS / f"{name}.py", fmt="py:percent")
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        want = [(cell.cell_type, cell.source) for cell in text.cells]
        have = [(cell.cell_type, cell.source) for cell in nb.cells]
        if want != have:
            diff = next((i for i, (a, b) in enumerate(zip(want, have)) if a != b), len(have))
            stale.append(f"{name}.ipynb (first difference at cell {diff})")
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, (name, cell.source)
        assert "widgets" not in nb.metadata
    assert not stale, f"notebooks out of sync with their .py sources: {stale}; {rebuild}"


def test_the_tutorials_cover_the_spec_sections():
    text = {n: (NOTEBOOKS / f"{n}.ipynb").read_text() for n in TUTORIALS}
    wanted = {
        "01_getting_started": ["RunEngine()", "LiveTable(", "LivePlot(", "print)", "sim import"],
        "02_subscriptions": [
            '{\\"all\\": [',
            "plan.subs",
            "sub_factories",
            "RE.subscribe(",
            "RE.unsubscribe(",
            "subscribe_lossless",
        ],
        "03_rasters_and_images": ["LiveRaster(", "grid_scan(", "LiveImage(", "snake_axes"],
        "04_exporting": [
            "LiveTiffExporter(",
            "{start.scan_id}",
            "{event.seq_num}",
            "{i}",
            "dryrun=True",
            "post_run(",
            "HDF5Exporter(",
            "export_hdf5(",
            "verify_files_saved",
        ],
        "05_saved_runs": ["RunStore", "replay(", "stream(", "db.search("],
        "06_custom_callbacks": ["def print_data(name, doc)", "celebrate", "CallbackBase"],
        "07_beyond_one_machine": [
            "RedisPublisher(",
            "RemoteDispatcher(",
            "TiledStore(",
            "from_uri(",
            "FrameReducer(",
            "LocalCluster(",
        ],
    }
    for name, needles in wanted.items():
        for needle in needles:
            assert needle in text[name], f"{name} lacks {needle!r}"


@pytest.mark.parametrize("name", TUTORIALS)
def test_tutorial_executes_without_errors(executed_tutorial, name):
    nb, workdir = executed_tutorial(name)  # raises on any error output
    stderr = [
        out.text
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "stream" and out.name == "stderr"
    ]
    assert not stderr, f"{name} wrote to stderr:\n" + "\n".join(stderr)
    # every code cell ran, in order
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1))
    # the notebook wrote into the folder it was given, and its runs all succeeded
    runs = list(RunStore(workdir / "runs"))
    assert len(runs) == EXPECTED[name]["runs"]
    assert [r.exit_status for r in runs] == ["success"] * len(runs)


def _primary(run, field):
    stream = run["primary"]
    return np.asarray(stream.seq_num if field == "seq_num" else stream[field], dtype=float)


def _expected_raster(run, field):
    """The grid scan's values at (rank of slow motor, rank of fast motor)."""
    motors = run.start["motors"]
    slow, fast = _primary(run, motors[0]), _primary(run, motors[1])
    rows, cols = np.unique(slow), np.unique(fast)
    out = np.full((len(rows), len(cols)), np.nan)
    out[np.searchsorted(rows, slow), np.searchsorted(cols, fast)] = _primary(run, field)
    return out


def _image_field(run):
    keys = run["primary"].read().keys() if hasattr(run["primary"], "read") else []
    for key in keys:  # frames (N, h, w), or file-backed (N, 1, h, w) as AD_HDF5 gives them
        shape = np.shape(run["primary"][key])
        if len(shape) == 3 or (len(shape) == 4 and shape[1] == 1):
            return key
    raise AssertionError(f"run {run.start['scan_id']} has no image field")


@pytest.mark.parametrize("name", TUTORIALS)
def test_stored_widget_state_holds_the_final_data_of_each_run(executed_tutorial, name):
    nb, workdir = executed_tutorial(name)
    state = WidgetState(nb)
    db = RunStore(workdir / "runs")
    runs = {r.start["scan_id"]: r for r in db}
    expected = EXPECTED[name]

    # every run shows its final status: state and all its events
    boxes = state.run_boxes()
    assert sorted(b["scan_id"] for b in boxes) == sorted(runs)
    for box in boxes:
        run = runs[box["scan_id"]]
        assert box["state"] == run.exit_status == "success"
        assert box["events"] == run.stop["num_events"]["primary"]
        assert box["plan"] in (run.start["plan_name"], "Count", "Scan", "GridScan")

    # LivePlot lines hold every point of their run
    lines = state.plot_lines()
    assert len(lines) == expected.get("lines", 0)
    for line in lines:
        run = runs[line["scan_id"]]
        want_y = _primary(run, line["y_field"])
        want_x = _primary(run, line["x_field"])
        np.testing.assert_allclose(line["y"], want_y, err_msg=line["label"])
        np.testing.assert_allclose(line["x"], want_x, err_msg=line["label"])

    # LiveRaster heat maps: every pixel at its place in the grid
    heat_maps = state.heat_maps()
    assert len(heat_maps) == expected.get("heat_maps", 0)
    for hm in heat_maps:
        assert hm["scan_id"] is not None, hm["title"]
        run = runs[hm["scan_id"]]
        field = run.start["detectors"][0]
        # the tiles show every pixel, coloured with the stored colour bar's limits
        want = raster_rgba(_expected_raster(run, field), hm["clim"], "viridis")
        np.testing.assert_array_equal(hm["rgba"], want, err_msg=hm["title"])

    # LiveTable grids: one row per event, the run's fields
    tables = state.tables()
    assert len(tables) == expected.get("tables", 0)
    for table in tables:
        run = runs[table["scan_id"]]
        assert table["rows"] == run.stop["num_events"]["primary"]
        data_keys = run.documents()
        descriptor = next(doc for n, doc in data_keys if n == "descriptor")
        assert table["fields"][:2] == ["seq_num", "time"]
        columns = [f for f in table["fields"][2:] if f != "ipydguuid"]
        assert columns and set(columns) <= set(descriptor["data_keys"])

    # LiveImage viewers: at the last frame, which the PNG shows
    viewers = state.image_viewers()
    assert len(viewers) == expected.get("images", 0)
    for viewer in viewers:
        scan_id = state.latest_run_showing(viewer["box"])
        if scan_id is None:  # a replayed run: the last run with that many frames
            scan_id = max(
                s
                for s, r in runs.items()
                if r.stop["num_events"]["primary"] == viewer["frames"]
                and any(k in r.start["detectors"] for k in ("img", "direct_img"))
            )
        run = runs[scan_id]
        n = run.stop["num_events"]["primary"]
        assert viewer["frame"] == viewer["frames"] == n
        assert viewer["slider"] == (n, n)
        frame = np.asarray(run["primary"][_image_field(run)][-1], dtype=float)
        frame = frame.reshape(frame.shape[-2:])
        shown = png_luminance(viewer["png"])
        assert shown.shape == frame.shape
        # the brightest spot of the shown image is that of the last frame
        blur = _box_blur(frame)
        spot = np.unravel_index(np.argmax(blur), blur.shape)
        shown_blur = _box_blur(shown)
        shown_spot = np.unravel_index(np.argmax(shown_blur), shown_blur.shape)
        assert np.hypot(spot[0] - shown_spot[0], spot[1] - shown_spot[1]) <= 3, (spot, shown_spot)


def _box_blur(a: np.ndarray, k: int = 5) -> np.ndarray:
    """Mean over k×k neighbourhoods (valid part), so noise does not move the maximum."""
    c = np.cumsum(np.cumsum(np.pad(a, ((1, 0), (1, 0))), axis=0), axis=1)
    return c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]


def test_text_outputs_are_real(executed_tutorial):
    """A few outputs the prose talks about, read from the executed notebooks."""
    nb, _ = executed_tutorial("01_getting_started")
    text = _all_text(nb)
    assert re.search(r"\|\s+1 \| [\d:.]+ \|\s+5\.000 \|\s+1\.765 \|\s+1\.213 \|", text)
    nb, _ = executed_tutorial("02_subscriptions")
    text = _all_text(nb)
    lossless, lossy = map(
        int, re.search(r"lossless: (\d+) events; slow lossy: (\d+)", text).groups()
    )
    assert lossless == 300 and 0 < lossy < 300
    assert "27 events seen by note_events" in text
    nb, _ = executed_tutorial("04_exporting")
    text = _all_text(nb)
    assert "verify_files_saved: run" in text and "OK, all 5 checks passed" in text
    assert "ada/2/Si_+1.00_3.tiff" in text
    nb, _ = executed_tutorial("06_custom_callbacks")
    text = _all_text(nb)
    assert "peak of det: 1.000 at motor = +0.000" in text
    assert "50 events recorded, none skipped: True" in text


def _all_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            parts.append(out.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)
