"""Documents as msgpack: numpy arrays travel as raw bytes (dtype, shape, buffer), not text."""

from __future__ import annotations

from enum import Enum
from typing import Any

import msgpack
import numpy as np

__all__ = ["decode", "encode"]

_NDARRAY = 1  # msgpack extension code of a numpy array


def _default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            return obj.tolist()
        arr = np.ascontiguousarray(obj)
        head = msgpack.packb([arr.dtype.str, list(arr.shape)])
        return msgpack.ExtType(_NDARRAY, len(head).to_bytes(4, "little") + head + arr.tobytes())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, set | frozenset):
        return sorted(obj, key=repr)
    raise TypeError(
        f"{type(obj).__name__} {obj!r:.60} cannot travel in a document; "
        "use numbers, strings, lists, dicts or numpy values"
    )


def _ext(code: int, data: bytes) -> Any:
    if code != _NDARRAY:
        return msgpack.ExtType(code, data)
    n = int.from_bytes(data[:4], "little")
    dtype, shape = msgpack.unpackb(data[4 : 4 + n])
    return np.frombuffer(data, dtype=dtype, offset=4 + n).reshape(shape).copy()


def encode(doc: dict[str, Any]) -> bytes:
    """One document as msgpack bytes; arrays as binary extension values."""
    return msgpack.packb(doc, default=_default, use_bin_type=True)


def decode(data: bytes) -> dict[str, Any]:
    """The inverse of :func:`encode`: arrays come back as writable numpy arrays."""
    return msgpack.unpackb(data, ext_hook=_ext, raw=False, strict_map_key=False)
