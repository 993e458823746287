"""TableGridView: the ipydatagrid face of the text LiveTable.

``livescan.callbacks.LiveTable`` decides what to show (fields, precision, the summary)
and calls ``begin`` / ``row`` (or ``rows`` for an event page) / ``end`` on this view.
Rows go into numpy columns in the kernel; the browser gets an ipydatagrid
``StreamingDataGrid``. While a run is live the kernel *pushes* rows: each flush sends, as
one ``data-reply`` message, the rows appended since the last flush that fall in the rows
the browser shows (the range of its last ``data-request``) or in the last ``tail_rows``
rows. The row count runs ``ahead_rows`` ahead of the rows, those rows blank (nulls, drawn
empty), so new rows fill rows the browser already counts: a new count repaints every cell
in view, a filled row only itself. It sends no "tick": a tick makes the browser ask the kernel, and
ipydatagrid debounces the asking (160 ms), so ticks at 20 Hz postponed every request until
the run ended and the grid showed ``...`` placeholders all run long, while the asking
competed with the busy kernel. The browser still asks when the user scrolls; the kernel
answers from the columns, building only those rows (a whole pandas frame is made only for
the grid's own sort and filter).

Precision: the grid shows each number with the descriptor's precision through
per-column ``TextRenderer(format='.3f')``, and the kernel sends full values (sorting and
filtering stay numeric). The renderers must be part of the grid's first state: set on a
grid already shown, they lose a race in ipydatagrid 1.4's view (its initial, empty
renderer set can land last), and the browser silently keeps its default format. So each
new set of columns gets a new grid, made with its renderers, in the same box. Renderers
(three comms each: the renderer and its two colour expressions) are shared by every grid
of the kernel that shows the same format, and never closed: a new grid per run opens one
comm, not ten.

Grids are never taken out of a box the browser may still be drawing. ipywidgets' BoxView,
once every child view of a children list is built, posts a Lumino resize to each of them;
a child removed (or closed) while its view was still being built (ipydatagrid's view
builds its renderer views first, and the page loads ipydatagrid's code on the first
grid) is disposed by then, and the resize fails with "Cannot read properties of null
(reading 'processLuminoMessage')". So a new grid is *appended* to a box of grids and the
one it replaces is hidden (a shared ``display: none`` layout); the box is emptied only at
a new stream when its last change is ``settle`` seconds old (or it holds ``max_grids``:
streams in a tight loop), and the grids taken out are closed then.
"""

from __future__ import annotations

import asyncio
import math
import time as ttime
import warnings
from typing import Any

import comm
import ipywidgets
import numpy as np
import pandas as pd
from bqplot.traits import array_to_json
from ipydatagrid import DataGrid, StreamingDataGrid, TextRenderer
from ipydatagrid.cellrenderer import Expr
from ipydatagrid.datagrid import _data_to_json

from livescan.widgets._base import NoFrontendWarning, frontend_available
from livescan.widgets._buffer import Column
from livescan.widgets._fallback import FallbackOutputs, keep_pending, table_text
from livescan.widgets._kept import Kept, KeptLayout
from livescan.widgets._throttle import DEFAULT_MAX_RATE, Throttle

__all__ = ["TableGridView"]

_NUMERIC = ("number", "integer")
#: rows assumed on screen until the browser says (a 280 px grid shows about 12)
_DEFAULT_PAGE_ROWS = 40
#: a text column is made wide enough for this many characters at most
_MAX_TEXT_CHARS = 40


def _text_px(chars: int) -> int:
    """Pixels a column needs for ``chars`` characters of the grid's font, with padding."""
    return max(64, 7 * chars + 22)


#: room for the grid's vertical scroll bar (20 px in JupyterLab) and border (1 px a side):
#: any less and a horizontal scroll bar shows too, and takes a row's height
_SCROLLBAR_PX = 24


class _KeptRenderer(Kept, TextRenderer):
    """A TextRenderer that many grids of many runs show (see ``Kept``)."""


class _KeptExpr(Kept, Expr):
    """A renderer's colour expression, shared as its renderers are."""


