"""Getting frames out of events: inline arrays, JSON lists, file-backed datums, or rows a
detector wrote to its own file (stream_resource / stream_datum)."""

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
        if name in (
            "resource",
            "datum",
            "datum_page",
            "descriptor",
            "stream_resource",
            "stream_datum",
        ):
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

    def streamed(self, event: Mapping[str, Any], key: str) -> str | None:
        """The row id of ``key`` for ``event`` if a stream_datum gave it (else None)."""
        rows = self.filler.stream_rows.get((event.get("descriptor", ""), event.get("seq_num", -1)))
        return None if rows is None else rows.get(key)

    def value(self, event: Mapping[str, Any], key: str) -> np.ndarray:
        """The value of ``key`` in ``event`` as an array (loading file-backed data; a key
        a detector writes through stream_datum documents from the row for its seq_num)."""
        if key not in event["data"]:
            row = self.streamed(event, key)
            if row is None:
                raise KeyError(
                    f"event {event.get('seq_num')} has no {key!r} and no stream_datum gave "
                    "a row for it"
                )
            return np.asarray(self.filler.load(row))
        raw = event["data"][key]
        if self.is_external(event, key):
            return np.asarray(self.filler.load(raw))
        if isinstance(raw, np.ndarray):
            return raw
        desc = self.descriptors.get(event.get("descriptor", ""), {})
        dtype = desc.get("data_keys", {}).get(key, {}).get("dtype_numpy")
        return np.asarray(raw, dtype=dtype)
