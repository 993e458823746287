"""LivePlot, LiveRaster, LiveImage and the grid view on real runs; bad input is reported."""

from __future__ import annotations

import io
import itertools
import logging
import warnings

import numpy as np
import pytest

from livescan.callbacks import DocumentCollector
from livescan.documents import RunComposer, unpack_event_page
from livescan.errors import FieldError
from livescan.plans import count, grid_scan, scan
from livescan.sim import det, det4, direct_img, img, motor, motor1, motor2
from livescan.widgets import (
    ImageShapeError,
    LiveImage,
    LivePlot,
    LiveRaster,
    NoFrontendWarning,
    RasterShapeWarning,
    TableGridView,
)
from livescan.widgets._colormap import colormap_lut
from livescan.widgets._raster_tiles import raster_rgba
from tests.widgets._raster_shown import shown_rgba


def test_liveplot_overplots_one_line_per_run_with_legend_and_kwargs(RE, recorder):
    plot = LivePlot("det", "motor", legend_keys=["sample"], marker="circle")
    RE(scan([det], motor, -1, 1, num=7), plot, sample="Si")
    RE(scan([det], motor, -2, 2, num=5), plot, sample="Ge")
    assert len(plot.figure.marks) == 2
    first, second = plot.runs
    assert first.mark.labels[0].endswith(": Si") and second.mark.labels[0].endswith(": Ge")
    assert first.mark.colors != second.mark.colors and first.mark.marker == "circle"
    assert recorder.array(first.mark, "x").tolist() == pytest.approx(np.linspace(-1, 1, 7))
    assert recorder.array(second.mark, "y").size == 5
    assert plot.x_scale.min is None  # autoscaling


def test_liveplot_defaults_to_seq_num_honours_limits_and_shares_a_figure(RE, recorder):
    a = LivePlot("det", xlim=(0, 10), ylim=(-1, 2))
    b = LivePlot("det", fig=a)
    RE(count([det], num=4), [a, b])
    assert b.figure is a.figure and len(a.figure.marks) == 2
    assert (a.x_scale.min, a.x_scale.max, a.y_scale.min, a.y_scale.max) == (0, 10, -1, 2)
    assert recorder.array(a.runs[0].mark, "x").tolist() == [1, 2, 3, 4]


def test_unknown_fields_are_a_clear_error_at_the_descriptor(RE, recorder, caplog):
    plot = LivePlot("nope", "motor")
    with caplog.at_level(logging.ERROR):
        result = RE(scan([det], motor, -1, 1, num=3), plot)
    assert result.exit_status == "success"  # lossy: the run goes on
    assert "FieldError" in caplog.text and "'nope'" in caplog.text
    assert "nope" in plot.figure.title and "det" in plot.figure.title
    run = RunComposer({"scan_id": 1})
    desc = run.descriptor("primary", {"det": {"dtype": "number", "shape": [], "source": "s"}})
    for cb in (LiveRaster((2, 2), "I0"), LiveImage("cam")):
        cb("start", run.start())
        with pytest.raises(FieldError, match="not in stream 'primary'; it has \\['det'\\]"):
            cb("descriptor", desc)
    other = run.descriptor("baseline", {"x": {"dtype": "number", "shape": [], "source": "s"}})
    plot("descriptor", other)  # other streams are not checked


def test_liveraster_fills_snaking_pixels_and_is_reusable(RE, recorder):
    raster = LiveRaster((3, 4), "det4", clim=(0, 1), extent=(-1, 1, -1, 1))
    for _ in range(2):
        RE(grid_scan([det4], motor1, -1, 1, 3, motor2, -1, 1, 4, snake_axes=True), raster)
        shown = shown_rgba(recorder, raster)
        np.testing.assert_array_equal(shown, raster_rgba(raster.array, (0, 1), "viridis"))
        assert (shown[..., 3] == 255).all()
    # snaking: row 1 was scanned right-to-left, so it mirrors row 1 of a plain scan
    plain = LiveRaster((3, 4), "det4")
    RE(grid_scan([det4], motor1, -1, 1, 3, motor2, -1, 1, 4, snake_axes=False), plain)
    np.testing.assert_allclose(raster.array, plain.array)
    assert (raster.color_scale.min, raster.color_scale.max) == (0, 1)


