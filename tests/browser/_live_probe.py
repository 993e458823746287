"""Reading a page *while a run is live*: shared by the browser tests and ``bench/browser.py``.

``sample(page)`` returns what the page shows at one moment: the run-status widget's state and
event count, every bqplot figure (its line paths, its y-tick labels, the raster's drawn
pixels: the opaque pixels of its PNG tiles), the LiveImage frame slider and the first grid's
visible rows (ipydatagrid draws on a canvas: the rows come from its data model). Views are
collected from the whole main area, notebook outputs and the side panel alike.
``TableCheck`` judges a series of grid samples against the kernel's rows read after the run.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from _lab import count_path_points
from _widget_probe import kernel_exec

__all__ = [
    "CONSOLE_JS",
    "DONE_STATES",
    "TableCheck",
    "click_and_wait",
    "drawn_lag",
    "final_row_headers",
    "kernel_rows",
    "sample",
]

DONE_STATES = frozenset({"success", "abort", "fail", "stop", "halt"})

# Installed before the app loads (``context.add_init_script``): long main-thread tasks.
CONSOLE_JS = r"""
window.__bench = {longtasks: [], comm: null};
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__bench.longtasks.push([e.startTime, e.duration]);
  }).observe({type: 'longtask', buffered: true});
} catch (e) { window.__bench.longtaskError = String(e); }
window.__bench.errorStacks = [];
(() => {
  const original = console.error.bind(console);
  console.error = (...args) => {
    const err = args.find((a) => a instanceof Error);
    if (err && window.__bench.errorStacks.length < 20) {
      window.__bench.errorStacks.push(String(err.stack || err).slice(0, 1500));
    }
    original(...args);
  };
})();
"""

_VIEWS_JS = r"""
  const app = window.jupyterapp;
  const views = [];
  const seen = new Set();
  const visit = (w) => {
    if (w.isDisposed || (w.node && (!w.node.isConnected || w.node.style.display === 'none'))) {
      return;  // gone, or hidden (a table's grid a newer one replaced)
    }
    if (w._view && !seen.has(w._view)) { seen.add(w._view); views.push(w._view); }
    if (typeof w.children === 'function') { for (const c of w.children()) visit(c); }
  };
  for (const w of app.shell.widgets('main')) visit(w);
  const name = (v) => v.model.get('_model_name');
