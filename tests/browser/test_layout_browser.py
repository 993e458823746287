"""Layout and labels as the page draws them (issue 8's "Layout and labels" and "Controls").

Read from JupyterLab + Chromium, boxes from ``getBoundingClientRect``: LiveImage's colour
bar shows its limits and colour map; the colour bars' tick labels stay inside their
figure; a table beside a plot shows every column (``motor_setpoint`` too) with no
horizontal scroll bar; a count plot's time axis has few plain tick labels and its y label
clears the tick labels, and mid-run its line spans the axis (not strokes at the edges);
the Pause click pauses at the next checkpoint and the ETA leaves the paused time out; a
cell run twice keeps the first run's table and plot above the second's.
Screenshots go to test-artifacts/browser/.
"""

from __future__ import annotations

import itertools
import json
import re
import time

import pytest
from _lab import console_errors, notebook_of, open_notebook, run_all, screenshot, wait_for_js
from _live_probe import click_and_wait
from _widget_probe import kernel_exec, status_events, wait_until
from test_interrupt_browser import _run_cell

pytestmark = pytest.mark.browser

SETUP = """\
import json
from livescan import RunEngine
from livescan.callbacks import LiveTable, LivePlot, LiveRaster, LiveImage
from livescan.plans import count, grid_scan, scan
from livescan.sim import SynGauss, det, det4, direct_img, motor, motor1, motor2
RE = RunEngine()
"""

# Each figure's tick labels and axis labels with their boxes, the figure's own box, and
# (for figures with a colour bar) the colour bar's gradient box.
FIGURES_JS = """
(root) => Array.from(document.querySelectorAll(root + ' .bqplot.figure')).map((f) => {
  const box = (e) => { const b = e.getBoundingClientRect();
                       return {x: b.x, y: b.y, w: b.width, h: b.height}; };
  const svg = f.querySelector('svg.svg-figure') || f.querySelector('svg');
  return {
    title: (f.querySelector('.mainheading') || {}).textContent || '',
    box: box(svg),
    axes: Array.from(f.querySelectorAll('.axis')).map((a) => ({
      ticks: Array.from(a.querySelectorAll('.tick text'))
                  .filter((t) => t.textContent.trim() !== '')
                  .map((t) => ({text: t.textContent, box: box(t)})),
      labels: Array.from(a.querySelectorAll('.axislabel'))
                   .filter((t) => t.textContent.trim() !== '')
                   .map((t) => ({text: t.textContent, box: box(t)})),
      bar: a.closest('.ColorBar') !== null || a.parentNode.querySelector('rect.g-rect') !== null,
    })),
    bars: Array.from(f.querySelectorAll('.ColorBar rect, rect.g-rect'))
               .filter((r) => r.getBoundingClientRect().width > 0).map(box),
  };
})
"""


def _figures(page, root: str) -> list[dict]:
    return page.evaluate(FIGURES_JS, root)


def _number(text: str) -> float:
    return float(text.replace("\u2212", "-"))


def _inside(inner: dict, outer: dict, slack: float = 0.5) -> bool:
    return (
        inner["x"] >= outer["x"] - slack
        and inner["x"] + inner["w"] <= outer["x"] + outer["w"] + slack
        and inner["y"] >= outer["y"] - slack
        and inner["y"] + inner["h"] <= outer["y"] + outer["h"] + slack
    )


def _bar_ticks(fig: dict) -> list[dict]:
    """The colour bar's tick labels: those right of every other axis's tick labels."""
    plain = [t for a in fig["axes"] if not a["bar"] for t in a["ticks"]]
    right = max((t["box"]["x"] + t["box"]["w"] for t in plain), default=0)
    return [t for a in fig["axes"] for t in a["ticks"] if t["box"]["x"] > right]


def _assert_clear(ticks: list[dict], key: str) -> None:
    """Tick labels, sorted along ``key`` ('x' or 'y'), do not overlap."""
    size = "w" if key == "x" else "h"
    boxes = sorted((t["box"] for t in ticks), key=lambda b: b[key])
    for a, b in itertools.pairwise(boxes):
        assert a[key] + a[size] <= b[key] + 0.5, (a, b)


