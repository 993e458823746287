"""Reading a LiveRaster off the page: the colour of every cell in a screenshot, the axis
labels and the colour bar's tick labels with their boxes."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

__all__ = [
    "expected_colours",
    "raster_area_pixels",
    "raster_figure",
    "raster_screen_cells",
    "snake_order",
]

_FIGURE_JS = r"""
(index) => {
  const fig = document.querySelectorAll('.livescan-raster')[index];
  if (!fig) return null;
  const box = (el) => { const r = el.getBoundingClientRect();
                        return {x: r.x, y: r.y, width: r.width, height: r.height}; };
  const images = Array.from(fig.querySelectorAll('image')).map(box);
  const ticks = Array.from(fig.querySelectorAll('.tick text'))
    .filter((t) => t.textContent.trim() !== '')
    .map((t) => ({text: t.textContent, box: box(t)}));
  const labels = Array.from(fig.querySelectorAll('.axislabel, .axis text, text'))
    .map((t) => t.textContent.trim()).filter((t) => t !== '');
  return {images, ticks, labels,
          title: (fig.querySelector('.mainheading') || {}).textContent};
}
"""


def raster_figure(page, index: int = 0) -> dict[str, Any] | None:
    """The ``index``-th raster figure: its tile ``<image>`` boxes (CSS px), every text in
    it (``labels``), its tick labels (text and box) sorted by where they stand around the
    tiles: ``x_ticks`` below, ``y_ticks`` left, ``bar_ticks`` right (the colour bar)."""
    fig = page.evaluate(_FIGURE_JS, index)
    if not fig or not fig["images"]:
        return fig
    left = min(b["x"] for b in fig["images"])
    right = max(b["x"] + b["width"] for b in fig["images"])
    bottom = max(b["y"] + b["height"] for b in fig["images"])
    fig["x_ticks"] = [t for t in fig["ticks"] if t["box"]["y"] >= bottom]
    fig["y_ticks"] = [t for t in fig["ticks"] if t["box"]["x"] + t["box"]["width"] <= left]
    fig["bar_ticks"] = [t for t in fig["ticks"] if t["box"]["x"] >= right]
    return fig


def raster_area_pixels(page, index: int = 0) -> np.ndarray:
    """A screenshot (h, w, 3) of the area the raster's tiles cover together (scrolled
    into view first: a clip outside the viewport shows what covers it)."""
    from PIL import Image

    # by the element that is attached now: the output area may re-render the raster's
    # view, which detaches the element a locator had resolved (seen once in CI)
    page.evaluate(
        "(i) => document.querySelectorAll('.livescan-raster')[i]"
        "?.scrollIntoView({block: 'nearest'})",
        index,
    )
    fig = raster_figure(page, index)
    assert fig and fig["images"], fig
    left = min(b["x"] for b in fig["images"])
    top = min(b["y"] for b in fig["images"])
    right = max(b["x"] + b["width"] for b in fig["images"])
    bottom = max(b["y"] + b["height"] for b in fig["images"])
    clip = {"x": left, "y": top, "width": right - left, "height": bottom - top}
    return np.asarray(Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("RGB"), int)


def raster_screen_cells(page, shape: tuple[int, int], index: int = 0) -> np.ndarray:
    """The RGB the page shows in each cell (rows, cols, 3), read from a screenshot of the
    tiles' area: the median of 5×5 points in the middle half of the cell (a blank cell's
    centre can lie on a grid line); row 0 is at the bottom (the slow motor's first
    position), column 0 at the left."""
    shot = raster_area_pixels(page, index)
    h, w = shot.shape[:2]
    rows, cols = shape
    out = np.zeros((rows, cols, 3), dtype=int)
    offsets = np.linspace(0.25, 0.75, 5)
    for r in range(rows):
        ys = np.minimum((h - (r + offsets) * h / rows).astype(int), h - 1)
        for c in range(cols):
            xs = np.minimum(((c + offsets) * w / cols).astype(int), w - 1)
            out[r, c] = np.median(shot[np.ix_(ys, xs)].reshape(-1, 3), axis=0)
    return out


def expected_colours(values: np.ndarray, clim: tuple[float, float], cmap: str) -> np.ndarray:
    """The colour each value should have (matplotlib's colour map, limits ``clim``)."""
    from matplotlib import colormaps

    lo, hi = clim
    scaled = np.clip((np.nan_to_num(values) - lo) / (hi - lo), 0, 1)
    return (colormaps[cmap](scaled)[..., :3] * 255).round().astype(int)


def snake_order(shape: tuple[int, int], snake: bool) -> list[tuple[int, int]]:
    """The cells of a grid scan in the order it measures them."""
    rows, cols = shape
    return [(r, cols - 1 - c if snake and r % 2 else c) for r in range(rows) for c in range(cols)]
