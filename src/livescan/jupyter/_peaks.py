"""Peak statistics of a 1-D scan, computed with numpy at the end of a run.

The same quantities bluesky's ``PeakStats`` reports, with the same definitions so that
numbers agree when a user compares the two:

- ``max`` / ``min``: ``(x, y)`` at the largest / smallest reading;
- ``com``: centre of mass of the readings taken over the point *index*, mapped to ``x`` by
  linear interpolation between neighbouring points (for evenly spaced points this is
  ``Σ x·y / Σ y``);
- ``crossings``: where the curve crosses half way between its minimum and maximum,
  interpolated linearly between the two points on either side;
- ``cen``: the mean of the crossings; ``fwhm``: the distance between the first and last.

With ``edge_count=n`` a straight line through the means of the first and last ``n`` points
is subtracted first (a quick background), as ``PeakStats(edge_count=n)`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Peaks", "peak_stats"]


@dataclass(frozen=True)
class Peaks:
    """Peak statistics of ``y`` against ``x`` for one run (``None`` where undefined)."""

    x: str
    y: str
    com: float | None = None
    cen: float | None = None
    max: tuple[float, float] | None = None
    min: tuple[float, float] | None = None
    fwhm: float | None = None
    crossings: tuple[float, ...] = ()
    lin_bkg: dict[str, float] | None = None
    points: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The statistics as plain numbers (for tables, logs and JSON)."""
        return {
            "com": self.com,
            "cen": self.cen,
            "max": self.max,
            "min": self.min,
            "fwhm": self.fwhm,
            "crossings": list(self.crossings),
            "points": self.points,
        }


def peak_stats(
    x: Any, y: Any, *, x_name: str = "x", y_name: str = "y", edge_count: int | None = None
) -> Peaks:
    """Compute :class:`Peaks` for readings ``y`` at positions ``x`` (any array-likes).

    Points where either value is not finite are left out. Fewer than two points give
    only ``max`` / ``min`` (or nothing at all).
    """
    xs = np.asarray(x, dtype=float).ravel()
    ys = np.asarray(y, dtype=float).ravel()
    if xs.shape != ys.shape:
        raise ValueError(f"x and y differ in length: {xs.size} and {ys.size}")
    keep = np.isfinite(xs) & np.isfinite(ys)
    xs, ys = xs[keep], ys[keep]
    n = int(xs.size)
    if n == 0:
        return Peaks(x_name, y_name, points=0)

    measured = ys
    lin_bkg = None
    if edge_count is not None and n >= 2:
        k = max(1, min(int(edge_count), n))
        x_left, x_right = xs[:k].mean(), xs[-k:].mean()
        y_left, y_right = ys[:k].mean(), ys[-k:].mean()
        if x_right != x_left:
            slope = (y_right - y_left) / (x_right - x_left)
            offset = y_left - slope * x_left
            ys = ys - (slope * xs + offset)
            lin_bkg = {"m": float(slope), "b": float(offset)}

    i_max, i_min = int(np.argmax(ys)), int(np.argmin(ys))
    at_max = (float(xs[i_max]), float(measured[i_max]))
    at_min = (float(xs[i_min]), float(measured[i_min]))
    if n < 2:
        return Peaks(x_name, y_name, max=at_max, min=at_min, points=n, lin_bkg=lin_bkg)

    com = _centre_of_mass(xs, ys)
    crossings = _half_way_crossings(xs, ys)
    cen = float(np.mean(crossings)) if crossings else None
    fwhm = abs(crossings[-1] - crossings[0]) if len(crossings) >= 2 else None
    return Peaks(
        x_name,
        y_name,
        com=com,
        cen=cen,
        max=at_max,
        min=at_min,
        fwhm=fwhm,
        crossings=tuple(crossings),
        lin_bkg=lin_bkg,
        points=n,
    )


def _centre_of_mass(xs: np.ndarray, ys: np.ndarray) -> float | None:
    """Weighted mean point index, mapped onto ``x`` piecewise linearly."""
    total = float(ys.sum())
    if total == 0.0 or not np.isfinite(total):
        return None
    index = np.arange(xs.size, dtype=float)
    mean_index = float(np.dot(index, ys) / total)
    # between points k and k+1, x moves linearly (also past the ends: clamp like interp)
    return float(np.interp(mean_index, index, xs))


def _half_way_crossings(xs: np.ndarray, ys: np.ndarray) -> list[float]:
    """x where consecutive points lie on different sides of (max + min) / 2."""
    level = (float(ys.max()) + float(ys.min())) / 2.0
    above = ys > level
    (starts,) = np.nonzero(above[1:] != above[:-1])
    out = []
    for k in starts:
        x0, x1 = float(xs[k]), float(xs[k + 1])
        d0, d1 = float(ys[k]) - level, float(ys[k + 1]) - level
        if x1 == x0 or d1 == d0:
            out.append(x0)
            continue
        # the straight line through both points reaches the level at this x
        out.append(x0 - d0 * (x1 - x0) / (d1 - d0))
    return out
