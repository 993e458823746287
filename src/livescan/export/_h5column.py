"""A growable HDF5 dataset written one row at a time (one column of a stream)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["Column"]


class Column:
    """A growable dataset. Frames (non-scalar rows) are written as they come; scalar rows
    are gathered and written in blocks of ``_BLOCK`` (one small h5py write costs about as
    much as a frame). The length is trimmed when the file closes."""

    _BLOCK = 256

    def __init__(
        self,
        group: Any,
        name: str,
        dtype: Any,
        shape: tuple[int, ...],
        compression: str | None,
        compression_opts: Any,
    ) -> None:
        chunks = (1, *shape) if shape else (1024,)
        kwargs: dict[str, Any] = {}
        if compression is not None and (shape or np.dtype(dtype).kind != "O"):
            kwargs = {"compression": compression, "compression_opts": compression_opts}
        self.ds = group.create_dataset(
            name, shape=(0, *shape), maxshape=(None, *shape), chunks=chunks, dtype=dtype, **kwargs
        )
        self.shape = shape
        self.n = 0  # rows written to the dataset
        self._pending: list[Any] = []  # scalar rows not yet written

    def append(self, value: Any) -> None:
        if not self.shape:
            self._pending.append(value)
            if len(self._pending) >= self._BLOCK:
                self.flush()
            return
        if self.n == self.ds.shape[0]:
            self.ds.resize(max(64, 2 * self.n), axis=0)
        self.ds[self.n] = value
        self.n += 1

    def flush(self) -> None:
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        end = self.n + len(rows)
        if end > self.ds.shape[0]:
            self.ds.resize(max(end, 2 * self.n), axis=0)
        kind = self.ds.dtype.kind
        self.ds[self.n : end] = np.array(rows, dtype=object if kind == "O" else self.ds.dtype)
        self.n = end

    def trim(self, rows: int) -> None:
        self.flush()
        self.n = min(self.n, rows)  # a row cut short by an error is dropped everywhere
        if self.ds.shape[0] != self.n:
            self.ds.resize(self.n, axis=0)
