"""The frames a LiveImage keeps: the newest ``max_frames`` of one field, file-backed ones
as datum ids read (through the run's shared :func:`~livescan.documents.run_frame_cache`)
only when asked for."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from livescan.documents import Filler, run_frame_cache
from livescan.errors import LivescanError

__all__ = ["FrameStore", "ImageShapeError"]


class ImageShapeError(LivescanError, ValueError):
    """LiveImage was given data that is not a 2-D frame."""


class FrameStore:
    """The newest ``max_frames`` frames of ``field`` by seq_num (no widget library).

    ``handlers`` and ``root_map`` are passed to the :class:`~livescan.documents.Filler`
    that reads file-backed frames; without custom handlers it shares the run's cache.
    """

    def __init__(
        self,
        field: str,
        max_frames: int = 64,
        *,
        handlers: Mapping[str, Any] | None = None,
        root_map: Mapping[str, str] | None = None,
    ) -> None:
        if int(max_frames) < 1:
            raise ValueError(f"max_frames must be at least 1, not {max_frames!r}")
        self.field = field
        self._handlers = dict(handlers or {})
        self._root_map = dict(root_map or {})
        #: ``(seq_num, array or datum id)``, oldest first
        self.frames: deque[tuple[int, Any]] = deque(maxlen=int(max_frames))
        self.filler = Filler(self._handlers, root_map=self._root_map)
        self._cache: tuple[int, np.ndarray] | None = None

    def start(self, doc: Mapping[str, Any]) -> None:
        """Forget the last run's frames (seq_nums restart with each run)."""
        shared = None if self._handlers else run_frame_cache(doc["uid"])
        self.filler = Filler(self._handlers, root_map=self._root_map, cache=shared)
        self.frames.clear()
        self._cache = None

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        """Remember a descriptor, resource or datum document."""
        self.filler(name, doc)

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def seq_nums(self) -> list[int]:
        """The seq_nums of the frames kept (oldest first)."""
        return [s for s, _ in self.frames]

    def add_page(
        self, seq_nums: Sequence[int], values: Sequence[Any], filled: Sequence[Any] | None
    ) -> None:
        """Keep the frames of an event page (only its newest ``max_frames``)."""
        filled = filled or [None] * len(values)
        keep = max(0, len(seq_nums) - int(self.frames.maxlen or len(seq_nums)))
        for value in values[:keep]:  # never shown: forget their datums (memory bound)
            if isinstance(value, str):
                self.filler.datums.pop(value, None)
        for seq, value, flag in zip(seq_nums[keep:], values[keep:], filled[keep:]):
            self.add(seq, value, flag)

    def add(self, seq_num: int, value: Any, filled: bool | None = None) -> None:
        """Keep one frame: an array (checked to be 2-D) or a datum id."""
        external = filled is False or isinstance(value, str)
        if not external:
            value = np.asarray(value)
            if value.ndim > 2:
                value = value.reshape(value.shape[-2:]) if value.size == np.prod(
                    value.shape[-2:]) else value  # fmt: skip
            if value.ndim != 2:
                raise ImageShapeError(
                    f"LiveImage: event {seq_num} has {self.field!r} of shape "
                    f"{value.shape}; LiveImage shows 2-D frames"
                )
        if len(self.frames) == self.frames.maxlen and isinstance(self.frames[0][1], str):
            self.filler.datums.pop(self.frames[0][1], None)  # keep memory bounded
        self.frames.append((int(seq_num), value))

    def frame(self, seq_num: int | None = None) -> np.ndarray:
        """The full-resolution frame ``seq_num`` (newest by default), read if external."""
        if not self.frames:
            raise LookupError("LiveImage has no frames yet")
        if seq_num is None:
            seq_num = self.frames[-1][0]
        if self._cache is not None and self._cache[0] == seq_num:
            return self._cache[1]
        payload = next((p for s, p in self.frames if s == seq_num), None)
        if payload is None:
            raise LookupError(f"frame {seq_num} is not kept (kept: {self.seq_nums})")
        arr = self.filler.load(payload) if isinstance(payload, str) else payload
        arr = np.asarray(arr)
        if arr.ndim > 2 and arr.size == np.prod(arr.shape[-2:]):
            arr = arr.reshape(arr.shape[-2:])
        if arr.ndim != 2:
            raise ImageShapeError(f"frame {seq_num} has shape {arr.shape}; expected 2-D")
        self._cache = (seq_num, arr)
        return arr
