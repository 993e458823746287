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
    "grid_cell",
    "grid_cell_text",
    "grid_row_count",
    "image_element",
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


def grid_cell_text(page, row: int, column: str) -> str | None:
    """The text the first grid draws in a body cell: its data model's value through the
    cell renderer the grid's canvas uses for it (None while the row is not loaded)."""
    return eval_views(
        page,
        """(views, [r, name]) => {
             const g = views.find((v) => v.grid && v.grid.dataModel);
             if (!g) return null;
             const dm = g.grid.dataModel;
             if (r >= dm.rowCount('body')) return null;
             for (let c = 0; c < dm.columnCount('body'); c++) {
               const metadata = dm.metadata('body', r, c);
               if (metadata.name !== name) continue;
               const value = dm.data('body', r, c);
               // a StreamingDataGrid shows '...' until the kernel sent the row
               if (value === undefined || value === '...') return null;
               const config = {region: 'body', row: r, column: c, metadata, value,
                               x: 0, y: 0, width: 100, height: 20};
               const renderer = g.grid.grid.cellRenderers.get(config);
               return renderer.format(config);
             }
             return null;
           }""",
        [row, column],
    )


def image_element(page, selector: str = ".livescan-liveimage image") -> dict[str, Any] | None:
    """The SVG ``<image>`` a bqplot Image mark draws: where it is on the page (CSS px), and
    the picture behind its ``href`` (bytes, natural size once decoded)."""
    return page.evaluate(
        """async (selector) => {
             const el = document.querySelector(selector);
             if (!el) return null;
             const href = el.getAttribute('href') || '';
             let bytes = 0, natural = [0, 0];
             if (href) {
               bytes = (await (await fetch(href)).blob()).size;
               const img = new Image();
               img.src = href;
               try { await img.decode(); natural = [img.naturalWidth, img.naturalHeight]; }
               catch (e) { natural = [0, 0]; }
             }
             const r = el.getBoundingClientRect();
             return {href, bytes, natural, rect: {x: r.x, y: r.y, width: r.width,
                                                  height: r.height}};
           }""",
        selector,
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
