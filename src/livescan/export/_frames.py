"""Getting frames out of events: inline arrays, JSON lists or file-backed datums."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from livescan.documents import Filler, run_frame_cache

__all__ = ["FrameSource"]


class FrameSource:
    """Remembers a run's descriptors, resources and datums and returns event values as
    numpy arrays, reading file-backed data through a :class:`Filler` that shares the
    run's :func:`~livescan.documents.run_frame_cache` with the run's other readers."""

    def __init__(self, root_map: Mapping[str, str] | None = None) -> None:
        self.filler = Filler(root_map=root_map)
        self.descriptors: dict[str, dict[str, Any]] = {}

    def reset(self, start: Mapping[str, Any]) -> None:
        """Forget the last run; read the run of start document ``start`` from now on."""
        self.filler = Filler(root_map=self.filler.root_map, cache=run_frame_cache(start["uid"]))
        self.descriptors.clear()

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        if name in ("resource", "datum", "datum_page", "descriptor"):
            self.filler(name, doc)
        if name == "descriptor":
            self.descriptors[doc["uid"]] = doc

    def is_external(self, event: Mapping[str, Any], key: str) -> bool:
        filled = event.get("filled") or {}
        if key in filled:
            return not filled[key]
        desc = self.descriptors.get(event.get("descriptor", ""), {})
        dk = desc.get("data_keys", {}).get(key, {})
        return bool(dk.get("external")) and isinstance(event["data"].get(key), str)

    def value(self, event: Mapping[str, Any], key: str) -> np.ndarray:
        """The value of ``key`` in ``event`` as an array (loading file-backed data)."""
        raw = event["data"][key]
        if self.is_external(event, key):
            return np.asarray(self.filler.load(raw))
        if isinstance(raw, np.ndarray):
            return raw
        desc = self.descriptors.get(event.get("descriptor", ""), {})
        dtype = desc.get("data_keys", {}).get(key, {}).get("dtype_numpy")
        return np.asarray(raw, dtype=dtype)
