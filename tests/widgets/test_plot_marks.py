"""Every display of a figure ends up with every mark: after a figure's ``marks`` change they
go out again (recording comm).

bqplot's Figure view builds the views of the marks it finds first and only then listens to
``change:marks``; a line that joins while a display is being built is missing from that
display unless the marks change again later. These tests read the marks the browser would
get, in order and with their times, for a figure shared by two LivePlots, a reused figure
and the dashboard's kept figure with its centre marker.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from livescan.jupyter import Dashboard
from livescan.plans import scan
from livescan.sim import det, motor, noisy_det
from livescan.widgets import LivePlot, _plot

RESEND_AFTER = 0.05


@pytest.fixture(autouse=True)
def _short_resend_delay(monkeypatch):
    # raising=False: on code without the resend the tests fail on what the browser gets
    monkeypatch.setattr(_plot, "_RESEND_AFTER_S", RESEND_AFTER, raising=False)


def marks_sent(recorder, figure) -> list[tuple[float, list[str]]]:
    """Each ``marks`` the browser got for ``figure``: (time sent, model ids), in order."""
    sent = []
    for m, states in recorder.replay():
        if m.comm_id == figure.model_id and "marks" in m.data.get("state", {}):
            ids = [r.removeprefix("IPY_MODEL_") for r in states[m.comm_id]["marks"]]
            sent.append((m.t, ids))
    return sent


def ids(*marks) -> list[str]:
    return [m.model_id for m in marks]


def changes_and_resends(sent):
    """Split what the figure sent into changes ``(t, marks)`` and resends ``(t, marks)``
    (a resend: the marks without their last one, then the same marks again)."""
    changes, resends, now = [], [], None
    i = 0
    while i < len(sent):
        t, marks = sent[i]
        if now and marks == now[:-1] and i + 1 < len(sent) and sent[i + 1][1] == now:
            resends.append((t, now))
            i += 2
            continue
        changes.append((t, marks))
        now = marks
        i += 1
    return changes, resends


def resent_after(change, resends) -> bool:
    """``change`` ``(t, marks)`` was followed by a resend of the same marks, RESEND_AFTER
    after it or later."""
    t, marks = change
    return any(m == marks and tr - t >= RESEND_AFTER * 0.9 for tr, m in resends)


def run_awaited(*runs, settle: float = 4 * RESEND_AFTER):
    """Await each ``(RE, plan, callbacks)`` on one running loop (as in a kernel), each
    followed by ``settle`` seconds for the debounced resends to go out."""

    async def main():
        results = []
        for RE, plan, cbs in runs:
            results.append(await RE(plan, cbs))
            await asyncio.sleep(settle)
        return results

    return asyncio.run(main())


def test_a_figure_shared_by_two_liveplots_gets_its_marks_again_after_the_lines_join(RE, recorder):
    a = LivePlot("det", "motor")
    b = LivePlot("noisy_det", "motor", fig=a)
    run_awaited((RE, scan([det, noisy_det], motor, -1, 1, num=5), [a, b]))
    both = list(a.figure.marks)
    assert set(both) == {a.runs[0].mark, b.runs[0].mark}
    changes, resends = changes_and_resends(marks_sent(recorder, a.figure))
    # opened empty; one line joined, then the other (into the figure a display of which
    # may be being built)
    assert [m for _, m in changes] == [[], ids(both[0]), ids(*both)]
    # then the marks went out again, RESEND_AFTER after the second line joined
    assert [m for _, m in resends] == [ids(*both)]
    assert resends[0][0] - changes[-1][0] >= RESEND_AFTER * 0.9


def test_lines_that_join_mid_run_are_sent_again_mid_run_and_once_at_the_end(RE, recorder):
    a = LivePlot("det", "motor")
    b = LivePlot("noisy_det", "motor", fig=a)
    stopped: list[float] = []
    motor.delay = 0.01

    def at_stop(name, _doc):
        if name == "stop":
            stopped.append(time.monotonic())

    run_awaited((RE, scan([det, noisy_det], motor, -1, 1, num=60), [at_stop, a, b]))
    line_a, line_b = a.runs[0].mark, b.runs[0].mark
    both = list(a.figure.marks)
    changes, resends = changes_and_resends(marks_sent(recorder, a.figure))
    # the two lines joined in the same flush, in either order
    assert set(both) == {line_a, line_b}
    assert [m for _, m in changes] == [[], ids(both[0]), ids(*both)]
    joined = changes[-1][0]
    assert joined < stopped[0] - 0.1  # the lines joined mid-run
    # a resend mid-run, RESEND_AFTER after the join (a display built meanwhile shows both
    # lines while the run goes on), and one at the end (for a display slower to build);
    # one only, although both plots ended the run
    mid = [t for t, m in resends if joined + RESEND_AFTER * 0.9 <= t < stopped[0]]
    end = [t for t, m in resends if t >= stopped[0]]
    assert len(mid) == 1 and len(end) == 1 and len(resends) == 2, (resends, joined, stopped)
    assert all(m == ids(*both) for _, m in resends)
    assert _plot._RESENDS[a.figure].resends == 2  # one record per figure, shared by a and b


def test_a_reused_figure_gets_its_marks_again_after_each_runs_line_joins(RE, recorder):
    plot = LivePlot("det", "motor")
    run_awaited(
        (RE, scan([det], motor, -1, 1, num=5), plot),
        (RE, scan([det], motor, -1, 1, num=3), plot),
    )
    line1, line2 = (r.mark for r in plot.runs)
    sent = marks_sent(recorder, plot.figure)
    changes, resends = changes_and_resends(sent)
    assert [m for _, m in changes] == [[], ids(line1), ids(line1, line2)]
    assert resent_after(changes[1], resends) and resent_after(changes[2], resends), sent


def test_the_dashboards_kept_figure_gets_its_lines_and_centre_marker_again(RE, recorder):
    dash = Dashboard(RE=RE)
    run_awaited(
        (RE, scan([det], motor, -1, 1, num=7), []),
        (RE, scan([det], motor, -2, 2, num=9), []),
    )
    plot = dash.plots["det"]
    line1, line2 = (r.mark for r in plot.runs)
    marker = plot.figure.marks[-1]
    assert list(plot.figure.marks) == [line1, line2, marker] and marker.line_style == "dashed"
    changes, resends = changes_and_resends(marks_sent(recorder, plot.figure))
    # each run: its line joined, then its centre marker replaced the last one; after each
    # run's last change the marks went out again (a display of the kept figure placed again
    # in the dashboard, or shown in the side panel and a cell at once, gets every line)
    assert len(changes) == 5 and changes[0][1] == [], changes
    assert changes[-1][1] == ids(line1, line2, marker)
    assert resent_after(changes[2], resends) and resent_after(changes[4], resends), changes


def test_a_closed_figure_is_not_sent_again(RE, recorder, caplog):
    dash = Dashboard(RE=RE, overplot=False)
    dash.settle = 0  # what a run replaces is closed at once (not later, see jupyter._shelf)

    async def main():
        await RE(scan([det], motor, -1, 1, num=5))
        old = dash.plots["det"].figure
        old_id = old.model_id
        await RE(scan([det], motor, -1, 1, num=5))  # replaces (and closes) the old figure
        assert old.comm is None
        recorder.clear()
        await asyncio.sleep(4 * RESEND_AFTER)
        return old_id

    with caplog.at_level(logging.WARNING):
        old_id = asyncio.run(main())
    # the new figure's marks went out again meanwhile, the closed one's did not
    assert marks_sent(recorder, dash.plots["det"].figure)
    assert not [m for m in recorder.messages if m.comm_id == old_id]
    assert "failed" not in caplog.text


# -- axes -------------------------------------------------------------------------------------
# The Figure view reads ``axes`` before ``marks`` and listens to ``change:axes`` only after
# both are built: the axes a LivePlot adds to a figure it is given (maybe on screen) go out
# again the same way.


def axes_sent(recorder, figure) -> list[tuple[float, list[str]]]:
    """Each ``axes`` the browser got for ``figure``: (time sent, model ids), in order."""
    sent = []
    for m, states in recorder.replay():
        if m.comm_id == figure.model_id and "axes" in m.data.get("state", {}):
            sent.append((m.t, [r.removeprefix("IPY_MODEL_") for r in states[m.comm_id]["axes"]]))
    return sent


def _given_figure():
    """A figure of the user's own, with no axes (as bqplot.Figure() makes it)."""
    import bqplot

    return bqplot.Figure(title="mine", marks=[])


