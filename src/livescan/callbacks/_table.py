"""LiveTable: a table of chosen fields, one row per event.

Outside a notebook (or with ``view='text'``) it prints bluesky's text layout. Inside a
Jupyter kernel (``view='auto'``) or with ``view='grid'`` it feeds a grid view made by
``LiveTable.view_factory``, a slot this layer offers and does not fill: it never imports
a widget library. ``livescan/__init__.py`` fills it with a function that loads
``livescan.widgets.TableGridView`` on first use.
"""

from __future__ import annotations

import datetime
import sys
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar, Protocol

from livescan.callbacks._base import CallbackBase
from livescan.documents import unpack_event_page
from livescan.errors import FieldError
from livescan.protocols import TextFallback

__all__ = ["LiveTable", "TableView", "in_kernel"]


def in_kernel() -> bool:
    """True inside a running IPython kernel (a notebook), without importing IPython."""
    if "ipykernel" not in sys.modules:
        return False
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    shell = get_ipython() if get_ipython else None
    return getattr(shell, "kernel", None) is not None


class TableView(Protocol):
    """What a LiveTable drives besides text (the grid widget implements it)."""

    def begin(self, columns: list[str], precisions: dict[str, int], dtypes: dict[str, str]) -> None:
        """Start a table with these columns (their print precisions and dtypes)."""

    def row(self, seq_num: int, time: float, values: list[Any]) -> None:
        """Add the row of one event: its seq_num, time and one value per column."""

    def end(self, summary: str) -> None:
        """Close the table with bluesky's summary line."""


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)  # None or NaN


def _fields_of(fields: Any) -> tuple[list[str], dict[str, Any]]:
    """The field names of ``fields`` (names or devices), and the data keys the devices
    describe (what their descriptor will most likely say of them)."""
    if isinstance(fields, str) or hasattr(fields, "describe"):
        fields = [fields]
    out: list[str] = []
    keys: dict[str, Any] = {}
    for f in fields:
        if isinstance(f, str):
            out.append(f)
        elif hasattr(f, "describe"):
            described = f.describe()
            out.extend(described)
            keys.update(described)
        else:
            raise TypeError(f"LiveTable fields must be field names or devices, not {f!r}")
    if not out:
        raise ValueError("LiveTable needs at least one field")
    return list(dict.fromkeys(out)), keys


