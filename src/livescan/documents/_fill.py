"""Reading externally stored data back: handler registry and a document Filler.

A resource document names a file and a ``spec``; each datum names one piece of it.
``Filler`` keeps the resources and datums it has seen and replaces datum ids in events
with the arrays they point to. Handlers open, read and close the file on every call so
that a file still being written by a detector is never held open.

A run's subscribers (the exporters, LiveImage) share one :class:`FrameCache` (from
:func:`run_frame_cache`), so a frame two of them need is read from disk once.

Detectors that write their own files (ophyd-async's ``StandardDetector``) announce them
with ``stream_resource`` (a ``uri``, a ``mimetype``, ``parameters``) and ``stream_datum``
documents (rows ``indices`` of that file hold the values of events ``seq_nums``); their
events carry no value for those keys (``external='STREAM:'``). The Filler names each row
with a row id (``"<stream_resource uid>@<index>"``, loaded like a datum id, by the handler
registered for the mimetype: HDF5 is built in) and fills those keys into the events.
"""

from __future__ import annotations

import copy
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import numpy as np

__all__ = [
    "Filler",
    "FrameCache",
    "HDF5FrameHandler",
    "HDF5StreamHandler",
    "Handler",
    "register_handler",
    "resource_path",
    "run_frame_cache",
]


class Handler(Protocol):
    """Reads the data one datum points to."""

    def __call__(self, *args: Any, **datum_kwargs: Any) -> np.ndarray: ...


HandlerFactory = Callable[..., Handler]

_HANDLERS: dict[str, HandlerFactory] = {}


def register_handler(spec: str, factory: HandlerFactory, *, overwrite: bool = False) -> None:
    """Make ``factory(path, **resource_kwargs)`` the reader of resources with ``spec``."""
    if spec in _HANDLERS and not overwrite and _HANDLERS[spec] is not factory:
        raise KeyError(f"a handler for spec {spec!r} is registered already; pass overwrite=True")
    _HANDLERS[spec] = factory


def resource_path(resource: Mapping[str, Any], root_map: Mapping[str, str] | None = None) -> str:
    """The full path of a resource's file, after mapping its ``root``."""
    root = resource.get("root", "") or ""
    root = (root_map or {}).get(root, root)
    return os.path.join(root, resource["resource_path"])


class HDF5FrameHandler:
    """Frames of an area detector's HDF5 file (spec ``AD_HDF5``).

    The frames are the dataset ``/entry/data/data`` (frames × rows × columns);
    ``point_number`` picks ``frame_per_point`` consecutive frames, returned as a
    ``(frame_per_point, rows, columns)`` stack even for one frame, as the standard
    ``AD_HDF5`` handler (area-detector-handlers, databroker) does: a data key declares
    that shape.
    """

    dataset = "/entry/data/data"

    def __init__(self, path: str, frame_per_point: int = 1, **_: Any) -> None:
        self.path = path
        self.frame_per_point = int(frame_per_point)

    def __call__(self, point_number: int, **_: Any) -> np.ndarray:
        import h5py

        start = int(point_number) * self.frame_per_point
        with h5py.File(self.path, "r") as f:
            dataset = f[self.dataset]
            frames = dataset[start : start + self.frame_per_point]
            held = dataset.shape[0]
        if len(frames) < self.frame_per_point:
            raise IndexError(
                f"point {point_number} needs frames {start}..{start + self.frame_per_point - 1} "
                f"of {self.path}{self.dataset}, which holds {held}: the file is short"
            )
        return np.asarray(frames)


register_handler("AD_HDF5", HDF5FrameHandler)


class HDF5StreamHandler:
    """Rows of an HDF5 dataset a detector writes itself (stream_resource mimetype
    ``application/x-hdf5``, ``parameters['dataset']``), one row per ``index``, shaped as
    the data key declares (``datum_shape``). The file may still be open for writing by
    the detector: it is opened in SWMR mode when it allows it."""

    def __init__(
        self,
        path: str,
        dataset: str = "/entry/data/data",
        datum_shape: list[int] | None = None,
        **_: Any,
    ) -> None:
        self.path = path
        self.dataset = dataset
        self.datum_shape = None if datum_shape is None else tuple(int(n) for n in datum_shape)

    def __call__(self, index: int, **_: Any) -> np.ndarray:
        import h5py

        try:
            f = h5py.File(self.path, "r", swmr=True)
        except OSError:  # not written in SWMR mode
            f = h5py.File(self.path, "r")
        with f:
            ds = f[self.dataset]
            if f.swmr_mode:
                ds.refresh()
            inner = tuple(ds.shape[1:])
            shape = self.datum_shape if self.datum_shape is not None else inner
            per = int(np.prod(shape)) // max(1, int(np.prod(inner)))  # dataset rows a row
            if per < 1 or per * int(np.prod(inner)) != int(np.prod(shape)):
                per, shape = 1, inner
            start = int(index) * per
            rows = ds[start : start + per]
            held = ds.shape[0]
        if len(rows) < per:
            raise IndexError(
                f"row {index} needs rows {start}..{start + per - 1} of {self.path}"
                f"{self.dataset}, which holds {held}: the detector has not written it"
            )
        return np.asarray(rows).reshape(shape)


