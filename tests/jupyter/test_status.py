"""RunStatus and display_run against the real engine on a running loop."""

from __future__ import annotations

import asyncio

from livescan.callbacks import LiveTable
from livescan.jupyter import RunStatus, display_run, live_widget_of, run_layout
from livescan.plans import scan
from livescan.sim import det, motor
from livescan.widgets import LiveImage, LivePlot, LiveRaster


def _state(recorder, status):
    return recorder.state(status.header)["value"]


def test_status_buttons_pause_resume_and_abort_a_running_scan(RE, recorder):
    motor.delay = 0.005  # ~5 ms per point: the run lasts long enough to click

    async def main():
        handle = RE(scan([det], motor, -1, 1, num=400))
        status = RunStatus(handle)
        while handle.num_events < 20:
            await asyncio.sleep(0.01)
        assert not status.buttons["pause"].disabled
        status.buttons["pause"].click()
        while handle.state != "paused":
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        paused_at = handle.num_events
        assert "paused" in _state(recorder, status)
        assert recorder.state(status.buttons["resume"])["disabled"] is False
        assert recorder.state(status.buttons["pause"])["disabled"] is True
        await asyncio.sleep(0.3)
        assert handle.num_events == paused_at  # nothing moves while paused
        status.buttons["resume"].click()
        while handle.num_events < paused_at + 20:
            await asyncio.sleep(0.01)
        status.buttons["abort"].click()
        result = await handle
        return handle, status, result

    handle, status, result = asyncio.run(main())
    assert result.exit_status == "abort"
    header = _state(recorder, status)
    assert "abort" in header and "scan" in header
    assert all(recorder.state(b)["disabled"] for b in status.buttons.values())
    events = recorder.state(status.header)["value"]
    assert f">{handle.num_events}</span> / 400" in events
    # the bar: events / num_points of its width, red for an aborted run
    assert f"width:{100 * handle.num_events / 400:.1f}%;background:#f44336" in events


def test_status_reports_illegal_clicks_and_callback_errors(RE, recorder):
    async def main():
        handle = RE(scan([det], motor, -1, 1, num=5), LivePlot("nope"))
        status = RunStatus(handle)
        await handle
        status.press("pause")  # the run is over: the error is shown, not raised
        return status

    status = asyncio.run(main())
    problems = recorder.state(status.header)["value"].split("livescan-problems")[1]
    assert "pause failed" in problems
    assert "FieldError" in problems and "nope" in problems


def test_display_run_lays_out_status_and_the_runs_widgets_once(RE, recorder, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: shown.append(obj))
    table = LiveTable(["det"], view="grid", out=lambda line: None)
    plot, raster, image = LivePlot("det"), LiveRaster((2, 2), "det"), LiveImage("x")

    async def main():
        handle = RE(scan([det], motor, -1, 1, num=4), [table, plot, raster, image, print])
        box = display_run(handle)
        assert display_run(handle) is None  # once per handle
        await handle
        return handle, box

    handle, box = asyncio.run(main())
    # the live box, then the placeholder its static fallback replaces
    assert handle.display.shown is True and len(shown) == 2
    view = shown[0]["application/vnd.jupyter.widget-view+json"]  # the box, as a raw bundle
    assert view["model_id"] == box.model_id and shown[0]["text/plain"].startswith("scan")
    assert "livescan-fallback" in shown[1]["text/html"]
    # one grid: the status, the table first, the figures, the image in a full-width row
    status_w, table_w, plot_w, raster_w, image_row = box.children
    assert status_w is handle.display.status.widget
    assert [table_w, plot_w, raster_w] == [table.view.widget, plot.figure, raster.widget]
    assert image_row.children == (image.widget,)
    assert status_w.layout.grid_area == image_row.layout.grid_area == "auto / 1 / auto / -1"
    assert "minmax" in box.layout.grid_template_columns
    assert live_widget_of(print) is None
    assert run_layout(None, [plot, plot]).children == (plot.figure,)


def test_queued_run_can_be_aborted_from_its_status(RE, recorder):
    motor.delay = 0.002

    async def main():
        first = RE(scan([det], motor, -1, 1, num=50))
        second = RE(scan([det], motor, -1, 1, num=50))
        status = RunStatus(second)
        assert "queued" in _state(recorder, status)
        status.buttons["abort"].click()
        await first
        result = await second
        return second, status, result

    second, status, result = asyncio.run(main())
    assert second.done() and second.num_events == 0 and result == ()
    assert result.exit_status == "abort"
    assert "abort" in _state(recorder, status)


def test_clicks_from_another_thread_act_on_the_runs_loop(RE, recorder):
    """ipykernel 7 may deliver a click on another thread: pause, resume, abort of the
    running scan and abort of a queued one all land, and the widget shows them."""
    import threading

    motor.delay = 0.003

    def click(status, name):
        t = threading.Thread(target=status.buttons[name].click)
        t.start()
        t.join()

    async def main():
        first = RE(scan([det], motor, -1, 1, num=2000))
        second = RE(scan([det], motor, -1, 1, num=50))
        status, queued = RunStatus(first), RunStatus(second)
        while first.num_events < 10:
            await asyncio.sleep(0.01)
        click(status, "pause")
        while first.state != "paused":
            await asyncio.sleep(0.01)
        paused_at = first.num_events
        await asyncio.sleep(0.1)
        assert first.num_events == paused_at and "paused" in _state(recorder, status)
        click(queued, "abort")
        click(status, "resume")
        while first.num_events < paused_at + 10:
            await asyncio.sleep(0.01)
        click(status, "abort")
        return first, second, status, queued, await first, await second

    first, second, status, queued, r1, r2 = asyncio.run(main())
    assert r1.exit_status == "abort" and 10 < first.num_events < 2000
    assert r2.exit_status == "abort" and second.num_events == 0
    assert "abort" in _state(recorder, status) and "abort" in _state(recorder, queued)
    assert "livescan-problems" not in recorder.state(status.header)["value"]  # no errors


