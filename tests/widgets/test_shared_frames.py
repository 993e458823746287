"""One run, three readers of its file-backed frames (TIFF export, HDF5 export, LiveImage):
each frame is read from the camera's file once, and all three see the same pixels."""

from __future__ import annotations

import h5py
import numpy as np
import tifffile

from livescan.documents import HDF5FrameHandler
from livescan.export import HDF5Exporter, LiveTiffExporter
from livescan.plans import count
from livescan.sim import img
from livescan.widgets import LiveImage


def test_a_runs_readers_share_one_read_per_frame(RE, recorder, tmp_path, monkeypatch):
    reads: list[int] = []
    real_read = HDF5FrameHandler.__call__

    def counting_read(self, point_number, **kwargs):
        reads.append(int(point_number))
        return real_read(self, point_number, **kwargs)

    monkeypatch.setattr(HDF5FrameHandler, "__call__", counting_read)
    tiff = LiveTiffExporter("img", str(tmp_path / "tiff" / "{event.seq_num}.tif"))
    h5 = HDF5Exporter(str(tmp_path / "run.h5"))
    RE.subscribe_lossless(tiff)
    RE.subscribe_lossless(h5)
    live = LiveImage("img", max_frames=8)
    RE(count([img], num=6), live)

    assert sorted(reads) == sorted(set(reads)) and len(reads) == 6  # once per frame
    with h5py.File(h5.filenames[0], "r") as f:
        stored = f["entry/primary/img"][()]
    assert stored.shape == (6, 1, 64, 64)  # as the data key declares: one frame per datum
    stored = stored[:, 0]
    for i, name in enumerate(sorted(tiff.filenames, key=lambda p: int(p.rsplit("/", 1)[1][:-4]))):
        np.testing.assert_array_equal(tifffile.imread(name), stored[i])
    np.testing.assert_array_equal(live.frame(), stored[-1])
    np.testing.assert_array_equal(live.frame(3), stored[2])
