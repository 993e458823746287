"""What a LiveRaster's tiles show in the browser, rebuilt from the recorded comm messages."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

__all__ = ["decode_png", "shown_rgba", "tile_messages"]

_REF = "IPY_MODEL_"


def decode_png(data: bytes) -> np.ndarray:
    """A PNG as an (h, w, 4) uint8 RGBA array."""
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGBA"))


def _tile_png(recorder, mark) -> bytes:
    ref = recorder.state(mark)["image"]
    assert isinstance(ref, str) and ref.startswith(_REF), ref
    return recorder.state(ref[len(_REF) :])["value"]


def shown_rgba(recorder, raster) -> np.ndarray:
    """The (rows, cols, 4) RGBA raster the browser holds: every tile's newest PNG at its
    place (row 0 first; a tile's PNG has its last row on top)."""
    out = np.zeros((*raster.raster_shape, 4), dtype=np.uint8)
    for k, mark in enumerate(raster.marks):
        r0, r1, c0, c1 = raster.tiles.bounds(k)
        tile = decode_png(_tile_png(recorder, mark))
        assert tile.shape == (r1 - r0, c1 - c0, 4), (k, tile.shape)
        out[r0:r1, c0:c1] = tile[::-1]
    return out


def tile_messages(recorder, raster, since: int = 0) -> list:
    """The comm messages (from index ``since`` on) that changed a tile: each mark's
    ``update`` plus the comm_open of the Image widget it now shows (the PNG travels there)."""
    marks = {m.model_id for m in raster.marks}
    msgs = recorder.messages[since:]
    opened = {m.comm_id: m for m in msgs if m.msg_type == "comm_open"}
    out = []
    for m in msgs:
        if m.comm_id in marks and m.method == "update" and "image" in m.data.get("state", {}):
            ref = m.data["state"]["image"][len(_REF) :]
            out += [opened[ref], m] if ref in opened else [m]
    return out