def test_colour_bars_show_the_limits_and_stay_inside_their_figures(lab, lab_page):
    page = lab_page
    errors = _start(
        lab, page, "layout-colour-bars",
        "image = LiveImage('direct_img', clim=(0, 800), cmap='magma')\n"
        "await RE(count([direct_img], num=2), image)",
        "raster = LiveRaster((6, 8), 'det4')\n"
        "await RE(grid_scan([det4], motor1, -2, 2, 6, motor2, -3, 3, 8), raster)",
    )  # fmt: skip

    # LiveImage: a colour bar beside the frame, ticked within the fixed limits (0, 800)
    image = wait_until(
        lambda: [f for f in _figures(page, ".livescan-liveimage") if _bar_ticks(f)],
        what="LiveImage's colour bar",
    )[0]
    ticks = _bar_ticks(image)
    values = [_number(t["text"]) for t in ticks]
    assert len(values) >= 3 and min(values) >= 0 and max(values) <= 800, values
    assert max(values) - min(values) >= 400, values  # spans the limits, not 0..1
    assert image["bars"], "no colour bar drawn"
    _assert_clear(ticks, "y")
    for t in ticks:
        assert _inside(t["box"], image["box"]), (t, image["box"])
    # the bar's colours are the chosen map (magma): dark at the bottom, light at the top
    cmap = json.loads(kernel_exec(page, "print(json.dumps(list(image.color_scale.colors)))"))
    assert cmap[0] == "#000004" and cmap[-1] == "#fcfdbf", cmap
    # another colour map and limits from the kernel: the bar follows
    kernel_exec(page, "image.cmap.value = 'gray'\nimage.clim.value = (100.0, 300.0)")
    wait_until(
        lambda: (
            (v := [_number(t["text"]) for t in _bar_ticks(_live_image(page))])
            and min(v) >= 100 and max(v) <= 300
        ),
        what="the colour bar at the new limits",
    )  # fmt: skip
    assert (
        json.loads(kernel_exec(page, "print(json.dumps(list(image.color_scale.colors)))"))[0]
        == "#000000"
    )
    page.locator(".livescan-liveimage").first.scroll_into_view_if_needed()
    screenshot(page.locator(".livescan-liveimage").first, "layout-liveimage-colour-bar")

    # LiveRaster: its colour bar's labels stay inside the figure (none cut off at the edge)
    raster = _figures(page, ".livescan-run")[-1]
    ticks = _bar_ticks(raster)
    assert len(ticks) >= 3, raster
    _assert_clear(ticks, "y")
    for t in ticks:
        assert _inside(t["box"], raster["box"]), (t, raster["box"])
    screenshot(page.locator(".livescan-raster").first, "layout-liveraster-colour-bar")
    assert errors == []


def _start(lab, page, name: str, *cells: str) -> list[str]:
    """Open a notebook of SETUP and ``cells``, run it; the page's console errors (a list
    that keeps collecting)."""
    errors = console_errors(page)
    open_notebook(page, lab, lab.add_notebook(notebook_of(SETUP, *cells), name))
    run_all(page)
    return errors


def _live_image(page) -> dict:
    return next(f for f in _figures(page, ".livescan-liveimage") if _bar_ticks(f))


GRID_JS = """
() => {
  const views = window.__livescan.views().filter((v) => v.grid && v.grid.dataModel);
  const v = views[views.length - 1];
  const g = v.grid.grid || v.grid, dm = g.dataModel;
  const names = [...Array(dm.columnCount('body')).keys()]
                   .map((c) => dm.metadata('body', 0, c).name);
  const hbar = g.node.querySelector('.lm-ScrollBar[data-orientation="horizontal"]');
  const box = (e) => { const b = e.getBoundingClientRect();
                       return {x: b.x, y: b.y, w: b.width, h: b.height}; };
  return {names, viewport: g.viewportWidth, body: g.bodyWidth, header: g.headerWidth,
          hbar: hbar ? getComputedStyle(hbar).display : 'none',
          grid: box(g.node),
          figure: box(document.querySelectorAll('.livescan-run .bqplot.figure')[0])};
}
"""