def test_liveraster_colour_scale_limits_are_finite_in_every_state_the_browser_sees(RE, recorder):
    """bqplot computes a NaN colour domain for an all-NaN raster when the scale has no
    limits; the colour bar's redraw then throws on the first real domain and the heat
    map's own scale view keeps NaN: every cell one colour. So from the comm_open on, and
    across runs (each start blanks the raster), the scale must carry finite limits."""
    recorder.clear()
    raster = LiveRaster((3, 4), "det4")
    for _ in range(2):
        RE(grid_scan([det4], motor1, -1, 1, 3, motor2, -1, 1, 4), raster)
    history = recorder.history(raster.color_scale)
    assert history, "the colour scale was never sent"
    for state in history:
        lo, hi = state.get("min"), state.get("max")
        assert lo is not None and hi is not None, state
        assert np.isfinite(lo) and np.isfinite(hi) and lo < hi, state
    # the first state (comm_open) already has them, before any data
    assert history[0]["min"] == 0.0 and history[0]["max"] == 1.0
    # and the last ones are the measured range of the raster, which the tiles are
    # coloured with: its lowest pixel the colour map's first colour, its highest the last
    data = raster.array
    assert (history[-1]["min"], history[-1]["max"]) == (data.min(), data.max())
    shown = shown_rgba(recorder, raster)
    lut = colormap_lut("viridis")
    assert (shown[np.unravel_index(data.argmin(), data.shape)][:3] == lut[0]).all()
    assert (shown[np.unravel_index(data.argmax(), data.shape)][:3] == lut[-1]).all()
    assert len(np.unique(shown.reshape(-1, 4), axis=0)) >= 4  # not one flat colour
    # the colour bar is the same map: its colours sampled from the kernel's table
    assert history[-1]["colors"][0] == "#" + bytes(lut[0]).hex()
    assert history[-1]["colors"][-1] == "#" + bytes(lut[-1]).hex()


def test_liveraster_partial_run_leaves_pixels_blank(recorder):
    raster = LiveRaster((2, 3), "I")
    run = RunComposer({"scan_id": 1, "num_points": 6})
    desc = run.descriptor("primary", {"I": {"dtype": "number", "shape": [], "source": "s"}})
    raster("start", run.start())
    raster("descriptor", desc)
    for v in (1.0, 2.0):
        raster("event", run.event(desc, {"I": v}, {"I": 0}))
    raster("stop", run.stop("abort"))
    shown = shown_rgba(recorder, raster)
    # measured pixels opaque (the lowest and highest colour), the others transparent
    assert shown[0, :2, 3].tolist() == [255, 255] and (shown[0, 2:, 3] == 0).all()
    assert (shown[1, :, 3] == 0).all()
    lut = colormap_lut("viridis")
    assert (shown[0, 0, :3] == lut[0]).all() and (shown[0, 1, :3] == lut[-1]).all()


def test_liveraster_fallback_picture_honours_clim_and_colour_map(RE, recorder):
    """The static PNG draws the raster as the browser does: same limits, same colour map,
    unmeasured pixels blank, motors on the axes."""
    from matplotlib.figure import Figure

    raster = LiveRaster((3, 4), "det4", clim=(0, 2), cmap="magma")
    plan = grid_scan([det4], motor1, -1, 1, 3, motor2, -1, 1, 4, snake_axes=True)
    RE(plan, raster)
    raster.array[2, 3] = np.nan  # one pixel never measured
    fig = Figure()
    ax = fig.add_subplot()
    raster.draw_fallback(fig, ax)
    (im,) = ax.get_images()
    assert im.get_clim() == (0, 2) and im.get_cmap().name == "magma"
    painted = im.to_rgba(im.get_array(), bytes=True)  # what matplotlib paints, row 0 first
    want = raster_rgba(raster.array, (0, 2), "magma")
    assert (painted[..., 3] == want[..., 3]).all() and painted[2, 3, 3] == 0
    opaque = want[..., 3] == 255
    assert np.abs(painted[opaque][:, :3].astype(int) - want[opaque][:, :3]).max() <= 1
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("motor2", "motor1")
    assert im.get_extent() == list(raster.extent) and im.origin == "lower"