def test_axes_added_to_a_given_figure_go_out_again_later_and_at_the_runs_end(RE, recorder):
    stopped: list[float] = []

    def at_stop(name, _doc):
        if name == "stop":
            stopped.append(time.monotonic())

    async def main():
        fig = _given_figure()  # on screen, say: the plot adds its axes to it
        plot = LivePlot("det", "motor", fig=fig)
        await asyncio.sleep(4 * RESEND_AFTER)
        await RE(scan([det], motor, -1, 1, num=5), [at_stop, plot])
        return plot

    plot = asyncio.run(main())
    axes = list(plot.figure.axes)
    assert len(axes) == 2 and {a.scale for a in axes} == {plot.x_scale, plot.y_scale}
    changes, resends = changes_and_resends(axes_sent(recorder, plot.figure))
    assert [m for _, m in changes] == [[], ids(*axes)]
    # again RESEND_AFTER after the change, and at the end of the run that followed
    assert resent_after(changes[1], resends)
    assert [m for _, m in resends] == [ids(*axes)] * 2
    assert resends[0][0] < stopped[0] <= resends[1][0]


def test_axes_added_without_a_running_loop_go_out_again_at_the_runs_end(RE, recorder):
    plot = LivePlot("det", "motor", fig=_given_figure())
    RE(scan([det], motor, -1, 1, num=3), plot)  # a script: no loop between the two
    RE(scan([det], motor, -1, 1, num=3), plot)
    changes, resends = changes_and_resends(axes_sent(recorder, plot.figure))
    assert [m for _, m in changes] == [[], ids(*plot.figure.axes)]
    assert [m for _, m in resends] == [ids(*plot.figure.axes)]  # once: at the first end


def test_a_liveplots_own_figure_and_a_shared_one_never_send_their_axes_again(RE, recorder):
    a = LivePlot("det", "motor")
    b = LivePlot("noisy_det", "motor", fig=a)  # a's axes serve b too: none added
    run_awaited((RE, scan([det, noisy_det], motor, -1, 1, num=5), [a, b]))
    sent = axes_sent(recorder, a.figure)
    assert [m for _, m in sent] == [ids(*a.figure.axes)]  # its first state only