def test_a_run_status_opens_six_comms_and_shares_its_layouts(RE, recorder):
    """Every comm a widget opens is a message with its full state: a run's status with
    its controls opens its info, four buttons and their box; Layout and Style widgets are
    shared by all runs."""

    async def main():
        first = RunStatus(RE(scan([det], motor, -1, 1, num=3)), controls_after=None)
        recorder.clear()
        handle = RE(scan([det], motor, -1, 1, num=3))
        second = RunStatus(handle, controls_after=None)
        opened = [m for m in recorder.messages if m.msg_type == "comm_open"]
        await first.handle
        await handle
        return first, second, opened

    first, second, opened = asyncio.run(main())
    assert len(opened) == 6, [m.data["state"]["_model_name"] for m in opened]
    for a, b in zip([first.header, *first.buttons.values()], [second.header,
                    *second.buttons.values()], strict=True):  # fmt: skip
        assert a.layout is b.layout and a.style is b.style
    state = recorder.state(second.buttons["abort"])
    assert state["_dom_classes"] == ["livescan-abort"] and state["disabled"] is True


def test_a_short_run_never_gets_buttons_a_longer_one_gets_them_while_it_runs(RE, recorder):
    """A run that ends within CONTROLS_AFTER keeps a status of two comms (its info in a
    box), and no message about buttons; one still going then gets its four buttons in
    the same box (one children update), enabled for the running state; one that pauses
    first gets them at the pause, with Resume enabled."""
    from livescan.jupyter._status import CONTROLS_AFTER

    motor.delay = 0.002  # ~2 ms per point

    def opened():
        return [m.data["state"]["_model_name"] for m in recorder.messages
                if m.msg_type == "comm_open"]  # fmt: skip

    async def main():
        recorder.clear()
        short = RunStatus(RE(scan([det], motor, -1, 1, num=3)))
        await short.handle
        await asyncio.sleep(CONTROLS_AFTER + 0.05)
        short_opened = opened()
        recorder.clear()
        handle = RE(scan([det], motor, -1, 1, num=1000))
        long = RunStatus(handle)
        await asyncio.sleep(CONTROLS_AFTER / 2)
        before = opened()
        while handle.elapsed < CONTROLS_AFTER + 0.05:
            await asyncio.sleep(0.01)
        running = {n: recorder.state(b)["disabled"] for n, b in long._buttons.items()}
        handle.abort()
        await handle
        paused = RunStatus(RE(scan([det], motor, -1, 1, num=1000)))
        while paused.handle.num_events < 5:
            await asyncio.sleep(0.005)
        paused.handle.pause()
        while paused.handle.state != "paused":
            await asyncio.sleep(0.005)
        resume = dict(paused._buttons) and recorder.state(paused._buttons["resume"])
        paused.handle.abort()
        await paused.handle
        return short, short_opened, long, before, running, opened(), resume

    short, short_opened, long, before, running, after, resume = asyncio.run(main())
    assert short_opened == ["HTMLModel", "BoxModel"] and short.widget.children == (short.header,)
    assert not short._buttons
    assert before == ["HTMLModel", "BoxModel"]
    assert after[2:6] == ["ButtonModel"] * 4
    assert long.widget.children == (long.header, *long._buttons.values())
    sent = [m.data["state"]["children"] for m in recorder.messages
            if m.comm_id == long.widget.model_id and m.msg_type == "comm_msg"]  # fmt: skip
    assert sent == [["IPY_MODEL_" + w.model_id for w in long.widget.children]]
    assert running == {"pause": False, "resume": True, "stop": False, "abort": False}
    assert resume and resume["disabled"] is False  # shown at the pause, before its timer


def test_closing_one_status_tree_leaves_the_shared_layouts_open(RE, recorder):
    """The Dashboard closes a replaced status with everything it holds: the Layout and
    Style widgets other runs' widgets share stay open."""
    from livescan.jupyter._views import close_tree

    async def main():
        first = RunStatus(RE(scan([det], motor, -1, 1, num=3)), controls_after=None)
        second = RunStatus(RE(scan([det], motor, -1, 1, num=3)), controls_after=None)
        await first.handle
        await second.handle
        return first, second

    first, second = asyncio.run(main())
    close_tree(first.widget)
    assert first.widget.comm is None and first.buttons["pause"].comm is None
    shared = [second.widget.layout, second.header.style, second.buttons["stop"].style]
    assert all(w.comm is not None for w in shared)
    assert second.widget.layout is first.widget.layout
    assert not [m for m in recorder.messages if m.msg_type == "comm_close"
                and m.comm_id in {w.model_id for w in shared}]  # fmt: skip