def test_a_table_beside_a_plot_shows_every_column(lab, lab_page):
    page = lab_page
    errors = _start(
        lab, page, "layout-table-beside-plot",
        "await RE(scan([det], motor, -3, 3, num=30), "
        "[LiveTable([det, motor]), LivePlot('det', 'motor')])",
    )  # fmt: skip
    grid = wait_until(lambda: page.evaluate(GRID_JS), what="the finished grid")
    assert grid["names"] == ["time", "det", "motor", "motor_setpoint"]
    # beside the plot, and every column within the grid's own width: no scroll bar
    assert grid["grid"]["x"] + grid["grid"]["w"] <= grid["figure"]["x"] + 1, grid
    assert grid["body"] + grid["header"] <= grid["viewport"] + 0.5, grid
    assert grid["hbar"] == "none", grid
    screenshot(page.locator(".livescan-run").first, "layout-table-beside-plot")
    assert errors == []


def test_a_count_plot_has_plain_time_ticks_a_clear_y_label_and_a_spread_line(lab, lab_page):
    """A Dashboard in a cell on a slow count of a detector reading ~123,000: mid-run the
    new plot's line spans the time axis; the time ticks are few, without exponents, not
    overlapping; the y label sits left of the (wide) y tick labels."""
    page = lab_page
    errors = _start(
        lab,
        page,
        "layout-count-plot",
        "from livescan.jupyter import Dashboard\n"
        "big = SynGauss('big', motor, Imax=123456.0, noise='uniform', noise_multiplier=5000)\n"
        "dash = Dashboard(RE=RE)\ndash",
        "h = RE(count([big], num=60, delay=0.05))",
    )  # fmt: skip  (the count goes on in the kernel)

    def spread_mid_run():
        figs = [f for f in _figures(page, ".livescan-dashboard") if f["title"] == "big vs time"]
        if not figs or "running" not in page.locator(".livescan-run-status").first.inner_text():
            return None
        d = page.evaluate(
            "() => Array.from(document.querySelectorAll('.livescan-dashboard path.line'))"
            ".filter((p) => !p.closest('.g_legend, .legend')).map((p) => p.getAttribute('d'))"
        )
        xs = [float(m) for m in re.findall(r"[ML]\s*(-?[\d.e+-]+)", d[0] if d else "")]
        return (len(xs), max(xs) - min(xs)) if len(xs) >= 8 else None

    points, spread = wait_until(spread_mid_run, interval=0.05, what="the live line mid-run")
    # the line covers the axis from its first to its newest point (~the plot's width),
    # not vertical strokes at its edges
    assert spread > 200, (points, spread)
    wait_until(
        lambda: "success" in page.locator(".livescan-run-status").first.inner_text(),
        what="the count's end",
    )
    time.sleep(0.5)
    (fig,) = [f for f in _figures(page, ".livescan-dashboard") if f["title"] == "big vs time"]
    x_axis, y_axis = fig["axes"][0], fig["axes"][1]
    assert [lb["text"] for lb in x_axis["labels"]] == ["time"]
    x_ticks = x_axis["ticks"]
    assert 3 <= len(x_ticks) <= 8, x_ticks
    assert not [t for t in x_ticks if "e" in t["text"].lower()], x_ticks  # no 3.148e-2
    _assert_clear(x_ticks, "x")
    (label,) = y_axis["labels"]
    assert label["text"] == "big"
    widest = min(t["box"]["x"] for t in y_axis["ticks"])
    assert label["box"]["x"] + label["box"]["w"] <= widest, (label, y_axis["ticks"])
    screenshot(page.locator(".livescan-dashboard").first, "layout-count-plot")
    assert errors == []