def test_liveraster_warns_when_the_shape_does_not_match_and_ignores_extra_points(RE, recorder):
    raster = LiveRaster((2, 2), "det")
    with pytest.warns(RasterShapeWarning, match="holds 4 points but the run has num_points=6"):
        RE(scan([det], motor, -1, 1, num=6), raster)
    assert raster.ignored == 2 and np.isfinite(raster.array).all()


def test_liveimage_follows_frames_keeps_n_and_shows_cross_sections(RE, recorder):
    live = LiveImage("direct_img", max_frames=5, display_size=32)
    RE(scan([direct_img], motor, -1, 1, num=12), live)
    assert live.seq_nums == [8, 9, 10, 11, 12]  # memory bound
    frame = live.frame()
    assert frame.ndim == 2
    state = recorder.state(live.slider)
    assert (state["min"], state["max"], state["value"]) == (1, 12, 12)  # followed the newest
    png = recorder.state(live.image)["value"]
    from PIL import Image

    shown = Image.open(io.BytesIO(png))
    assert max(shown.size) <= 32 and shown.mode == "RGB"
    r, c = live.row.value, live.col.value
    np.testing.assert_allclose(recorder.array(live.row_profile, "y"), frame[r, :])
    np.testing.assert_allclose(recorder.array(live.col_profile, "x"), frame[:, c])
    # the user moves the slider back: it stops following; the crosshair moves the profiles
    live.slider.value = 9
    live.row.value = 3
    live.flush()
    assert live.follow.value is False
    np.testing.assert_allclose(recorder.array(live.row_profile, "y"), live.frame(9)[3, :])
    assert "frame <b>9</b>" in recorder.state(live.info)["value"]
    live.slider.value = 2  # dropped (memory bound): the oldest kept frame is shown
    live.flush()
    assert "frame <b>8</b>" in recorder.state(live.info)["value"]
    live.slider.value = 12  # back at the newest: following again
    assert live.follow.value is True


def _drawn_pictures(recorder, mark) -> list[bytes]:
    """What bqplot's Image mark draws, in order: it (re)draws only when its ``image``
    trait changes, with the referenced widget's value at that moment."""
    drawn = []
    for m, states in recorder.replay():
        if m.comm_id == mark.model_id and "image" in m.data.get("state", {}):
            ref = states[mark.model_id]["image"].removeprefix("IPY_MODEL_")
            drawn.append(states[ref]["value"])
    return drawn


def test_liveimage_draws_each_new_picture_upright(RE, recorder):
    from PIL import Image

    from livescan.widgets._colormap import apply_colormap, downsample

    recorder.clear()
    live = LiveImage("direct_img", display_size=32)
    RE(scan([direct_img], motor, -1, 1, num=3), live)
    drawn = _drawn_pictures(recorder, live.image_mark)
    assert len(drawn) >= 2 and drawn[0] == b""  # the empty placeholder, then frames
    shown = np.asarray(Image.open(io.BytesIO(drawn[-1])).convert("RGB"))
    small = downsample(live.frame(), 32)
    expected = apply_colormap(small, tuple(live.clim.value), live.cmap.value)
    np.testing.assert_array_equal(shown, expected)  # the newest frame, row 0 first
    # row 0 at the top: the mark spans y from h (bottom) to 0 (top) on a reversed scale
    h, w = live.frame().shape
    state = recorder.state(live.image_mark)
    assert np.frombuffer(state["y"]["value"], state["y"]["dtype"]).tolist() == [h, 0]
    assert np.frombuffer(state["x"]["value"], state["x"]["dtype"]).tolist() == [0, w]
    assert live.y_scale.reverse is True
    # pictures replaced are closed: one Image model stays open
    images = [cid for cid, st in list(recorder.replay())[-1][1].items()
              if st.get("_model_name") == "ImageModel" and "format" in st]  # fmt: skip
    assert images == [live.image.model_id]


