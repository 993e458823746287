"""The NeXus-flavoured layout of one run in one HDF5 file, written as documents arrive.

Layout (``/entry`` is an ``NXentry``, each stream an ``NXdata`` generic viewers plot)::

    /                          NX_class=NXroot, default="entry", creator, file_time
    /entry                     NXentry; attrs uid, scan_id, plan_name, exit_status, reason,
                               default=<stream>
      title, start_time, end_time
      documents/               NXcollection: start, stop (JSON text; scalar keys of start
                               also as attributes), descriptors, resources, datums,
                               stream_resources, stream_datums (JSON each)
      <stream>/                NXdata: attrs signal, axes, <axis>_indices
        <field>                (N, *shape) chunked, one chunk per frame; attrs from the data key
        seq_num                link to events/seq_num
        events/                seq_num, time, uid
        timestamps/<field>     (N,) float64
      <stream>_map/            grid scans only (start has ``shape``, one hinted dimension per
                               axis): NXdata on the grid, the entry's default plot.
                               attrs signal, auxiliary_signals, axes = the motors,
                               <motor>_indices = its grid axis
        <motor>                (n_k,) float64: the motor's position along grid axis k
        <field>                (n_0, n_1, ...) float64, every scalar numeric field at its
                               grid cell (snaked rows put back in order; NaN: no event)

The file is written as the documents arrive under ``<name>.partial`` and renamed to its
final name at the stop document, so a file with the final name is always complete. If
writing fails, the ``.partial`` file is closed (readable up to the failure) and left.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import traceback
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from livescan.documents import dumps, hinted_dimensions, hinted_fields, unpack_event_page
from livescan.errors import ExportError, FileExistsExportError
from livescan.export._frames import FrameSource
from livescan.export._h5column import Column

__all__ = ["RunFile"]

_RESERVED = ("events", "timestamps")


def _create(partial: Path, overwrite: bool) -> Any:
    """Create ``partial`` exclusively: never truncate a file another process is writing
    (two kernels with one template) nor, without ``overwrite``, a leftover of a failed
    export."""
    import h5py

    try:
        return h5py.File(partial, "x")
    except FileExistsError:
        pass
    try:
        with h5py.File(partial, "r"):
            pass
    except (OSError, BlockingIOError) as exc:
        if "lock" in str(exc):
            raise FileExistsExportError(
                f"{partial} is being written by another process (another kernel exporting "
                "with the same template?); give this exporter another template"
            ) from None
    if not overwrite:
        raise FileExistsExportError(
            f"{partial} exists, left by an export that did not finish; move or delete it, "
            "or pass overwrite=True to replace it"
        )
    partial.unlink()
    return h5py.File(partial, "x")


def _iso(t: float) -> str:
    return _dt.datetime.fromtimestamp(float(t), _dt.UTC).isoformat()


class StreamGroup:
    """One stream of the run: an ``NXdata`` group of columns, events and timestamps."""

    def __init__(self, entry: Any, name: str, descriptor: dict[str, Any], owner: RunFile):
        self.name = name
        self.owner = owner
        self.group = entry.create_group(name)
        self.group.attrs["NX_class"] = "NXdata"
        self.events = self.group.create_group("events")
        self.events.attrs["NX_class"] = "NXcollection"
        self.timestamps = self.group.create_group("timestamps")
        self.timestamps.attrs["NX_class"] = "NXcollection"
        # keys whose data a detector writes into its own files (stream_resource) have no
        # values in the events: with fill, each event's row is copied in (from the
        # stream_datum for its seq_num); without, the run file leaves them out
        self.streamed = {
            k for k, dk in descriptor["data_keys"].items() if dk.get("external") == "STREAM:"
        }
        self.data_keys: dict[str, dict[str, Any]] = {
            k: dk
            for k, dk in descriptor["data_keys"].items()
            if k not in self.streamed or owner.fill
        }
        for key in self.data_keys:
            if key in _RESERVED:
                raise ExportError(
                    f"stream {name!r} has a field named {key!r}, which the HDF5 "
                    f"layout reserves ({', '.join(_RESERVED)})"
                )
        self.descriptors = [descriptor]
        self.columns: dict[str, Column] = {}
        self.meta: dict[str, Column] = {}
        self.rows = 0  # complete rows (every column written)

    def _make(self, key: str, value: Any, event: dict[str, Any]) -> Column:
        import h5py

        dk = self.data_keys[key]
        external = self.owner.frames.is_external(event, key)
        if external and not self.owner.fill:
            dtype: Any = h5py.string_dtype()
            shape: tuple[int, ...] = ()
        else:
            kind = dk.get("dtype")
            shape = tuple(np.shape(value))
            if kind == "string" or isinstance(value, str):
                dtype = h5py.string_dtype()
            elif dk.get("dtype_numpy") and np.dtype(dk["dtype_numpy"]).kind in "biuf":
                dtype = np.dtype(dk["dtype_numpy"])
            elif kind == "number":
                dtype = np.result_type(np.asarray(value).dtype, np.float64)
            elif kind == "integer":
                dtype = np.int64
            elif kind == "boolean":
                dtype = np.bool_
            else:
                dtype = np.asarray(value).dtype
                if dtype.kind in "OUS":
                    dtype = h5py.string_dtype()
        col = Column(
            self.group, key, dtype, shape, self.owner.compression, self.owner.compression_opts
        )
        for attr in ("source", "units", "precision", "dtype", "external", "dtype_numpy"):
            if dk.get(attr) is not None:
                col.ds.attrs[attr] = dk[attr]
        return col

    def append(self, event: dict[str, Any]) -> None:
        import h5py

        frames = self.owner.frames
        if not self.meta:
            self.meta["seq_num"] = Column(self.events, "seq_num", np.int64, (), None, None)
            self.meta["time"] = Column(self.events, "time", np.float64, (), None, None)
            self.meta["uid"] = Column(self.events, "uid", h5py.string_dtype(), (), None, None)
            if "seq_num" not in self.data_keys:
                self.group["seq_num"] = h5py.SoftLink(self.meta["seq_num"].ds.name)
        values: dict[str, Any] = {}
        for key in list(self.data_keys):
            if key in self.streamed:
                if frames.streamed(event, key) is None:  # no row for this event: the key
                    self._drop(key)  # is left out (rows must line up with the events)
                else:
                    values[key] = frames.value(event, key)
                continue
            if key not in event["data"]:
                raise ExportError(
                    f"event {event.get('seq_num')} of stream {self.name!r} has no value for {key!r}"
                )
            if frames.is_external(event, key) and not self.owner.fill:
                value: Any = str(event["data"][key])
            elif self.data_keys[key].get("dtype") == "array" or frames.is_external(event, key):
                value = frames.value(event, key)
            else:
                value = event["data"][key]
                if value is None:
                    value = np.nan
            values[key] = value
        self.owner.check_space(sum(getattr(v, "nbytes", 8) for v in values.values()))
        for key, value in values.items():
            col = self.columns.get(key)
            if col is None:
                col = self.columns[key] = self._make(key, value, event)
                self.meta[f"ts:{key}"] = Column(self.timestamps, key, np.float64, (), None, None)
            if tuple(np.shape(value)) != col.shape and col.shape != ():
                raise ExportError(
                    f"event {event.get('seq_num')}: {key!r} has shape "
                    f"{np.shape(value)}, the stream started with {col.shape}"
                )
            col.append(value)
            ts = event.get("timestamps", {}).get(key)
            self.meta[f"ts:{key}"].append(np.nan if ts is None else ts)
        self.meta["seq_num"].append(event["seq_num"])
        self.meta["time"].append(event["time"])
        self.meta["uid"].append(event["uid"])
        self.rows += 1

    def _rows_without_events(self) -> None:
        """A stream whose data all came as stream_datum rows (a fly scan of a detector
        writing its own file, no events): its rows by seq_num, copied in (with fill)."""
        import h5py

        frames = self.owner.frames
        uids = {d["uid"] for d in self.descriptors}
        rows: dict[int, dict[str, str]] = {}
        for (desc, seq), ids in frames.filler.stream_rows.items():
            if desc in uids:
                rows.setdefault(seq, {}).update(ids)
        keys = [k for k in self.data_keys if k in self.streamed]
        seqs = sorted(s for s, ids in rows.items() if all(k in ids for k in keys))
        if not keys or not seqs:
            return
        self.meta["seq_num"] = Column(self.events, "seq_num", np.int64, (), None, None)
        self.group["seq_num"] = h5py.SoftLink(self.meta["seq_num"].ds.name)
        event: dict[str, Any] = {"data": {}}  # what _make looks at
        for seq in seqs:
            for key in keys:
                value = np.asarray(frames.filler.load(rows[seq][key]))
                col = self.columns.get(key)
                if col is None:
                    col = self.columns[key] = self._make(key, value, event)
                col.append(value)
            self.meta["seq_num"].append(seq)
        self.rows = len(seqs)

    def _drop(self, key: str) -> None:
        """Leave a streamed key out of the file (a row was missing)."""
        self.data_keys.pop(key)
        col = self.columns.pop(key, None)
        if col is not None:
            del self.group[key]
            del self.timestamps[key]
            self.meta.pop(f"ts:{key}")
        self.group.attrs["left_out"] = sorted({*self.group.attrs.get("left_out", []), key})

    def finish(self, start: Mapping[str, Any]) -> str | None:
        """Trim the columns, write the NXdata attributes (and the grid map of a grid
        scan); the name of the group to plot, or None if nothing plots."""
        if not self.rows:
            self._rows_without_events()
        for col in [*self.columns.values(), *self.meta.values()]:
            col.trim(self.rows)
        self.group.attrs["descriptors"] = [d["uid"] for d in self.descriptors]
        axes = _axes(start, self.name, self.columns)
        signal = _signal(self.descriptors, self.columns, axes)
        if signal is None:
            self.group.attrs["NX_class"] = "NXcollection"
            return None
        self.group.attrs["signal"] = signal
        ndim = len(self.columns[signal].shape)
        first = axes[0] if axes else ("seq_num" if "seq_num" in self.group else ".")
        self.group.attrs["axes"] = [first] + ["."] * ndim
        for ax in axes or [first]:
            if ax != ".":
                self.group.attrs[f"{ax}_indices"] = 0
        grid = _grid_shape(start, axes, self.rows)
        if grid is None or self.columns[signal].shape:
            return self.name
        return self._write_map(start, axes, signal, grid)

    def _write_map(
        self, start: Mapping[str, Any], axes: list[str], signal: str, grid: tuple[int, ...]
    ) -> str:
        """``<stream>_map``: the scalar fields on the scan's grid, axes = its motors."""
        name = f"{self.name}_map"
        cells = _grid_cells(grid, start.get("snaking"), self.rows)
        group = self.group.parent.create_group(name)
        group.attrs["NX_class"] = "NXdata"
        fields = [
            k
            for k, col in self.columns.items()
            if not col.shape and col.ds.dtype.kind in "biuf" and k not in axes
        ]
        for k in [*axes, *fields]:
            flat = self.columns[k].ds[: self.rows].astype(np.float64)
            full = np.full(grid, np.nan)
            full[cells] = flat
            if k in axes:  # the motor's position along its own grid axis
                ax = axes.index(k)
                full = np.moveaxis(full, ax, 0).reshape(grid[ax], -1)
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # an empty row: NaN
                    group[k] = np.nanmean(full, axis=1)
                group.attrs[f"{k}_indices"] = ax
            else:
                group[k] = full
            for attr in ("source", "units", "precision"):
                if self.data_keys[k].get(attr) is not None:
                    group[k].attrs[attr] = self.data_keys[k][attr]
        group.attrs["signal"] = signal
        group.attrs["axes"] = axes
        others = [f for f in fields if f != signal]
        if others:
            group.attrs["auxiliary_signals"] = others
        return name


