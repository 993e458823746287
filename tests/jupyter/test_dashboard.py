"""The best-effort Dashboard against the recording comm: which views a run gets, peak
statistics, overplot vs replace, baseline, run-status controls and replay from a store."""

from __future__ import annotations

import asyncio
import itertools

import numpy as np
import pytest

from livescan.jupyter import Dashboard, RunStatus, peak_stats
from livescan.plans import baseline_decorator, count, grid_scan, scan
from livescan.sim import det, det1, det4, direct_img, img, motor, motor1, motor2
from livescan.store import RunStore
from livescan.widgets import LiveImage, LivePlot, LiveRaster
from tests.widgets._raster_shown import shown_rgba


def _ref(ref: str) -> str:
    return ref.removeprefix("IPY_MODEL_")


def _shown(recorder, box) -> list[str]:
    """The model ids of the widgets ``box`` shows in the browser, in the order they show
    in: each child is a wrapper box of one widget, hidden by ``visibility: hidden`` (and
    no size) and placed by its flex ``order`` (read from the recorded states, as the
    browser has them)."""
    shown = []
    for ref in recorder.state(box)["children"]:
        wrapper = recorder.state(_ref(ref))
        layout = recorder.state(_ref(wrapper["layout"]))
        if layout.get("visibility") != "hidden":
            shown.append((int(layout.get("order") or 0), _ref(wrapper["children"][0])))
    return [mid for _, mid in sorted(shown)]


def _ids(*widgets) -> list[str]:
    return [w.model_id for w in widgets]


def _closed(recorder) -> set[str]:
    return {m.comm_id for m in recorder.messages if m.msg_type == "comm_close"}


def _gauss(x, centre, sigma, height=1.0, offset=0.0):
    return offset + height * np.exp(-((x - centre) ** 2) / (2 * sigma**2))


# -- peak statistics ----------------------------------------------------------------------


@pytest.mark.parametrize(("centre", "sigma"), [(0.0, 1.0), (0.37, 0.5), (-1.2, 2.0)])
def test_peak_stats_of_a_sampled_gaussian(centre, sigma):
    x = np.linspace(centre - 8 * sigma, centre + 8 * sigma, 801)
    p = peak_stats(x, _gauss(x, centre, sigma, height=3.0))
    fwhm = 2 * np.sqrt(2 * np.log(2)) * sigma
    assert p.cen == pytest.approx(centre, abs=1e-3 * sigma)
    assert p.com == pytest.approx(centre, abs=1e-3 * sigma)
    assert p.fwhm == pytest.approx(fwhm, rel=1e-3)
    assert p.max[0] == pytest.approx(centre, abs=x[1] - x[0])
    assert p.max[1] == pytest.approx(3.0, rel=1e-4)
    assert p.min[1] == pytest.approx(0.0, abs=1e-10)
    assert len(p.crossings) == 2 and p.points == 801


def test_peak_stats_edges_background_and_degenerate_input():
    x = np.linspace(-5, 5, 201)
    y = _gauss(x, 1.0, 0.8, height=2.0) + 0.3 * x + 4.0  # sloped background
    plain = peak_stats(x, y)
    flat = peak_stats(x, y, edge_count=10)
    assert flat.lin_bkg["m"] == pytest.approx(0.3, abs=0.01)
    assert flat.cen == pytest.approx(1.0, abs=0.02)
    assert abs(plain.com - 1.0) > 0.1  # the background drags the plain com away
    # max is found after the background is removed, and reports the measured reading
    assert flat.max == pytest.approx((1.0, 6.3)) and plain.max[0] > 1.0
    # a decreasing scan gives the same centre
    assert peak_stats(x[::-1], y[::-1], edge_count=10).cen == pytest.approx(flat.cen)
    # NaN points are ignored; one point has only max/min; none has nothing
    y_nan = y.copy()
    y_nan[5] = np.nan
    assert peak_stats(x, y_nan).points == 200
    one = peak_stats([2.0], [7.0])
    assert one.max == (2.0, 7.0) and one.cen is None and one.com is None
    assert peak_stats([], []).max is None
    assert peak_stats([0, 1, 2], [0, 0, 0]).com is None  # zero total mass
    with pytest.raises(ValueError, match="differ in length"):
        peak_stats([1, 2], [1])


