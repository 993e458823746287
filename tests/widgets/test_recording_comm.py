"""A 10,000-event scan at full speed through LiveTable (grid), LivePlot and LiveRaster,
with every widget message recorded: bounded count, bounded size, exact final state."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from livescan.callbacks import LiveTable
from livescan.documents import RunComposer
from livescan.plans import scan
from livescan.sim import det, motor
from livescan.widgets import LivePlot, LiveRaster, TableGridView
from livescan.widgets._raster_tiles import raster_rgba
from tests.widgets._raster_shown import shown_rgba, tile_messages

RATE = 20.0
PER_WIDGET_CONSTANT = 4  # the start/stop messages a widget sends once per run


def _gaps_respect_rate(messages, rate: float) -> bool:
    stamps = np.array([m.t for m in messages[:-1]])  # the stop flush may come early
    return bool(np.all(np.diff(stamps) >= 1.0 / rate - 0.01)) if stamps.size > 1 else True


@pytest.fixture
def widgets(recorder):
    table = LiveTable(["det", "motor"], view="grid", out=lambda line: None)
    plot = LivePlot("det", "motor")  # default: at most 2000 points to the browser
    exact = LivePlot("det", "motor", max_points=20_000)  # never decimates 10,000 points
    raster = LiveRaster((100, 100), "det")
    recorder.clear()
    return table, plot, exact, raster


def test_ten_thousand_events_cost_a_bounded_number_of_messages(RE, recorder, widgets):
    table, plot, exact, raster = widgets
    t0 = time.monotonic()
    result = RE(scan([det], motor, -1, 1, num=10_000), list(widgets))
    duration = time.monotonic() - t0
    assert result.exit_status == "success"
    bound = RATE * duration + PER_WIDGET_CONSTANT
    grid = table.view.grid

    per_widget = {
        "table": recorder.for_widget(grid, method=None),
        "plot": recorder.for_widget(plot.runs[0].mark),
        "exact": recorder.for_widget(exact.runs[0].mark),
        "raster": recorder.for_widget(raster.marks[0]),
    }
    bands = [recorder.for_widget(m) for m in raster.marks]
    counts = {k: len(v) for k, v in per_widget.items()}
    # the table sends at most a row count and the new rows per flush
    assert counts["table"] <= 2 * bound, (counts, duration)
    for key in ("plot", "exact", "raster"):
        assert 1 <= counts[key] <= bound, (key, counts, duration)
        assert _gaps_respect_rate(per_widget[key], RATE), key
    assert len(bands) == 5  # 100x100 pixels in bands of 2048 pixels (20 rows)
    for band in bands:
        assert 1 <= len(band) <= bound and _gaps_respect_rate(band, RATE)
    # every message of the whole run, all widgets together: nothing like one per event
    assert len(recorder.messages) < 10 * bound + 50, len(recorder.messages)

    # each message is bounded: decimated line, fixed raster; the table's row count, or the
    # new rows on screen (with a page of margin) and the last 40, never the whole table
    assert max(m.size for m in per_widget["plot"]) <= 2 * 2000 * 8 + 2048
    # a tile's PNG (20 rows of 100 RGBA pixels) travels once per change, in the comm_open
    # of the Image widget the tile's mark then shows
    tiles = tile_messages(recorder, raster)
    assert max(m.size for m in tiles) <= 20 * 100 * 4 + 4096
    assert max(m.size for band in bands for m in band) <= 1024  # the mark's own update
    assert max(m.size for m in per_widget["table"]) <= 8192

    # the final state the browser holds equals the kernel's data
    ((kx, ky),) = exact.data
    assert kx.size == 10_000
    assert np.array_equal(recorder.array(exact.runs[0].mark, "x"), kx)
    assert np.array_equal(recorder.array(exact.runs[0].mark, "y"), ky)
    shown_x = recorder.array(plot.runs[0].mark, "x")
    shown_y = recorder.array(plot.runs[0].mark, "y")
    assert shown_y.size <= 2000
    assert np.array_equal(shown_x, plot.shown()[0]) and np.array_equal(shown_y, plot.shown()[1])
    assert shown_y.max() == ky.max() and shown_y.min() == ky.min()
    assert shown_x[0] == kx[0] and shown_x[-1] == kx[-1]
    # the raster: every pixel in the browser's tiles is the kernel's value, colour-mapped
    # with the final (exact) colour range
    assert np.isfinite(raster.array).sum() == 10_000
    assert raster.clim == (raster.array.min(), raster.array.max())
    want = raster_rgba(raster.array, raster.clim, "viridis")
    np.testing.assert_array_equal(shown_rgba(recorder, raster), want)
    assert recorder.state(grid)["_row_count"] == len(table.view) == 10_000
    assert "scan num" in recorder.state(table.view.summary)["value"]


def test_the_grid_sends_only_the_rows_the_browser_asks_for(RE, recorder, widgets):
    table = widgets[0]
    RE(scan([det], motor, -1, 1, num=10_000), table)
    grid = table.view.grid
    reply = _request_rows(recorder, grid, 9990, 9999, 3)
    assert reply.data["content"]["event_type"] == "data-reply"
    assert reply.size < 4096
    value = reply.data["content"]["value"]
    det_col = value["data"]["det"]
    got = np.frombuffer(reply.buffers[det_col["value"]], dtype=det_col["dtype"])
    # full values: the grid's renderer shows them at the descriptor's precision
    np.testing.assert_array_equal(got, table.view.data["det"].to_numpy()[-10:])
    seq = value["data"]["seq_num"]
    assert list(np.frombuffer(reply.buffers[seq["value"]], dtype=seq["dtype"])) == list(
        range(9991, 10_001)
    )


def test_the_grid_sorted_in_the_browser_stays_sorted_as_rows_arrive(recorder):
    view = TableGridView()
    view.begin(["det"], {"det": 3}, {"det": "number"})
    view.rows([1, 2], [1e9, 1e9 + 1], [[0.5, 0.2]])
    view.flush()
    grid = view.grid
    grid._transforms = [{"type": "sort", "column": "det", "desc": True}]  # a header click
    view.rows([3, 4], [1e9 + 2, 1e9 + 3], [[0.9, 0.1]])
    view.flush()
    assert recorder.state(grid)["_row_count"] == 4
    reply = _request_rows(recorder, grid, 0, 3, 1)
    col = reply.data["content"]["value"]["data"]["det"]
    got = np.frombuffer(reply.buffers[col["value"]], dtype=col["dtype"])
    assert got.tolist() == [0.9, 0.5, 0.2, 0.1]


def _counts(recorder, grid) -> list[int]:
    return [m.data["state"]["_row_count"] for m in recorder.for_widget(grid)
            if m.method == "update" and "_row_count" in m.data["state"]]  # fmt: skip


def _replies(recorder, grid) -> list[tuple[int, int, bool]]:
    """The data-replies sent to ``grid``: (first row, last row, blank)."""
    out = []
    for m in recorder.for_widget(grid, method="custom"):
        content = m.data["content"]
        blank = all(c.get("type") == "raw" and set(c["value"]) == {None}
                    for c in content["value"]["data"].values())  # fmt: skip
        out.append((content["r1"], content["r2"], blank))
    return out


def _adder(view):
    """``add(n)``: n more rows (seq_num 1, 2, ...) into ``view``, then a flush."""
    total = 0

    def add(n: int) -> None:
        nonlocal total
        seq = list(range(total + 1, total + n + 1))
        view.rows(seq, [1e9 + s for s in seq], [[0.1 * s for s in seq]])
        total += n
        view.flush()

    return add


def test_the_row_count_runs_ahead_and_new_rows_fill_blank_rows_in_place(recorder):
    """A new row count repaints every cell the browser shows; rows written into rows it
    already counts repaint only themselves. So the count runs 40 rows ahead of the data,
    those rows blank (nulls, drawn empty; not ``...``), and new rows fill them in place;
    the end sends the exact count."""
    view = TableGridView()
    view.begin(["det"], {"det": 3}, {"det": "number"})
    view.static_rows = 0  # the streaming grid stays at the end
    grid, add = view.grid, _adder(view)

    recorder.clear()
    add(1)
    assert _counts(recorder, grid) == [41]
    assert _replies(recorder, grid) == [(0, 0, False), (1, 40, True)]
    # the rows first, then the count: its repaint draws them (no second repaint)
    assert [m.method for m in recorder.for_widget(grid, method=None)] == [
        "custom",
        "custom",
        "update",
    ]
    recorder.clear()
    for _ in range(39):  # one row a flush, as a slow scan: no new count, one row each
        add(1)
    assert _counts(recorder, grid) == []
    assert _replies(recorder, grid) == [(r, r, False) for r in range(1, 40)]
    recorder.clear()
    add(2)  # past the count: a new one, 40 rows past the data
    assert _counts(recorder, grid) == [82]
    assert _replies(recorder, grid) == [(40, 41, False), (42, 81, True)]
    # the browser scrolled into the blank rows: it gets the data as data, the rest blank
    recorder.clear()
    content = {"type": "data-request", "r1": 30, "r2": 60, "c1": 0, "c2": 1}
    recorder.comms[grid.model_id].simulate({"method": "custom", "content": content})
    assert _replies(recorder, grid) == [(30, 41, False), (42, 60, True)]
    recorder.clear()
    view.end("summary")  # the exact count at the end
    assert _counts(recorder, grid) == [42] and recorder.state(grid)["_row_count"] == 42


def test_the_row_count_waits_while_the_new_rows_are_off_screen(recorder):
    """Past the rows the browser counts, a new count goes out with every flush only while
    the new rows are on screen (or when due, or at the end)."""
    view = TableGridView()
    view.begin(["det"], {"det": 3}, {"det": "number"})
    view.count_interval = 3600.0  # never due by time here
    view.static_rows = 0  # the streaming grid stays at the end
    grid, add = view.grid, _adder(view)

    add(20)  # on screen (the first rows)
    add(100)  # partly on screen (a page of margin below the 40 rows assumed shown)
    assert _counts(recorder, grid) == [60, 160]
    _request_rows(recorder, grid, 0, 12, 1)  # the browser shows rows 0..12
    recorder.clear()
    add(50)  # off screen, past the count: count and rows wait
    assert recorder.for_widget(grid) == []
    view.count_interval = 0.0  # due: the count, the last 40 rows, 40 blank ones
    add(0)
    assert _counts(recorder, grid) == [210]
    assert _replies(recorder, grid) == [(130, 169, False), (170, 209, True)]
    view.count_interval = 3600.0
    _request_rows(recorder, grid, 150, 169, 1)  # scrolled to the end
    recorder.clear()
    add(5)  # into the blank rows: no new count
    assert _counts(recorder, grid) == [] and _replies(recorder, grid) == [(170, 174, False)]
    add(40)  # past the count, next to the rows shown: counted at once
    assert _counts(recorder, grid) == [255]
    _request_rows(recorder, grid, 0, 12, 1)
    recorder.clear()
    add(30)
    view.end("summary")  # the end sends the exact count whatever
    assert _counts(recorder, grid) == [245] and recorder.state(grid)["_row_count"] == 245


def test_an_owed_row_count_goes_out_without_more_rows(recorder):
    async def run() -> None:
        view = TableGridView()
        view.begin(["det"], {"det": 3}, {"det": "number"})
        view.count_interval = 0.05
        view.grid.viewport = (0, 12)
        view.rows(list(range(1, 201)), [1e9] * 200, [[0.5] * 200])
        view.flush()  # the first rows are on screen: counted
        view.rows(list(range(201, 301)), [1e9] * 100, [[0.5] * 100])
        view.flush()  # off screen, counted 0.05 s ago at most: owed
        assert recorder.state(view.grid)["_row_count"] == 240
        await asyncio.sleep(0.3)
        assert recorder.state(view.grid)["_row_count"] == 340

    asyncio.run(run())


def _request_rows(recorder, grid, r1: int, r2: int, c2: int):
    """The browser asks for rows r1..r2, columns 0..c2; the kernel's one reply."""
    recorder.clear()
    content = {"type": "data-request", "r1": r1, "r2": r2, "c1": 0, "c2": c2}
    recorder.comms[grid.model_id].simulate({"method": "custom", "content": content})
    (reply,) = recorder.messages
    return reply