class _SharedRenderers:
    """The kernel's renderers by (format, alignment), and one pair of theme colour
    expressions for all of them. Made again under another comm implementation (a test's
    recorder; widgets made before a kernel was running)."""

    def __init__(self) -> None:
        self.factory: Any = None
        self.renderers: dict[tuple[str | None, str], TextRenderer] = {}
        self.colors: tuple[Expr, Expr] | None = None
        self._hidden: ipywidgets.Layout | None = None

    def _same_comms(self) -> None:
        """Forget what was made under another comm implementation (a test's recording
        comm, then the kernel's)."""
        if self.factory is not comm.create_comm:
            self.factory, self.renderers, self.colors = comm.create_comm, {}, None
            self._hidden = None

    def hidden(self) -> ipywidgets.Layout:
        """The layout of every grid a newer one replaced (``display: none``)."""
        self._same_comms()
        if self._hidden is None or self._hidden.comm is None:
            self._hidden = KeptLayout(display="none")
        return self._hidden

    def get(self, fmt: str | None, align: str = "left") -> TextRenderer:
        self._same_comms()
        renderer = self.renderers.get((fmt, align))
        if renderer is None or renderer.comm is None:
            if self.colors is None:
                self.colors = (_KeptExpr("default_value"), _KeptExpr("default_value"))
            renderer = self.renderers[(fmt, align)] = _KeptRenderer(
                format=fmt,
                horizontal_alignment=align,
                text_color=self.colors[0],
                background_color=self.colors[1],
            )
        return renderer


_SHARED = _SharedRenderers()
_renderer = _SHARED.get


def format_time(t: float) -> str:
    """``HH:MM:SS.f`` in local time, as the text LiveTable prints it."""
    return ttime.strftime("%H:%M:%S", ttime.localtime(t)) + f".{int((t % 1) * 10)}"


#: the schema and fields ipydatagrid makes for a column range of given names and dtypes
#: (the same for every grid of the kernel showing those columns)
_HEADS: dict[tuple[Any, ...], dict[str, Any]] = {}


