"""Growable numpy columns: O(1) amortised append, zero-copy views."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["Column"]


class Column:
    """A 1-D numpy array that grows by doubling; ``view()`` is the filled part."""

    __slots__ = ("_data", "n")

    def __init__(self, dtype: Any = np.float64, capacity: int = 256) -> None:
        self._data = np.empty(max(1, int(capacity)), dtype=dtype)
        self.n = 0

    def append(self, value: Any) -> None:
        if self.n == self._data.shape[0]:
            grown = np.empty(2 * self._data.shape[0], dtype=self._data.dtype)
            grown[: self.n] = self._data
            self._data = grown
        self._data[self.n] = value
        self.n += 1

    def extend(self, values: np.ndarray) -> None:
        values = np.asarray(values)
        need = self.n + values.shape[0]
        if need > self._data.shape[0]:
            grown = np.empty(max(need, 2 * self._data.shape[0]), dtype=self._data.dtype)
            grown[: self.n] = self._data[: self.n]
            self._data = grown
        self._data[self.n : need] = values
        self.n = need

    def view(self) -> np.ndarray:
        return self._data[: self.n]

    def clear(self) -> None:
        self.n = 0

    def __len__(self) -> int:
        return self.n