def test_liveimage_reads_file_backed_frames_lazily(RE, recorder):
    live = LiveImage("img", max_frames=3)
    RE(count([img], num=4), live)
    assert live.seq_nums == [2, 3, 4]
    assert all(isinstance(p, str) for _, p in live.frames)  # datum ids, not arrays
    assert live.frame(2).shape == live.frame().shape and live.frame().ndim == 2
    assert len(live.filler.datums) <= 4
    assert recorder.state(live.image)["value"][:8] == b"\x89PNG\r\n\x1a\n"


def test_liveimage_rejects_data_that_is_not_2d(recorder):
    run = RunComposer({"scan_id": 1})
    live = LiveImage("det")
    live("start", run.start())
    desc = run.descriptor("primary", {"det": {"dtype": "number", "shape": [], "source": "s"}})
    with pytest.raises(ImageShapeError, match="not a 2-D frame"):
        live("descriptor", desc)
    live2 = LiveImage("spec")
    desc = run.descriptor("primary", {"spec": {"dtype": "array", "shape": None, "source": "s"}})
    live2("descriptor", desc)
    with pytest.raises(ImageShapeError, match="shape \\(5,\\)"):
        live2("event", run.event(desc, {"spec": np.zeros(5)}, {"spec": 0}))


def test_grid_view_keeps_rows_precision_and_summary(recorder):
    view = TableGridView()
    view.begin(["det", "n", "name"], {"det": 2}, {"det": "number", "n": "integer",
                                                  "name": "string"})  # fmt: skip
    for i in range(1, 4):
        view.row(i, 1e9 + i, [i / 3, i, f"s{i}"])
    view.end("generator scan ['abcd1234'] (scan num: 1)")
    # a finished small table is a plain DataGrid holding its rows in its synced state,
    # so a saved notebook shows them
    sent = recorder.state(view.grid)["_data"]["data"]
    assert np.frombuffer(sent["seq_num"]["value"], dtype=sent["seq_num"]["dtype"]).tolist() == [
        1, 2, 3]  # fmt: skip
    np.testing.assert_allclose(np.frombuffer(sent["det"]["value"], dtype=sent["det"]["dtype"]),
                               [1 / 3, 2 / 3, 1])  # fmt: skip
    assert view.grid.renderers["det"].format == ".2f"
    assert view.data["name"].tolist() == ["s1", "s2", "s3"]
    assert "scan num: 1" in recorder.state(view.summary)["value"]


