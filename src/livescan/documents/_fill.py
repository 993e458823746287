"""Reading externally stored data back: handler registry and a document Filler.

A resource document names a file and a ``spec``; each datum names one piece of it.
``Filler`` keeps the resources and datums it has seen and replaces datum ids in events
with the arrays they point to. Handlers open, read and close the file on every call so
that a file still being written by a detector is never held open.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import numpy as np

__all__ = ["Filler", "HDF5FrameHandler", "Handler", "register_handler", "resource_path"]


class Handler(Protocol):
    """Reads the data one datum points to."""

    def __call__(self, **datum_kwargs: Any) -> np.ndarray: ...


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
    ``point_number`` picks ``frame_per_point`` consecutive frames.
    """

    dataset = "/entry/data/data"

    def __init__(self, path: str, frame_per_point: int = 1, **_: Any) -> None:
        self.path = path
        self.frame_per_point = int(frame_per_point)

    def __call__(self, point_number: int, **_: Any) -> np.ndarray:
        import h5py

        start = int(point_number) * self.frame_per_point
        with h5py.File(self.path, "r") as f:
            frames = f[self.dataset][start : start + self.frame_per_point]
        return frames[0] if self.frame_per_point == 1 else frames


register_handler("AD_HDF5", HDF5FrameHandler)


class Filler:
    """Fill external data into events.

    Call it with every document of a run (it remembers resources, datums and
    descriptors); :meth:`fill_event` returns a filled copy of an event.
    """

    def __init__(
        self,
        handlers: Mapping[str, HandlerFactory] | None = None,
        *,
        root_map: Mapping[str, str] | None = None,
    ) -> None:
        self.handlers = dict(_HANDLERS)
        self.handlers.update(handlers or {})
        self.root_map = dict(root_map or {})
        self.resources: dict[str, dict[str, Any]] = {}
        self.datums: dict[str, dict[str, Any]] = {}
        self.descriptors: dict[str, dict[str, Any]] = {}
        self._handler_cache: dict[str, Handler] = {}

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