def _feed_rows(raster, run, desc, values):
    """Events for ``values`` (flat, in scan order) as one event page."""
    from livescan.documents import pack_event_page

    events = [run.event(desc, {"I": float(v)}, {"I": 0}) for v in values]
    raster("event_page", pack_event_page(*events))


def test_raster_bytes_per_flush_follow_the_pixels_changed(recorder):
    """A flush sends only the tiles (bands of rows) whose pixels changed since the last
    one: bytes per flush <= 4 B x (pixels changed + two tiles), never the whole raster."""
    raster = LiveRaster((200, 100), "I", clim=(0, 1))  # 10 tiles of 20 rows
    run = RunComposer({"scan_id": 1, "num_points": 20_000})
    desc = run.descriptor("primary", {"I": {"dtype": "number", "shape": [], "source": "s"}})
    raster("start", run.start())
    raster("descriptor", desc)
    raster.flush()
    rng = np.random.default_rng(8)
    for chunk in (50, 100, 2000, 10):  # pixels per flush: half a row, one row, 20 rows
        before = len(recorder.messages)
        _feed_rows(raster, run, desc, rng.random(chunk))
        raster.flush()
        msgs = tile_messages(recorder, raster, before)
        changed = sum(1 for m in msgs if m.msg_type == "comm_msg")
        # one tile, or two where the rows cross a tile edge; never the untouched ones
        assert 1 <= changed <= 2, (chunk, changed)
        assert sum(m.size for m in msgs) <= 4 * (chunk + 2 * 2000) + 2048 * changed, chunk
    assert np.isfinite(raster.array).sum() == 2160
    np.testing.assert_array_equal(shown_rgba(recorder, raster), raster.rgba())