def test_grid_is_born_with_its_number_formats_and_takes_event_pages(recorder):
    """ipydatagrid 1.4 drops renderers set on a grid already shown (a race in its view):
    the grid that shows the columns must carry them in its comm_open state."""
    view = TableGridView()
    box = view._grids
    view.begin(["det", "n"], {"det": 3}, {"det": "number", "n": "integer"})
    view.rows([1, 2, 3], [1e9, 1e9 + 1, 1e9 + 2], [[1.0, None, 2.5], [4, 5, 6]])
    view.row(4, 1e9 + 3, [0.125, 7])
    view.flush()
    grid = view.grid
    assert recorder.state(box)["children"] == [f"IPY_MODEL_{grid.model_id}"]
    (opened,) = [m for m in recorder.messages if m.comm_id == grid.model_id
                 and m.msg_type == "comm_open"]  # fmt: skip
    refs = opened.data["state"]["renderers"]
    formats = {k: recorder.state(v.removeprefix("IPY_MODEL_"))["format"] for k, v in refs.items()}
    assert formats == {"det": ".3f", "n": "d"}
    assert recorder.history(grid)[-1]["_row_count"] == 4 + view.ahead_rows  # blank rows
    data = view.data
    assert data.index.tolist() == [1, 2, 3, 4]
    assert data["det"].tolist()[:1] + data["det"].tolist()[2:] == [1.0, 2.5, 0.125]
    assert np.isnan(data["det"].iloc[1]) and data["n"].tolist() == [4, 5, 6, 7]
    # the grid made before the columns were known was never shown: closed
    closed = {m.comm_id for m in recorder.messages if m.msg_type == "comm_close"}
    streaming_id = grid.model_id
    assert streaming_id not in closed and len(closed) >= 1
    # at the end the streaming grid gives way to one that holds the rows, same formats,
    # built in a box of its own (hidden, then shown: at once here, no loop runs); the
    # streaming grid's box is hidden, the grid not taken out of it nor closed (its view may
    # still be being built in the browser, see _table_view's module docstring)
    view.end("done")
    final = view.grid
    assert recorder.state(box)["children"] == [f"IPY_MODEL_{streaming_id}"]
    assert recorder.state(view._stage)["children"] == [f"IPY_MODEL_{final.model_id}"]
    assert recorder.state(view._grids.layout)["display"] == "none"
    assert recorder.state(view._stage.layout)["display"] is None
    assert recorder.state(recorder.state(final)["layout"].removeprefix("IPY_MODEL_"))[
        "display"] is None  # fmt: skip
    refs = recorder.state(final)["renderers"]
    assert {k: recorder.state(v.removeprefix("IPY_MODEL_"))["format"] for k, v in refs.items()} == {
        "det": ".3f",
        "n": "d",
    }
    assert streaming_id not in {m.comm_id for m in recorder.messages if m.msg_type == "comm_close"}


def _children_lists(recorder, box) -> list[list[str]]:
    return [state["children"] for state in recorder.history(box) if "children" in state]


def test_table_grids_leave_their_box_only_when_it_has_settled(recorder):
    """A grid is never taken out of a box (nor closed) within ``settle`` s of the box's last
    change: the browser may still be building its view, and ipywidgets' box would post a
    resize to the disposed view ("Cannot read properties of null (reading
    'processLuminoMessage')"). Within that time a new grid is appended, the old hidden."""
    view = TableGridView()
    box = view._grids
    closed = lambda: {m.comm_id for m in recorder.messages if m.msg_type == "comm_close"}  # noqa: E731

    def stream(n: int) -> tuple[str, str]:
        view.begin(["det"], {"det": 3}, {"det": "number"})
        live = view.grid.model_id
        for i in range(1, n + 1):
            view.row(i, 1e9 + i, [i / 2])
        view.end(f"scan of {n}")
        return live, view.grid.model_id

    stage = view._stage  # where the finished tables' DataGrids go

    def refs(*grids: tuple[str, str], final: bool) -> list[str]:
        return [f"IPY_MODEL_{g[final]}" for g in grids]

    first = stream(3)
    second = stream(4)  # at once: the first stream's grids stay, hidden
    for b in (box, stage):
        lists = _children_lists(recorder, b)
        # every change only appends: each list starts with the one before it
        assert all(y[: len(x)] == x for x, y in itertools.pairwise(lists)), lists
    assert _children_lists(recorder, box)[-1] == refs(first, second, final=False)
    assert _children_lists(recorder, stage)[-1] == refs(first, second, final=True)
    assert not {*first, *second} & closed()
    # a new stream once the boxes have settled: the old grids go, and are closed
    view._changed_at -= view.settle
    third = stream(2)
    assert _children_lists(recorder, box)[-1] == refs(third, final=False)
    assert _children_lists(recorder, stage)[-1] == refs(third, final=True)
    assert {*first, *second} <= closed() and not set(third) & closed()
    # streams in a tight loop: at most max_grids grids are kept (both boxes)
    view.max_grids = 4
    for n in (3, 4, 5):
        stream(n)
    assert [len(c) for c in _children_lists(recorder, box)[-3:]] == [2, 1, 2]
    assert [len(c) for c in _children_lists(recorder, stage)[-4:]] == [2, 0, 1, 2]