def test_peak_stats_agree_with_bluesky_peakstats():
    from bluesky.callbacks import fitting  # a test dependency, always installed

    rng = np.random.default_rng(7)
    x = np.linspace(-3, 2, 41)
    y = _gauss(x, -0.4, 0.6, height=5.0, offset=0.2) + rng.normal(0, 0.05, x.size)
    theirs = fitting.PeakStats("x", "y")
    theirs("start", {"uid": "s", "time": 0.0})
    theirs("descriptor", {"uid": "d", "run_start": "s", "name": "primary", "time": 0.0,
                          "data_keys": {"x": {}, "y": {}}})  # fmt: skip
    for i, (xi, yi) in enumerate(zip(x, y), 1):
        theirs("event", {"uid": f"e{i}", "descriptor": "d", "seq_num": i, "time": 0.0,
                         "data": {"x": xi, "y": yi}, "timestamps": {"x": 0, "y": 0}})  # fmt: skip
    theirs("stop", {"uid": "t", "run_start": "s", "time": 0.0, "exit_status": "success"})
    ours = peak_stats(x, y)
    assert ours.com == pytest.approx(theirs.com)
    assert ours.cen == pytest.approx(theirs.cen)
    assert ours.fwhm == pytest.approx(theirs.fwhm)
    assert ours.max == pytest.approx(tuple(theirs.max))
    assert ours.min == pytest.approx(tuple(theirs.min))
    assert list(ours.crossings) == pytest.approx(list(theirs.crossings))


# -- views chosen per run -----------------------------------------------------------------


def test_scan_gets_a_plot_per_hinted_detector_peaks_and_a_table(RE, recorder):
    dash = Dashboard()
    RE.subscribe(dash)
    RE(scan([det, det1], motor, -3, 3, num=61))
    assert set(dash.plots) == {"det", "det1"} and not dash.rasters and not dash.images
    plot = dash.plots["det"]
    assert isinstance(plot, LivePlot) and plot.x == "motor"
    # the browser holds all 61 points of the line
    xs = recorder.array(plot.runs[-1].mark, "x")
    assert xs.tolist() == pytest.approx(np.linspace(-3, 3, 61))
    # det is a unit Gaussian at 0 (sigma 1): the peak statistics say so
    p = dash.peaks["det"]
    assert p.cen == pytest.approx(0.0, abs=0.01)
    assert p.fwhm == pytest.approx(2.3548, abs=0.02)
    assert p.max == pytest.approx((0.0, 1.0))
    # ... and the page shows them, with a marker at cen on the plot
    peaks_html = recorder.state(dash.peaks_html)["value"]
    # at the motor's precision (3), -0.000 shown as 0.000
    assert "<td><b>det</b></td><td>0.000</td><td>0.000</td><td>0.000 → 1.000</td>" in peaks_html
    assert f"<td>{p.fwhm:.3f}</td>" in peaks_html
    marker = dash._views.markers["det"][0]
    assert recorder.array(marker, "x").tolist() == pytest.approx([p.cen, p.cen])
    assert marker in plot.figure.marks
    # the table: dimension and hinted fields, every row
    assert dash.table.fields == ["motor", "det", "det1"]
    assert len(dash.table.view) == 61
    header = recorder.state(dash.header)["value"]
    assert (
        "scan 1" in header
        and "scan" in header
        and dash.table.summary()[-12:] in (recorder.state(dash.table.view.summary)["value"])
    )
    assert "success" in header and "primary: 61" in header
    # the dashboard's widget holds the views
    assert _shown(recorder, dash.plots_box) == _ids(
        dash.plots["det"].figure, dash.plots["det1"].figure
    )
    assert _shown(recorder, dash.table_box) == _ids(dash.table.view.widget)