class LiveTable(CallbackBase):
    """A live table of ``fields`` (names or devices) of one stream.

    Parameters follow bluesky's: ``stream_name``, ``print_header_interval``,
    ``min_width``, ``default_prec``, ``extra_pad``, ``logbook`` (gets the whole table as
    one string at stop), ``out`` (where text lines go; ``print``). ``view`` is ``'auto'``
    (grid in a notebook, text elsewhere), ``'text'`` or ``'grid'``.
    Asking for a field the stream does not have raises :class:`FieldError` at the
    descriptor; array fields are skipped with a warning.
    """

    #: the lossy lane may hand this callback batches of events as event pages
    accepts_event_pages = True
    mutates_documents = False  # reads only: the lossy lane need not copy

    #: ``view_factory(table) -> TableView``: makes the grid face of a table in a notebook.
    #: The composition root (``livescan/__init__.py``) fills it; raising ImportError means
    #: "no widget libraries here" (``view='auto'`` then falls back to text).
    view_factory: ClassVar[Callable[[LiveTable], TableView] | None] = None

    def __init__(
        self,
        fields: Sequence[Any] | Any,
        *,
        stream_name: str = "primary",
        print_header_interval: int = 50,
        min_width: int = 12,
        default_prec: int = 3,
        extra_pad: int = 1,
        logbook: Callable[[str], Any] | None = None,
        out: Callable[[str], Any] = print,
        view: str = "auto",
    ) -> None:
        if view not in ("auto", "text", "grid"):
            raise ValueError(f"view must be 'auto', 'text' or 'grid', not {view!r}")
        if print_header_interval < 1:
            raise ValueError("print_header_interval must be at least 1")
        self.fields, self._described = _fields_of(fields)
        self.stream_name = stream_name
        self.print_header_interval = print_header_interval
        self.min_width = min_width
        self.default_prec = default_prec
        self.extra_pad = extra_pad
        self.logbook = logbook
        self.out = out
        self.view: TableView | None = None
        if view == "grid" or (view == "auto" and in_kernel()):
            try:
                factory = LiveTable.view_factory
                if factory is None:
                    raise ImportError("no table view is installed (LiveTable.view_factory)")
                self.view = factory(self)
            except ImportError as exc:
                if view == "grid":
                    raise ImportError(
                        f"LiveTable(view='grid') needs the widget libraries "
                        f"(pip install livescan[jupyter]): {exc}"
                    ) from exc
        self._reset()

    def _reset(self) -> None:
        self._start: dict[str, Any] | None = None
        self._descriptor_uid: str | None = None
        self._columns: list[str] = []
        self._formats: dict[str, tuple[str, int, int]] = {}  # field -> (dtype, width, prec)
        self._rows = 0
        self._lines: list[str] = []

    # -- text ----------------------------------------------------------------------------
    def _emit(self, line: str) -> None:
        self._lines.append(line)
        if self.view is None:
            self.out(line)

    def _widths(self) -> list[int]:
        pad = self.extra_pad
        return [10 + pad, 10 + 2 * pad] + [self._formats[c][1] for c in self._columns]

    def _border(self) -> str:
        return "+" + "+".join("-" * w for w in self._widths()) + "+"

    def _header_lines(self) -> list[str]:
        pad = " " * self.extra_pad
        names = ["seq_num", "time", *self._columns]
        cells = [
            n.rjust(w - self.extra_pad) + pad for n, w in zip(names, self._widths(), strict=True)
        ]
        return [self._border(), "|" + "|".join(cells) + "|", self._border()]

    def _header(self) -> None:
        for line in self._header_lines():
            self._emit(line)

    def _row(self, values: list[str | None]) -> str:
        pad = " " * self.extra_pad
        cells = [
            " " * w if v is None else pad + v.rjust(w - 2 * self.extra_pad) + pad
            for v, w in zip(values, self._widths(), strict=True)
        ]
        return "|" + "|".join(cells) + "|"

    def _format(self, field: str, value: Any) -> str | None:
        """One cell's text; numbers are never cut (as in bluesky), strings are."""
        dtype, width, prec = self._formats[field]
        if value is None:
            return None
        value = getattr(value, "value", value)  # enums show their value
        if dtype == "number":
            return f"{float(value):.{prec}f}"
        if dtype == "integer":
            return f"{int(value):d}"
        if dtype == "boolean":
            return str(value)[:5]
        return str(value)[: width - 1 - 2 * self.extra_pad]

    # -- documents -----------------------------------------------------------------------
    def start(self, doc: dict[str, Any]) -> None:
        self._reset()
        self._start = doc

    def descriptor(self, doc: dict[str, Any]) -> None:
        if doc.get("name", "primary") != self.stream_name:
            return
        keys = doc["data_keys"]
        missing = [f for f in self.fields if f not in keys]
        if missing:
            raise FieldError(
                f"LiveTable: the {self.stream_name!r} stream has no field(s) "
                f"{', '.join(map(repr, missing))}; it has {', '.join(map(repr, keys))}"
            )
        self._descriptor_uid = doc["uid"]
        self._formats = self._formats_of(keys, warn=True)
        self._columns = list(self._formats)
        if self.view is not None:
            self.view.begin(
                list(self._columns),
                {c: self._formats[c][2] for c in self._columns},
                {c: self._formats[c][0] for c in self._columns},
            )
        if self.view is None or self.logbook is not None:
            self._header()

    def _formats_of(
        self, keys: dict[str, Any], *, warn: bool = False
    ) -> dict[str, tuple[str, int, int]]:
        """field -> (dtype, width, precision) of the fields shown, in order, from a
        descriptor's data keys (a field not in ``keys``: a number at ``default_prec``);
        array fields are skipped (with a warning if ``warn``)."""
        formats: dict[str, tuple[str, int, int]] = {}
        for f in self.fields:
            dk = keys.get(f, {})
            dtype = dk.get("dtype", "number")
            if dtype == "array" or dk.get("shape"):
                if warn:
                    warnings.warn(
                        f"LiveTable skips the array field {f!r}; use LiveImage to view it",
                        UserWarning,
                        stacklevel=3,
                    )
                continue
            try:
                prec = int(dk.get("precision"))
            except (TypeError, ValueError):
                prec = self.default_prec
            width = max(self.min_width, len(f) + 2, self.default_prec + 1 + 2 * self.extra_pad)
            formats[f] = (dtype, width, prec)
        return formats

    def expected_columns(self) -> tuple[list[str], dict[str, int], dict[str, str]]:
        """The columns, precisions and dtypes the first descriptor will most likely give
        (``begin``'s arguments): devices as they describe themselves, names as numbers at
        ``default_prec``. A grid view builds its first grid for them, before the run."""
        formats = self._formats_of(self._described)
        return (
            list(formats),
            {c: f[2] for c, f in formats.items()},
            {c: f[0] for c, f in formats.items()},
        )

    def event(self, doc: dict[str, Any]) -> None:
        if doc["descriptor"] != self._descriptor_uid:
            return
        data = doc["data"]
        if self.view is not None:
            self.view.row(doc["seq_num"], doc["time"], [data.get(c) for c in self._columns])
            if self.logbook is None:
                self._rows += 1
                return
        self._rows += 1
        if self._rows % self.print_header_interval == 0:  # bluesky's rhythm
            self._header()
        t = datetime.datetime.fromtimestamp(doc["time"]).strftime("%H:%M:%S.%f")[:-5]
        try:
            values = [str(doc["seq_num"]), t] + [
                self._format(c, data.get(c)) for c in self._columns
            ]
            self._emit(self._row(values))
        except Exception:
            self._emit(" failed to format row ".center(self.min_width, "*"))

    def event_page(self, doc: dict[str, Any]) -> None:
        if doc["descriptor"] != self._descriptor_uid:
            return
        rows = getattr(self.view, "rows", None)
        if rows is not None and self.logbook is None:
            data = doc["data"]
            rows(list(doc["seq_num"]), list(doc["time"]), [data.get(c) for c in self._columns])
            self._rows += len(doc["seq_num"])
            return
        for event in unpack_event_page(doc):
            self.event(event)

    def stop(self, doc: dict[str, Any]) -> None:
        if self._start is None:
            return
        summary = self.summary()
        if self._descriptor_uid is not None and (self.view is None or self.logbook):
            self._emit(self._border())
        if self.view is not None:
            self.view.end(summary)
        self._emit(summary)
        if self.logbook is not None:
            self.logbook("\n".join(self._lines))

    def format_text(
        self,
        rows: Iterable[tuple[int, float | str, Sequence[Any]]],
        *,
        elided: tuple[int, int] | None = None,
    ) -> str:
        """The text table (bluesky's layout) of ``rows`` — ``(seq_num, time, values)`` in
        this table's column order, ``time`` as a timestamp or already formatted — with
        the summary line: what a grid-mode table leaves behind as a static fallback in an
        executed notebook. ``elided=(k, n)`` puts a line saying that ``n`` rows are not
        shown after the first ``k`` rows (a bounded fallback: first and last rows)."""
        lines = self._header_lines()
        for n, (seq_num, t, values) in enumerate(rows, start=1):
            if elided is not None and n == elided[0] + 1:
                inner = sum(self._widths()) + len(self._widths()) - 1
                lines.append("|" + f"… {elided[1]:,} rows not shown …".center(inner) + "|")
            if n % self.print_header_interval == 0:
                lines += self._header_lines()
            stamp = (
                t
                if isinstance(t, str)
                else (datetime.datetime.fromtimestamp(t).strftime("%H:%M:%S.%f")[:-5])
            )
            cells = [
                self._format(c, None if _missing(v) else v)
                for c, v in zip(self._columns, values, strict=True)
            ]
            lines.append(self._row([str(int(seq_num)), stamp, *cells]))
        lines += [self._border(), self.summary()]
        return "\n".join(lines)

    def summary(self) -> str:
        """``generator scan ['3edaae5b'] (scan num: 1)`` for the current/last run."""
        s = self._start or {}
        return (
            f"{s.get('plan_type', 'generator')} {s.get('plan_name', '')} "
            f"['{str(s.get('uid', ''))[:8]}'] (scan num: {s.get('scan_id')})"
        )

    def fallback_text(self) -> str | None:
        """What a grid-mode table leaves behind for viewers without widgets: its rows as
        a text table (None in text mode, whose lines were printed already)."""
        view = self.view
        return view.fallback_text() if isinstance(view, TextFallback) else None

    @property
    def text(self) -> str:
        """The text table of the current/last run, as printed."""
        return "\n".join(self._lines)

    def _ipython_display_(self) -> None:
        if self.view is not None and hasattr(self.view, "_ipython_display_"):
            self.view._ipython_display_()
        else:
            print(self.text or repr(self))

    def __repr__(self) -> str:
        return f"LiveTable({self.fields!r})"
