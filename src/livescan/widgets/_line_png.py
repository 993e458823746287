"""The static picture of finished LivePlots, drawn with Pillow in a few milliseconds.

A fallback picture is on the critical path of an awaited run in a batch execution (the
cell returns once it is in place, so executed notebooks keep it), and matplotlib needs
40-80 ms for one small line plot (axes set-up, text layout, constrained layout), more
than a 20,000-event run takes.
Line plots are simple enough to draw directly: nice ticks, a light grid, the lines
(min/max decimated, anti-aliased by drawing the inside of the axes at twice the size and
halving it), markers on short lines, axis labels, the title and a legend; saved as a
paletted PNG (its colours and their blends with white). Pictures mixing plots with rasters or
frames still go through matplotlib (:func:`livescan.widgets._fallback.figure_png`).

:func:`plot_spec` snapshots what a LivePlot shows (on the loop's thread);
:func:`plots_png` draws snapshots (on any thread).
"""

from __future__ import annotations

import functools
import importlib.util
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from livescan.widgets._decimate import minmax_indices

if TYPE_CHECKING:
    from livescan.widgets._plot import LivePlot

__all__ = ["LineSpec", "PlotSpec", "plot_spec", "plots_png"]

#: one panel, in pixels
PANEL = (520, 360)
#: drawn at this multiple of the size, then averaged down (anti-aliasing)
_SS = 2
_MARGIN = {"left": 74, "right": 16, "top": 30, "bottom": 44}
_MARKERS_UP_TO = 200
#: a line whose mark names no colour PIL knows
_DEFAULT_COLOR = "#1f77b4"


@dataclass
class LineSpec:
    """One run's line: decimated points, legend label, colour."""

    x: np.ndarray
    y: np.ndarray
    label: str | None
    color: str


@dataclass
class PlotSpec:
    """What a LivePlot's picture shows."""

    lines: list[LineSpec] = field(default_factory=list)
    xlabel: str = ""
    ylabel: str = ""
    title: str = ""
    xlim: tuple[float, float] | None = None
    ylim: tuple[float, float] | None = None


def plot_spec(plot: LivePlot, max_points: int = 2000) -> PlotSpec:
    """Snapshot ``plot``'s runs (min/max decimated to ``max_points`` per line), labels,
    colours and fixed limits."""
    spec = PlotSpec(xlabel=plot.x, ylabel=plot.y, title=str(plot.figure.title or ""))
    for run in plot.runs:
        x, y = run.x.view(), run.y.view()
        idx = minmax_indices(y, max_points)
        colors = list(getattr(run.mark, "colors", None) or [])
        color = str(colors[0]) if colors else _DEFAULT_COLOR
        spec.lines.append(LineSpec(x[idx].copy(), y[idx].copy(), run.label or None, color))
    auto = getattr(plot, "_auto_scales", [])
    for name, scale in (("xlim", plot.x_scale), ("ylim", plot.y_scale)):
        lo, hi = getattr(scale, "min", None), getattr(scale, "max", None)
        if scale not in auto and lo is not None and hi is not None and lo < hi:
            setattr(spec, name, (float(lo), float(hi)))
    return spec


