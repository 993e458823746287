"""A grid scan's HDF5 file carries an NXdata map: the signal on the grid, both motors as
axes, so a NeXus reader draws a map and not a zig-zag line. Read back with h5py."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from livescan.errors import RunEngineInterrupted
from livescan.export import HDF5Exporter
from livescan.plans import grid_scan
from livescan.sim import det4, direct_img, motor1, motor2, motor3


def _export(RE, tmp_path, plan):
    h5 = HDF5Exporter(str(tmp_path / "{start.scan_id}.h5"))
    events = []
    RE.subscribe_lossless(h5)
    RE.subscribe_lossless(lambda n, d: n == "event" and events.append(d))
    result = RE(plan)
    return result, h5.filenames[0], events


def _cell(event, axes, positions):
    """The grid cell of an event: the index of each motor's position on its axis."""
    return tuple(int(np.argmin(np.abs(positions[m] - event["data"][m]))) for m in axes)


@pytest.mark.parametrize("snake", [False, True], ids=["plain", "snake"])
def test_grid_scan_file_has_an_nxdata_map_on_both_motors(RE, tmp_path, snake):
    plan = grid_scan([det4], motor1, -1, 1, 3, motor2, -2, 2, 4, snake_axes=snake)
    result, path, events = _export(RE, tmp_path, plan)
    assert result.exit_status == "success" and len(events) == 12
    with h5py.File(path) as f:
        entry = f["entry"]
        assert entry.attrs["default"] == "primary_map"  # what a NeXus reader opens
        grid = entry["primary_map"]
        assert grid.attrs["NX_class"] == "NXdata"
        assert grid.attrs["signal"] == "det4"
        assert list(grid.attrs["axes"]) == ["motor1", "motor2"]
        assert grid.attrs["motor1_indices"] == 0 and grid.attrs["motor2_indices"] == 1
        positions = {m: grid[m][()] for m in ("motor1", "motor2")}
        np.testing.assert_allclose(positions["motor1"], np.linspace(-1, 1, 3))
        np.testing.assert_allclose(positions["motor2"], np.linspace(-2, 2, 4))
        signal = grid["det4"][()]
        assert signal.shape == (3, 4)
        seen = set()
        for event in events:
            i, j = _cell(event, ["motor1", "motor2"], positions)
            assert signal[i, j] == event["data"]["det4"], (event["seq_num"], i, j)
            seen.add((i, j))
        assert len(seen) == 12  # every cell, once
        # the flat event table is still there, in event order
        np.testing.assert_array_equal(
            entry["primary/motor2"][()], [e["data"]["motor2"] for e in events]
        )
        # the map is not the event order reshaped when rows are snaked
        flat = entry["primary/det4"][()].reshape(3, 4)
        assert np.array_equal(flat, signal) != snake


def test_a_three_motor_snaked_grid_puts_every_event_in_its_cell(RE, tmp_path):
    plan = grid_scan([det4], motor1, -1, 1, 2, motor2, -1, 1, 3, motor3, 0, 1, 2, snake_axes=True)
    _, path, events = _export(RE, tmp_path, plan)
    axes = ["motor1", "motor2", "motor3"]
    with h5py.File(path) as f:
        grid = f["entry/primary_map"]
        assert list(grid.attrs["axes"]) == axes
        assert [grid.attrs[f"{m}_indices"] for m in axes] == [0, 1, 2]
        positions = {m: grid[m][()] for m in axes}
        signal = grid["det4"][()]
        assert signal.shape == (2, 3, 2)
        cells = [_cell(e, axes, positions) for e in events]
        assert len(set(cells)) == 12
        for event, cell in zip(events, cells):
            assert signal[cell] == event["data"]["det4"]
            for m, k in zip(axes, cell):
                assert positions[m][k] == pytest.approx(event["data"][m])


def test_an_aborted_grid_leaves_the_missing_cells_empty(RE, tmp_path):
    seen = []

    def abort_after_five(name, doc):
        if name == "event":
            seen.append(doc)
            if len(seen) == 5:
                RE.abort("enough")

    RE.subscribe(abort_after_five)
    plan = grid_scan([det4, direct_img], motor1, -1, 1, 3, motor2, -1, 1, 3, snake_axes=True)
    with pytest.raises(RunEngineInterrupted, match="abort"):
        _export(RE, tmp_path, plan)
    with h5py.File(tmp_path / "1.h5") as f:
        n = len(f["entry/primary/seq_num"])
        assert 5 <= n < 9
        grid = f["entry/primary_map"]
        signal = grid["det4"][()]
        assert np.isfinite(signal).sum() == n  # one cell per event, the rest NaN
        assert "direct_img" not in grid  # frames stay in the event table only
        assert f["entry/primary/direct_img"].shape[0] == n
