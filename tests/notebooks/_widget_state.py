"""Read the widget state nbclient stored in an executed notebook.

``WidgetState(nb)`` decodes ``nb.metadata.widgets['application/vnd.jupyter.widget-state+json']``
(binary buffers included) and answers what the tests ask: the run boxes livescan displays
(status header + the run's widgets), the bqplot lines, heat maps, grids and image viewers.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MIME = "application/vnd.jupyter.widget-state+json"
_REF = "IPY_MODEL_"
_HEADER = re.compile(
    r"<b>(?P<plan>[^<]+)</b> · scan (?P<scan>\d+|–) · "
    r"<span class='livescan-state'[^>]*>(?P<state>[^<]+)</span>"
)
_EVENTS = re.compile(r"<span class='livescan-events'>(?P<n>\d+)</span>")
_SUMMARY = re.compile(r"\(scan num: (?P<scan>\d+)\)")
_FRAME = re.compile(r"frame <b>(?P<i>\d+)</b> of (?P<n>\d+)")
_RASTER_TITLE = re.compile(r" · scan (?P<scan>\d+)$")


@dataclass
class Model:
    id: str
    name: str
    state: dict[str, Any]
    buffers: dict[tuple[str, ...], bytes] = field(default_factory=dict)

    @property
    def classes(self) -> list[str]:
        return list(self.state.get("_dom_classes") or [])

    def array(self, trait: str) -> np.ndarray:
        """A bqplot array trait (``{'dtype', 'shape', 'value'}`` + a binary buffer)."""
        spec = self.state[trait]
        raw = self.buffers[(trait, "value")]
        return np.frombuffer(raw, dtype=spec["dtype"]).reshape(spec["shape"])


class WidgetState:
    def __init__(self, nb: Any) -> None:
        widgets = nb.metadata.get("widgets", {})
        assert MIME in widgets, "the notebook stored no widget state"
        self.models: dict[str, Model] = {}
        for mid, entry in widgets[MIME]["state"].items():
            buffers = {
                tuple(b["path"]): base64.b64decode(b["data"]) for b in entry.get("buffers", [])
            }
            self.models[mid] = Model(mid, entry["model_name"], entry["state"], buffers)

    # -- graph ---------------------------------------------------------------------------
    def ref(self, value: Any) -> Model | None:
        if isinstance(value, str) and value.startswith(_REF):
            return self.models.get(value[len(_REF) :])
        return None

    def children(self, model: Model) -> list[Model]:
        """Models this one refers to (box children, figure marks/axes, a mark's image …)."""
        out = []
        for key, value in model.state.items():
            if key in ("layout", "style") or key.startswith("_"):
                continue
            values = value if isinstance(value, list) else [value]
            if isinstance(value, dict):
                values = list(value.values())
            for v in values:
                child = self.ref(v)
                if child is not None:
                    out.append(child)
        return out

    def hidden(self, model: Model) -> bool:
        """Whether ``model``'s layout hides it (``display: none``)."""
        layout = self.ref(model.state.get("layout"))
        return layout is not None and layout.state.get("display") == "none"

    def descendants(self, model: Model) -> list[Model]:
        seen: dict[str, Model] = {}
        todo = [model]
        while todo:
            m = todo.pop()
            for c in self.children(m):
                if c.id not in seen:
                    seen[c.id] = c
                    todo.append(c)
        return list(seen.values())

    def of(self, name: str) -> list[Model]:
        return [m for m in self.models.values() if m.name == name]

    def with_class(self, cls: str) -> list[Model]:
        return [m for m in self.models.values() if cls in m.classes]

    # -- livescan run boxes ----------------------------------------------------------------
    def run_boxes(self) -> list[dict[str, Any]]:
        """Each displayed run: scan id, plan, state, events shown, and its widgets' models."""
        runs = []
        for box in self.with_class("livescan-run"):
            status = next(m for m in self.children(box) if "livescan-run-status" in m.classes)
            texts = [
                m.state["value"]
                for m in self.descendants(status)
                if isinstance(m.state.get("value"), str)
            ]
            header = next(_HEADER.search(t) for t in texts if _HEADER.search(t))
            events = next(_EVENTS.search(t) for t in texts if _EVENTS.search(t))
            runs.append(
                {
                    "scan_id": None if header["scan"] == "–" else int(header["scan"]),
                    "plan": header["plan"],
                    "state": header["state"],
                    "events": int(events["n"]),
                    "models": {m.id for m in self.descendants(box)},
                }
            )
        return runs

    def latest_run_showing(self, model: Model) -> int | None:
        """The highest scan id among the run boxes that show ``model`` (a reused widget
        shows the last run it was given)."""
        ids = [r["scan_id"] for r in self.run_boxes() if model.id in r["models"]]
        return max(ids) if ids else None

    # -- widgets ----------------------------------------------------------------------------
    def figure_of(self, mark: Model) -> Model:
        return next(
            f for f in self.of("FigureModel") if _REF + mark.id in (f.state.get("marks") or [])
        )

    def plot_lines(self) -> list[dict[str, Any]]:
        """LivePlot lines: label ``'<scan_id>: …'``, figure title ``'<y> vs <x>'``, x, y."""
        out = []
        for m in self.of("LinesModel"):
            labels = m.state.get("labels") or []
            match = re.match(r"(\d+): ", labels[0]) if labels else None
            if not match:
                continue  # profile and crosshair lines of LiveImage
            title = self.figure_of(m).state.get("title", "")
            y, _, x = title.partition(" vs ")
            out.append(
                {
                    "scan_id": int(match[1]),
                    "label": labels[0],
                    "y_field": y,
                    "x_field": x,
                    "x": m.array("x"),
                    "y": m.array("y"),
                }
            )
        return out

    def heat_maps(self) -> list[dict[str, Any]]:
        """LiveRaster figures: title, scan id, the colour bar's limits and the raster as
        its PNG tiles draw it (``rgba``, row 0 first; tiles are bands of rows in order,
        each PNG with its last row on top)."""
        from PIL import Image

        out = []
        for fig in self.with_class("livescan-raster"):
            title = fig.state.get("title", "")
            match = _RASTER_TITLE.search(title)
            bands: list[list[np.ndarray]] = []
            last_y = None
            for mark in map(self.ref, fig.state.get("marks") or []):
                png = self.ref(mark.state["image"]).buffers[("value",)]
                with Image.open(io.BytesIO(png)) as im:
                    tile = np.asarray(im.convert("RGBA"))[::-1]
                y = tuple(mark.array("y").tolist())
                if y != last_y:
                    bands.append([])
                    last_y = y
                bands[-1].append(tile)
            scale = next(
                self.ref(a.state["scale"])
                for a in map(self.ref, fig.state.get("axes") or [])
                if a.name == "ColorAxisModel"
            )
            out.append(
                {
                    "scan_id": int(match["scan"]) if match else None,
                    "title": title,
                    "rgba": np.vstack([np.hstack(b) for b in bands]),
                    "clim": (scale.state["min"], scale.state["max"]),
                }
            )
        return out

    def tables(self) -> list[dict[str, Any]]:
        out = []
        for box in self.with_class("livescan-livetable"):
            parts = self.children(box)
            # live: a StreamingDataGrid; a finished small table: a DataGrid holding its rows.
            # They sit in a box of grids, the one shown last (those before it are hidden).
            names = ("StreamingDataGridModel", "DataGridModel")
            grid = [g for p in parts if not self.hidden(p) for g in self.children(p)
                    if g.name in names and not self.hidden(g)][-1]  # fmt: skip
            summary = " ".join(p.state.get("value", "") for p in parts if p.name == "HTMLModel")
            match = _SUMMARY.search(summary)
            fields = [f["name"] for f in grid.state["_data"]["schema"]["fields"]]
            out.append(
                {
                    "scan_id": int(match["scan"]) if match else None,
                    "rows": _grid_rows(grid),
                    "fields": fields,
                    "box": box,
                }
            )
        return out

    def image_viewers(self) -> list[dict[str, Any]]:
        out = []
        for box in self.with_class("livescan-liveimage"):
            parts = self.descendants(box)
            info = " ".join(p.state.get("value", "") for p in parts if p.name == "HTMLModel")
            match = _FRAME.search(info)
            slider = next(
                p
                for p in parts
                if p.name == "IntSliderModel" and p.state.get("description") == "frame"
            )
            pngs = [p.buffers[("value",)] for p in parts if ("value",) in p.buffers]
            out.append(
                {
                    "box": box,
                    "frame": int(match["i"]) if match else None,
                    "frames": int(match["n"]) if match else None,
                    "slider": (slider.state["value"], slider.state["max"]),
                    "png": pngs[0] if pngs else b"",
                }
            )
        return out


def png_luminance(png: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        return np.asarray(im.convert("L"), dtype=float)


def _grid_rows(grid: Any) -> int:
    if "_row_count" in grid.state:
        return int(grid.state["_row_count"])
    column = grid.state["_data"]["data"]["seq_num"]
    return int(column["shape"][0]) if isinstance(column, dict) else len(column)