def plots_png(specs: Sequence[PlotSpec]) -> bytes:
    """One PNG with a panel per plot, two panels a row."""
    from PIL import Image

    panels = [_draw(spec) for spec in specs]
    cols = min(len(panels), 2)
    rows = math.ceil(len(panels) / cols)
    w, h = PANEL
    sheet = panels[0] if len(panels) == 1 else Image.new("RGB", (w * cols, h * rows), "white")
    if len(panels) > 1:
        for i, panel in enumerate(panels):
            sheet.paste(panel, ((i % cols) * w, (i // cols) * h))
    # a palette image: the picture has a few colours and their blends with white, so
    # mapping it to them loses nothing visible, and PNG then writes a byte a pixel, with
    # no per-row filter search: ~3x faster to encode than RGB, and ~half the bytes
    colors = [line.color for spec in specs for line in spec.lines]
    paletted = sheet.quantize(palette=_palette(tuple(colors)), dither=Image.Dither.NONE)
    buf = io.BytesIO()
    paletted.save(buf, format="png", compress_level=3)
    return buf.getvalue()


# -- drawing -----------------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def _font(size: int) -> Any:
    from PIL import ImageFont

    spec = importlib.util.find_spec("matplotlib")  # its DejaVu Sans, without importing it
    roots = list(spec.submodule_search_locations or []) if spec is not None else []
    for root in roots:
        path = Path(root) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
        if path.exists():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def _limits(values: list[np.ndarray], fixed: tuple[float, float] | None) -> tuple[float, float]:
    if fixed is not None:
        return fixed
    finite = [v[np.isfinite(v)] for v in values]
    finite = [v for v in finite if v.size]
    if not finite:
        return (0.0, 1.0)
    lo = min(float(v.min()) for v in finite)
    hi = max(float(v.max()) for v in finite)
    if hi - lo <= 1e-12 * max(1.0, abs(hi)):
        pad = max(abs(hi) * 0.05, 1e-3)
        return (lo - pad, hi + pad)
    pad = (hi - lo) * 0.05  # matplotlib's default margins
    return (lo - pad, hi + pad)


def _ticks(lo: float, hi: float, target: int = 6) -> tuple[np.ndarray, str]:
    """Nice tick values in [lo, hi] (steps of 1, 2, 2.5 or 5 times a power of ten) and
    the format that shows them without noise."""
    raw = (hi - lo) / max(1, target - 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * 0.999)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = np.arange(first, hi + step * 1e-6, step)
    big = max(abs(lo), abs(hi))
    if big >= 1e5 or big < 1e-3:
        return ticks, ".3g"
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    if round(step / 10.0**-decimals, 6) % 1:  # 2.5 steps need one more digit
        decimals += 1
    return ticks, f".{decimals}f"


def _label(value: float, fmt: str) -> str:
    text = format(0.0 if abs(value) < 1e-14 else value, fmt)
    return text.replace("-", "\u2212")


def _segments(px: np.ndarray, py: np.ndarray) -> list[list[tuple[float, float]]]:
    """Runs of finite points as polylines (a NaN breaks the line, as in matplotlib)."""
    ok = np.isfinite(px) & np.isfinite(py)
    px, py = np.clip(px, -1e6, 1e6), np.clip(py, -1e6, 1e6)
    if ok.all():
        return [list(zip(px.tolist(), py.tolist(), strict=True))]
    out, start = [], None
    for i, good in enumerate([*ok.tolist(), False]):
        if good and start is None:
            start = i
        elif not good and start is not None:
            out.append(list(zip(px[start:i].tolist(), py[start:i].tolist(), strict=True)))
            start = None
    return out


def _stroke(img: Any, draw: Any, segments: list[list[tuple[float, float]]], color: Any) -> None:
    """Draw ``segments`` on ``img`` 3 px wide. Pillow draws a wide line as a polygon per
    segment: cheap for a smooth line, ~8 ms for a noisy 2,000-point one. A line that
    travels far (over ~8 heights of the image) is drawn one pixel wide on a mask instead,
    thickened by a 3 x 3 square (numpy) and painted through it: ~1 ms whatever its path."""
    from PIL import Image, ImageDraw

    travel = sum(float(np.abs(np.diff(np.asarray(seg), axis=0)).sum()) for seg in segments)
    if travel < 8 * img.size[1]:
        for seg in segments:
            if len(seg) > 1:
                draw.line(seg, fill=color, width=3)
        return
    mask = Image.new("L", img.size, 0)
    thin_draw = ImageDraw.Draw(mask)
    for seg in segments:
        if len(seg) > 1:
            thin_draw.line(seg, fill=255, width=1)
    thin = np.asarray(mask)
    wide = thin.copy()
    wide[:, 1:] |= thin[:, :-1]
    wide[:, :-1] |= thin[:, 1:]
    rows = wide.copy()
    wide[1:, :] |= rows[:-1, :]
    wide[:-1, :] |= rows[1:, :]
    img.paste(color, mask=Image.fromarray(wide > 0))  # a 1-bit mask: no blending


_WHITE = (255, 255, 255)
_GRID = (224, 224, 224)
_INK = (40, 40, 40)
_FRAME = (60, 60, 60)
_LEGEND_EDGE = (200, 200, 200)


def _rgb(color: str) -> tuple[int, int, int]:
    from PIL import ImageColor

    try:
        rgb = ImageColor.getrgb(color)
    except ValueError:
        rgb = ImageColor.getrgb(_DEFAULT_COLOR)
    return (rgb[0], rgb[1], rgb[2])


@functools.lru_cache(maxsize=32)
def _palette(colors: tuple[str, ...]) -> Any:
    """A palette image: the picture's fixed colours, then ramps from white to the ink
    (anti-aliased text), to the grid, and to every line colour (anti-aliased lines)."""
    from PIL import Image

    lines = list(dict.fromkeys(_rgb(c) for c in colors))[:24]
    entries: list[tuple[int, ...]] = [_WHITE, _GRID, _INK, _FRAME, _LEGEND_EDGE]
    targets = [_INK, _GRID, *lines]
    steps = max(2, min(16, (256 - len(entries)) // len(targets)))
    for target in targets:
        for k in range(1, steps + 1):
            a = k / steps
            entries.append(tuple(round(255 * (1 - a) + v * a) for v in target))
    flat = [v for rgb in entries[:256] for v in rgb]
    image = Image.new("P", (1, 1))
    image.putpalette(flat + [255] * (768 - len(flat)))
    return image


def _draw(spec: PlotSpec) -> Any:
    """One panel: the axes' inside (grid, lines, markers) drawn at ``_SS`` times the size
    and averaged down (anti-aliasing), the rest (frame, ticks, text) at the final size."""
    from PIL import Image, ImageDraw

    s = _SS
    width, height = PANEL
    left, right = _MARGIN["left"], width - _MARGIN["right"]
    top, bottom = _MARGIN["top"], height - _MARGIN["bottom"]
    x0, x1 = _limits([line.x for line in spec.lines], spec.xlim)
    y0, y1 = _limits([line.y for line in spec.lines], spec.ylim)

    def to_px(v: np.ndarray) -> np.ndarray:  # panel pixels
        return left + (np.asarray(v, dtype=float) - x0) / (x1 - x0) * (right - left)

    def to_py(v: np.ndarray) -> np.ndarray:
        return bottom - (np.asarray(v, dtype=float) - y0) / (y1 - y0) * (bottom - top)

    xt, xfmt = _ticks(x0, x1)
    yt, yfmt = _ticks(y0, y1)

    # the inside of the axes, supersampled; what falls outside is simply not on it
    inner = Image.new("RGB", ((right - left) * s, (bottom - top) * s), _WHITE)
    draw = ImageDraw.Draw(inner)
    span_x, span_y = inner.size
    for px in ((to_px(xt) - left) * s).tolist():
        draw.line([(px, 0), (px, span_y)], fill=_GRID, width=s)
    for py in ((to_py(yt) - top) * s).tolist():
        draw.line([(0, py), (span_x, py)], fill=_GRID, width=s)
    for line in spec.lines:
        color = _rgb(line.color)
        px, py = (to_px(line.x) - left) * s, (to_py(line.y) - top) * s
        _stroke(inner, draw, _segments(px, py), color)
        if len(px) <= _MARKERS_UP_TO:
            r = 2.5 * s
            for a, b in zip(px.tolist(), py.tolist(), strict=True):
                if math.isfinite(a) and math.isfinite(b):
                    draw.ellipse((a - r, b - r, a + r, b + r), fill=color)

    img = Image.new("RGB", (width, height), _WHITE)
    img.paste(inner.reduce(s), (left, top))
    draw = ImageDraw.Draw(img)
    draw.rectangle((left - 1, top - 1, right, bottom), outline=_FRAME, width=1)
    for v, px in zip(xt.tolist(), to_px(xt).tolist(), strict=True):
        draw.line([(px, bottom), (px, bottom + 4)], fill=_INK, width=1)
        _text(img, (px, bottom + 6), _label(v, xfmt), 10, "ma")
    for v, py in zip(yt.tolist(), to_py(yt).tolist(), strict=True):
        draw.line([(left - 4, py), (left, py)], fill=_INK, width=1)
        _text(img, (left - 6, py), _label(v, yfmt), 10, "rm")
    _text(img, ((left + right) / 2, height - 4), spec.xlabel, 11, "md")
    _text(img, (4, (top + bottom) / 2), spec.ylabel, 11, "lm", upwards=True)
    if spec.title:
        _text(img, ((left + right) / 2, top - 8), _fit(spec.title, _font(11), right - left),
              12, "md")  # fmt: skip
    _legend(img, draw, [line for line in spec.lines if line.label], (right, top))
    return img


def _fit(text: str, font: Any, room: float) -> str:
    while len(text) > 4 and font.getlength(text) > room:
        text = text[: max(4, int(len(text) * room / font.getlength(text)) - 1)] + "…"
    return text


@functools.lru_cache(maxsize=256)
def _text_mask(text: str, size: int, anchor: str, upwards: bool) -> tuple[Any, int, int]:
    """``text`` rendered once (labels recur from run to run): its coverage mask and the
    mask's offset from the anchor point (turned 90°, reading upwards, if asked)."""
    from PIL import Image, ImageDraw

    font = _font(size)
    x0, y0, x1, y1 = font.getbbox(text, anchor=anchor)
    mask = Image.new("L", (max(1, x1 - x0), max(1, y1 - y0)), 0)
    ImageDraw.Draw(mask).text((-x0, -y0), text, fill=255, font=font, anchor=anchor)
    if not upwards:
        return mask, x0, y0
    # turned about the anchor: the left edge stays at the anchor's x, centred on its y
    mask = mask.rotate(90, expand=True)
    return mask, 0, -mask.height // 2


def _text(img: Any, xy: tuple[float, float], text: str, size: int, anchor: str,
          upwards: bool = False) -> None:  # fmt: skip
    """Draw ``text`` in the ink colour at ``xy`` (Pillow's text anchors)."""
    if not text:
        return
    mask, dx, dy = _text_mask(text, size, anchor, upwards)
    img.paste(_INK, (round(xy[0]) + dx, max(0, round(xy[1]) + dy)), mask)


def _legend(img: Any, draw: Any, lines: list[LineSpec], corner: tuple[float, float]) -> None:
    """A framed legend in the top-right corner of the axes."""
    if not lines:
        return
    lines = lines[-8:]
    pad, swatch, row = 6, 18, 15
    font = _font(10)
    text_w = max(font.getlength(line.label or "") for line in lines)
    w = pad * 3 + swatch + text_w
    h = pad * 2 + row * len(lines)
    x1, y0 = corner[0] - 6, corner[1] + 6
    x0 = x1 - w
    draw.rectangle((x0, y0, x1, y0 + h), fill=_WHITE, outline=_LEGEND_EDGE, width=1)
    for i, line in enumerate(lines):
        cy = y0 + pad + row * i + row / 2
        draw.line([(x0 + pad, cy), (x0 + pad + swatch, cy)], fill=_rgb(line.color), width=2)
        _text(img, (x0 + 2 * pad + swatch, cy), line.label or "", 10, "lm")