def test_widgets_take_event_pages_and_end_where_events_one_by_one_would(RE, recorder):
    paged = DocumentCollector()
    paged.accepts_event_pages = True  # sees what the lossy lane gives the widgets

    def widgets():
        return (
            LivePlot("det4", "motor2"),
            LivePlot("det4", "time"),
            LiveRaster((4, 5), "det4"),
            LiveRaster((3, 5), "det4"),  # too small: the last row's points are ignored
            LiveImage("direct_img", max_frames=3),
        )

    live = widgets()
    assert all(type(w).accepts_event_pages for w in live)
    plan = grid_scan([det4, direct_img], motor1, -1, 1, 4, motor2, -1, 1, 5, snake_axes=True)
    with pytest.warns(RasterShapeWarning):
        RE(plan, [paged, *live])
    assert "event_page" in paged.names() and "event" not in paged.names()
    assert sum(len(p["seq_num"]) for p in paged["event_page"]) == 20

    one_by_one = widgets()
    with pytest.warns(RasterShapeWarning):
        for name, doc in paged:
            docs = unpack_event_page(doc) if name == "event_page" else [doc]
            for d in docs:
                for w in one_by_one:
                    w("event" if name == "event_page" else name, d)
    for a, b in zip(live[:2], one_by_one[:2]):
        ((ax, ay),), ((bx, by),) = a.data, b.data
        np.testing.assert_allclose(ax, bx)
        np.testing.assert_array_equal(ay, by)
    for a, b in zip(live[2:4], one_by_one[2:4]):
        np.testing.assert_array_equal(a.array, b.array)
        assert a.ignored == b.ignored
    assert live[3].ignored == 5 and np.isfinite(live[2].array).all()
    assert live[4].seq_nums == one_by_one[4].seq_nums == [18, 19, 20]
    np.testing.assert_array_equal(live[4].frame(), one_by_one[4].frame())
    # what the browser was sent is the kernel's data
    np.testing.assert_array_equal(shown_rgba(recorder, live[2]), live[2].rgba())


def test_widgets_without_a_kernel_say_why():
    with pytest.warns(NoFrontendWarning, match="no Jupyter kernel"):
        plot = LivePlot("det")
    assert plot.live is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = RunComposer({"scan_id": 1})
        desc = run.descriptor("primary", {"det": {"dtype": "number", "shape": [], "source": "s"}})
        for name, doc in [("start", run.start()), ("descriptor", desc),
                          ("event", run.event(desc, {"det": 1.0}, {"det": 0})),
                          ("stop", run.stop())]:  # fmt: skip
            plot(name, doc)
    assert plot.data[0][1].tolist() == [1.0]  # data kept for later


def test_a_constant_reading_still_gets_an_open_axis(RE, recorder):
    """bqplot collapses an autoscaled axis when every value is equal and draws no line."""
    from livescan.plans import count

    plot = LivePlot("det", "seq_num")
    RE(count([det], num=5), plot)  # motor parked: det reads 1.0 five times
    state = recorder.state(plot.y_scale)
    assert state["min"] < 1.0 < state["max"]
    RE(scan([det], motor, -1, 1, num=5), plot)  # real spread: autoscaling again
    state = recorder.state(plot.y_scale)
    assert state["min"] is None and state["max"] is None
    fixed = LivePlot("det", ylim=(0, 2))
    RE(count([det], num=3), fixed)
    assert (recorder.state(fixed.y_scale)["min"], recorder.state(fixed.y_scale)["max"]) == (0, 2)


def test_liveplot_and_liveraster_take_devices_like_livetable(RE, recorder):
    plot = LivePlot(det, motor)
    assert (plot.y, plot.x) == ("det", "motor")  # the hinted field, not motor_setpoint
    assert LiveRaster((3, 4), det4).I == "det4"
    RE(scan([det], motor, -1, 1, num=5), plot)
    assert plot.data[0][0].tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]
    with pytest.raises(TypeError, match="LivePlot y must be a field name"):
        LivePlot(3)


