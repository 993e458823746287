"""What the page shows *while* a run is live (not only at the end), read every 100 ms.

A slow scan with LiveTable + LivePlot in a notebook, and the Dashboard in the side panel:
the grid's visible rows hold the kernel's data (no ``...`` placeholder older than 300 ms, no
row that differs), the finished grid has every seq_num once, the Dashboard's new plot draws
its line with tick labels mid-run, and the browser console has no error.
"""

from __future__ import annotations

import time

import pytest
from _lab import console_errors, count_path_points, notebook_of, open_notebook, run_all, screenshot
from _live_probe import DONE_STATES, TableCheck, final_row_headers, kernel_rows, sample
from _widget_probe import kernel_exec, wait_until

pytestmark = pytest.mark.browser

SETUP = """\
from livescan import RunEngine
from livescan.callbacks import LiveTable, LivePlot
from livescan.plans import scan
from livescan.sim import det, motor
RE = RunEngine()
motor.delay = 0.03
"""


def _watch(page, timeout: float = 90.0, each=None) -> list[dict]:
    """Sample the page every 100 ms from the run's start to its end; the samples."""
    samples, started = [], False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = sample(page)
        if s["state"] and s["state"] not in DONE_STATES:
            started = True
        if started:
            samples.append(s)
            if each is not None:
                each(s)
            if s["state"] in DONE_STATES:
                return samples
        time.sleep(0.1)
    raise TimeoutError(f"the run did not end; last sample {samples[-1:] or None}")


def _start(lab, page, name: str, *cells: str) -> list[str]:
    """Open a notebook of ``cells`` and run it (a background run goes on in the kernel);
    the list that collects the page's console errors from before it opened."""
    errors = console_errors(page)
    open_notebook(page, lab, lab.add_notebook(notebook_of(*cells), name))
    run_all(page)  # returns at once: the run goes on in the kernel's loop
    return errors


def _check_table_mid_run(samples: list[dict], check: TableCheck, kernel: dict) -> None:
    live = [s for s in samples if s["state"] not in DONE_STATES]
    assert len(live) >= 3, len(live)
    assert len(check.rows) >= 8, f"complete grid rows seen during the run: {sorted(check.rows)}"
    assert not check.stale, f"placeholders older than 300 ms at (row, column) {check.stale}"
    assert check.differing_rows(kernel) == []


def test_table_rows_are_the_kernels_mid_run_and_complete_at_the_end(lab, lab_page):
    errors = _start(
        lab, lab_page, "live-table-mid-run", SETUP,
        "table = LiveTable([det, motor])\nplot = LivePlot('det', 'motor')\n"
        "h = RE(scan([det], motor, -3, 3, num=120), [table, plot])",
    )  # fmt: skip
    check = TableCheck()
    samples = _watch(lab_page, each=lambda s: check.add(s["grid"]))
    time.sleep(1.0)  # the final flush
    kernel = kernel_rows(lab_page, "table.view")
    assert kernel["seq"] == list(range(1, 121))
    _check_table_mid_run(samples, check, kernel)
    # the finished grid: every seq_num once, in order, and the line drawn in full
    headers = final_row_headers(lab_page)
    assert TableCheck.final_check(headers, kernel["seq"]) == {
        "final_rows": 120, "final_unloaded": 0, "final_repeated": 0, "final_missing": 0,
        "final_out_of_order": 0,
    }  # fmt: skip
    final = sample(lab_page)
    assert final["state"] == "success" and final["events"] == 120
    assert [count_path_points(d) for d in final["figures"][0]["lines"]] == [120]
    lab_page.locator(".livescan-livetable").first.scroll_into_view_if_needed()
    screenshot(lab_page.locator(".livescan-run").first, "live-table-finished")
    assert errors == []


def test_dashboard_draws_a_new_plot_with_ticks_mid_run(lab, lab_page):
    errors = _start(
        lab, lab_page, "dashboard-live-plot",
        SETUP.replace("0.03", "0.05") + "from livescan.jupyter import Dashboard\n"
        "dash = Dashboard.in_sidecar(RE=RE, overplot=False, title='livescan')",
        "h = RE(scan([det], motor, -3, 3, num=100))",
    )  # fmt: skip
    check = TableCheck()
    drawn_mid_run: list[dict] = []

    def each(s):
        check.add(s["grid"])
        fig = next((f for f in s["figures"] if f["title"] == "det vs motor"), None)
        points = count_path_points(fig["lines"][0]) if fig and fig["lines"] else 0
        if s["state"] == "running" and points >= 3:
            drawn_mid_run.append(fig)
            if len(drawn_mid_run) == 3:
                screenshot(lab_page.locator(".jupyterlab-sidecar").first, "dashboard-mid-run")

    samples = _watch(lab_page, each=each)
    assert len(drawn_mid_run) >= 2, "the Dashboard's plot drew no line while the run was live"
    # each axis (x, y) has tick labels in every sample where the line has points
    for fig in drawn_mid_run:
        assert len(fig["yticks"]) == 2 and min(fig["yticks"]) >= 2, fig["yticks"]
    time.sleep(1.0)
    kernel = kernel_rows(lab_page, "dash.table.view")
    assert kernel["seq"] == list(range(1, 101))
    _check_table_mid_run(samples, check, kernel)
    headers = final_row_headers(lab_page)
    final = TableCheck.final_check(headers, kernel["seq"])
    assert final["final_rows"] == 100 and final["final_unloaded"] == 0, final
    assert final["final_repeated"] == final["final_missing"] == final["final_out_of_order"] == 0
    assert not [e for e in errors if "invalid format" in e]
    assert errors == []


def test_liveimage_follows_the_newest_frame_mid_run(lab, lab_page):
    """A background camera scan: the frame slider, the picture's caption and the kernel's
    newest frame advance together while the run is live, not only at its end."""
    errors = _start(
        lab, lab_page, "liveimage-mid-run",
        SETUP.replace("0.03", "0.02") + "from livescan.callbacks import LiveImage\n"
        "from livescan.sim import direct_img\nimage = LiveImage('direct_img')",
        "h = RE(scan([direct_img], motor, -1, 1, num=150), [image])",
    )  # fmt: skip
    frames: list[tuple[int, int]] = []  # (events shown, frame shown) while running

    def each(s):
        if s["state"] == "running" and s["frame"] is not None and s["events"] > 0:
            frames.append((s["events"], s["frame"]))

    _watch(lab_page, each=each)
    assert len(frames) >= 5, frames
    shown = [f for _, f in frames]
    assert len(set(shown)) >= 4, f"the frame slider did not follow the run: {frames}"
    assert shown == sorted(shown), frames  # it never goes back
    lags = sorted(e - f for e, f in frames)
    # the image updates at 10 Hz (≤ 5 events at 20 ms a point) plus the page's own delay
    assert lags[len(lags) // 2] <= 15, frames
    # the caption tells the same frame, and at the end the newest one is shown
    final = wait_until(lambda: (s := sample(lab_page))["frame"] == 150 and s, what="frame 150")
    assert final["state"] == "success"
    info = lab_page.locator(".livescan-liveimage").first.inner_text()
    assert "frame 150 of 150" in info
    assert kernel_exec(lab_page, "print(image.slider.value, image.follow.value)").split() == [
        "150", "True",
    ]  # fmt: skip
    assert errors == []
