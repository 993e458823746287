"""Which live views a run calls for, decided from its start document and one descriptor.

This is the best-effort choice (as bluesky's BestEffortCallback makes it, and then some),
kept free of any widget library so it can be read and tested on its own:

- 1-D scans: a line plot per dependent scalar field against the dimension;
- 2-D rectilinear grids: a raster per scalar field;
- other shapes: line plots against ``seq_num``;
- 2-D frames: an image per field;
- a table of the dimension fields and the scalar fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from livescan.documents._hints import dependent_fields, frame_dims, run_dimensions

__all__ = ["ViewSpec", "choose_views"]

_SCALAR = ("number", "integer")


@dataclass(frozen=True)
class ViewSpec:
    """One live view a run calls for: its kind, its fields and how to draw them."""

    kind: Literal["plot", "raster", "image", "table"]
    #: plot, raster, image: one field; table: every column
    fields: tuple[str, ...]
    stream: str = "primary"
    #: plot: the x field (None: against ``seq_num``)
    x: str | None = None
    #: raster: grid shape (slow, fast), pixel edges (x0, x1, y0, y1) and axis labels
    shape: tuple[int, ...] | None = None
    extent: tuple[float, float, float, float] | None = None
    xlabel: str | None = None
    ylabel: str | None = None

    @property
    def field(self) -> str:
        """The (first) field shown."""
        return self.fields[0]


def choose_views(
    start: Mapping[str, Any], descriptor: Mapping[str, Any], *, notes: list[str] | None = None
) -> list[ViewSpec]:
    """The views for a run's dimension stream: plots or rasters, then images, then the table.

    ``descriptor`` is the descriptor of the stream the dimensions live in. Reasons for not
    showing a field (or for showing it differently) are appended to ``notes``.
    """
    notes = [] if notes is None else notes
    dims, stream, _ = run_dimensions(start)
    keys = descriptor.get("data_keys", {})
    dim_fields = [f for dim in dims for f in dim]
    missing = [f for f in dim_fields if f != "time" and f not in keys]
    if missing:
        notes.append(f"dimension field(s) {missing} are not in the {stream!r} stream")
    deps = dependent_fields(descriptor, dim_fields)
    scalars = [f for f in deps if keys[f].get("dtype") in _SCALAR and not keys[f].get("shape")]
    frames = [
        f
        for f in deps
        if keys[f].get("dtype") == "array" and len(frame_dims(keys[f].get("shape")) or []) == 2
    ]
    for f in deps:
        if f not in scalars and f not in frames and keys[f].get("dtype") == "array":
            notes.append(f"{f!r} has shape {keys[f].get('shape')}: not shown")

    views: list[ViewSpec] = []
    ndim = len(dims)
    if scalars and start.get("num_points") == 1:
        notes.append("a single point: shown in the table only")
    elif scalars and ndim == 1:
        x: str | None = dims[0][0]
        if x != "time" and x not in keys:
            x = None  # noted above; plot against seq_num
        views += [ViewSpec("plot", (y,), stream, x=x) for y in scalars]
    elif scalars and ndim == 2 and _gridded(start):
        shape = tuple(int(v) for v in start["shape"])
        extent = _grid_extent(start)
        ylabel, xlabel = dims[0][0], dims[1][0]
        views += [
            ViewSpec(
                "raster", (f,), stream, shape=shape, extent=extent, xlabel=xlabel, ylabel=ylabel
            )
            for f in scalars
        ]
    elif scalars:
        why = "not a rectilinear grid" if ndim == 2 else f"{ndim} dimensions"
        notes.append(f"{why}: plotted against seq_num")
        views += [ViewSpec("plot", (y,), stream) for y in scalars]
    views += [ViewSpec("image", (f,), stream) for f in frames]
    table_fields = [f for f in dim_fields if f in keys] + [
        f for f in deps if f not in frames and keys[f].get("dtype") != "array"
    ]
    table_fields = list(dict.fromkeys(table_fields))
    if table_fields:
        views.append(ViewSpec("table", tuple(table_fields), stream))
    return views


def _gridded(start: Mapping[str, Any]) -> bool:
    """True if the run is a 2-D rectilinear grid with a known shape and extents."""
    hints = start.get("hints") or {}
    shape, extents = start.get("shape"), start.get("extents")
    return (
        hints.get("gridding") == "rectilinear"
        and shape is not None
        and len(shape) == 2
        and extents is not None
        and len(extents) == 2
    )


def _grid_extent(start: Mapping[str, Any]) -> tuple[float, float, float, float]:
    """Pixel edges so that pixel centres sit at the grid positions: the slow axis
    (first dimension) runs along the rows, the fast one along the columns."""
    (s0, s1), (f0, f1) = ([float(v) for v in e] for e in start["extents"])
    rows, cols = (int(v) for v in start["shape"])
    half_row = (s1 - s0) / max(1, rows - 1) / 2
    half_col = (f1 - f0) / max(1, cols - 1) / 2
    return (f0 - half_col, f1 + half_col, s0 - half_row, s1 + half_row)