class _ColumnsGrid(StreamingDataGrid):
    """A StreamingDataGrid whose rows come from a TableGridView's columns, pushed by the
    kernel as they arrive and sent on request when the user scrolls."""

    _data: dict[str, Any]  # ipydatagrid's own state (the library ships no types)

    def __init__(self, view: TableGridView, *args: Any, **kwargs: Any) -> None:
        self._view = view
        self._stale = False
        #: rows the browser last asked for (the rows on screen), first and last
        self.viewport = (0, _DEFAULT_PAGE_ROWS - 1)
        super().__init__(*args, **kwargs)

    @property
    def data(self) -> pd.DataFrame:
        return StreamingDataGrid.data.fget(self)

    @data.setter
    def data(self, frame: pd.DataFrame) -> None:
        StreamingDataGrid.data.fset(self, frame)
        # ipydatagrid's streaming data source holds no columns at all; once rows have been
        # sent, its view counts rows through the first column's array, and every row-count
        # change threw "Cannot read properties of undefined (reading 'length')" in the
        # browser. Zero-row columns keep that count at 0 and the console quiet.
        self._data = {**self._data, "data": self._data_object["data"].iloc[:0]}

    def _handle_comm_msg(self, _: Any, content: dict[str, Any], buffers: Any) -> None:
        if content.get("type") == "data-request" and self._view.grid is not self:
            return  # a grid a newer one replaced: hidden, and its view's columns are gone
        if content.get("type") == "data-request" and not self._transforms:
            r1, r2, c1, c2 = (int(content[k]) for k in ("r1", "r2", "c1", "c2"))
            if r1 < 0 or r2 < r1:  # an empty grid asks for rows -1..-1
                return
            self.viewport = (r1, r2)
            self.push(r1, r2 + 1, c1, c2)
            return
        if self._stale:  # sort, filter or unique values: ipydatagrid's own code, whole frame
            self.refresh()
        super()._handle_comm_msg(_, content, buffers)

    def push(
        self, start: int, stop: int, c1: int = 0, c2: int | None = None, count: int | None = None
    ) -> int:
        """Send rows ``start:stop`` (columns ``c1..c2``) as data-replies: the kernel's rows,
        then blank ones for the rows of the browser's row count (or ``count``, the one about
        to go out) past them; the rows sent."""
        n = len(self._view)
        ncols = 1 + len(self._view.columns)  # time, then the fields
        c2 = ncols - 1 if c2 is None else min(c2, ncols - 1)
        sent = 0
        if min(stop, n) > start:
            value, bufs = self._serialize_rows(start, min(stop, n), c1, c2)
            self._reply(value, bufs, start, min(stop, n), c1, c2)
            sent += min(stop, n) - start
        a, b = max(start, n), min(stop, self._row_count if count is None else count)
        if b > a and not self._transforms:
            self._reply(self._blank_rows(b - a, c1, c2), [], a, b, c1, c2)
            sent += b - a
        return sent

    def _reply(self, value: Any, bufs: list[Any], start: int, stop: int, c1: int, c2: int) -> None:
        reply = {"event_type": "data-reply", "value": value,
                 "r1": start, "r2": stop - 1, "c1": c1, "c2": c2}  # fmt: skip
        self.send(reply, bufs)

    def _blank_rows(self, count: int, c1: int, c2: int) -> dict[str, Any]:
        """``count`` rows of nothing (JSON nulls): the grid draws them empty, as the cells
        of a sheet not written yet (a row it holds no data for shows ``...``)."""
        key = self._head_key(c1, c2)
        if key not in _HEADS:  # no row sent yet with these columns: ipydatagrid's schema
            self._serialize_rows(0, min(1, len(self._view)), c1, c2)
        head = _HEADS[key]
        names = ["seq_num", *(["time", *self._view.columns][c1 : c2 + 1]), "ipydguuid"]
        return {"data": {k: {"type": "raw", "value": [None] * count} for k in names}, **head}

    def _head_key(self, c1: int, c2: int) -> tuple[Any, ...]:
        view = self._view
        return (c1, c2, tuple(view.columns), tuple(str(c._data.dtype) for c in view._values))

    def _serialize_rows(self, start: int, stop: int, c1: int, c2: int) -> tuple[Any, list[Any]]:
        """What ipydatagrid's ``_serialize_helper`` makes of rows ``start:stop``, columns
        ``c1..c2``, built from the columns directly: the schema and fields come from
        ipydatagrid once per column range and dtypes (in this kernel), the data from the
        numpy columns (a pandas frame and ipydatagrid's table schema per push cost ~2 ms
        of each flush)."""
        view = self._view
        names = ["time", *view.columns][c1 : c2 + 1]
        key = self._head_key(c1, c2)
        head = _HEADS.get(key)
        if head is None:  # the first push of these columns: ipydatagrid's own way
            value, first = self._serialize_helper(view._frame(start, stop).iloc[:, c1 : c2 + 1])
            _HEADS[key] = {k: v for k, v in value.items() if k != "data"}
            return value, list(first)
        rows = slice(start, stop)
        columns: dict[str, Any] = {"seq_num": view._seq.view()[rows]}
        for name in names:
            if name == "time":
                times = view._time.view()[rows]
                columns[name] = np.array([format_time(float(t)) for t in times], dtype=object)
            else:
                columns[name] = view._values[view.columns.index(name)].view()[rows]
        columns["ipydguuid"] = np.arange(stop - start, dtype=np.int64)
        data: dict[str, Any] = {}
        bufs: list[Any] = []
        for name, arr in columns.items():
            try:
                col = array_to_json(arr)
            except ValueError:  # strings, mixed: sent raw, as ipydatagrid does
                col = {"value": _data_to_json(arr, None), "type": "raw"}
            if not isinstance(col, list) and col["type"] != "raw":
                bufs.append(col["value"])
                col["value"] = len(bufs) - 1
            data[name] = col
        return {"data": data, **head}, bufs

    def refresh(self) -> None:
        """Give ipydatagrid the whole frame (and re-apply the user's sort and filter)."""
        frame = self._view._frame()
        self.data = frame
        if self._transforms:
            self._transformed_data = self._apply_frontend_transforms(self._transforms, frame)
            self._row_count = len(self._transformed_data)
        self._stale = False