def test_grid_scan_gets_rasters_with_extents_and_images(RE, recorder):
    dash = Dashboard()
    RE.subscribe(dash)
    RE(grid_scan([det4, direct_img], motor1, -1, 1, 3, motor2, -2, 2, 5, snake_axes=True))
    assert not dash.plots and set(dash.rasters) == {"det4"} and set(dash.images) == {"direct_img"}
    raster = dash.rasters["det4"]
    assert isinstance(raster, LiveRaster) and raster.raster_shape == (3, 5)
    # pixel centres at the motor positions: half a step beyond each end
    assert raster.extent == pytest.approx((-2.5, 2.5, -1.5, 1.5))
    np.testing.assert_array_equal(shown_rgba(recorder, raster), raster.rgba())
    assert np.isfinite(raster.array).all()
    image = dash.images["direct_img"]
    assert isinstance(image, LiveImage) and len(image.frames) == 15
    assert _shown(recorder, dash.images_box) == _ids(image.widget)
    assert dash.table.fields == ["motor1", "motor2", "det4"]  # no array column
    assert dash.peaks == {}


def test_count_plots_against_time_and_file_backed_frames_reach_the_image(RE, recorder):
    dash = Dashboard()
    RE.subscribe(dash)
    RE(count([det, img], num=4))
    assert set(dash.plots) == {"det"} and dash.plots["det"].x == "time"
    assert dash.peaks == {}  # no peak statistics against time
    image = dash.images["img"]
    assert len(image.frames) == 4
    # the frame was read from the camera's HDF5 file through the resource/datum documents
    assert image.error is None
    shown = recorder.state(image.image)["value"]
    assert len(shown) > 100  # a PNG arrived
    # a single point: the table only
    RE(count([det], num=1))
    assert dash.plots == {} and len(dash.table.view) == 1
    assert any("single point" in n for n in dash.notes)


def test_missing_hints_fall_back_to_motors_and_object_keys(recorder):
    from livescan.documents import RunComposer

    dash = Dashboard()
    run = RunComposer({"scan_id": 9, "motors": ["m"], "plan_name": "custom"})
    start = run.start()
    number = {"dtype": "number", "shape": [], "source": "s"}
    desc = run.descriptor(
        "primary",
        {"m": number, "a": number, "label": {"dtype": "string", "shape": [], "source": "s"}},
        object_keys={"m": ["m"], "a": ["a"], "t": ["label"]},
    )
    dash("start", start)
    dash("descriptor", desc)
    for i in range(5):
        data = {"m": float(i), "a": float(i * i), "label": f"p{i}"}
        dash("event", run.event(desc, data, dict.fromkeys(data, 0.0)))
    dash("stop", run.stop())
    assert set(dash.plots) == {"a"} and dash.plots["a"].x == "m"
    assert dash.table.fields == ["m", "a", "label"]
    assert any("using motors" in n for n in dash.notes)
    assert dash.peaks["a"].max == (4.0, 16.0)


# -- across runs ----------------------------------------------------------------------


def test_overplot_adds_lines_replace_starts_fresh(RE, recorder):
    dash = Dashboard(overplot=True)
    RE.subscribe(dash)
    RE(scan([det], motor, -1, 1, num=5))
    first = dash.plots["det"]
    (box,) = dash.plots_box.children
    RE(scan([det], motor, -2, 2, num=7))
    assert dash.plots["det"] is first and len(first.runs) == 2
    assert dash.plots_box.children == (box,)  # the figure's view on the page stays
    lines = [m for m in first.figure.marks if m in [r.mark for r in first.runs]]
    assert len(lines) == 2
    assert len(dash._views.markers["det"]) == 1  # one centre marker: the newest run's
    # a count in between does not lose the scan's figure
    RE(count([det], num=3))
    RE(scan([det], motor, -1, 1, num=3))
    assert dash.plots["det"] is first and len(first.runs) == 3

    dash.overplot = False
    assert recorder.state(dash.mode)["index"] == 1  # the toggle shows it
    RE(scan([det], motor, -1, 1, num=4))
    fresh = dash.plots["det"]
    assert fresh is not first and len(fresh.runs) == 1
    assert _shown(recorder, dash.plots_box) == _ids(fresh.widget)
    assert recorder.array(fresh.runs[0].mark, "y").size == 4
    # the old figure is hidden, and closed in the browser once nothing may be building it
    assert first.figure.comm is not None and box in dash.plots_box.children
    dash.settle = 0
    RE(scan([det], motor, -1, 1, num=4))
    assert first.figure.comm is None and box.comm is None
    assert [b.children[0] for b in dash.plots_box.children] == [dash.plots["det"].widget]


