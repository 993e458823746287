"""Page probes for the livescan widget browser tests (reads what the page shows).

Built on the harness in ``_lab.py``; everything here reads the live page: SVG paths for
bqplot lines, the ipydatagrid data model for rows, the heat-map model, the run-status
widget's text, and runs code in the notebook's kernel.
"""

from __future__ import annotations

import re
import time
from typing import Any

from _lab import count_path_points, eval_views, wait_for_js

__all__ = [
    "figure_line_points",
    "grid_row_count",
    "heatmap_colors",
    "kernel_exec",
    "start_run_all",
    "status_events",
    "status_state",
    "wait_until",
]


def start_run_all(page) -> None:
    """Run all cells without waiting (a cell may ``await`` a run we want to click on)."""
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")


def figure_line_points(page, title: str) -> list[int]:
    """Points drawn by each ``path.line`` of the bqplot figure titled ``title``."""
    ds = eval_views(
        page,
        """(views, title) => {
             const figs = views.filter((v) => v.model.get('_model_name') === 'FigureModel'
                                             && v.model.get('title') === title);
             if (!figs.length) return null;
             return Array.from(figs[0].el.querySelectorAll('path.line'))
                         .map((p) => p.getAttribute('d'));
           }""",
        title,
    )
    return [] if ds is None else [count_path_points(d) for d in ds]


def grid_row_count(page) -> int | None:
    """Rows in the first ipydatagrid shown, from its data model (the canvas has no DOM rows)."""
    return eval_views(
        page,
        """(views) => {
             const g = views.find((v) => v.grid && v.grid.dataModel);
             return g ? g.grid.dataModel.rowCount('body') : null;
           }""",
    )


def grid_cell(page, row: int, col: int) -> Any:
    return eval_views(
        page,
        """(views, [r, c]) => {
             const g = views.find((v) => v.grid && v.grid.dataModel);
             return g ? g.grid.dataModel.data('body', r, c) : null;
           }""",
        [row, col],
    )


def heatmap_colors(page) -> dict[str, Any] | None:
    """The first LiveRaster's colour array as the browser holds it (NaN as None), and how
    many heat-map cells it drew with a colour (an inline fill from the colour scale)."""
    return eval_views(
        page,
        """(views) => {
             const fig = views.find((v) => v.model.get('_model_name') === 'FigureModel'
                                          && v.el.classList.contains('livescan-raster'));
             if (!fig) return null;
             const hm = fig.model.get('marks')
                           .find((m) => m.get('_model_name') === 'GridHeatMapModel');
             const rows = Array.from(hm.get('color'));
             const cs = hm.get('scales').color;
             const flat = rows.flatMap((r) => Array.from(r)).map(Number);
             const cells = Array.from(fig.el.querySelectorAll('rect.heatmapcell'));
             const fillOf = (r) => r.getAttribute('fill') || r.style.fill || '';
             const filled = cells.filter((r) => fillOf(r) !== '').length;
             const distinct = new Set(cells.map(fillOf)).size;
             const blank = cells.filter(
               (r) => getComputedStyle(r).fill === 'rgb(255, 255, 255)').length;
             return {values: flat.map((v) => (Number.isFinite(v) ? v : null)),
                     rows: rows.length, cells: cells.length, filled, blank, distinct,
                     fills: Array.from(new Set(cells.map(fillOf))).slice(0, 3),
                     domain: [cs.get('min'), cs.get('max')]};
           }""",
    )


def status_text(page, index: int = -1) -> str:
    texts = page.locator(".livescan-run-status").all_inner_texts()
    return texts[index] if texts else ""


def status_state(page, index: int = -1) -> str:
    states = page.locator(".livescan-run-status .livescan-state").all_inner_texts()
    return states[index].strip() if states else ""


def status_events(page, index: int = -1) -> int:
    counts = page.locator(".livescan-run-status .livescan-events").all_inner_texts()
    return int(counts[index]) if counts else -1


def wait_until(predicate, timeout: float = 60.0, interval: float = 0.1, what: str = "") -> Any:
    """Poll a Python predicate (which reads the page) until it is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what or predicate}")
        time.sleep(interval)


def kernel_exec(page, code: str, timeout: float = 60.0) -> str:
    """Run ``code`` in the notebook's kernel (queued after running cells); its output text."""
    page.evaluate(
        """(code) => {
             const k = window.__livescan.panel().sessionContext.session.kernel;
             const st = window.__livescanExec = {done: false, out: ''};
             const f = k.requestExecute({code, silent: false, store_history: false});
             f.onIOPub = (msg) => {
               const t = msg.header.msg_type;
               if (t === 'stream') st.out += msg.content.text;
               if (t === 'error') st.out += msg.content.ename + ': ' + msg.content.evalue;
             };
             f.done.then(() => { st.done = true; },
                         (e) => { st.done = true; st.out += String(e); });
           }""",
        code,
    )
    wait_for_js(page, "() => window.__livescanExec.done", timeout=timeout)
    return page.evaluate("() => window.__livescanExec.out")


_NUMBER = re.compile(r"-?\d+")
