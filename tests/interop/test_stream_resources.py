"""An ophyd-async file-writing detector (``SimBlobDetector``: ``read()`` gives ``{}``, its
frames come as stream_resource / stream_datum rows of its own HDF5 file) on livescan's
RunEngine, seen by every livescan callback, widget, exporter and the store: none raises,
and those that show or write frames fill them from the detector's file."""

from __future__ import annotations

from urllib.parse import urlparse

import bluesky.plans as bp
import h5py
import numpy as np
import pytest
import tifffile

from livescan import RunEngine
from livescan.callbacks import DocumentCollector, LiveTable, post_run
from livescan.export import HDF5Exporter, LiveTiffExporter
from livescan.store import RunStore
from livescan.widgets import LiveImage, LivePlot
from tests.interop.test_scenarios import _connect, _ophyd_async_devices


def _file_frames(docs):
    """The frames the detector wrote, read from its file after the run."""
    (sr,) = [d for n, d in docs if n == "stream_resource" and d["data_key"] == "blob"]
    with h5py.File(urlparse(sr["uri"]).path, "r") as f:
        return f[sr["parameters"]["dataset"]][()], f["/entry/sum"][()]


def test_stream_resource_rows_reach_every_callback_and_fill_frames(tmp_path, recorder):
    m, blob, point = _ophyd_async_devices(tmp_path)
    RE = RunEngine(display=False)
    RE(_connect(m, blob, point))
    docs = DocumentCollector()
    store = RunStore(tmp_path / "store")
    h5 = HDF5Exporter(str(tmp_path / "h5" / "{start.scan_id}.h5"))
    tiff = LiveTiffExporter("blob", str(tmp_path / "tif" / "{event.seq_num}.tif"))
    after: list[tuple[str, dict]] = []
    for cb in (docs, store, h5, tiff):
        RE.subscribe_lossless(cb)
    lines: list[str] = []
    table = LiveTable(["m", "point-channel-1-value", "blob-sum"], view="text", out=lines.append)
    plot = LivePlot("point-channel-1-value", "m")
    sum_plot = LivePlot("blob-sum", "m")  # a value only the detector's file holds
    image = LiveImage("blob")
    filled = post_run(lambda n, d: after.append((n, d)), fill=True)
    handles: list = []
    RE.add_listener(handles.append)
    with pytest.warns(UserWarning, match="LiveTable skips the array field 'blob-sum'"):
        result = RE(bp.scan([point, blob], m, -1, 1, 3), [table, plot, sum_plot, image, filled])
    assert result.exit_status == "success", result.reason
    (handle,) = set(handles)
    assert handle.callback_errors == []  # no lossy subscriber raised
    names = [n for n, _ in docs.documents]
    assert names.count("stream_resource") == 2 and names.count("stream_datum") == 6
    assert names.count("event") == 3
    assert all("blob" not in d["data"] for n, d in docs.documents if n == "event")
    frames, sums = _file_frames(docs.documents)
    assert frames.shape == (3, 240, 320) and frames.any()

    # LiveTable: the motor and the point detector; the detector's sum (an array of one,
    # not in the events) is skipped with a warning, no error
    rows = [line for line in lines if line.startswith("|")]
    assert len(rows) == 1 + 3 and "blob-sum" not in rows[0]
    assert all(row.split("|")[-2].strip() == "290" for row in rows[1:])
    # LivePlot: three points of the point detector; the streamed one plots nothing
    ((x, y),) = plot.data
    np.testing.assert_array_equal(x, [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(y, [290, 290, 290])
    assert all(len(y) == 0 for _, y in sum_plot.data)
    # LiveImage: the three frames, read from the detector's file when shown
    assert image.seq_nums == [1, 2, 3]
    for seq in (1, 2, 3):
        np.testing.assert_array_equal(image.frame(seq), frames[seq - 1])
    # the store: every document, and the frames by seq_num from the detector's file
    (run,) = list(store)
    assert [n for n, _ in run.documents()] == names
    primary = run["primary"]
    assert primary["blob"].shape == (3, 1, 240, 320)  # as the data key declares
    np.testing.assert_array_equal(primary["blob"][:, 0], frames)
    np.testing.assert_array_equal(primary["blob-sum"][:, 0], sums)
    np.testing.assert_array_equal(primary["m"], [-1.0, 0.0, 1.0])
    # HDF5: the rows copied in beside the events, the stream documents kept
    with h5py.File(h5.filenames[0]) as f:
        p = f["entry/primary"]
        np.testing.assert_array_equal(p["m"][()], [-1.0, 0.0, 1.0])
        np.testing.assert_array_equal(p["blob"][:, 0], frames)
        np.testing.assert_array_equal(p["blob-sum"][:, 0], sums)
        assert len(f["entry/documents/stream_resources"]) == 2
        assert len(f["entry/documents/stream_datums"]) == 6
    # TIFF: one file per frame
    assert len(tiff.filenames) == 3
    for name, frame in zip(tiff.filenames, frames):
        np.testing.assert_array_equal(tifffile.imread(name), frame)
    # post_run(fill=True): the events come filled with the detector's rows
    events = [d for n, d in after if n == "event"]
    assert [n for n, _ in after] == names
    for event, frame in zip(events, frames):
        assert event["filled"]["blob"] is True
        np.testing.assert_array_equal(event["data"]["blob"][0], frame)
    store.close()
    RE.close()


def test_hdf5_without_fill_leaves_streamed_keys_out(tmp_path):
    m, blob, _ = _ophyd_async_devices(tmp_path)
    RE = RunEngine(display=False)
    RE(_connect(m, blob))
    h5 = HDF5Exporter(str(tmp_path / "{start.scan_id}.h5"), fill=False)
    RE.subscribe_lossless(h5)
    assert RE(bp.count([blob], num=2)).exit_status == "success"
    with h5py.File(h5.filenames[0]) as f:
        assert "blob" not in f["entry/primary"]
        assert len(f["entry/documents/stream_datums"]) == 4
    RE.close()


def test_a_fly_scan_of_a_file_writing_detector_has_rows_and_no_events(tmp_path, recorder):
    """prepare / kickoff / complete / collect of SimBlobDetector: the stream's data are
    stream_datum rows only; the store, LiveImage and the HDF5 file still give them."""
    from tests.interop.test_scenarios import scenario_ophyd_async_fly_file_writer

    RE = RunEngine(display=False)
    docs = DocumentCollector()
    store = RunStore(tmp_path / "store")
    h5 = HDF5Exporter(str(tmp_path / "h5" / "{start.scan_id}.h5"))
    for cb in (docs, store, h5):
        RE.subscribe_lossless(cb)
    image = LiveImage("blob")
    result = RE(scenario_ophyd_async_fly_file_writer(None, tmp_path), image)
    assert result.exit_status == "success", result.reason
    names = [n for n, _ in docs.documents]
    assert "event" not in names and "event_page" not in names
    assert docs.documents[-1][1]["num_events"] == {"primary": 4}
    frames, sums = _file_frames(docs.documents)
    assert frames.shape == (4, 240, 320)
    assert image.seq_nums == [1, 2, 3, 4]
    np.testing.assert_array_equal(image.frame(4), frames[3])
    primary = store[-1]["primary"]
    assert len(primary) == 0  # no events
    np.testing.assert_array_equal(primary["blob"][:, 0], frames)  # the rows, by seq_num
    with h5py.File(h5.filenames[0]) as f:
        p = f["entry/primary"]
        np.testing.assert_array_equal(p["seq_num"][()], [1, 2, 3, 4])
        np.testing.assert_array_equal(p["blob"][:, 0], frames)
        np.testing.assert_array_equal(p["blob-sum"][:, 0], sums)
    store.close()
    RE.close()
