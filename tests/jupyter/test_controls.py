"""The run-status widget's controls on the recording comm: what goes to the browser when."""

from __future__ import annotations

import asyncio
import re

from livescan.jupyter import RunStatus
from livescan.plans import scan
from livescan.sim import det, motor
from livescan.widgets import LivePlot


def _eta(recorder, status) -> float:
    text = recorder.state(status.header)["value"]
    match = re.search(r"ETA ([\d.]+) s", text)
    assert match, text
    return float(match.group(1))


def test_eta_counts_running_time_only(RE, recorder):
    motor.delay = 0.01

    async def main():
        handle = RE(scan([det], motor, -1, 1, num=100))
        status = RunStatus(handle)
        while handle.num_events < 20:
            await asyncio.sleep(0.005)
        status.press("pause")
        while handle.state != "paused":
            await asyncio.sleep(0.005)
        await asyncio.sleep(1.0)
        status.refresh()
        n, eta = handle.num_events, _eta(recorder, status)
        paused_for = handle.elapsed - handle.running_time
        expected = handle.running_time / n * (100 - n)
        naive = handle.elapsed / n * (100 - n)  # what counting the paused time would say
        status.press("resume")
        await asyncio.sleep(0.05)
        still = handle.elapsed - handle.running_time  # resuming stops the paused clock
        status.press("abort")
        await handle
        return paused_for, still, eta, expected, naive, handle

    paused_for, still, eta, expected, naive, handle = asyncio.run(main())
    assert paused_for >= 0.95
    assert abs(still - paused_for) < 0.05
    assert abs(eta - expected) <= 0.06  # shown with one decimal
    assert eta < naive - 0.9 * (naive - expected) and naive - expected > 0.5
    assert handle.running_time <= handle.elapsed - 0.95


def test_a_finished_runs_buttons_look_disabled(RE, recorder):
    async def main():
        handle = RE(scan([det], motor, -1, 1, num=5))
        status = RunStatus(handle)
        await handle
        return status

    status = asyncio.run(main())
    for name, button in status.buttons.items():
        state = recorder.state(button)
        assert state["disabled"] is True, name
        assert state["button_style"] == "", (name, state["button_style"])


def test_enabled_buttons_keep_their_colours(RE, recorder):
    motor.delay = 0.01

    async def main():
        handle = RE(scan([det], motor, -1, 1, num=200))
        status = RunStatus(handle)
        while handle.num_events < 5:
            await asyncio.sleep(0.005)
        running = {n: recorder.state(b)["button_style"] for n, b in status.buttons.items()}
        status.press("pause")
        while handle.state != "paused":
            await asyncio.sleep(0.005)
        paused = {n: recorder.state(b)["button_style"] for n, b in status.buttons.items()}
        status.press("abort")
        await handle
        return running, paused

    running, paused = asyncio.run(main())
    assert running == {"pause": "", "resume": "", "stop": "", "abort": "danger"}
    assert paused == {"pause": "", "resume": "success", "stop": "", "abort": "danger"}


def test_abort_shows_before_the_widgets_end_of_run_flushes(RE, recorder):
    """The state a click leads to goes out before the live widgets' final flushes."""
    motor.delay = 0.01
    # one flush per 5 s: after its first flush the plot holds every later point until the
    # run's end, so its end-of-run flush always has points to send (at 20 Hz a timer flush
    # could send the last ones before the click, and the test had nothing to compare)
    plot = LivePlot("det", "motor", max_rate=0.2)

    async def main():
        handle = RE(scan([det], motor, -1, 1, num=300), plot)
        status = RunStatus(handle)
        while handle.num_events < 30:
            await asyncio.sleep(0.005)
        recorder.clear()
        status.press("abort")
        await handle
        return status

    status = asyncio.run(main())
    header = status.header.model_id
    shown = [i for i, m in enumerate(recorder.messages)
             if m.comm_id == header and ">abort<" in str(m.data)]  # fmt: skip
    plot_ids = {w.model_id for w in _widgets(plot.widget)}
    plot_updates = [i for i, m in enumerate(recorder.messages)
                    if m.comm_id in plot_ids and m.method == "update"]  # fmt: skip
    assert shown and plot_updates, (shown, plot_updates)
    assert shown[0] < plot_updates[-1]  # 'abort' went out first
    assert recorder.state(status.header)["value"].count(">abort<") == 1


def _widgets(widget):
    """A widget and everything it holds (children, marks, axes, scales)."""
    import ipywidgets

    seen, todo = {}, [widget]
    while todo:
        w = todo.pop()
        if not isinstance(w, ipywidgets.Widget) or w.model_id in seen:
            continue
        seen[w.model_id] = w
        for name in w.keys:
            value = getattr(w, name, None)
            items = value if isinstance(value, list | tuple) else [value]
            if isinstance(value, dict):
                items = list(value.values())
            todo.extend(x for x in items if isinstance(x, ipywidgets.Widget))
    return list(seen.values())