def test_pause_acts_at_the_next_checkpoint_and_the_eta_leaves_the_pause_out(lab, lab_page):
    """With a table and a plot on screen: no event is read after the one under way at the
    Pause click (50 ms a point); after 2 s paused and a resume the page's ETA is what the
    running time predicts, not what elapsed time (paused time included) would."""
    page = lab_page
    errors = _start(
        lab, page, "layout-pause-eta",
        "motor.delay = 0.05\ntimes = []\n"
        "RE.subscribe_lossless(lambda name, doc: times.append(doc['time']), 'event')",
        "h = RE(scan([det], motor, -3, 3, num=100), "
        "[LiveTable([det, motor]), LivePlot('det', 'motor')])",
    )  # fmt: skip
    wait_until(lambda: status_events(page) >= 15, what="15 events")
    pause = click_and_wait(page, "Pause", "paused")
    assert pause["ms"] is not None, pause
    time.sleep(2.0)
    resume = click_and_wait(page, "Resume", "running")
    assert resume["ms"] is not None, resume
    times = json.loads(kernel_exec(page, "print(json.dumps(times))").strip().splitlines()[-1])
    t_pause, t_resume = pause["clicked_at"] / 1000, resume["clicked_at"] / 1000
    between = [t for t in times if t_pause <= t < t_resume]
    assert len(between) <= 2, f"{len(between)} events read after the Pause click"
    # the ETA shown once the next events arrived
    wait_until(lambda: status_events(page) >= pause["events_at_state"] + 5, what="5 more")
    text = page.locator(".livescan-run-status").first.inner_text()
    match = re.search(r"events (\d+) / 100 · elapsed ([\d.]+) s · ETA ([\d.]+) s", text)
    assert match, text
    n, elapsed, eta = int(match[1]), float(match[2]), float(match[3])
    left = 100 - n
    naive = elapsed / n * left  # what counting the paused time would say
    assert elapsed >= 2.0 + n * 0.05 * 0.9, text
    assert eta <= left * 0.05 * 1.5 + 0.5 < naive - 1.0, (text, naive)
    screenshot(page.locator(".livescan-run").first, "layout-eta-after-pause")
    kernel_exec(page, "h.abort()")
    wait_for_js(page, "() => window.__livescan.kernelIdle()", timeout=30)
    wait_until(
        lambda: "abort" in page.locator(".livescan-run-status").first.inner_text(),
        what="the abort shown",
    )
    assert errors == []


RUN_BOXES_JS = """
(cell) => Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell')[cell]
                       .querySelectorAll('.livescan-run')).map((box) => ({
  state: (box.querySelector('.livescan-state') || {}).innerText,
  lines: Array.from(box.querySelectorAll('.bqplot.figure path.line'))
              .filter((p) => !p.closest('.g_legend, .legend'))
              .map((p) => ((p.getAttribute('d') || '').match(/[ML]/g) || []).length),
  grids: box.querySelectorAll('.livescan-livetable').length,
}))
"""


def test_a_cell_run_twice_keeps_the_first_runs_table_and_plot(lab, lab_page):
    """The same cell run again while its run goes on: the first run's status, table and
    plot stay in the output, above the second run's, and both plots draw every point."""
    page = lab_page
    errors = _start(
        lab, page, "layout-cell-twice",
        "motor.delay = 0.02",
        "h = RE(scan([det], motor, -3, 3, num=40), "
        "[LiveTable([det, motor]), LivePlot('det', 'motor')])",
    )  # fmt: skip
    wait_until(lambda: status_events(page) >= 3, what="the first run going")
    _run_cell(page, 2)  # the same cell again
    wait_for_js(page, "() => window.__livescan.kernelIdle()", timeout=30)
    boxes = wait_until(
        lambda: (
            (b := page.evaluate(RUN_BOXES_JS, 2))
            and [x["state"] for x in b] == ["success", "success"]
            and [x["lines"] for x in b] == [[40], [40]]
            and b
        ),
        what="both runs finished in the cell, each with its plot",
    )
    assert [x["grids"] for x in boxes] == [1, 1], boxes
    screenshot(page.locator(".jp-Cell").nth(2), "layout-cell-twice")
    assert errors == []


