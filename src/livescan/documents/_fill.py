"""Reading externally stored data back: handler registry and a document Filler.

A resource document names a file and a ``spec``; each datum names one piece of it.
``Filler`` keeps the resources and datums it has seen and replaces datum ids in events
with the arrays they point to. Handlers open, read and close the file on every call so
that a file still being written by a detector is never held open.

A run's subscribers (the exporters, LiveImage) share one :class:`FrameCache` (from
:func:`run_frame_cache`), so a frame two of them need is read from disk once.
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
        elif name == "event":
            return name, self.fill_event(doc)
        return name, doc

    def external_keys(self, event: Mapping[str, Any]) -> list[str]:
        """The data keys of ``event`` that hold datum ids rather than values."""
        filled = event.get("filled") or {}
        keys = [k for k, v in filled.items() if not v]
        desc = self.descriptors.get(event.get("descriptor", ""))
        if desc is not None:
            for k, dk in desc["data_keys"].items():
                if dk.get("external") and k not in keys and not filled.get(k, False):
                    keys.append(k)
        return keys

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
        """A copy of ``event`` with every external value loaded (the event itself if none)."""
        keys = self.external_keys(event)
        if not keys:
            return event
        filled = copy.copy(event)
        filled["data"] = dict(event["data"])
        filled["filled"] = dict(event.get("filled") or {})
        for k in keys:
            filled["data"][k] = self.load(event["data"][k])
            filled["filled"][k] = True
        return filled
