"""The exporter chain and the store with the real RunEngine and simulated cameras.

The ``RE`` fixture validates every document with event_model; every file is read back
and compared with what the store recorded (and the store with the camera's own files).
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import tifffile

from livescan.callbacks import LiveTable
from livescan.documents import to_jsonable
from livescan.errors import CriticalCallbackError, FileExistsExportError
from livescan.export import (
    HDF5Exporter,
    LiveTiffExporter,
    export_hdf5,
    post_run,
    verify_files_saved,
)
from livescan.plans import count, grid_scan, scan
from livescan.sim import SimCamera, det, direct_img, img, motor, motor1, motor2
from livescan.store import RunStore, replay


@pytest.fixture
def db(tmp_path, RE):
    store = RunStore(tmp_path / "store")
    RE.subscribe_lossless(store)
    yield store
    store.close()


def _frames(run, field):
    return run["primary"][field]


@pytest.mark.parametrize("camera", [img, direct_img], ids=["file-backed", "inline"])
def test_scan_with_store_tiff_and_hdf5(RE, db, tmp_path, camera):
    field = camera.name
    tiff = LiveTiffExporter(field, str(tmp_path / "tiff/{start.scan_id}/{event.seq_num}.tif"))
    h5 = HDF5Exporter(str(tmp_path / "h5/scan_{start[scan_id]}.h5"))
    RE.subscribe_lossless(tiff)
    RE.subscribe_lossless(h5)
    result = RE(scan([det, camera], motor, -1, 1, num=5))
    assert result.exit_status == "success"
    run = db[-1]
    assert run.uid == result[0] and run.exit_status == "success"
    frames = _frames(run, field)
    # a file-backed frame is what the AD_HDF5 handler gives: a stack of one frame
    assert frames.shape == ((5, 1, 64, 64) if camera is img else (5, 64, 64))
    assert frames.dtype == np.uint16
    assert len(tiff.filenames) == 5
    for name, frame in zip(tiff.filenames, frames.reshape(5, 64, 64)):
        np.testing.assert_array_equal(tifffile.imread(name), frame)
    with h5py.File(h5.filenames[0]) as f:
        p = f["entry/primary"]
        np.testing.assert_array_equal(p[field][()], frames)
        np.testing.assert_allclose(p["motor"][()], np.linspace(-1, 1, 5))
        np.testing.assert_array_equal(p["det"][()], run["primary"]["det"])
        assert p.attrs["signal"] == "det" and list(p.attrs["axes"]) == ["motor"]
        assert f["entry"].attrs["scan_id"] == run.scan_id


def test_frames_in_the_store_equal_the_camera_file(RE, db):
    RE(count([img], 3))
    run = db[-1]
    resource = next(d for n, d in run.documents() if n == "resource")
    with h5py.File(f"{resource['root']}/{resource['resource_path']}") as f:
        np.testing.assert_array_equal(run["primary"]["img"][:, 0], f["/entry/data/data"][()])


@pytest.mark.parametrize("external", [True, False], ids=["file-backed", "inline"])
def test_3d_stacks_from_a_camera(RE, db, tmp_path, external):
    cam = SimCamera(
        "cam", shape=(8, 6), frames_per_point=3, external=external, root=str(tmp_path / "cam")
    )
    tiff = LiveTiffExporter("cam", str(tmp_path / "t/{event.seq_num}_{i}.tif"))
    h5 = HDF5Exporter(str(tmp_path / "{start.scan_id}.h5"))
    RE.subscribe_lossless(tiff)
    RE.subscribe_lossless(h5)
    RE(count([cam], 2))
    stacks = _frames(db[-1], "cam")
    assert stacks.shape == (2, 3, 8, 6)
    planes = stacks.reshape(-1, 8, 6)
    assert len(tiff.filenames) == 6
    for name, plane in zip(tiff.filenames, planes):
        np.testing.assert_array_equal(tifffile.imread(name), plane)
    with h5py.File(h5.filenames[0]) as f:
        np.testing.assert_array_equal(f["entry/primary/cam"][()], stacks)


def test_post_run_exports_after_the_run(RE, db, tmp_path):
    from_memory = LiveTiffExporter("img", str(tmp_path / "mem/{event.seq_num}.tif"))
    from_store = LiveTiffExporter("img", str(tmp_path / "db/{event.seq_num}.tif"))
    with pytest.warns(UserWarning, match="old argument order"):
        RE.subscribe("all", post_run(from_memory))  # the spec's order of arguments
    RE.subscribe(post_run(from_store, db=db))
    RE(count([img], 3))
    frames = _frames(db[-1], "img")[:, 0]
    for exp in (from_memory, from_store):
        assert len(exp.filenames) == 3
        for name, frame in zip(exp.filenames, frames):
            np.testing.assert_array_equal(tifffile.imread(name), frame)


def test_verify_files_saved_after_each_run(RE, db, capsys):
    RE.subscribe(post_run(verify_files_saved))
    RE(scan([det, img], motor, 0, 1, num=3))
    out = capsys.readouterr().out
    assert f"run {db[-1].uid[:8]} OK, all 5 checks passed" in out
    assert "3 of 3 datums" in out


def test_a_failing_exporter_ends_the_run_and_keeps_the_files(RE, db, tmp_path):
    template = str(tmp_path / "t/{event.seq_num}.tif")
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "3.tif").write_bytes(b"an earlier file")
    h5 = HDF5Exporter(str(tmp_path / "{start.scan_id}.h5"))
    tiff = LiveTiffExporter("img", template)
    seen = []
    RE.subscribe_lossless(h5)
    RE.subscribe_lossless(tiff)
    RE.subscribe_lossless(lambda name, doc: seen.append(name))  # after the failing one
    with pytest.raises(CriticalCallbackError) as info:
        RE(count([img], 5))
    err = info.value
    assert isinstance(err.__cause__, FileExistsExportError) or "exists" in str(err)
    assert "LiveTiffExporter" in str(err)
    run = db[-1]
    assert run.exit_status == "fail" and "LiveTiffExporter" in run.stop["reason"]
    assert seen[-1] == "stop"  # the other lossless subscribers got the stop
    # Every file written so far is complete and readable.
    frames = _frames(run, "img")[:, 0]
    assert len(frames) == 3  # the third event was recorded, then the exporter raised
    assert tiff.filenames == [str(tmp_path / "t/1.tif"), str(tmp_path / "t/2.tif")]
    for name, frame in zip(tiff.filenames, frames):
        np.testing.assert_array_equal(tifffile.imread(name), frame)
    assert (tmp_path / "t" / "3.tif").read_bytes() == b"an earlier file"
    with h5py.File(h5.filenames[0]) as f:
        assert f["entry"].attrs["exit_status"] == "fail"
        np.testing.assert_array_equal(f["entry/primary/img"][:, 0], frames)


def test_replay_equals_live_and_drives_a_live_table(RE, db, tmp_path):
    live_docs, live_lines = [], []
    RE.subscribe_lossless(lambda name, doc: live_docs.append((name, doc)))
    RE.subscribe_lossless(LiveTable(["det", "motor1"], out=live_lines.append, view="text"))
    RE(grid_scan([det, direct_img], motor1, -1, 1, 3, motor2, -1, 1, 2))
    replayed, lines = [], []
    replay(db[-1], lambda name, doc: replayed.append((name, doc)))
    replay(db[-1], LiveTable(["det", "motor1"], out=lines.append, view="text"))
    assert [n for n, _ in replayed] == [n for n, _ in live_docs]
    assert [[n, to_jsonable(d)] for n, d in replayed] == [[n, to_jsonable(d)] for n, d in live_docs]
    for (name, a), (_, b) in zip(live_docs, replayed):
        if name == "event":
            assert b["data"]["direct_img"].dtype == a["data"]["direct_img"].dtype
    assert lines == live_lines and len(lines) > 6
    # An exporter fed by replay writes what a live one would.
    path = export_hdf5(db[-1], tmp_path / "grid.h5")
    with h5py.File(path) as f:
        np.testing.assert_array_equal(
            f["entry/primary/direct_img"][()], _frames(db[-1], "direct_img")
        )
