"""JupyterLab's interrupt button (the notebook toolbar's ■) on livescan runs, in Chromium.

With a table, a plot and the run status on screen (so the page and the kernel exchange comm
messages all run long), the button is clicked on the page as a user does. A background run
(``h = RE(plan)``, cell finished) ends with exactly one stop, ``exit_status='abort'``; an
awaited run (the tutorials' ``await RE(plan)``, the notebook's blocking ``RE()``) pauses at
the next checkpoint, as Ctrl-C pauses bluesky's ``RE()``: its cell shows one error line,
``RunEngineInterrupted: … paused …``, no traceback, and ``RE.abort()`` then ends it. Each
round is repeated: the interrupt must work every time, not most times. The documents are
counted in the kernel.
"""

from __future__ import annotations

import json
import time

import pytest
from _lab import (
    console_errors,
    notebook_cells,
    notebook_of,
    open_notebook,
    screenshot,
    strip_ansi,
    wait_for_js,
)
from _widget_probe import kernel_exec, wait_until
from test_controls_browser import SETUP as CONTROLS_SETUP

pytestmark = pytest.mark.browser

# the controls test's setup (RE, det, motor at 30 ms a point, LiveTable, LivePlot, and
# `stops`: the exit_status of each stop document), plus each stop's reason
SETUP = CONTROLS_SETUP + (
    "why = []\nRE.subscribe_lossless(lambda name, doc: why.append(doc.get('reason')), 'stop')\n"
)
SUBS = "[LiveTable([det, motor]), LivePlot('det', 'motor')]"
BACKGROUND = f"h = RE(scan([det], motor, -3, 3, num=1000), {SUBS})"
AWAITED = f"await RE(scan([det], motor, -3, 3, num=1000), {SUBS})"
ROUNDS = 3


def _kernel_json(page, expr: str):
    return json.loads(kernel_exec(page, f"print(json.dumps({expr}))").strip().splitlines()[-1])


def _click_interrupt(page) -> str:
    """The notebook toolbar's interrupt button, clicked as a user does; when it was
    clicked (to compare with the server's log if the run does not end)."""
    page.locator(".jp-NotebookPanel-toolbar [data-jp-item-name='interrupt'] button").click()
    return time.strftime("%H:%M:%S", time.gmtime())


def _ended(page, lab, cell: int, clicked: str) -> None:
    """Wait for ``abort`` in cell ``cell``'s run status; failing, say when the server
    sent the kernel its SIGINT (JupyterLab's log) beside when the button was clicked."""
    try:
        _shows(page, cell, "abort")
    except TimeoutError:
        log = lab.log_path.read_text(errors="replace").splitlines()
        sent = [line[:40] for line in log if "Kernel interrupted" in line]
        raise AssertionError(f"clicked {clicked} UTC; the server interrupted at {sent}") from None


def _run_cell(page, index: int) -> None:
    """Run one cell without waiting for it (it may await a run)."""
    page.evaluate(
        """(i) => {
             const p = window.__livescan.panel();
             p.content.activeCellIndex = i;
             window.jupyterapp.commands.execute('notebook:run-cell');
           }""",
        index,
    )


def _status(page, cell: int) -> tuple[str, int]:
    """The state and event count the run-status widget in cell ``cell`` shows."""
    status = page.locator(".jp-Cell").nth(cell).locator(".livescan-run-status")
    if status.count() == 0:
        return "", -1
    state = status.last.locator(".livescan-state").inner_text().strip()
    events = status.last.locator(".livescan-events").inner_text().strip()
    return state, int(events) if events.isdigit() else -1


def _run_going(page, cell: int, min_events: int = 10) -> None:
    wait_until(
        lambda: (s := _status(page, cell))[0] == "running" and s[1] >= min_events,
        timeout=60,
        what=f"a run going with {min_events} events shown in cell {cell}",
    )


def _shows(page, cell: int, state: str) -> None:
    wait_until(lambda: _status(page, cell)[0] == state, timeout=20, what=f"{state} shown")


def _stops_settle(page, expected: int) -> list:
    """The stop documents recorded so far, once ``expected`` arrived and 0.5 s passed
    with no other (a second stop would show up here)."""
    wait_until(lambda: len(_kernel_json(page, "stops")) >= expected, timeout=20, what="stop")
    time.sleep(0.5)
    return _kernel_json(page, "list(zip(stops, why))")


def test_interrupt_button_ends_a_background_run_and_pauses_an_awaited_one(lab, lab_page):
    page = lab_page
    errors = console_errors(page)
    name = lab.add_notebook(notebook_of(SETUP, BACKGROUND, AWAITED), "interrupt-button")
    open_notebook(page, lab, name)
    _run_cell(page, 0)
    wait_for_js(page, "() => window.__livescan.kernelIdle()", timeout=60)

    for round_ in range(ROUNDS):
        # a background run: the cell has finished, the run goes on in the kernel's loop
        kernel_exec(page, "stops.clear(); why.clear()")
        _run_cell(page, 1)
        wait_for_js(page, "() => window.__livescan.kernelIdle()", timeout=60)
        _run_going(page, 1)
        _ended(page, lab, 1, _click_interrupt(page))
        stops = _stops_settle(page, 1)
        assert stops == [["abort", "interrupted (Jupyter interrupt)"]], (round_, stops)
        state = _kernel_json(page, "{'exit': h.exit_status, 'n': h.num_events, 'RE': RE.state}")
        assert state["exit"] == "abort" and 0 < state["n"] < 1000, (round_, state)
        assert state["RE"] == "idle", (round_, state)
        if round_ == 0:
            screenshot(page.locator(".jp-Cell").nth(1), "interrupt-background")

        # an awaited run (the notebook's blocking RE()): the button pauses it, as Ctrl-C
        # pauses bluesky's RE(); the cell ends with one line; RE.abort() then ends it
        kernel_exec(page, "stops.clear(); why.clear()")
        _run_cell(page, 2)
        _run_going(page, 2)
        clicked = _click_interrupt(page)
        try:
            _shows(page, 2, "paused")
        except TimeoutError:
            raise AssertionError(f"clicked {clicked} UTC: no 'paused' shown") from None
        wait_for_js(page, "() => window.__livescan.kernelIdle()", timeout=30)
        outputs = notebook_cells(page)[2]["outputs"]
        errs = [o for o in outputs if o["output_type"] == "error"]
        assert len(errs) == 1, (round_, outputs)
        tb = strip_ansi("\n".join(errs[0]["traceback"]))
        assert tb.startswith("RunEngineInterrupted: scan ") and "\n" not in tb, (round_, tb)
        assert "CancelledError" not in tb and " paused after " in tb, (round_, tb)
        assert _kernel_json(page, "[RE.state, len(stops)]") == ["paused", 0], round_
        if round_ == 0:
            screenshot(page.locator(".jp-Cell").nth(2), "interrupt-awaited-paused")
        kernel_exec(page, "RE.abort('aborted after the interrupt')")
        _shows(page, 2, "abort")
        stops = _stops_settle(page, 1)
        assert stops == [["abort", "aborted after the interrupt"]], (round_, stops)
        assert _kernel_json(page, "RE.state") == "idle"

    # afterwards an interrupt with nothing running changes nothing
    _click_interrupt(page)
    time.sleep(0.5)
    assert _kernel_json(page, "[RE.state, len(stops)]") == ["idle", 1]
    assert errors == []