register_handler("application/x-hdf5", HDF5StreamHandler)


def _uri_path(uri: str) -> str:
    """The local path of a ``file://`` uri (a plain path stays as it is)."""
    from urllib.parse import unquote, urlparse

    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme in ("file", "") else uri


class _Loading:
    """A read in progress: others that want the same datum wait for it."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: np.ndarray | None = None


class FrameCache:
    """The arrays last read from files, by datum: bounded, thread-safe, read-only arrays.

    Keeps at most ``max_items`` arrays and ``max_bytes`` bytes (the newest read or used
    first). Two threads that want the same datum at once read it once. The arrays it
    hands out are shared: they are made read-only.
    """

    def __init__(self, max_items: int = 16, max_bytes: int = 64 * 2**20) -> None:
        self.max_items = int(max_items)
        self.max_bytes = int(max_bytes)
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[Any, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._loading: dict[Any, _Loading] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Any, load: Callable[[], np.ndarray]) -> np.ndarray:
        """The array cached under ``key``, else ``load()``'s result, kept for the others."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return value
            pending = self._loading.get(key)
            mine = pending is None
            if pending is None:
                pending = self._loading[key] = _Loading()
        if not mine:
            pending.done.wait()
            if pending.value is not None:
                with self._lock:
                    self.hits += 1
                return pending.value
            return self.get(key, load)  # the other read failed: try ours
        try:
            value = np.asarray(load())
            value.flags.writeable = False
        except BaseException:
            with self._lock:
                del self._loading[key]
            pending.done.set()
            raise
        with self._lock:
            self.misses += 1
            del self._loading[key]
            if value.nbytes <= self.max_bytes:
                self._items[key] = value
                self._bytes += value.nbytes
                while len(self._items) > self.max_items or self._bytes > self.max_bytes:
                    _, old = self._items.popitem(last=False)
                    self._bytes -= old.nbytes
        pending.value = value
        pending.done.set()
        return value

    def clear(self) -> None:
        """Forget every array."""
        with self._lock:
            self._items.clear()
            self._bytes = 0


_RUN_CACHES: weakref.WeakValueDictionary[str, FrameCache] = weakref.WeakValueDictionary()
_RUN_CACHES_LOCK = threading.Lock()


def run_frame_cache(run_uid: str) -> FrameCache:
    """The :class:`FrameCache` every subscriber of run ``run_uid`` shares (while one holds it)."""
    with _RUN_CACHES_LOCK:
        cache = _RUN_CACHES.get(run_uid)
        if cache is None:
            cache = _RUN_CACHES[run_uid] = FrameCache()
        return cache