def _axes(start: Mapping[str, Any], stream: str, columns: Mapping[str, Column]) -> list[str]:
    out: list[str] = []
    for fields, dim_stream in hinted_dimensions(start):
        if dim_stream == stream:
            out += [f for f in fields if f in columns and not columns[f].shape]
    if not out:
        out = [m for m in start.get("motors") or [] if m in columns and not columns[m].shape]
    return out


def _grid_shape(start: Mapping[str, Any], axes: list[str], rows: int) -> tuple[int, ...] | None:
    """The grid of a grid scan whose axes are ``axes`` (start's ``shape``), or None."""
    shape = start.get("shape")
    if len(axes) < 2 or not isinstance(shape, list | tuple) or len(shape) != len(axes):
        return None
    try:
        grid = tuple(int(n) for n in shape)
    except (TypeError, ValueError):
        return None
    if min(grid) < 1 or not 0 < rows <= int(np.prod(grid)):
        return None
    return grid


def _grid_cells(grid: tuple[int, ...], snaking: Any, rows: int) -> tuple[np.ndarray[Any, Any], ...]:
    """The grid cell of each of the first ``rows`` events, in the order a grid scan visits
    them: the last axis fastest; a snaked axis runs backwards on every other pass (when
    the flat index of the axes outside it is odd)."""
    index = np.unravel_index(np.arange(rows), grid)
    cells = [np.array(i) for i in index]
    snake = list(snaking) if isinstance(snaking, list | tuple) else []
    for ax in range(1, len(grid)):
        if ax < len(snake) and snake[ax]:
            outer = np.ravel_multi_index(tuple(index[:ax]), grid[:ax])
            back = outer % 2 == 1
            cells[ax][back] = grid[ax] - 1 - index[ax][back]
    return tuple(cells)


