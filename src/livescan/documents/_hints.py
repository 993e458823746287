"""What a run's hints mean: its dimensions, its interesting fields, the shape of a frame.

One reading of ``hints`` for every consumer (the dashboard, the HDF5 layout, LiveImage):

- the start document's ``hints.dimensions`` is a list of ``(fields, stream)`` pairs, one
  per independent axis of the scan (bluesky's convention);
- a descriptor's ``hints`` maps each object name to ``{"fields": [...]}``, the fields worth
  showing;
- a frame's ``shape`` in a data key may carry leading 1s (``[1, h, w]`` is one frame).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "dependent_fields",
    "frame_dims",
    "hinted_dimensions",
    "hinted_fields",
    "run_dimensions",
]


def hinted_dimensions(start: Mapping[str, Any]) -> list[tuple[list[str], str]]:
    """The start's ``hints.dimensions`` as ``(fields, stream)`` pairs; malformed ones skipped."""
    out: list[tuple[list[str], str]] = []
    for entry in (start.get("hints") or {}).get("dimensions") or []:
        try:
            fields, stream = entry
        except (TypeError, ValueError):
            continue
        out.append(([str(f) for f in fields], str(stream)))
    return out


def run_dimensions(start: Mapping[str, Any]) -> tuple[list[list[str]], str, str]:
    """``(dimension field lists, stream, source)``: hinted dimensions, else motors, else time.

    ``source`` is ``"hints"``, ``"motors"`` or ``"time"``. All dimensions must share one
    stream; if they do not, the first one's stream wins.
    """
    hinted = hinted_dimensions(start)
    if hinted:
        return [fields for fields, _ in hinted], hinted[0][1], "hints"
    motors = start.get("motors")
    if motors:
        return [[str(m)] for m in motors], "primary", "motors"
    return [["time"]], "primary", "time"


def hinted_fields(descriptor: Mapping[str, Any]) -> list[str]:
    """The fields a descriptor's per-object ``hints`` name, in order, each once."""
    fields: list[str] = []
    for hint in (descriptor.get("hints") or {}).values():
        if isinstance(hint, dict):
            fields.extend(hint.get("fields") or [])
    return list(dict.fromkeys(fields))


def dependent_fields(descriptor: Mapping[str, Any], dims: Iterable[str]) -> list[str]:
    """A descriptor's hinted fields (else its objects' fields, else all keys) minus ``dims``."""
    keys = descriptor.get("data_keys", {})
    fields = hinted_fields(descriptor)
    if not fields:
        for object_fields in (descriptor.get("object_keys") or {}).values():
            fields.extend(object_fields)
    if not fields:
        fields = list(keys)
    skip = set(dims)
    return [f for f in dict.fromkeys(fields) if f in keys and f not in skip]


def frame_dims(shape: Iterable[Any] | None) -> list[int] | None:
    """A data key's shape without leading 1s (``[1, h, w]`` is one frame); None if unknown."""
    if shape is None:
        return None
    dims = [int(s) for s in shape]
    while len(dims) > 2 and dims[0] == 1:
        dims = dims[1:]
    return dims
