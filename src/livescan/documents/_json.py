"""One JSON encoding for documents: numpy scalars and arrays become plain JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

import numpy as np

__all__ = ["NumpyEncoder", "dumps", "loads", "to_jsonable"]


def to_jsonable(obj: Any) -> Any:
    """Return ``obj`` with numpy values, tuples and enums turned into JSON types.

    Dicts and lists are copied; plain values are returned as they are.
    """
    if isinstance(obj, str | bool | int | float) or obj is None:
        return obj
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Enum):
        return to_jsonable(obj.value)
    if isinstance(obj, set | frozenset):
        return [to_jsonable(v) for v in sorted(obj, key=repr)]
    if isinstance(obj, Sequence) and not isinstance(obj, bytes | bytearray):
        return [to_jsonable(v) for v in obj]
    raise TypeError(
        f"{type(obj).__name__} {obj!r:.60} cannot be stored in a document; "
        "use numbers, strings, lists, dicts or numpy values"
    )


class NumpyEncoder(json.JSONEncoder):
    """A ``json.JSONEncoder`` that understands numpy scalars, arrays and enums."""

    def default(self, o: Any) -> Any:
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, Enum):
            return o.value
        if isinstance(o, set | frozenset | tuple):
            return list(o)
        return super().default(o)


def dumps(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` with :class:`NumpyEncoder`; NaN and infinities become ``null``."""
    kwargs.setdefault("cls", NumpyEncoder)
    try:
        return json.dumps(obj, allow_nan=False, **kwargs)
    except ValueError:
        return json.dumps(_nan_to_none(to_jsonable(obj)), allow_nan=False, **kwargs)


def loads(text: str | bytes) -> Any:
    """``json.loads``; the inverse of :func:`dumps`."""
    return json.loads(text)


def _nan_to_none(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_nan_to_none(v) for v in obj]
    return obj