"""

# Opaque pixels of the PNG pictures (ipywidgets Image models) a LiveRaster's tile marks
# show; each picture is decoded once (a tile update is a new picture model). The bytes come
# from the models, not from the <image> elements' blob URLs: bqplot revokes a URL when the
# next picture arrives, and fetching a revoked URL logs a console error.
_OPAQUE_JS = r"""
window.__livescanOpaqueCache = window.__livescanOpaqueCache || new Map();
window.__livescanOpaque = window.__livescanOpaque || (async (pictures) => {
  const cache = window.__livescanOpaqueCache;
  let total = 0;
  for (const pic of pictures) {
    if (!pic) return null;
    if (!cache.has(pic.model_id)) {
      const blob = new Blob([pic.get('value')], {type: 'image/' + pic.get('format')});
      const bitmap = await createImageBitmap(blob);
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      const ctx = canvas.getContext('2d');
      ctx.drawImage(bitmap, 0, 0);
      const px = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
      let n = 0;
      for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++;
      if (cache.size > 2000) cache.clear();
      cache.set(pic.model_id, n);
    }
    total += cache.get(pic.model_id);
  }
  return total;
});
"""

SAMPLE_JS = (
    "async () => {"
    + _OPAQUE_JS
    + _VIEWS_JS
    + r"""
  const st = document.querySelector('.livescan-run-status .livescan-state');
  const ev = document.querySelector('.livescan-run-status .livescan-events');
  const out = {state: st ? st.innerText.trim() : '', events: ev ? Number(ev.innerText) : -1,
               figures: [], frame: null, grid: null};
  for (const v of views) {
    const n = name(v);
    if (n === 'FigureModel') {
      const lines = Array.from(v.el.querySelectorAll('path.line'))
        .filter((p) => !p.closest('.g_legend, .legend')).map((p) => p.getAttribute('d') || '');
      const yticks = Array.from(v.el.querySelectorAll('.axis'))
        .filter((a) => a.querySelector('.tick'))
        .map((a) => Array.from(a.querySelectorAll('.tick text'))
                      .filter((t) => t.textContent.trim() !== '').length);
      // a LiveRaster draws PNG tiles (Image marks): its pixels drawn are the opaque pixels
      // of the pictures its tiles show now
      const pictures = (v.model.get('marks') || [])
        .filter((m) => m.get('_model_name') === 'ImageModel').map((m) => m.get('image'));
      let filled = v.el.classList.contains('livescan-raster')
        ? await window.__livescanOpaque(pictures) : null;
      for (const hm of (v.model.get('marks') || [])) {  // older trees: heat-map cells
        if (hm.get('_model_name') !== 'GridHeatMapModel') continue;
        filled = filled || 0;
        for (const row of hm.get('color') || []) {
          for (const x of row) if (Number.isFinite(x)) filled++;
        }
      }
      out.figures.push({title: v.model.get('title'), lines, yticks, heatmap: filled,
                        image: !!v.el.closest('.livescan-liveimage')});
    } else if (n === 'IntSliderModel' && v.model.get('description') === 'frame'
               && out.frame === null) {
      out.frame = v.model.get('value');
    } else if (v.grid && v.grid.dataModel && v.grid.grid && out.grid === null) {
      const g = v.grid.grid, dm = g.dataModel;
      const rows = dm.rowCount('body'), cols = dm.columnCount('body');
      const h = g.defaultSizes.rowHeight;
      const first = Math.floor(g.scrollY / h);
      const last = Math.min(rows, first + Math.ceil(g.pageHeight / h));
      const names = [];
      for (let c = 0; c < cols; c++) names.push(rows ? dm.metadata('body', 0, c).name : null);
      const visible = [];
      for (let r = first; r < last; r++) {
        const vals = [];
        for (let c = 0; c < cols; c++) vals.push(dm.data('body', r, c));
        let seq = null;
        try { seq = dm.data('row-header', r, 0); } catch (e) { seq = null; }
        visible.push([r, seq, vals]);
      }
      // rows past the last one with a seq_num, blank (null): the rows a live grid counts
      // ahead of its data, drawn empty
      let filled = rows;
      const header = (r) => { try { return dm.data('row-header', r, 0); } catch (e) { return 0; } };
      while (filled > 0 && header(filled - 1) === null) filled--;
      out.grid = {model: name(v), rows, filled, names, visible};
    }
  }
  return out;
}"""
)

ROW_HEADERS_JS = (
    "() => {"
    + _VIEWS_JS
    + r"""
  const g = views.find((v) => v.grid && v.grid.dataModel);
  if (!g) return null;
  const dm = g.grid.grid.dataModel;
  const seq = [];
  for (let r = 0; r < dm.rowCount('body'); r++) {
    const v = dm.data('row-header', r, 0);
    seq.push(v === '...' || v === undefined ? null : v);
  }
  return seq;
}"""
)

CLICK_JS = r"""
async ([label, want, cell]) => {
  // the run-status widget of notebook cell `cell` (null: the first one on the page)
  const root = cell == null ? document : document.querySelectorAll('.jp-Notebook .jp-Cell')[cell];
  const button = Array.from(root.querySelectorAll('.livescan-run-status button'))
                      .find((b) => b.innerText.trim() === label);
  const text = (sel) => {
    const s = root.querySelector('.livescan-run-status ' + sel);
    return s ? s.innerText.trim() : '';
  };
  const before = Number(text('.livescan-events'));
  const wall = Date.now();
  const t0 = performance.now();
  button.click();
  while (text('.livescan-state') !== want) {
    if (performance.now() - t0 > 20000) return {ms: null, state: text('.livescan-state')};
    await new Promise((r) => requestAnimationFrame(r));
  }
  return {ms: Math.round(performance.now() - t0), clicked_at: wall,
          events_at_click: before, events_at_state: Number(text('.livescan-events'))};
}
"""


def sample(page) -> dict[str, Any]:
    """What the page shows now (see the module docstring)."""
    return page.evaluate(SAMPLE_JS)


def click_and_wait(page, label: str, state: str, cell: int | None = None) -> dict[str, Any]:
    """Click the run-status button ``label`` (of notebook cell ``cell``'s run; None: the
    first run on the page): ``ms`` until the widget shows ``state``, ``clicked_at`` (the
    wall clock at the click, ms since the epoch: the kernel's ``time.time()`` clock), the
    events shown at the click and at ``state``."""
    return page.evaluate(CLICK_JS, [label, state, cell])


def final_row_headers(page) -> list[int | None]:
    """The seq_num row header of every row of the first grid (None: a row the browser
    holds no data for, as a streaming grid's rows that were never on screen)."""
    headers = page.evaluate(ROW_HEADERS_JS) or []
    return [None if s is None else int(s) for s in headers]


def drawn_lag(s: dict[str, Any], max_points: int = 2000) -> int | None:
    """Events the status widget shows minus what is drawn (line points, raster pixels or
    the image frame), the worst figure; None when nothing is counted. Lines count only up
    to ``max_points`` events (beyond, LivePlot decimates them); a LiveImage counts by its
    frame slider (its figures' lines are a crosshair and profiles, not events)."""
    if s["events"] < 0:
        return None
    drawn = []
    for fig in s["figures"]:
        if fig.get("image"):
            continue
        if fig["heatmap"] is not None:
            drawn.append(fig["heatmap"])
        elif fig["lines"] and s["events"] <= max_points:
            drawn.append(count_path_points(fig["lines"][0]))
    if s["frame"] is not None:
        drawn.append(s["frame"])
    return max(s["events"] - d for d in drawn) if drawn else None


def kernel_rows(page, table_expr: str) -> dict[str, Any]:
    """The rows a TableGridView holds in the kernel: ``{'seq': [...], 'cols': {name: [...]}}``
    (the time column formatted as the grid shows it). ``table_expr`` names the view. The
    rows travel through a temp file: printed, 50,000 rows exceed the server's IOPub rate."""
    code = (
        "import json as _j, tempfile as _t\n"
        "from livescan.widgets._table_view import format_time as _ft\n"
        f"_v = {table_expr}\n"
        "_c = {'time': [_ft(float(t)) for t in _v._time.view()]}\n"
        "for _n, _col in zip(_v.columns, _v._values):\n"
        "    _c[_n] = [None if isinstance(x, float) and x != x else x\n"
        "              for x in _col.view().tolist()]\n"
        "with _t.NamedTemporaryFile('w', suffix='.json', delete=False) as _f:\n"
        "    _j.dump({'seq': _v._seq.view().tolist(), 'cols': _c}, _f, default=str)\n"
        "print(_f.name)"
    )
    out = kernel_exec(page, code, timeout=120).strip()
    path = Path(out.splitlines()[-1]) if out else None
    if path is None or not path.is_file():
        raise RuntimeError(f"reading the table in the kernel: {out!r}")
    try:
        return json.loads(path.read_text())
    finally:
        path.unlink(missing_ok=True)


def _is_placeholder(value: Any) -> bool:
    if value is None or value in ("...", "…", ""):
        return True
    return isinstance(value, float) and math.isnan(value)


class TableCheck:
    """Grid samples taken during a run, judged against the kernel's rows afterwards.

    ``add(grid)`` takes ``sample(page)['grid']``; a placeholder cell (``...``, NaN, empty)
    that is still one ``stale_after`` seconds after it was first seen counts as stale.
    Blank rows past the last row with data (a live grid's row count runs ahead of its
    rows; they are drawn empty, as a sheet's unwritten rows) are the table's end, not
    placeholders; a blank row before a row with data is.
    """

    def __init__(self, stale_after: float = 0.3) -> None:
        self.stale_after = stale_after
        self.placeholder_cells: list[int] = []
        self.stale: set[tuple[int, int]] = set()
        self.rows: dict[int, tuple[Any, list[Any], list[str]]] = {}
        self._first_seen: dict[tuple[int, int], float] = {}

    def add(self, grid: dict[str, Any] | None, now: float | None = None) -> None:
        if grid is None:
            return
        now = time.monotonic() if now is None else now
        count, current = 0, set()
        filled = grid.get("filled", grid["rows"])
        for r, seq, vals in grid["visible"]:
            if r >= filled and seq is None and all(v is None for v in vals):
                continue
            for c, v in enumerate(vals):
                if _is_placeholder(v):
                    count += 1
                    current.add((r, c))
                    first = self._first_seen.setdefault((r, c), now)
                    if now - first > self.stale_after:
                        self.stale.add((r, c))
            if not any(_is_placeholder(v) for v in vals):
                self.rows.setdefault(r, (seq, vals, grid["names"]))
        self._first_seen = {k: t for k, t in self._first_seen.items() if k in current}
        self.placeholder_cells.append(count)

    def differing_rows(self, kernel: dict[str, Any]) -> list[dict[str, Any]]:
        """Rows seen in the browser whose seq_num or values differ from the kernel's."""
        bad = []
        for r, (seq, vals, names) in sorted(self.rows.items()):
            if r >= len(kernel["seq"]):
                bad.append({"row": r, "seq": seq, "kernel": None})
                continue
            want = {n: kernel["cols"][n][r] for n in names if n in kernel["cols"]}
            differs = seq is not None and str(seq) != str(kernel["seq"][r])
            for v, n in zip(vals, names):
                if n not in want:
                    continue
                k = want[n]
                if isinstance(k, float) and isinstance(v, int | float):
                    differs |= not math.isclose(float(v), k, rel_tol=1e-9, abs_tol=1e-12)
                else:
                    differs |= str(v) != str(k)
            if differs:
                bad.append({"row": r, "seq": seq, "shown": vals, "kernel_seq": kernel["seq"][r],
                            "kernel": want})  # fmt: skip
        return bad

    @staticmethod
    def final_check(headers: list[int | None], kernel_seq: list[int]) -> dict[str, int]:
        """The finished grid against the kernel: rows, seq_nums repeated, missing (rows
        the kernel has that the grid lacks or shows elsewhere) and out of place. Rows the
        browser never loaded (None) are only counted as ``final_unloaded``."""
        loaded = [h for h in headers if h is not None]
        placed = {i for i, h in enumerate(headers) if h is not None}
        return {
            "final_rows": len(headers),
            "final_unloaded": len(headers) - len(loaded),
            "final_repeated": len(loaded) - len(set(loaded)),
            "final_missing": max(0, len(kernel_seq) - len(headers))
            + len({kernel_seq[i] for i in placed if i < len(kernel_seq)} - set(loaded)),
            "final_out_of_order": sum(
                1 for i in placed if i >= len(kernel_seq) or headers[i] != kernel_seq[i]
            ),
        }
