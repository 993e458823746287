"""Min/max decimation of a growing line, incremental and bounded.

The kernel keeps every point of a line; the browser gets at most ``max_points`` of
them. Past that, the points are grouped into bins of ``width`` consecutive samples and
each bin contributes its minimum and its maximum (in index order), so spikes and the
envelope survive. Bins are computed once, as they fill; when there are too many, pairs
are merged and the width doubles, so each flush costs O(new points + bins), not O(n).
"""

from __future__ import annotations

import numpy as np

from livescan.widgets._buffer import Column

__all__ = ["MinMaxDecimator", "minmax_indices"]


class MinMaxDecimator:
    """Incrementally choose which samples of a growing array ``y`` to draw.

    ``indices(y)`` returns sorted indices into ``y`` (all of them while
    ``len(y) <= max_points``, else min/max per bin, at most ``max_points``).
    ``y`` must only ever grow between calls (call :meth:`reset` for a new line).
    """

    def __init__(self, max_points: int = 2000) -> None:
        if int(max_points) < 8:
            raise ValueError(f"max_points must be at least 8, not {max_points!r}")
        self.max_points = int(max_points)
        self.max_bins = self.max_points // 2 - 1  # + one partial bin = max_points
        self.reset()

    def reset(self) -> None:
        """Start over for a new line."""
        self.width = 0  # 0: not decimating yet
        self._lo = Column(np.int64)
        self._hi = Column(np.int64)
        self._done = 0  # samples covered by complete bins

    def indices(self, y: np.ndarray) -> np.ndarray:
        """The sorted indices of ``y`` to draw (``y`` has only grown since the last call)."""
        n = int(y.shape[0])
        if n < self._done:
            raise ValueError("the array shrank; call reset() for a new line")
        if self.width == 0:
            if n <= self.max_points:
                return np.arange(n)
            width = 1  # a power of two giving at most max_bins bins
            while n // width > self.max_bins:
                width *= 2
            self.width = width
        self._add_bins(y, n)
        while self._lo.n > self.max_bins:
            self._merge(y)
            self._add_bins(y, n)
        lo, hi = self._lo.view(), self._hi.view()
        parts = [np.minimum(lo, hi), np.maximum(lo, hi)]
        idx = np.column_stack(parts).ravel()
        if self._done < n:
            tail = y[self._done : n]
            t = np.array(sorted({int(np.argmin(tail)), int(np.argmax(tail))})) + self._done
            idx = np.concatenate([idx, t])
        if idx.size > 1:
            idx = idx[np.concatenate([[True], idx[1:] != idx[:-1]])]
        return idx

    def _add_bins(self, y: np.ndarray, n: int) -> None:
        w = self.width
        m = (n - self._done) // w
        if m <= 0:
            return
        block = y[self._done : self._done + m * w].reshape(m, w)
        base = self._done + np.arange(m, dtype=np.int64) * w
        for col, arg in ((self._lo, np.argmin), (self._hi, np.argmax)):
            col.extend(arg(block, axis=1) + base)
        self._done += m * w

    def _merge(self, y: np.ndarray) -> None:
        lo, hi = self._lo.view(), self._hi.view()
        nb = lo.shape[0]
        if nb % 2:  # the odd last bin is recomputed at the doubled width
            nb -= 1
            self._done -= self.width
        a_lo, b_lo = lo[0:nb:2], lo[1:nb:2]
        a_hi, b_hi = hi[0:nb:2], hi[1:nb:2]
        new_lo = np.where(y[a_lo] <= y[b_lo], a_lo, b_lo)
        new_hi = np.where(y[a_hi] >= y[b_hi], a_hi, b_hi)
        self._lo, self._hi = Column(np.int64), Column(np.int64)
        self._lo.extend(new_lo)
        self._hi.extend(new_hi)
        self.width *= 2


def minmax_indices(y: np.ndarray, max_points: int = 2000) -> np.ndarray:
    """One-shot min/max decimation: the indices of ``y`` to draw (at most ``max_points``)."""
    return MinMaxDecimator(max_points).indices(np.asarray(y))