def test_liveraster_axes_come_from_the_grid_scans_motors(RE, recorder):
    raster = LiveRaster((3, 4), "det4")
    assert [a.label for a in raster.figure.axes[:2]] == ["column", "row"]
    RE(grid_scan([det4], motor1, -1, 1, 3, motor2, -3, 3, 4), raster)
    # fast motor along x, slow along y; pixel centres on the grid positions
    assert [a.label for a in raster.figure.axes[:2]] == ["motor2", "motor1"]
    assert raster.extent == (-4.0, 4.0, -1.5, 1.5)
    assert (raster.x_scale.min, raster.x_scale.max) == (-4.0, 4.0)
    assert (raster.y_scale.min, raster.y_scale.max) == (-1.5, 1.5)
    # the tile's image spans the pixels' edges: half a step beyond the end positions
    np.testing.assert_allclose(recorder.array(raster.mark, "x"), [-4, 4])
    np.testing.assert_allclose(recorder.array(raster.mark, "y"), [-1.5, 1.5])
    # given labels and extent win
    fixed = LiveRaster((3, 4), "det4", xlabel="a", ylabel="b", extent=(0, 4, 0, 3))
    RE(grid_scan([det4], motor1, -1, 1, 3, motor2, -3, 3, 4), fixed)
    assert [a.label for a in fixed.figure.axes[:2]] == ["a", "b"]
    assert fixed.extent == (0.0, 4.0, 0.0, 3.0)


@pytest.mark.parametrize("plan", ["scan", "constant count"])
def test_liveplot_line_joins_the_figure_after_the_scale_limits_it_needs(RE, recorder, plan):
    """bqplot's Lines view throws in the page ("Error setting state: Cannot read properties
    of undefined (reading 'x')") when a scale's limits change between its creation (the
    figure's ``marks`` change) and its first draw: the page must get a run's limits first,
    then the line with its points, then the figure holding it, and no limit change after."""
    plot = LivePlot("det", "motor" if plan == "scan" else "seq_num")
    motor.set(0.5)
    RE(scan([det], motor, -1, 1, num=11) if plan == "scan" else count([det], num=5), plot)
    line, scales = plot.runs[0].mark, {plot.x_scale.model_id, plot.y_scale.model_id}
    ref = f"IPY_MODEL_{line.model_id}"
    joined_at, limits = None, []
    for k, (m, states) in enumerate(recorder.replay()):
        if joined_at is None and ref in states.get(plot.figure.model_id, {}).get("marks", []):
            joined_at = k
            assert states[line.model_id]["x"]["shape"] == [11 if plan == "scan" else 5]
        if m.comm_id in scales and m.method == "update" and {"min", "max"} & set(m.data["state"]):
            limits.append(k)
    assert joined_at is not None and list(plot.figure.marks) == [line]
    assert limits and all(k < joined_at for k in limits), (limits, joined_at)
    if plan != "scan":  # a constant reading: the y axis is padded around it
        assert plot.y_scale.min < recorder.array(line, "y")[0] < plot.y_scale.max