def test_the_mode_toggle_and_clear_from_the_browser(RE, recorder):
    dash = Dashboard()
    RE.subscribe(dash)
    RE(scan([det], motor, -1, 1, num=5))
    comm = recorder.comms[dash.mode.model_id]
    comm.simulate({"method": "update", "state": {"index": 1}})
    assert dash.overplot is False
    old = dash.plots["det"]
    dash.clear_button.click()
    assert dash.plots == {} and _shown(recorder, dash.plots_box) == []
    assert old.figure.comm is not None  # hidden: its view may still be being built
    dash.settle = 0
    dash.clear_button.click()
    assert dash.plots_box.children == () and old.figure.comm is None
    RE(scan([det], motor, -1, 1, num=5))
    assert dash.plots["det"] is not old


def test_event_pages_are_routed_to_every_view_and_baseline_is_tabulated(RE, recorder):
    """Pages go to the views; the baseline readings before the scan are tabulated."""
    dash = Dashboard()
    assert Dashboard.accepts_event_pages is True
    seen = []
    real_feed = dash._views.feed

    def spy(name, doc):
        seen.append(name)
        real_feed(name, doc)

    dash._views.feed = spy
    RE.subscribe(dash)

    @baseline_decorator([motor1, det1])
    def plan():
        yield from scan([det], motor, -1, 1, num=200)

    motor1.set(0.25)
    RE(plan())
    assert "event_page" in seen and seen.count("event") == 0  # pages, not single events
    assert dash.plots["det"].data[-1][0].size == 200 and len(dash.table.view) == 200
    assert set(dash.baseline) >= {"motor1", "det1"}
    assert dash.baseline["motor1"][0] == 0.25
    table = recorder.state(dash.baseline_html)["value"]
    assert "motor1" in table and "0.250" in table and "change" in table
    assert "baseline" in recorder.state(dash.header)["value"]  # stream list


def test_end_of_run_baseline_reading_reaches_the_dashboard(RE, recorder):
    dash = Dashboard()
    RE.subscribe(dash)

    @baseline_decorator([motor1])
    def plan():
        yield from scan([det], motor, -1, 1, num=3)

    RE(plan())
    assert len(dash.baseline["motor1"]) == 2


def test_baseline_table_shows_start_end_and_change(recorder):
    from livescan.documents import RunComposer

    dash = Dashboard()
    run = RunComposer({"scan_id": 1, "hints": {"dimensions": [[["m"], "primary"]]}})
    key = {"dtype": "number", "shape": [], "source": "s", "precision": 2}
    dash("start", run.start())
    base = run.descriptor("baseline", {"T": key, "label": {**key, "dtype": "string"}})
    dash("descriptor", base)
    dash("event", run.event(base, {"T": 300.0, "label": "a"}, {"T": 0.0, "label": 0.0}))
    prim = run.descriptor("primary", {"m": key, "d": key}, hints={"d": {"fields": ["d"]}})
    dash("descriptor", prim)
    for i in range(3):
        dash("event", run.event(prim, {"m": i, "d": 1.0}, {"m": 0.0, "d": 0.0}))
    dash("event", run.event(base, {"T": 301.5, "label": "b"}, {"T": 0.0, "label": 0.0}))
    dash("stop", run.stop())
    assert dash.baseline == {"T": [300.0, 301.5], "label": ["a", "b"]}
    table = recorder.state(dash.baseline_html)["value"]
    assert "<td>T</td><td>300.00</td><td>301.50</td><td>1.50</td>" in table
    assert "<td>label</td><td>a</td><td>b</td><td></td>" in table