def test_a_1000x1000_raster_sends_what_changed_not_the_raster(recorder):
    """A 1000x1000 grid (64 tiles of 16 rows): flushes of 2,000 noisy pixels each (a fast
    scan at 20 flushes/s) send at most two or three tiles; the whole run sends a few
    times the final PNG, not 8 MB per flush as a float64 array would."""
    raster = LiveRaster((1000, 1000), "I")
    run = RunComposer({"scan_id": 1, "num_points": 1_000_000})
    desc = run.descriptor("primary", {"I": {"dtype": "number", "shape": [], "source": "s"}})
    raster("start", run.start())
    raster("descriptor", desc)
    raster.flush()
    tile_px = raster.tiles.rows_per_tile * 1000
    assert len(raster.marks) == 63 and tile_px == 16_000
    rng = np.random.default_rng(1)
    values = rng.random(1_000_000)
    per_flush = []
    for start in range(0, 200_000, 2000):  # the first fifth of the run
        before = len(recorder.messages)
        _feed_rows(raster, run, desc, values[start : start + 2000])
        raster.flush()
        msgs = tile_messages(recorder, raster, before)
        per_flush.append((sum(1 for m in msgs if m.msg_type == "comm_msg"),
                          sum(m.size for m in msgs)))  # fmt: skip
    # the colour range settles after a few flushes; afterwards 1 or 2 tiles a flush
    settled = per_flush[5:]
    assert max(n for n, _ in settled) <= 2, per_flush
    assert max(b for _, b in settled) <= 4 * (2000 + 2 * tile_px) + 4096, per_flush
    # whole raster per flush would be 100 x 8 MB; this sends ~ the pixels filled x 4 B x
    # the times a tile is resent while it fills (16 rows, a row every other flush)
    total = sum(b for _, b in per_flush)
    assert total < 40e6, total
    raster("stop", run.stop())
    np.testing.assert_array_equal(shown_rgba(recorder, raster), raster.rgba())
    assert (raster.rgba()[200:, :, 3] == 0).all()  # the rest is blank