def _signal(
    descriptors: list[dict[str, Any]], columns: Mapping[str, Column], axes: list[str]
) -> str | None:
    def numeric(k: str) -> bool:
        return columns[k].ds.dtype.kind in "biuf"

    hinted = [f for d in descriptors for f in hinted_fields(d)]
    candidates = [f for f in hinted if f in columns and f not in axes and numeric(f)]
    candidates += [
        f for f in columns if f not in axes and numeric(f) and not f.endswith("_setpoint")
    ]
    scalars = [f for f in candidates if not columns[f].shape]
    chosen = scalars or candidates
    return chosen[0] if chosen else None


class RunFile:
    """Writes one run into one HDF5 file as its documents arrive."""

    def __init__(
        self,
        final: Path,
        start: dict[str, Any],
        *,
        compression: str | None,
        compression_opts: Any,
        fill: bool,
        overwrite: bool,
        frames: FrameSource,
    ) -> None:

        self.final = final
        self.partial = final.with_name(final.name + ".partial")
        if final.exists() and not overwrite:
            raise FileExistsExportError(f"{final} exists; pass overwrite=True to replace it")
        final.parent.mkdir(parents=True, exist_ok=True)
        self.compression = compression
        self.compression_opts = (
            4 if compression == "gzip" and compression_opts is None else compression_opts
        )
        self.fill = fill
        self.frames = frames
        self.start = start
        self.streams: dict[str, StreamGroup] = {}
        self.by_descriptor: dict[str, StreamGroup] = {}
        self.resources: list[str] = []
        self.datums: list[str] = []
        self.stream_resources: list[str] = []
        self.stream_datums: list[str] = []
        self.check_space(0, final.parent)
        self.f: Any = _create(self.partial, overwrite)
        try:
            self._header(start)
        except BaseException as exc:
            self._shut(exc)
            raise

    def _header(self, start: dict[str, Any]) -> None:
        from livescan._version import __version__

        f = self.f
        f.attrs.update(
            {
                "NX_class": "NXroot",
                "default": "entry",
                "creator": f"livescan {__version__}",
                "file_name": self.final.name,
                "file_time": _iso(start["time"]),
            }
        )
        self.entry = entry = f.create_group("entry")
        entry.attrs.update(
            {"NX_class": "NXentry", "uid": start["uid"], "exit_status": "unfinished"}
        )
        for key in ("scan_id", "plan_name"):
            if isinstance(start.get(key), int | float | str) and not isinstance(
                start.get(key), bool
            ):
                entry.attrs[key] = start[key]
        title = start.get("title") or f"{start.get('plan_name', 'run')} {start.get('scan_id', '')}"
        entry["title"] = str(title).strip()
        entry["start_time"] = _iso(start["time"])
        self.docs = entry.create_group("documents")
        self.docs.attrs["NX_class"] = "NXcollection"
        ds = self.docs.create_dataset("start", data=dumps(start))
        for k, v in start.items():
            if isinstance(v, str | int | float | bool):
                ds.attrs[k] = v

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        if name == "descriptor":
            stream = doc.get("name", "primary")
            group = self.streams.get(stream)
            if group is None:
                group = self.streams[stream] = StreamGroup(self.entry, stream, doc, self)
            else:
                group.descriptors.append(doc)
            self.by_descriptor[doc["uid"]] = group
        elif name == "event":
            self.by_descriptor[doc["descriptor"]].append(doc)
        elif name == "event_page":
            group = self.by_descriptor[doc["descriptor"]]
            for event in unpack_event_page(doc):
                group.append(event)
        elif name == "resource":
            self.resources.append(dumps(doc))
        elif name in ("datum", "datum_page"):
            self.datums.append(dumps(doc))
        elif name == "stream_resource":
            self.stream_resources.append(dumps(doc))
        elif name == "stream_datum":
            self.stream_datums.append(dumps(doc))

    #: free bytes kept on the file's disk: HDF5 cannot survive a full disk (it may crash
    #: the process when its objects are freed, and its file is left unreadable), so the
    #: export stops with an error while this much is still free and closes cleanly
    reserve = 16 << 20

    def check_space(self, nbytes: int, where: Path | None = None) -> None:
        """Raise :class:`ExportError` before a write of ``nbytes`` would leave less than
        :attr:`reserve` free on the file's disk."""
        try:
            st = os.statvfs(where or self.partial)
        except (OSError, AttributeError):  # no statvfs (Windows): nothing to check
            return
        free = st.f_bavail * st.f_frsize
        if free < nbytes + self.reserve:
            raise ExportError(
                f"the disk holding {self.partial} is nearly full ({free / 1e6:.1f} MB free, "
                f"{(nbytes + self.reserve) / 1e6:.1f} MB needed to go on safely); the HDF5 "
                "export stopped here and its file was closed while it still could be; free "
                "some space or export elsewhere"
            )

    def _write_tail(self, stop: dict[str, Any] | None) -> None:
        """The records written at the end: documents, stream attributes, the stop."""
        import h5py

        records = (self.resources, self.datums, self.stream_resources, self.stream_datums)
        self.check_space(sum(len(r) for items in records for r in items))

        str_t = h5py.string_dtype()
        descriptors = [dumps(d) for g in self.streams.values() for d in g.descriptors]
        for key, items in (
            ("descriptors", descriptors),
            ("resources", self.resources),
            ("datums", self.datums),
            ("stream_resources", self.stream_resources),
            ("stream_datums", self.stream_datums),
        ):
            if key not in self.docs:
                self.docs.create_dataset(key, data=np.array(items, dtype=object), dtype=str_t)
        plotted = {name: g.finish(self.start) for name, g in self.streams.items()}
        shown = [group for group in plotted.values() if group is not None]
        if shown:
            self.entry.attrs["default"] = plotted.get("primary") or shown[0]
        if stop is not None:
            self.docs.create_dataset("stop", data=dumps(stop))
            self.entry["end_time"] = _iso(stop["time"])
            self.entry.attrs["exit_status"] = stop.get("exit_status", "")
            self.entry.attrs["reason"] = stop.get("reason", "") or ""

    def _shut(self, error: BaseException | None = None) -> None:
        """Close the file. Every h5py object of it is forgotten first (also those the
        error's traceback holds): one freed after a failed close crashed the process."""
        import gc

        import h5py

        f, self.f = self.f, None
        if f is None:
            return
        seen: set[int] = set()
        while error is not None and id(error) not in seen:
            seen.add(id(error))
            traceback.clear_frames(error.__traceback__)
            error = error.__cause__ or error.__context__
        self.streams.clear()
        self.by_descriptor.clear()
        self.__dict__.pop("entry", None)
        self.__dict__.pop("docs", None)
        gc.collect()
        try:
            f.close()
        finally:
            if f.id.valid:  # the close failed half-way: let go of the file id itself
                with contextlib.suppress(Exception):
                    h5py.h5f.FileID.close(f.id)

    def finish(self, stop: dict[str, Any] | None) -> Path:
        """Complete the file and give it its final name."""
        self._write_tail(stop)
        self._shut()
        os.replace(self.partial, self.final)
        return self.final

    def abandon(self, error: BaseException) -> bool:
        """Close the file after a failure; it stays as ``<name>.partial``. Returns whether
        that file opens (after a full disk HDF5 may not have been able to complete it)."""
        if self.f is not None:
            with contextlib.suppress(Exception):
                self.entry.attrs["exit_status"] = "export failed"
                self.entry.attrs["reason"] = f"{type(error).__name__}: {error}"
            with contextlib.suppress(Exception):
                self._write_tail(None)
            with contextlib.suppress(Exception):
                self._shut(error)
        return self.readable()

    def readable(self) -> bool:
        """Whether the ``.partial`` file opens and shows its entry."""
        import h5py

        try:
            with h5py.File(self.partial, "r") as f:
                f["entry"].attrs.get("uid")
        except Exception:
            return False
        return True
