"""Colour maps and a tiny PNG encoder for display-sized frames (no imaging dependency).

Colour maps come from matplotlib when it is installed (any of its names); otherwise a
few perceptually uniform maps are built from 9 anchor colours sampled from the
published maps (viridis, magma, inferno, plasma, cividis) plus ``gray``.
"""

from __future__ import annotations

import struct
import zlib
from functools import lru_cache

import numpy as np

__all__ = ["COLORMAPS", "apply_colormap", "colormap_lut", "downsample", "encode_png"]

_ANCHORS = {
    "viridis": "440154 472d7b 3b528b 2c728e 21918c 28ae80 5ec962 addc30 fde725",
    "magma": "000004 1d1147 51127c 832681 b73779 e75263 fc8961 fec488 fcfdbf",
    "inferno": "000004 210c4a 57106e 8a226a bc3754 e45a31 f98e09 f9cb35 fcffa4",
    "plasma": "0d0887 4c02a1 7e03a8 aa2395 cc4778 e66c5c f89540 fdc527 f0f921",
    "cividis": "00224e 1a386f 434e6c 61656f 7d7c78 9b9476 bcae6c dec958 fee838",
    "gray": "000000 ffffff",
}

#: Colour-map names offered in the LiveImage menu (matplotlib accepts many more).
COLORMAPS = ("viridis", "gray", "magma", "inferno", "plasma", "cividis")


@lru_cache(maxsize=32)
def colormap_lut(name: str) -> np.ndarray:
    """A (256, 3) uint8 lookup table for colour map ``name``."""
    try:
        import matplotlib

        cmap = matplotlib.colormaps[name]
    except (ImportError, KeyError):
        cmap = None
    if cmap is not None:
        return (cmap(np.linspace(0, 1, 256))[:, :3] * 255 + 0.5).astype(np.uint8)
    try:
        hexes = _ANCHORS[name].split()
    except KeyError:
        raise ValueError(
            f"unknown colour map {name!r}; choose one of {sorted(_ANCHORS)} "
            "(or install matplotlib for all of its maps)"
        ) from None
    anchors = np.array([[int(h[i : i + 2], 16) for i in (0, 2, 4)] for h in hexes], float)
    pos = np.linspace(0, 1, len(anchors))
    t = np.linspace(0, 1, 256)
    lut = np.column_stack([np.interp(t, pos, anchors[:, c]) for c in range(3)])
    return (lut + 0.5).astype(np.uint8)


def downsample(frame: np.ndarray, max_size: int) -> np.ndarray:
    """Block-average ``frame`` so that neither side exceeds ``max_size`` pixels."""
    h, w = frame.shape
    k = max(1, -(-max(h, w) // int(max_size)))  # ceil
    if k == 1:
        return frame
    hh, ww = (h // k) * k, (w // k) * k
    trimmed = np.asarray(frame[:hh, :ww], dtype=np.float64)
    return trimmed.reshape(hh // k, k, ww // k, k).mean(axis=(1, 3))


def apply_colormap(frame: np.ndarray, clim: tuple[float, float], cmap: str) -> np.ndarray:
    """Map a 2-D array to (h, w, 3) uint8 RGB with limits ``clim``; NaN is transparent-black."""
    lo, hi = float(clim[0]), float(clim[1])
    span = hi - lo if hi > lo else 1.0
    scaled = (np.asarray(frame, dtype=np.float64) - lo) * (255.0 / span)
    np.clip(scaled, 0, 255, out=scaled)
    idx = np.nan_to_num(scaled, nan=0.0).astype(np.uint8)
    return colormap_lut(cmap)[idx]


def encode_png(rgb: np.ndarray, level: int = 1) -> bytes:
    """Encode an (h, w, 3) RGB or (h, w, 4) RGBA uint8 array as a PNG (filter 0, zlib
    ``level``)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, c = rgb.shape
    if c not in (3, 4):
        raise ValueError("encode_png expects an (h, w, 3) RGB or (h, w, 4) RGBA array")
    raw = np.empty((h, 1 + c * w), dtype=np.uint8)
    raw[:, 0] = 0
    raw[:, 1:] = rgb.reshape(h, c * w)

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2 if c == 3 else 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw.tobytes(), level))
        + chunk(b"IEND", b"")
    )