def test_a_tables_first_grid_is_made_for_its_expected_columns_before_the_run(RE, recorder):
    """A LiveTable of devices knows its columns (and their formats) from the devices'
    ``describe()``: its grid is made and shown when the table is, with its renderers, so
    the run's descriptor opens no comm (a new grid in a kernel costs milliseconds of the
    run). Names are expected as numbers at ``default_prec``; columns the descriptor does
    not confirm get a new grid at the descriptor, as before."""
    from livescan.callbacks import LiveTable

    table = LiveTable([det, motor], view="grid", out=lambda line: None)
    assert table.expected_columns() == (
        ["det", "motor", "motor_setpoint"],
        {"det": 3, "motor": 3, "motor_setpoint": 3},
        {"det": "number", "motor": "number", "motor_setpoint": "number"},
    )
    view = table.view
    first = view.grid
    assert recorder.state(view._grids)["children"] == [f"IPY_MODEL_{first.model_id}"]
    refs = recorder.state(first)["renderers"]
    assert {k: recorder.state(v.removeprefix("IPY_MODEL_"))["format"] for k, v in refs.items()} == {
        "det": ".3f", "motor": ".3f", "motor_setpoint": ".3f"}  # fmt: skip
    recorder.clear()
    RE(scan([det], motor, -1, 1, num=5), table)
    opened = [m for m in recorder.messages if m.msg_type == "comm_open"]
    # no grid opened during the run but the finished table's DataGrid at its end
    assert [m.data["state"]["_model_name"] for m in opened] == ["DataGridModel"]
    assert view.grid is not first and view._grids.children == (first,)
    pushed = [m.data["content"] for m in recorder.for_widget(first, method=None)
              if m.data.get("method") == "custom"]  # fmt: skip
    assert pushed and all(c["event_type"] == "data-reply" for c in pushed)
    assert view.data["motor"].tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]

    # a name whose descriptor says integer: the expected grid gives way to a new one
    counted = LiveTable(["det", "seq"], view="grid", out=lambda line: None)
    guess = counted.view.grid
    assert counted.expected_columns()[2] == {"det": "number", "seq": "number"}
    run = RunComposer({"scan_id": 1})
    counted("start", run.start())
    recorder.clear()
    counted("descriptor", run.descriptor("primary", {
        "det": {"dtype": "number", "shape": [], "source": "s", "precision": 2},
        "seq": {"dtype": "integer", "shape": [], "source": "s"}}))  # fmt: skip
    (opened,) = [m for m in recorder.messages if m.msg_type == "comm_open"
                 and m.data["state"]["_model_name"] == "StreamingDataGridModel"]  # fmt: skip
    refs = opened.data["state"]["renderers"]
    assert {k: recorder.state(v.removeprefix("IPY_MODEL_"))["format"] for k, v in refs.items()} == {
        "det": ".2f", "seq": "d"}  # fmt: skip
    # the guess was on the page: hidden, not taken out (its view may still be building)
    assert counted.view._grids.children == (guess, counted.view.grid)
    assert guess.layout.display == "none" and counted.view.grid.layout.display is None


def test_a_plots_first_line_is_made_with_the_plot_and_labelled_at_the_start(RE, recorder):
    """The first run's line is opened with the plot, not while the run holds the loop;
    the start document only names it. Later runs open a line each, the next colour."""
    plot = LivePlot(det, motor)
    first = plot._spare
    assert first is not None and first not in plot.figure.marks
    recorder.clear()
    RE(scan([det], motor, -1, 1, num=5), plot)
    opened = [m.data["state"]["_model_name"] for m in recorder.messages
              if m.msg_type == "comm_open"]  # fmt: skip
    assert "LinesModel" not in opened
    assert plot.runs[0].mark is first and plot.figure.marks == [first]
    assert recorder.state(first)["labels"] == [plot.runs[0].label]
    assert plot.runs[0].label.endswith(": det")
    RE(scan([det], motor, -1, 1, num=5), plot)
    second = plot.runs[1].mark
    assert second is not first and plot.figure.marks == [first, second]
    assert list(second.colors) != list(first.colors)
    assert plot.data[1][0].tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]


def test_a_tables_columns_widen_to_their_widest_value(recorder):
    """Columns are sized from their header names, and widened (never narrowed) when a
    value needs more room: ``123456.789`` used to show as ``12345…`` and the row header
    as ``seq_n…``."""
    view = TableGridView()
    view.begin(["det", "name"], {"det": 3}, {"det": "number", "name": "string"})
    narrow = recorder.state(view.grid)["column_widths"]["det"]
    assert narrow == 64 and recorder.state(view.grid)["base_row_header_size"] >= 7 * 7 + 22
    view.rows([1, 2], [1e9, 1e9 + 1], [[1.5, -123456.789], ["a", "a much longer name"]])
    view.flush()
    widths = recorder.state(view.grid)["column_widths"]
    assert widths["det"] >= 7 * len("-123456.789") + 22
    assert widths["name"] >= 7 * len("a much longer name") + 22
    view.row(3, 1e9 + 2, [2.0, "b"])  # smaller values: no narrower
    view.flush()
    assert recorder.state(view.grid)["column_widths"] == widths
    view.end("done")  # the finished table's grid keeps the widths
    assert recorder.state(view.grid)["column_widths"] == widths
