"""Static fallbacks of a finished run's output: text tables and one PNG of the figures."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from livescan.callbacks import LiveImage, LivePlot, LiveRaster, LiveTable
from livescan.jupyter._fallback import fallback_image, fallback_text, static_bundle
from livescan.plans import count, grid_scan, scan
from livescan.sim import det, det4, direct_img, motor, motor1, motor2


def test_text_fallback_is_the_bluesky_table_of_every_row(RE, recorder) -> None:
    grid = LiveTable([det, motor], view="grid")
    text_lines: list[str] = []
    text = LiveTable([det, motor], view="text", out=text_lines.append)

    class Handle:
        plan_name, scan_id, exit_status, num_points, num_events = "scan", 1, "success", 5, 5
        elapsed, reason = 0.1, ""

    RE(scan([det], motor, -1, 1, num=5), [grid, text])
    out = fallback_text(Handle(), [grid, LivePlot("det", "motor")])
    first, table = out.split("\n\n")
    assert first == "scan (scan 1): success, 5/5 events in 0.1 s"
    assert table.splitlines() == text_lines  # same rows, same layout, same summary


def test_png_fallback_draws_plot_raster_and_frame(RE, recorder) -> None:
    plot = LivePlot("det", "motor")
    raster = LiveRaster((5, 6), "det4", xlabel="motor2", ylabel="motor1")
    image = LiveImage("direct_img")
    RE(scan([det], motor, -2, 2, num=21), plot)
    RE(grid_scan([det4], motor1, -1, 1, 5, motor2, -1, 1, 6), raster)
    RE(count([direct_img], num=2), image)
    png = fallback_image([plot, raster, image, LiveTable(["det"], view="text")])
    assert png is not None and png.startswith(b"\x89PNG")
    picture = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    h, w, _ = picture.shape
    assert w > 600 and h > 400  # two columns, two rows of panels
    # the panels are not blank: many distinct colours (line, heat map, frame)
    colours = {tuple(c) for c in picture.reshape(-1, 3)[::7]}
    assert len(colours) > 100
    assert fallback_image([LiveTable(["det"], view="text")]) is None


def test_bundle_keeps_the_widget_view_and_the_summary_goes_to_the_fallback(recorder) -> None:
    """The live output is shown once and never updated (JupyterLab would build every view
    in it again): its text must stay true, the run's summary is the fallback's first line."""
    import ipywidgets

    box = ipywidgets.VBox()

    class Handle:
        plan_name, scan_id, exit_status, num_points, num_events = "count", 2, "abort", 9, 3
        elapsed, reason = 1.25, "aborted by the user"

    bundle = static_bundle(box, Handle())
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == box.model_id
    assert bundle["text/plain"] == "count: live view; the run's summary follows"
    assert "image/png" not in bundle
    assert (
        fallback_text(Handle(), [])
        == "count (scan 2): abort, 3/9 events in 1.2 s — aborted by the user"
    )


def test_any_view_that_implements_the_protocols_leaves_a_fallback() -> None:
    """The fallback asks StaticFallback's two protocols, not class names: a third-party
    view gets its text block and its panel; text-mode tables and plain callables none."""
    from livescan.protocols import FigureFallback, StaticFallback, TextFallback

    class Notes:
        def fallback_text(self) -> str:
            return "my notes"

    class Spot:
        def draw_fallback(self, fig, ax) -> None:
            ax.imshow(np.tile(np.array([1.0, 0.0, 0.0]), (4, 4, 1)))  # pure red

    class Handle:
        plan_name, scan_id, exit_status, num_points, num_events = "count", 2, "success", 1, 1
        elapsed, reason = 0.0, ""

    text_table = LiveTable(["det"], view="text", out=lambda line: None)
    assert isinstance(Notes(), TextFallback) and isinstance(Spot(), FigureFallback)
    assert isinstance(text_table, StaticFallback) and not isinstance(print, StaticFallback)
    out = fallback_text(Handle(), [Notes(), text_table, print])
    assert out.split("\n\n") == ["count (scan 2): success, 1/1 events in 0.0 s", "my notes"]
    assert fallback_image([Notes(), print]) is None
    rgb = np.asarray(Image.open(io.BytesIO(fallback_image([Spot()]))).convert("RGB")).astype(int)
    red = (rgb[..., 0] > 200) & (rgb[..., 1] < 40) & (rgb[..., 2] < 40)
    assert red.mean() > 0.2  # the panel Spot drew fills much of the picture


def test_a_long_table_leaves_its_first_and_last_rows_and_how_many_are_left_out(
    RE, recorder
) -> None:
    from livescan.widgets._fallback import HEAD_ROWS, TAIL_ROWS

    grid = LiveTable([det], view="grid")
    RE(count([det], num=5000), grid)
    text = grid.fallback_text()
    assert text is not None
    rows = [line for line in text.splitlines() if line.split("|")[1:2] and
            line.split("|")[1].strip().isdigit()]  # fmt: skip
    seqs = [int(line.split("|")[1]) for line in rows]
    assert seqs == [*range(1, HEAD_ROWS + 1), *range(5001 - TAIL_ROWS, 5001)]
    assert f"… {5000 - HEAD_ROWS - TAIL_ROWS:,} rows not shown …" in text
    assert len(text) < 4000  # bounded, whatever the run's length
    short = LiveTable([det], view="grid")
    RE(count([det], num=HEAD_ROWS + TAIL_ROWS), short)
    assert "not shown" not in short.fallback_text()


def test_a_long_line_is_drawn_decimated_and_a_fixed_clim_is_honoured(RE, recorder) -> None:
    from matplotlib.figure import Figure

    from livescan.widgets._fallback import MAX_LINE_POINTS

    plot = LivePlot("det")
    RE(count([det], num=50_000), plot)
    fig = Figure()
    ax = fig.add_subplot()
    plot.draw_fallback(fig, ax)
    (line,) = ax.get_lines()
    assert len(line.get_xdata()) <= MAX_LINE_POINTS
    assert line.get_marker() in (None, "None", "")

    image = LiveImage("direct_img", clim=(0, 10))
    RE(count([direct_img], num=1), image)
    fig = Figure()
    ax = fig.add_subplot()
    image.draw_fallback(fig, ax)
    assert ax.get_images()[0].get_clim() == (0.0, 10.0)


def test_the_fallback_output_carries_text_picture_and_html_that_hides_beside_live_widgets() -> None:
    import base64

    from livescan.widgets import fallback_bundle

    png = b"\x89PNG fake"
    bundle = fallback_bundle("a <table>", png)
    assert bundle["text/plain"] == "a <table>"
    assert base64.b64decode(bundle["image/png"]) == png
    html = bundle["text/html"]
    assert '<pre style="font-family:monospace">a &lt;table&gt;</pre>' in html
    assert f'src="data:image/png;base64,{bundle["image/png"]}"' in html
    assert ":has(.livescan-live) .livescan-fallback{display:none}" in html
    assert "image/png" not in fallback_bundle("only text", None)


def test_plots_alone_are_drawn_by_pillow_with_each_runs_line_where_its_data_are(
    RE, recorder
) -> None:
    """Line plots alone skip matplotlib (tens of ms, on an awaited run's path): each run's
    line in its colour at the place its data put it, decimated, clipped to fixed limits."""
    from livescan.widgets._fallback import MAX_LINE_POINTS
    from livescan.widgets._line_png import _MARGIN, PANEL, plot_spec

    plot = LivePlot("det", "motor")
    RE(scan([det], motor, -1, 1, num=41), plot)  # a peak at motor = 0
    RE(scan([det], motor, 0, 1, num=11), plot)
    rgb = np.asarray(Image.open(io.BytesIO(fallback_image([plot]))).convert("RGB")).astype(int)
    assert rgb.shape == (PANEL[1], PANEL[0], 3)

    def near(color: str) -> np.ndarray:
        want = np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)])
        return np.abs(rgb - want).sum(axis=-1) < 60

    first, second = near(plot.runs[0].mark.colors[0]), near(plot.runs[1].mark.colors[0])
    assert first.sum() > 300 and second.sum() > 100
    left, right = _MARGIN["left"], PANEL[0] - _MARGIN["right"]
    rows, cols = np.nonzero(first[:, left:right])
    peak = left + cols[rows == rows.min()].mean()
    assert abs(peak - (left + right) / 2) < 8  # the top of the curve is at motor = 0
    assert np.nonzero(second)[1].min() > (left + right) / 2 - 8  # motor 0..1 only

    long = LivePlot("det", ylim=(0.5, 0.6))
    RE(count([det], num=50_000), long)  # det reads 1.0: outside the fixed limits
    (line,) = plot_spec(long).lines
    assert len(line.x) <= MAX_LINE_POINTS
    rgb = np.asarray(Image.open(io.BytesIO(fallback_image([long]))).convert("RGB")).astype(int)
    below_legend = near(long.runs[0].mark.colors[0])[_MARGIN["top"] + 40 :]
    assert below_legend.sum() == 0  # clipped: the line is drawn nowhere in the axes


def test_a_noisy_line_drawn_through_a_thickened_mask_covers_what_a_wide_line_covers() -> None:
    # a line that travels far is drawn 1 px wide on a mask thickened by numpy (Pillow's
    # wide lines cost ~8 ms for a noisy 2,000-point line): the same pixels, near enough
    from PIL import ImageDraw

    from livescan.widgets._line_png import _stroke

    rng = np.random.default_rng(3)
    size = (868, 572)
    px = np.linspace(0, size[0] - 1, 2000)
    py = size[1] / 2 + size[1] / 6 * rng.normal(size=2000)
    seg = list(zip(px.tolist(), py.tolist(), strict=True))
    drawn = Image.new("RGB", size, (255, 255, 255))
    _stroke(drawn, ImageDraw.Draw(drawn), [seg], (31, 119, 180))
    wide = Image.new("RGB", size, (255, 255, 255))
    ImageDraw.Draw(wide).line(seg, fill=(31, 119, 180), width=3)
    a = np.asarray(drawn)[..., 0] != 255
    b = np.asarray(wide)[..., 0] != 255
    assert a.sum() > 0.2 * a.size  # it did go the mask's way: the line covers a lot
    assert (a & b).sum() / (a | b).sum() > 0.85
    # a smooth line takes Pillow's own way, unchanged
    calm = [(float(x), 286.0 + 40 * np.sin(x / 100)) for x in range(0, 860, 4)]
    both = [Image.new("RGB", size, (255, 255, 255)) for _ in range(2)]
    _stroke(both[0], ImageDraw.Draw(both[0]), [calm], (255, 127, 14))
    ImageDraw.Draw(both[1]).line(calm, fill=(255, 127, 14), width=3)
    assert np.array_equal(np.asarray(both[0]), np.asarray(both[1]))
