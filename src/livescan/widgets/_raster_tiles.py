"""How LiveRaster cuts its raster into tiles and colours them (no widget library here).

A raster is drawn as a grid of images, each a PNG colour-mapped in the kernel: a flush
re-encodes and sends only the tiles whose pixels changed, so the bytes per flush follow
the pixels changed (to within a tile or two), and the browser only swaps a few ``<image>``
sources instead of recolouring thousands of SVG cells.
"""

from __future__ import annotations

import math

import numpy as np

from livescan.widgets._colormap import apply_colormap, colormap_lut, encode_png

__all__ = ["MAX_TILES", "TILE_PIXELS", "TileGrid", "bar_colors", "raster_rgba"]

#: pixels per tile (a band of whole rows unless a row alone is longer) …
TILE_PIXELS = 2048
#: … and at most this many tiles (larger rasters get larger tiles)
MAX_TILES = 64
#: colours of the colour bar: the colour map sampled at this many evenly spaced points
BAR_COLORS = 17


def raster_rgba(values: np.ndarray, clim: tuple[float, float], cmap: str) -> np.ndarray:
    """``values`` (rows, cols) as (rows, cols, 4) uint8 RGBA in colour map ``cmap`` with
    limits ``clim`` (values beyond are clipped); NaN is fully transparent."""
    rgba = np.empty((*values.shape, 4), dtype=np.uint8)
    rgba[..., :3] = apply_colormap(values, clim, cmap)
    rgba[..., 3] = np.where(np.isfinite(values), 255, 0)
    rgba[..., :3][rgba[..., 3] == 0] = 0
    return rgba


def bar_colors(cmap: str, n: int = BAR_COLORS) -> list[str]:
    """``n`` hex colours of ``cmap`` for a bqplot ColorScale (piecewise linear between
    them, the same map the kernel paints with)."""
    lut = colormap_lut(cmap)
    picks = lut[np.round(np.linspace(0, 255, n)).astype(int)]
    return ["#{:02x}{:02x}{:02x}".format(*(int(c) for c in rgb)) for rgb in picks]


class TileGrid:
    """Tiles of ``rows_per_tile`` × ``cols_per_tile`` pixels covering a (rows, cols) raster.

    Row bands by default (a raster fills row after row, so a flush touches one or two
    bands); a row longer than ``tile_pixels`` is split into columns as well. Tiles hold
    about ``tile_pixels`` pixels, never more than ``max_tiles`` of them.
    """

    def __init__(
        self, shape: tuple[int, int], tile_pixels: int = TILE_PIXELS, max_tiles: int = MAX_TILES
    ) -> None:
        nrows, ncols = shape
        col_tiles = min(max_tiles, math.ceil(ncols / tile_pixels))
        self.cols_per_tile = math.ceil(ncols / col_tiles)
        col_tiles = math.ceil(ncols / self.cols_per_tile)
        row_tiles_max = max(1, max_tiles // col_tiles)
        rows = max(1, tile_pixels // self.cols_per_tile, math.ceil(nrows / row_tiles_max))
        self.rows_per_tile = min(rows, nrows)
        self.grid = (math.ceil(nrows / self.rows_per_tile), col_tiles)
        self.shape = (nrows, ncols)

    def __len__(self) -> int:
        return self.grid[0] * self.grid[1]

    def bounds(self, k: int) -> tuple[int, int, int, int]:
        """Tile ``k`` (row-major) as ``(row0, row1, col0, col1)``, ends exclusive."""
        i, j = divmod(k, self.grid[1])
        r0, c0 = i * self.rows_per_tile, j * self.cols_per_tile
        return (
            r0,
            min(r0 + self.rows_per_tile, self.shape[0]),
            c0,
            min(c0 + self.cols_per_tile, self.shape[1]),
        )

    def index(self, row: np.ndarray, col: np.ndarray) -> np.ndarray:
        """The tile (row-major) of each pixel ``(row, col)``."""
        return (row // self.rows_per_tile) * self.grid[1] + col // self.cols_per_tile

    def png(self, k: int, values: np.ndarray, clim: tuple[float, float], cmap: str) -> bytes:
        """Tile ``k`` of ``values`` as a PNG, its first line the tile's *last* row (row 0
        of the raster is at the bottom of the plot)."""
        r0, r1, c0, c1 = self.bounds(k)
        return encode_png(raster_rgba(values[r0:r1, c0:c1][::-1], clim, cmap))
