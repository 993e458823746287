"""Live widgets for Jupyter: throttled, decimated views of a running scan.

Each widget is a document callback (``cb(name, doc)``) that only appends to kernel-side
numpy buffers; a per-widget :class:`Throttle` on the running event loop pushes the
changed state to the browser at most ``max_rate`` times a second inside ``hold_sync()``,
and once more at stop, so the final state always arrives. Long lines are min/max
decimated; images are sent display-sized and colour-mapped.

``livescan.callbacks`` resolves ``LivePlot``, ``LiveRaster`` and ``LiveImage`` from here
lazily, and ``LiveTable`` uses :class:`TableGridView` for its notebook face.
"""

from livescan.widgets._base import Displayable, LiveWidget, NoFrontendWarning, frontend_available
from livescan.widgets._colormap import COLORMAPS, apply_colormap, colormap_lut, encode_png
from livescan.widgets._decimate import MinMaxDecimator, minmax_indices
from livescan.widgets._fallback import (
    LIVE_CLASS,
    FallbackOutputs,
    fallback_bundle,
    fallbacks_settled,
    figure_png,
    placeholder_bundle,
    render_png,
    widget_view_bundle,
)
from livescan.widgets._image import ImageShapeError, LiveImage
from livescan.widgets._plot import LivePlot
from livescan.widgets._raster import LiveRaster, RasterShapeWarning
from livescan.widgets._table_view import TableGridView
from livescan.widgets._throttle import DEFAULT_MAX_RATE, Throttle

__all__ = [
    "COLORMAPS",
    "DEFAULT_MAX_RATE",
    "LIVE_CLASS",
    "Displayable",
    "FallbackOutputs",
    "ImageShapeError",
    "LiveImage",
    "LivePlot",
    "LiveRaster",
    "LiveWidget",
    "MinMaxDecimator",
    "NoFrontendWarning",
    "RasterShapeWarning",
    "TableGridView",
    "Throttle",
    "apply_colormap",
    "colormap_lut",
    "encode_png",
    "fallback_bundle",
    "fallbacks_settled",
    "figure_png",
    "frontend_available",
    "minmax_indices",
    "placeholder_bundle",
    "render_png",
    "widget_view_bundle",
]