def test_a_slow_scan_gives_every_widget_each_event_once(recorder):
    """One event per page (a slow scan): the lane's shared page must be the new event's,
    never the previous page again (seen as tables with seq_num 2, 2, 4, 4, …)."""
    from livescan import RunEngine
    from livescan.jupyter import Dashboard

    motor.delay = 0.02
    RE = RunEngine(display=False)  # no other subscriber keeping documents alive
    dash = Dashboard(overplot=False)
    dash.attach(RE)
    try:
        RE(scan([det], motor, -3, 3, num=15))
        table = LiveTable([det, motor], view="grid", out=lambda line: None)
        plot = LivePlot(det, motor)
        RE(scan([det], motor, -3, 3, num=15), [table, plot])
    finally:
        dash.detach()
    assert dash.table.view._seq.view().tolist() == list(range(1, 16))
    assert table.view._seq.view().tolist() == list(range(1, 16))
    assert plot.data[0][0].tolist() == np.linspace(-3, 3, 15).tolist()


def test_raster_tile_updates_leave_no_widget_behind(recorder):
    """Each tile update opens one Image widget and closes the one it replaces; nothing
    else (not a Layout per picture) stays open."""
    raster = LiveRaster((40, 100), "I", clim=(0, 1))  # 2 tiles
    run = RunComposer({"scan_id": 1, "num_points": 4000})
    desc = run.descriptor("primary", {"I": {"dtype": "number", "shape": [], "source": "s"}})
    raster("start", run.start())
    raster("descriptor", desc)
    raster.flush()
    before = len(recorder.messages)
    for _ in range(10):
        _feed_rows(raster, run, desc, np.full(400, 0.5))
        raster.flush()
    opened = {m.comm_id for m in recorder.messages[before:] if m.msg_type == "comm_open"}
    closed = {m.comm_id for m in recorder.messages[before:] if m.msg_type == "comm_close"}
    shown = {m.image.model_id for m in raster.marks}
    assert opened - closed <= shown and len(opened) >= 10
    assert all(
        m.data["state"]["_model_name"] == "ImageModel"
        for m in recorder.messages[before:]
        if m.msg_type == "comm_open"
    )