def test_a_failing_view_is_noted_and_the_others_go_on(RE, recorder):
    dash = Dashboard()
    RE.subscribe(dash)
    RE(scan([det], motor, -1, 1, num=3))

    def broken(name, doc):
        raise RuntimeError("boom")

    dash._views.children.insert(0, broken)  # as if one view broke mid-run

    RE(scan([det], motor, -1, 1, num=5))  # fresh children: the broken one is gone
    assert dash.plots["det"].data[-1][0].size == 5
    dash._views.children.insert(0, broken)
    dash("stop", {"uid": "x", "run_start": dash._start["uid"], "time": 0,
                  "exit_status": "success"})  # fmt: skip
    assert any("boom" in n for n in dash.notes)
    assert "boom" in recorder.state(dash.notes_html)["value"]


# -- status controls and the side panel ------------------------------------------------------


def test_engine_attached_dashboard_shows_each_runs_controls(RE, recorder):
    motor.delay = 0.003
    dash = Dashboard(RE=RE)

    async def main():
        first = RE(scan([det], motor, -1, 1, num=300))
        while first.num_events < 10:
            await asyncio.sleep(0.01)
        status = dash.status
        assert isinstance(status, RunStatus) and status.handle is first
        assert _shown(recorder, dash.status_box) == _ids(status.widget)
        status.buttons["pause"].click()
        while first.state != "paused":
            await asyncio.sleep(0.01)
        assert "paused" in recorder.state(status.header)["value"]
        status.buttons["abort"].click()
        result = await first
        second = await RE(scan([det], motor, -1, 1, num=5))
        return first, result, second, status

    _first, result, second, old_status = asyncio.run(main())
    assert result.exit_status == "abort" and second.exit_status == "success"
    assert dash.status is not old_status and dash.status.handle.uids == list(second)
    assert _shown(recorder, dash.status_box) == _ids(dash.status.widget)
    assert old_status.widget.comm is not None  # replaced, closed later
    assert dash.plots["det"].data[-1][0].size == 5
    dash.detach()
    RE(scan([det], motor, -1, 1, num=2))
    assert dash.plots["det"].data[-1][0].size == 5  # no longer subscribed