class TableGridView:
    """A growing ipydatagrid table: seq_num (row header), time, then the fields.

    Parameters
    ----------
    table:
        The LiveTable this view belongs to (kept for reference; may be None).
    max_rate:
        Browser updates per second at most.
    height:
        CSS height of the grid.
    """

    def __init__(
        self, table: Any = None, *, max_rate: float = DEFAULT_MAX_RATE, height: str = "280px"
    ) -> None:
        self.table = table
        self._fallback_outputs = FallbackOutputs()
        #: finished tables up to this many rows keep their rows in the widget state
        self.static_rows = 1_000
        #: the newest rows are pushed too, so scrolling to the end shows them at once
        self.tail_rows = _DEFAULT_PAGE_ROWS
        #: seconds between updates (row count and rows) while the new rows are off screen
        self.count_interval = 0.5
        self.live = frontend_available()
        if not self.live:
            warnings.warn(
                "TableGridView: no Jupyter kernel is running here, so the grid cannot be "
                "shown; use LiveTable(view='text') outside Jupyter.",
                NoFrontendWarning,
                stacklevel=2,
            )
        self.columns: list[str] = []
        self.precisions: dict[str, int] = {}
        self.dtypes: dict[str, str] = {}
        self._seq = Column(np.int64)
        self._time = Column(np.float64)
        self._values: list[Column] = []
        self._summary = ""
        self._fitted: dict[str, int] = {}  # column -> pixels its widest value needs
        self._fitted_rows = 0  # rows whose values the widths account for
        #: blank rows the browser's row count runs ahead of the rows (see ``_flush``)
        self.ahead_rows = _DEFAULT_PAGE_ROWS
        self._shown_rows = 0  # the row count the browser has (blank rows past the data)
        self._sent_rows = 0  # the rows whose data went out with it (or are due to)
        self._counted_at = -math.inf
        self._count_owed: asyncio.TimerHandle | None = None
        self._final = False
        self._grid_layout = ipywidgets.Layout(height=height, width="100%", max_width="100%")
        #: seconds after its last change the box of grids may be emptied (see the module
        #: doc), or once it holds ``max_grids`` (streams in a tight loop)
        self.settle = 10.0
        self.max_grids = 16
        self._changed_at = -math.inf
        self.summary = ipywidgets.HTML(value="")
        self._grids = ipywidgets.VBox(layout=ipywidgets.Layout(width="100%"))
        #: the columns (precisions, dtypes) the grid was made for before any stream
        self._fresh: tuple[list[str], dict[str, int], dict[str, str]] | None = None
        expected = getattr(table, "expected_columns", None)
        if expected is not None:
            # the columns the table's first descriptor will most likely have: its grid is
            # made (and shown) now, with its renderers, not in the run at the descriptor
            self._set_columns(*expected())
            self._fresh = (self.columns, self.precisions, self.dtypes)
            self.grid = self._make_grid(self._make_renderers())
            self._grids.children = (self.grid,)
            self._changed_at = ttime.monotonic()
        else:  # not shown: the first stream's grid is the first one the page gets
            self.grid = self._make_grid()
        #: a hidden box, on the page from the start, where a finished table's DataGrid is
        #: built (see ``end``)
        self._stage = ipywidgets.Box(layout=ipywidgets.Layout(display="none"))
        #: seconds the DataGrid stays hidden while the browser builds it
        self.reveal_delay = 0.5
        self._reveal_at: asyncio.TimerHandle | None = None
        self._revealed: asyncio.Future[Any] | None = None  # done once it is shown
        self.widget = ipywidgets.VBox(
            [self._grids, self._stage, self.summary], layout=ipywidgets.Layout(width="100%")
        )
        self.widget.add_class("livescan-livetable")
        self._throttle = Throttle(self._flush_if_live, max_rate=max_rate)

    # -- the protocol LiveTable calls ----------------------------------------------------
    def begin(self, columns: list[str], precisions: dict[str, int], dtypes: dict[str, str]) -> None:
        """A new stream: set the columns (after seq_num and time)."""
        self._throttle.flush_now()
        fresh, self._fresh = self._fresh, None
        self._set_columns(columns, precisions, dtypes)
        if fresh != (self.columns, self.precisions, self.dtypes):
            # a new grid born with its renderers (see the module docstring), made now
            # rather than at the next flush, so that a view placed on the page after its
            # descriptor (the Dashboard's) is drawn once, not twice. The grid made for
            # the expected columns before the run serves if they are these (no rows yet).
            self._unstage()
            self._show(self._make_grid(self._make_renderers()))
        self._shown_rows, self._sent_rows, self._counted_at = 0, 0, -math.inf
        self._throttle.poke()

    def _set_columns(
        self, columns: list[str], precisions: dict[str, int], dtypes: dict[str, str]
    ) -> None:
        """Empty columns for ``columns``; the grid's width for them."""
        self.columns = list(columns)
        self.precisions = dict(precisions)
        self.dtypes = dict(dtypes)
        self._seq = Column(np.int64)
        self._time = Column(np.float64)
        self._values = [
            Column(np.float64) if self.dtypes.get(c) in _NUMERIC else Column(object)
            for c in self.columns
        ]
        self._summary = ""
        self._fitted, self._fitted_rows = {}, 0
        self._grid_layout.width = self._width()

    def row(self, seq_num: int, time: float, values: list[Any]) -> None:
        """One event: cheap appends only."""
        self._seq.append(seq_num)
        self._time.append(time)
        for col, v in zip(self._values, values):
            if v is None and col._data.dtype != object:
                v = math.nan
            col.append(v)
        self._throttle.poke()

    def rows(self, seq_nums: list[int], times: list[float], columns: list[list[Any]]) -> None:
        """Many events at once (an event page): one list per column, in column order."""
        n = len(seq_nums)
        if not n:
            return
        self._seq.extend(np.asarray(seq_nums, dtype=np.int64))
        self._time.extend(np.asarray(times, dtype=np.float64))
        for col, values in zip(self._values, columns):
            if col._data.dtype == object:
                for v in values:
                    col.append(v)
            else:
                col.extend(np.array(values, dtype=np.float64))  # None -> NaN
        self._throttle.poke()

    def end(self, summary: str) -> None:
        """The run stopped: show the summary line and push the final state.

        A finished table of at most ``static_rows`` rows then becomes a plain DataGrid
        that holds its rows in its own state, so a saved or exported notebook shows them
        (a streaming grid's state holds none: it asks the kernel for what is on screen).

        A new ipydatagrid view paints every cell it shows twice as it is attached, at
        ipydatagrid's default 500 px height (its layout comes later): ~150 ms in one task
        here, the longest of a run. So the DataGrid is built in a hidden box (``_stage``,
        on the page since the table was shown), where the browser paints nothing, and
        ``reveal_delay`` s later that box is shown and the box of grids hidden: one paint,
        at its size. Meanwhile the streaming grid shows the rows (its blank rows past them
        left: the exact row count would repaint every cell, for nothing)."""
        self._summary = summary
        n = self._seq.n
        replace = bool(self.columns) and 0 < n <= self.static_rows
        self._final = not replace  # the exact row count for a grid that stays
        self._throttle.poke()
        self._throttle.flush_now()
        self._final = False
        if replace:
            self.grid = DataGrid(self._frame(), renderers=self._make_renderers(),
                                 default_renderer=_renderer(None), layout=self._grid_layout,
                                 **self._sizes())  # fmt: skip
            staged = self._stage.children
            for older in staged:  # the finished tables of earlier streams, unseen
                older.layout = _SHARED.hidden()
            self._stage.children = (*staged, self.grid)
            self._changed_at = ttime.monotonic()
            self._shown_rows = self._sent_rows = n
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # documents fed by hand: at once
                self._reveal()
            else:
                # an awaited run in a batch execution returns once it is shown (as once its
                # fallback picture is drawn), so an executed notebook keeps the DataGrid
                self._revealed = loop.create_future()
                keep_pending(self._revealed)
                self._reveal_at = loop.call_later(self.reveal_delay, self._reveal)
        self._fallback_outputs.leave(self)

    def _reveal(self) -> None:
        """Show the finished table's DataGrid in the streaming grid's place."""
        self._reveal_at = None
        if self._revealed is not None and not self._revealed.done():
            self._revealed.set_result(None)
        self._revealed = None
        if self._stage.children and self.grid is self._stage.children[-1]:
            self._grids.layout.display = "none"
            self._stage.layout.display = None

    def _unstage(self) -> None:
        """A new stream: the box of grids shown again, the finished table's box hidden
        (its DataGrids stay in it until the box of grids is emptied)."""
        if self._reveal_at is not None:  # the last stream's DataGrid goes unseen
            self._reveal_at.cancel()
            self._reveal()
        if self._stage.layout.display != "none":
            self._stage.layout.display = "none"
            self._grids.layout.display = None

    def _show(self, grid: DataGrid) -> None:
        """Make ``grid`` the one shown. The one it replaces is hidden, not taken out (see
        the module docstring); the box's grids (and the finished tables' box's) go, and
        are closed, when their last change is ``settle`` s old."""
        old, self.grid = self.grid, grid
        shown, staged = self._grids.children, self._stage.children
        now = ttime.monotonic()
        if old not in shown and old not in staged:  # never shown: no view of it can exist
            old.close()
        settling = (
            now - self._changed_at < self.settle and len(shown) + len(staged) < self.max_grids
        )
        if shown and settling:
            shown[-1].layout = _SHARED.hidden()
            self._grids.children = (*shown, grid)
        else:
            self._grids.children = (grid,)
            self._stage.children = ()
            for gone in (*shown, *staged):
                gone.close()
        self._changed_at = now

    # -- data ----------------------------------------------------------------------------
    @property
    def data(self) -> pd.DataFrame:
        """Every row received so far, indexed by seq_num."""
        return self._frame()

    def __len__(self) -> int:
        return self._seq.n

    def fallback_text(self) -> str | None:
        """The rows as the LiveTable's text table (the static fallback), or None."""
        return table_text(self)

    def _frame(self, start: int = 0, stop: int | None = None) -> pd.DataFrame:
        """Rows ``start:stop`` (all by default) as a frame indexed by seq_num."""
        rows = slice(start, self._seq.n if stop is None else min(stop, self._seq.n))
        times = self._time.view()[rows]
        cols: dict[str, Any] = {
            "time": np.array([format_time(float(t)) for t in times], dtype=object)
        }
        for name, col in zip(self.columns, self._values):
            cols[name] = col.view()[rows].copy()
        index = pd.Index(self._seq.view()[rows].copy(), name="seq_num")
        return pd.DataFrame(cols, index=index)

    # -- browser side --------------------------------------------------------------------
    def _flush_if_live(self) -> None:
        if self.live:
            self._flush()

    def flush(self) -> None:
        """Push the current rows now (normally the throttle does it)."""
        self._flush()

    def _flush(self) -> None:
        n = self._seq.n
        if n > self._fitted_rows:
            self._fit(self._fitted_rows, n)
            self._fitted_rows = n
        grid = self.grid
        if grid._transforms:  # the user sorted or filtered: whole frame, browser asks
            if n != self._shown_rows:
                grid.refresh()
                grid.tick()
                self._shown_rows = self._sent_rows = n
        elif self._final and self._shown_rows != n:
            # the end: the exact row count (the blank rows go), the rows not yet sent
            self._count(n, n)
        elif n != self._sent_rows:
            # Each new row count makes the browser's grid repaint every cell in view
            # (ipydatagrid resets its model: ~70 canvas blits, 15-50 ms a time here), while
            # rows written into rows it already counts repaint only themselves. So the count
            # runs `ahead_rows` ahead of the rows, the rows past them blank (not `...`), and
            # new rows fill them in place; a new count goes out when the rows outgrow it.
            # Rows (and counts) go out at once when on screen, else at most every
            # `count_interval` s (and at the end, with the exact count).
            start = self._sent_rows
            if not (
                self._in_view(start, n)
                or ttime.monotonic() - self._counted_at >= self.count_interval
            ):
                self._owe_count()  # off screen: rows (and count) wait
            elif n <= self._shown_rows:
                self._push_new_rows(start, n)
                self._sent_rows = n
                self._counted_at = ttime.monotonic()
            else:
                self._count(n, n + self.ahead_rows)
        text = f"<pre style='margin:2px 0'>{self._summary}</pre>" if self._summary else ""
        if self.summary.value != text:
            self.summary.value = text

    def _count(self, n: int, count: int) -> None:
        """Send the new rows among the first ``n``, blank rows from ``n`` on, then the row
        count ``count``: rows past its old count are kept by the browser and drawn by the
        repaint the new count makes (sent after it, they would repaint the rows in view
        once more)."""
        grid = self.grid
        grid._stale = True
        start, blank_from = self._sent_rows, max(n, self._shown_rows)
        self._push_new_rows(start, n)
        if count > blank_from:
            grid.push(blank_from, count, count=count)
        grid._row_count = count
        self._shown_rows, self._sent_rows = count, n
        self._counted_at = ttime.monotonic()

    def _in_view(self, start: int, stop: int) -> bool:
        """Whether rows ``start:stop`` fall on screen (with a page of margin below)."""
        r1, r2 = self.grid.viewport
        return max(start, r1) < min(stop, r2 + (r2 - r1 + 1) + 1)

    def _owe_count(self) -> None:
        """Make sure a flush follows when the rows are due, even if no row comes."""
        if self._count_owed is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # documents fed by hand: the next row or the end sends it
            return
        wait = max(0.0, self._counted_at + self.count_interval - ttime.monotonic())
        self._count_owed = loop.call_later(wait, self._count_due)

    def _count_due(self) -> None:
        self._count_owed = None
        self._throttle.poke()

    def _push_new_rows(self, start: int, stop: int) -> None:
        """Send rows ``start:stop`` that are on screen (with a page of margin) or among the
        last ``tail_rows``: at most two data-replies, each row once."""
        r1, r2 = self.grid.viewport
        shown = (max(start, r1), min(stop, r2 + (r2 - r1 + 1) + 1))
        tail = (max(start, stop - self.tail_rows), stop)
        if shown[0] >= shown[1]:
            ranges = [tail]
        elif shown[0] <= tail[1] and tail[0] <= shown[1]:  # overlapping or touching
            ranges = [(min(shown[0], tail[0]), max(shown[1], tail[1]))]
        else:
            ranges = [shown, tail]
        for a, b in ranges:
            self.grid.push(a, b)

    def _make_grid(self, renderers: dict[str, TextRenderer] | None = None) -> StreamingDataGrid:
        return _ColumnsGrid(
            self,
            self._frame(),
            renderers=renderers or {},
            default_renderer=_renderer(None),
            **self._sizes(),
            layout=self._grid_layout,
        )

    def _sizes(self) -> dict[str, Any]:
        """Column widths from the header names (a number at precision 3 is narrower than
        ``motor_setpoint``), so a table beside a plot (~380 px) shows every column, or
        from the widest value seen (``_fit``), whichever is wider."""
        widths = {"time": 84}
        for c in self.columns:
            widths[c] = max(_text_px(len(c)), self._fitted.get(c, 0))
        # the row header's name has a sort/filter icon beside it, as the others, but is
        # short: the room for one more (16 px)
        return {"base_column_size": 84, "base_row_header_size": _text_px(len("seq_num")) + 16,
                "column_widths": widths}  # fmt: skip

    def _fit(self, start: int, stop: int) -> None:
        """Widen the columns whose values in rows ``start:stop`` need more room than they
        have (``123456.789`` showed as ``12345…``), on the grid shown too; never narrower."""
        wider = False
        for c, col in zip(self.columns, self._values):
            values = col.view()[start:stop]
            if not len(values):
                continue
            if col._data.dtype == object:
                chars = min(_MAX_TEXT_CHARS, max(len(str(v)) for v in values))
            else:
                finite = values[np.isfinite(values)]
                if not len(finite):
                    continue
                big = -float(np.abs(finite).max())  # with its sign: the widest text
                prec = 0 if self.dtypes.get(c) == "integer" else int(self.precisions.get(c, 3))
                chars = len(f"{big:.{prec}f}")
            if _text_px(chars) > self._fitted.get(c, _text_px(len(c))):
                self._fitted[c] = _text_px(chars)
                wider = True
        if wider:
            self.grid.column_widths = self._sizes()["column_widths"]
            self._grid_layout.width = self._width()

    def _width(self) -> str:
        """The grid as wide as its columns (and the scroll bar), at most its box: the
        browser's canvases are as wide as the grid in steps of 512 px, and every cell
        painted copies a whole canvas (3x the work in a 1,400 px page's full width)."""
        sizes = self._sizes()
        widths = [sizes["column_widths"].get(c, sizes["base_column_size"])
                  for c in ("time", *self.columns)]  # fmt: skip
        return f"{sizes['base_row_header_size'] + sum(widths) + _SCROLLBAR_PX}px"

    def _make_renderers(self) -> dict[str, TextRenderer]:
        """Number formats from the descriptor's precision (made at flush, off the event path)."""
        renderers = {}
        for c in self.columns:
            if self.dtypes.get(c) == "integer":
                renderers[c] = _renderer("d", "right")
            elif self.dtypes.get(c) == "number":
                prec = int(self.precisions.get(c, 3))
                renderers[c] = _renderer(f".{prec}f", "right")
        return renderers

    def _ipython_display_(self) -> None:
        """Show the grid, and below it the place for its text fallback (filled at the
        end of each run)."""
        self._fallback_outputs.show(self.widget, repr(self.table) if self.table else "table")