class Filler:
    """Fill external data into events.

    Call it with every document of a run (it remembers resources, datums and
    descriptors); :meth:`fill_event` returns a filled copy of an event. With ``cache``
    (e.g. the run's :func:`run_frame_cache`), data read once is not read again.
    """

    def __init__(
        self,
        handlers: Mapping[str, HandlerFactory] | None = None,
        *,
        root_map: Mapping[str, str] | None = None,
        cache: FrameCache | None = None,
    ) -> None:
        self.handlers = dict(_HANDLERS)
        self.handlers.update(handlers or {})
        self.root_map = dict(root_map or {})
        self.resources: dict[str, dict[str, Any]] = {}
        self.datums: dict[str, dict[str, Any]] = {}
        self.descriptors: dict[str, dict[str, Any]] = {}
        self.stream_resources: dict[str, dict[str, Any]] = {}
        #: (descriptor uid, seq_num) -> {data key: row id} from stream_datum documents
        self.stream_rows: dict[tuple[str, int], dict[str, str]] = {}
        self._handler_cache: dict[str, Handler] = {}
        self.cache = cache

    def __call__(self, name: str, doc: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if name == "resource":
            self.resources[doc["uid"]] = doc
        elif name == "datum":
            self.datums[doc["datum_id"]] = doc
        elif name == "datum_page":
            for i, datum_id in enumerate(doc["datum_id"]):
                kwargs = {k: v[i] for k, v in doc["datum_kwargs"].items()}
                self.datums[datum_id] = {
                    "datum_id": datum_id,
                    "resource": doc["resource"],
                    "datum_kwargs": kwargs,
                }
        elif name == "descriptor":
            self.descriptors[doc["uid"]] = doc
        elif name == "stream_resource":
            self.stream_resources[doc["uid"]] = doc
        elif name == "stream_datum":
            self.add_stream_datum(doc)
        elif name == "event":
            return name, self.fill_event(doc)
        return name, doc

    def add_stream_datum(self, doc: Mapping[str, Any]) -> tuple[str, list[tuple[int, str]]]:
        """Remember the rows of a stream_datum; returns its data key and
        ``[(seq_num, row id), ...]`` (load a row with :meth:`load`)."""
        sr_uid = doc["stream_resource"]
        try:
            sr = self.stream_resources[sr_uid]
        except KeyError:
            raise KeyError(
                f"stream_datum {doc.get('uid')!r} names stream_resource {sr_uid!r}, which has "
                "not been seen; pass the stream_resource documents to the Filler first"
            ) from None
        key = sr["data_key"]
        if sr_uid not in self.resources:  # a resource a handler can open
            params = dict(sr.get("parameters") or {})
            desc = self.descriptors.get(doc["descriptor"], {})
            shape = desc.get("data_keys", {}).get(key, {}).get("shape")
            if shape is not None:
                params["datum_shape"] = list(shape)
            self.resources[sr_uid] = {
                "uid": sr_uid,
                "spec": sr.get("mimetype", ""),
                "root": "",
                "resource_path": _uri_path(sr["uri"]),
                "resource_kwargs": params,
            }
        first, last = int(doc["indices"]["start"]), int(doc["indices"]["stop"])
        seq0 = int(doc["seq_nums"]["start"])
        rows: list[tuple[int, str]] = []
        for k, index in enumerate(range(first, last)):
            row_id = f"{sr_uid}@{index}"
            self.datums[row_id] = {
                "datum_id": row_id,
                "resource": sr_uid,
                "datum_kwargs": {"index": index},
            }
            self.stream_rows.setdefault((doc["descriptor"], seq0 + k), {})[key] = row_id
            rows.append((seq0 + k, row_id))
        return key, rows

    def external_keys(self, event: Mapping[str, Any]) -> list[str]:
        """The data keys of ``event`` that hold datum ids rather than values (keys a
        detector writes through stream_datum documents are not in the event: not these)."""
        filled = event.get("filled") or {}
        keys = [k for k, v in filled.items() if not v]
        desc = self.descriptors.get(event.get("descriptor", ""))
        if desc is not None:
            for k, dk in desc["data_keys"].items():
                if (
                    dk.get("external")
                    and dk["external"] != "STREAM:"
                    and k not in keys
                    and not filled.get(k, False)
                ):
                    keys.append(k)
        return [k for k in keys if k in event["data"]]

    def load(self, datum_id: str) -> np.ndarray:
        """Read the data that ``datum_id`` points to."""
        try:
            datum = self.datums[datum_id]
        except KeyError:
            raise KeyError(
                f"no datum {datum_id!r} has been seen; pass the datum documents "
                "to the Filler before the events"
            ) from None
        ruid = datum["resource"]
        if self.cache is None:
            return self._read(ruid, datum)
        path = resource_path(self.resources[ruid], self.root_map)
        return self.cache.get((path, datum_id), lambda: self._read(ruid, datum))

    def _read(self, ruid: str, datum: Mapping[str, Any]) -> np.ndarray:
        handler = self._handler_cache.get(ruid)
        if handler is None:
            resource = self.resources[ruid]
            try:
                factory = self.handlers[resource["spec"]]
            except KeyError:
                raise KeyError(
                    f"no handler for spec {resource['spec']!r}; register one with "
                    "livescan.documents.register_handler"
                ) from None
            handler = factory(
                resource_path(resource, self.root_map), **resource.get("resource_kwargs", {})
            )
            self._handler_cache[ruid] = handler
        return handler(**datum["datum_kwargs"])

    def fill_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """A copy of ``event`` with every external value loaded (the event itself if none),
        the rows stream_datum documents gave for its seq_num included."""
        keys = self.external_keys(event)
        streamed = self.stream_rows.get((event.get("descriptor", ""), event.get("seq_num", -1)))
        if not keys and not streamed:
            return event
        filled = copy.copy(event)
        filled["data"] = dict(event["data"])
        filled["filled"] = dict(event.get("filled") or {})
        for k in keys:
            filled["data"][k] = self.load(event["data"][k])
            filled["filled"][k] = True
        if streamed:
            filled["timestamps"] = dict(event.get("timestamps") or {})
            for k, row_id in streamed.items():
                filled["data"][k] = self.load(row_id)
                filled["filled"][k] = True
                filled["timestamps"].setdefault(k, event.get("time"))
        return filled