def test_open_sidecar_puts_the_dashboard_in_a_split_right_panel(recorder):
    dash = Dashboard.in_sidecar(title="beamline")
    panel = dash.sidecar
    state = recorder.state(panel)
    assert state["_model_name"] == "SidecarModel"
    assert state["anchor"] == "split-right" and state["title"] == "beamline"
    (output,) = state["outputs"]
    view = output["data"]["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == dash.widget.model_id
    again = dash.open_sidecar(anchor="right")
    assert again is not panel and panel.comm is None
    assert recorder.state(again)["anchor"] == "right"


# -- shown in a cell: the static fallback ---------------------------------------------------

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def shell(tmp_path, monkeypatch):
    """A real IPython shell (no kernel, no history) whose displays are captured."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config)
    yield shell
    InteractiveShell.clear_instance()


def _places(outputs) -> dict[str, list]:
    """Each placeholder shown (by display id): what it showed first, then its updates."""
    places: dict[str, list] = {}
    for out in outputs:
        did = (out.transient or {}).get("display_id")
        if did is not None:
            places.setdefault(did, []).append(out.data)
    return places


def _png(data: dict) -> np.ndarray:
    import base64
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data["image/png"]))).convert("RGB"))


def test_a_dashboard_shown_in_a_cell_leaves_each_runs_bounded_fallback(RE, recorder, shell):
    from IPython.display import display
    from IPython.utils.capture import capture_output

    from livescan.widgets import fallbacks_settled
    from livescan.widgets._fallback import HEAD_ROWS, TAIL_ROWS

    dash = Dashboard(RE=RE)
    shell.user_ns["dash"] = dash

    async def runs():
        await RE(scan([det], motor, -1, 1, num=50))
        await fallbacks_settled()
        first = [out.data for out in cap.outputs if out.update]
        await RE(count([det], num=3))
        await fallbacks_settled()
        return first

    with capture_output() as cap:
        shell.run_cell("dash")  # the cell's last expression
        display(dash)
        first = asyncio.run(runs())
    shown = [out.data for out in cap.outputs if not out.update]
    # two displays, each the live view (with a line for plain viewers, not the widget
    # library's repr) and below it the place for the fallback
    views = [d for d in shown if WIDGET_VIEW in d]
    assert [v[WIDGET_VIEW]["model_id"] for v in views] == _ids(dash.widget, dash.widget)
    assert all(not v["text/plain"].startswith("VBox(") for v in views), views
    assert "livescan-live" in recorder.state(dash.widget)["_dom_classes"]
    places = _places(cap.outputs)
    assert len(places) == 2 and len(shown) == 4
    assert all(p[0]["text/plain"] == "" for p in places.values())  # nothing before a run

    # at the end of the scan: both places hold its summary, its table's first and last
    # rows (bounded) and one PNG of its plot
    assert len(first) == 2 and first[0] == first[1]
    text = first[0]["text/plain"]
    assert text.startswith("scan (scan 1): success, 50/50 events in ")
    rows = [ln for ln in text.splitlines() if ln.startswith("|")]
    assert "motor" in rows[0] and "det" in rows[0]
    assert len(rows) == 1 + HEAD_ROWS + 1 + TAIL_ROWS and "30 rows not shown" in text
    # and the peak statistics it showed: the simulated det peaks at motor = 0
    (peaks,) = [ln for ln in text.splitlines() if ln.startswith("  det: com ")]
    assert ", cen 0.000" in peaks and "fwhm " in peaks, peaks
    picture = _png(first[0])
    assert picture.shape[0] > 100 and len(np.unique(picture.reshape(-1, 3), axis=0)) > 5
    assert "livescan-fallback" in first[0]["text/html"]

    # the next run it follows replaces it: the count's summary and rows
    last = [p[-1] for p in places.values()]
    assert last[0] == last[1]
    assert last[0]["text/plain"].startswith("count (scan 2): success, 3/3 events")
    assert len([ln for ln in last[0]["text/plain"].splitlines() if ln.startswith("|")]) == 1 + 3
    _png(last[0])


def test_a_dashboard_only_in_the_side_panel_leaves_nothing_in_the_cell(RE, recorder, shell):
    from IPython.utils.capture import capture_output

    with capture_output() as cap:
        dash = Dashboard.in_sidecar(RE=RE)
        RE(scan([det], motor, -1, 1, num=5))
    assert cap.outputs == [] and dash.plots["det"].data[-1][0].size == 5


# -- past runs --------------------------------------------------------------------------------


def test_past_runs_are_listed_and_replayed_into_the_views(RE, recorder, tmp_path):
    db = RunStore(tmp_path / "runs")
    RE.subscribe_lossless(db)
    dash = Dashboard(store=db, overplot=False)
    RE.subscribe(dash)
    RE(scan([det], motor, -3, 3, num=31), sample="Si")
    RE(grid_scan([det4], motor1, -1, 1, 3, motor2, -1, 1, 3))
    labels = [label for label, _ in dash.run_list.options]
    assert labels[0] == "live" and len(labels) == 3
    assert labels[1].startswith("2 · grid_scan") and labels[1].endswith("success")
    assert labels[2].startswith("1 · scan")
    assert set(dash.rasters) == {"det4"} and not dash.plots

    # choose scan 1 in the browser's dropdown: its documents are replayed into the views
    comm = recorder.comms[dash.run_list.model_id]
    comm.simulate({"method": "update", "state": {"index": 2}})
    assert set(dash.plots) == {"det"} and not dash.rasters
    line = dash.plots["det"].runs[-1].mark
    assert recorder.array(line, "x").tolist() == pytest.approx(np.linspace(-3, 3, 31))
    assert dash.peaks["det"].cen == pytest.approx(0.0, abs=0.02)
    header = recorder.state(dash.header)["value"]
    assert "scan 1" in header and "replayed from the run store" in header
    assert dash.run_list.value == db[1].uid

    # a new live run goes back to "live" and is listed too
    RE(scan([det], motor, -1, 1, num=3))
    assert dash.run_list.value is dash.run_list.options[0][1]
    assert len(dash.run_list.options) == 4
    assert "replayed" not in recorder.state(dash.header)["value"]

    # by key, too; and never in the middle of a live run
    assert dash.show_run(-2) is True and "grid_scan" in recorder.state(dash.header)["value"]
    assert set(dash.rasters) == {"det4"} and np.isfinite(dash.rasters["det4"].array).all()
    dash("start", {"uid": "live-run", "time": 0.0, "scan_id": 99, "plan_name": "x"})
    assert dash.show_run(-1) is False
    assert any("in progress" in n for n in dash.notes)


# -- what the page is building is never taken away ------------------------------------------


def _boxes(dash):
    return [dash.status_box, dash.plots_box, dash.images_box, dash.table_box]


def test_quick_runs_only_append_to_the_boxes_and_close_nothing_they_showed(RE, recorder):
    """ipywidgets' BoxView posts a Lumino resize to every child view once the views of a
    new children list are built; a child taken out, or closed, before that throws in the
    browser ("reading 'processLuminoMessage'"). Runs that follow each other quickly must
    therefore only append to the dashboard's boxes and hide, and close nothing shown."""
    dash = Dashboard(RE=RE)
    RE(scan([det, det1], motor, -1, 1, num=5))
    RE(count([det1], num=3))  # other views: the scan's are hidden, not taken out
    dash.overplot = False
    RE(scan([det], motor, -1, 1, num=4))  # a fresh figure: the first one is forgotten
    RE(grid_scan([det4, direct_img], motor1, -1, 1, 2, motor2, -1, 1, 2))
    RE(count([det], num=1))  # a table only
    dash.clear()

    on_page: set[str] = set()
    for box in _boxes(dash):
        lists = [state["children"] for state in recorder.history(box)]
        assert len(lists) >= 2, box  # the box did change
        for old, new in itertools.pairwise(lists):
            assert new[: len(old)] == old, "a child was taken out of a box the page builds"
        wrappers = {_ref(ref) for ref in lists[-1]}
        on_page |= wrappers | {_ref(recorder.state(w)["children"][0]) for w in wrappers}
    assert len(on_page) >= 2 * 12  # statuses, plots, a raster, an image, tables
    assert not on_page & _closed(recorder), "a widget shown in the dashboard was closed"
    assert all(_shown(recorder, box) == [] for box in _boxes(dash)[1:])
    assert _shown(recorder, dash.status_box) == _ids(dash.status.widget)

    # once their last change is `settle` s old, the boxes hold only what they show, and
    # what they held besides is closed (views, statuses, wrappers)
    dash.settle = 0
    RE(scan([det], motor, -1, 1, num=3))
    shown = {*_shown(recorder, dash.plots_box), *_shown(recorder, dash.table_box)}
    shown |= set(_shown(recorder, dash.status_box))
    assert shown == set(_ids(dash.plots["det"].figure, dash.table.view.widget, dash.status.widget))
    held = {_ref(ref) for box in _boxes(dash) for ref in recorder.state(box)["children"]}
    assert len(held) == 3 and not held & _closed(recorder)
    assert on_page <= _closed(recorder)  # everything shown before: all closed now


def test_a_replaced_centre_marker_is_closed_a_run_later(RE, recorder):
    """At a stop the new centre marker replaces the last one in the figure's marks; a
    display of the figure being built then may still be making the old one's view, so
    the old marker is closed at the plot's next stop (or when the plot is forgotten)."""
    dash = Dashboard()
    RE.subscribe(dash)
    RE(scan([det], motor, -1, 1, num=5))
    (first,) = dash._views.markers["det"]
    RE(scan([det], motor, -2, 2, num=5))
    (second,) = dash._views.markers["det"]
    figure = dash.plots["det"].figure
    assert first not in figure.marks and second in figure.marks
    assert first.comm is not None and first.model_id not in _closed(recorder)
    first_id = first.model_id
    RE(scan([det], motor, -1, 1, num=5))
    assert first.comm is None and first_id in _closed(recorder)
    assert second.comm is not None and second not in figure.marks
    dash.clear()  # the plot forgotten: its replaced marker closed with it
    assert second.comm is None
