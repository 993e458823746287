"""The grid's pushed rows are exactly what ipydatagrid's own serializer makes of them."""

from __future__ import annotations

import json

import numpy as np

from livescan.widgets import TableGridView


def _plain(value, buffers):
    return json.loads(json.dumps(value, default=str)), [bytes(b) for b in buffers]


def test_pushed_rows_match_ipydatagrids_serializer(recorder) -> None:
    view = TableGridView()
    view.begin(["det", "name", "count"], {"det": 3}, {"det": "number", "name": "string",
               "count": "integer"})  # fmt: skip
    rng = np.random.default_rng(1)
    for i in range(300):
        det = None if i % 37 == 5 else float(rng.normal())
        view.row(i + 1, 1.7e9 + i * 0.01, [det, f"s{i % 7}", i * 3])
    grid = view.grid
    grid.push(0, 3)  # the first push of these columns takes ipydatagrid's way
    for start, stop, c1, c2 in [(0, 40, 0, 3), (100, 160, 1, 2), (5, 6, 3, 3), (250, 300, 0, 3),
                                (30, 45, 0, 1)]:  # fmt: skip
        frame = view._frame(start, stop).iloc[:, c1 : c2 + 1]
        expected = _plain(*grid._serialize_helper(frame))
        grid._serialize_rows(0, 2, c1, c2)  # known columns: built from the numpy columns
        assert _plain(*grid._serialize_rows(start, stop, c1, c2)) == expected
    sent = [m for m in recorder.for_widget(grid, method=None) if m.data.get("method") == "custom"]
    assert sent and sent[-1].data["content"]["event_type"] == "data-reply"
