"""What hints mean and which views a run calls for: pure functions of the documents,
run against the documents of real plans and without any widget library."""

from __future__ import annotations

import subprocess
import sys

import pytest

from livescan.documents import (
    ViewSpec,
    choose_views,
    dependent_fields,
    frame_dims,
    hinted_dimensions,
    hinted_fields,
    run_dimensions,
)
from livescan.plans import count, grid_scan, scan
from livescan.sim import det, det1, det4, img, motor, motor1, motor2


def _docs(RE, plan):
    docs = []
    RE(plan, lambda name, doc: docs.append((name, doc)))
    start = next(d for n, d in docs if n == "start")
    primary = next(d for n, d in docs if n == "descriptor" and d["name"] == "primary")
    return start, primary


def test_dimensions_from_hints_else_motors_else_time():
    start = {"hints": {"dimensions": [[["m1"], "primary"], [["m2", "m2_x"], "primary"]]}}
    assert run_dimensions(start) == ([["m1"], ["m2", "m2_x"]], "primary", "hints")
    assert run_dimensions({"motors": ["a", "b"]}) == ([["a"], ["b"]], "primary", "motors")
    assert run_dimensions({}) == ([["time"]], "primary", "time")
    # a malformed entry is skipped, not fatal; the first entry's stream wins
    odd = {"hints": {"dimensions": ["junk", [["x"], "fast"], [["y"], "primary"]]}}
    assert hinted_dimensions(odd) == [(["x"], "fast"), (["y"], "primary")]
    assert run_dimensions(odd)[1] == "fast"


def test_hinted_and_dependent_fields():
    desc = {
        "data_keys": {"m": {}, "a": {}, "b": {}, "c": {}},
        "hints": {"det": {"fields": ["a", "b"]}, "other": {"fields": ["b"]}, "bad": 3},
        "object_keys": {"det": ["a", "b", "c"], "m": ["m"]},
    }
    assert hinted_fields(desc) == ["a", "b"]
    assert dependent_fields(desc, ["m", "a"]) == ["b"]
    no_hints = {**desc, "hints": {}}
    assert dependent_fields(no_hints, ["m"]) == ["a", "b", "c"]  # every object's fields
    bare = {"data_keys": {"m": {}, "z": {}}}
    assert dependent_fields(bare, ["m"]) == ["z"]  # every key


@pytest.mark.parametrize(
    ("shape", "dims"),
    [(None, None), ([], []), ([1, 4, 5], [4, 5]), ([1, 1, 4, 5], [4, 5]), ([3, 4, 5], [3, 4, 5]),
     ([1, 5], [1, 5]), ((7,), [7])],
)  # fmt: skip
def test_frame_dims_drops_leading_ones_only(shape, dims):
    assert frame_dims(shape) == dims


def test_a_1d_scan_gets_a_plot_per_hinted_field_and_a_table(RE):
    start, desc = _docs(RE, scan([det, det1], motor, -1, 1, num=5))
    notes: list[str] = []
    views = choose_views(start, desc, notes=notes)
    assert views == [
        ViewSpec("plot", ("det",), "primary", x="motor"),
        ViewSpec("plot", ("det1",), "primary", x="motor"),
        ViewSpec("table", ("motor", "det", "det1"), "primary"),
    ]
    assert notes == []
    assert len({*views}) == 3  # hashable: a cache key


def test_a_grid_scan_gets_rasters_with_pixel_centres_on_the_grid(RE):
    start, desc = _docs(RE, grid_scan([det4], motor1, -1, 1, 3, motor2, -2, 2, 5))
    (raster, table) = choose_views(start, desc)
    assert raster.kind == "raster" and raster.field == "det4"
    assert raster.shape == (3, 5)
    assert (raster.ylabel, raster.xlabel) == ("motor1", "motor2")
    # columns are the fast axis (motor2, step 1), rows the slow one (motor1, step 1)
    assert raster.extent == pytest.approx((-2.5, 2.5, -1.5, 1.5))
    assert table.kind == "table" and table.fields[:2] == ("motor1", "motor2")


def test_a_count_of_a_camera_gets_an_image_and_plots_against_time(RE):
    start, desc = _docs(RE, count([img, det], num=2))
    views = choose_views(start, desc)
    kinds = {(v.kind, v.fields) for v in views}
    assert ("image", ("img",)) in kinds
    assert ("plot", ("det",)) in kinds and all(v.x == "time" for v in views if v.kind == "plot")
    table = next(v for v in views if v.kind == "table")
    assert "img" not in table.fields


def test_single_points_odd_shapes_and_missing_dimensions_are_noted():
    keys = {
        "det": {"dtype": "number", "shape": []},
        "spectrum": {"dtype": "array", "shape": [100]},
    }
    desc = {"name": "primary", "data_keys": keys, "hints": {"d": {"fields": ["det", "spectrum"]}}}
    start = {"hints": {"dimensions": [[["x"], "primary"]]}, "num_points": 1}
    notes: list[str] = []
    views = choose_views(start, desc, notes=notes)
    assert views == [ViewSpec("table", ("det",), "primary")]
    assert notes == [
        "dimension field(s) ['x'] are not in the 'primary' stream",
        "'spectrum' has shape [100]: not shown",
        "a single point: shown in the table only",
    ]
    three = {"hints": {"dimensions": [[["a"], "primary"], [["b"], "primary"], [["c"], "primary"]]}}
    notes = []
    views = choose_views(three, desc, notes=notes)
    assert views[0] == ViewSpec("plot", ("det",), "primary", x=None)
    assert "3 dimensions: plotted against seq_num" in notes


def test_the_documents_layer_needs_no_widget_library():
    code = (
        "import sys\n"
        "for name in ('ipywidgets', 'bqplot', 'ipydatagrid', 'IPython'):\n"
        "    sys.modules[name] = None  # importing it raises ImportError\n"
        "from livescan.documents import choose_views\n"
        "start = {'hints': {'dimensions': [[['m'], 'primary']]}}\n"
        "desc = {'data_keys': {'m': {'dtype': 'number', 'shape': []},\n"
        "                      'd': {'dtype': 'number', 'shape': []}}}\n"
        "print([v.kind for v in choose_views(start, desc)])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['plot', 'table']"