def test_a_finished_small_table_is_built_hidden_then_shown_in_the_grids_place(recorder):
    """The DataGrid that holds a finished table's rows is built in a hidden box (the
    browser paints nothing there) that is shown, in place of the box of streaming grids,
    ``reveal_delay`` s later; a run that begins meanwhile leaves it unseen."""

    def ids(widget) -> list[str]:
        return [c.removeprefix("IPY_MODEL_") for c in recorder.state(widget)["children"]]

    def display(widget) -> str | None:
        return recorder.state(widget.layout)["display"]

    async def run() -> None:
        view = TableGridView()
        view.reveal_delay = 0.1
        grids, stage = view._grids, view._stage
        assert ids(view.widget) == [grids.model_id, stage.model_id, view.summary.model_id]
        finals = []
        for _ in range(2):
            view.begin(["det"], {"det": 3}, {"det": "number"})
            assert (display(grids), display(stage)) == (None, "none")
            streaming = view.grid
            view.rows([1, 2, 3], [1e9, 1e9 + 1, 1e9 + 2], [[0.1, 0.2, 0.3]])
            view.flush()
            view.end("done")
            finals.append(view.grid)
            assert ids(grids)[-1] == streaming.model_id and view.grid is not streaming
            assert ids(stage) == [f.model_id for f in finals]
            assert (display(grids), display(stage)) == (None, "none")
            await asyncio.sleep(0.3)
            assert (display(grids), display(stage)) == ("none", None)
            assert streaming.comm is not None and view.grid.comm is not None
        assert display(finals[0]) == "none" and display(finals[1]) is None  # the newest
        # a run that begins before the reveal: its DataGrid stays unseen
        view.begin(["det"], {"det": 3}, {"det": "number"})
        view.rows([1], [1e9], [[0.5]])
        view.end("done")
        unseen = view.grid
        view.begin(["det"], {"det": 3}, {"det": "number"})
        await asyncio.sleep(0.3)
        assert (display(grids), display(stage)) == (None, "none")
        assert ids(grids)[-1] == view.grid.model_id and ids(stage)[-1] == unseen.model_id

    asyncio.run(run())