def test_liveimage_in_the_side_panel_keeps_its_frame_ticks_and_colour_bar(lab, lab_page):
    """The Dashboard's image viewer in the (narrow) split-right side panel: the frame's
    figure fits the panel, its tick labels do not overlap and its colour bar is inside it
    (the column profile wraps below rather than squeezing the frame)."""
    page = lab_page
    errors = _start(
        lab, page, "layout-image-side-panel",
        "from livescan.jupyter import Dashboard\n"
        "dash = Dashboard.in_sidecar(RE=RE, overplot=False)",
        "await RE(scan([direct_img], motor, -1, 1, num=3))",
    )  # fmt: skip
    root = ".jupyterlab-sidecar .livescan-liveimage"
    fig = wait_until(
        lambda: next((f for f in _figures(page, root) if _bar_ticks(f)), None),
        what="the side panel's image viewer with its colour bar",
    )
    panel = page.evaluate(
        "() => { const b = document.querySelector('.jupyterlab-sidecar')"
        ".getBoundingClientRect(); return {x: b.x, y: b.y, w: b.width, h: 1e6}; }"
    )
    assert panel["w"] < 700, panel  # narrow: the test means something
    assert fig["box"]["x"] + fig["box"]["w"] <= panel["x"] + panel["w"] + 0.5, (fig, panel)
    by_label = {lb["text"]: a for a in fig["axes"] for lb in a["labels"]}
    x_ticks, y_ticks = by_label["column"]["ticks"], by_label["row"]["ticks"]
    assert len(x_ticks) >= 5 and len(y_ticks) >= 5, fig
    _assert_clear(x_ticks, "x")
    _assert_clear(y_ticks, "y")
    for t in _bar_ticks(fig):
        assert _inside(t["box"], fig["box"]), (t, fig["box"])
    assert fig["box"]["w"] > 400 and fig["box"]["h"] > 400, fig["box"]  # not squeezed
    screenshot(page.locator(".jupyterlab-sidecar").first, "layout-image-side-panel")
    assert errors == []


# Each body column's width in the grid, and the width its widest cell's text needs (the
# grid's font, the renderer's 3 decimals), measured on a canvas; the same for the row
# header's "seq_num".
WIDTHS_JS = """
() => {
  const views = window.__livescan.views().filter((v) => v.grid && v.grid.dataModel);
  const g = (views[views.length - 1].grid.grid || views[views.length - 1].grid);
  const dm = g.dataModel, ctx = document.createElement('canvas').getContext('2d');
  ctx.font = '12px sans-serif';
  const need = (t) => ctx.measureText(t).width + 8;
  const cols = [...Array(dm.columnCount('body')).keys()].map((c) => {
    let widest = need(String(dm.metadata('body', 0, c).name));
    for (let r = 0; r < dm.rowCount('body'); r++) {
      const v = dm.data('body', r, c);
      widest = Math.max(widest, need(typeof v === 'number' ? v.toFixed(3) : String(v)));
    }
    return {name: dm.metadata('body', 0, c).name, size: g.columnSize('body', c), widest};
  });
  return {cols, header: g.columnSize('row-header', 0), seq: need('seq_num') + 16};  // + icon
}
"""


def test_a_tables_columns_are_as_wide_as_their_widest_value(lab, lab_page):
    """A detector reading ~123,000 showed as ``12345…`` and the row header as
    ``seq_n…``: columns widen to their widest value."""
    page = lab_page
    errors = _start(
        lab, page, "layout-wide-values",
        "big = SynGauss('big', motor, Imax=123456.0, noise='uniform', noise_multiplier=5000)\n"
        "await RE(scan([big], motor, -3, 3, num=30), "
        "[LiveTable([big, motor]), LivePlot('big', 'motor')])",
    )  # fmt: skip
    got = wait_until(lambda: page.evaluate(WIDTHS_JS), what="the finished grid")
    assert [c["name"] for c in got["cols"]] == ["time", "big", "motor", "motor_setpoint"]
    for col in got["cols"]:
        assert col["size"] >= col["widest"], col
    assert got["header"] >= got["seq"], got
    screenshot(page.locator(".livescan-run").first, "layout-wide-values")
    assert errors == []
