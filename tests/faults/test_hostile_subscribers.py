"""Hostile lossy subscribers change nothing the lossless lane writes and cost at most the
lossy budget; a lossless subscriber failing on the stop leaves every record agreeing;
controls called from another thread report errors to the caller."""

from __future__ import annotations

import asyncio
import threading
import time

import h5py
import numpy as np
import pytest
import tifffile

from livescan import RunEngine
from livescan.errors import CriticalCallbackError
from livescan.export import HDF5Exporter, LiveTiffExporter
from livescan.plans import count
from livescan.sim import det, direct_img
from livescan.store import RunStore


class Keeper:
    """A lossless subscriber that keeps every document it gets (as an exporter keeps the
    start document and queued frames)."""

    def __init__(self):
        self.docs = []

    def __call__(self, name, doc):
        self.docs.append((name, doc))


def _mutator(name, doc):
    """Edits every document it gets and zeroes frames in place."""
    if name == "start":
        doc["sample"] = "../escaped"
        doc["scan_id"] = 999
        doc.clear()
    elif name == "event":
        frame = doc["data"]["direct_img"]
        doc["data"]["det"] = -1.0
        doc["seq_num"] = 0
        frame[...] = 0  # read-only: raises, and the lane logs it


def test_a_mutating_lossy_subscriber_changes_nothing_the_lossless_lane_writes(tmp_path):
    RE = RunEngine(display=False)
    db = RunStore(tmp_path / "store")
    keeper = Keeper()
    tiff = LiveTiffExporter(
        "direct_img", str(tmp_path / "tif/{start.sample}/{event.seq_num}.tif"), queue_size=4
    )
    h5 = HDF5Exporter(str(tmp_path / "h5/{start.sample}_{start.scan_id}.h5"))
    for sub in (db, keeper, tiff, h5):
        RE.subscribe_lossless(sub)
    RE.subscribe(_mutator)
    (uid,) = RE(count([det, direct_img], num=20), sample="si")
    run = db[uid]
    assert run.exit_status == "success" and run.start["sample"] == "si"
    frames = run["primary"]["direct_img"]
    assert frames.shape[0] == 20 and frames.any(axis=(1, 2)).all()  # no frame zeroed
    # TIFFs in the folder the real start names, equal to the recorded frames
    names = sorted((tmp_path / "tif/si").iterdir(), key=lambda p: int(p.stem))
    assert len(names) == 20 and not (tmp_path / "escaped").exists()
    for path, frame in zip(names, frames):
        np.testing.assert_array_equal(tifffile.imread(path), frame)
    with h5py.File(tmp_path / f"h5/si_{run.scan_id}.h5") as f:
        np.testing.assert_array_equal(f["entry/primary/direct_img"][()], frames)
    # What the lossless keeper holds is what the store recorded
    kept = [d for n, d in keeper.docs if n == "event"]
    assert [e["seq_num"] for e in kept] == list(range(1, 21))
    assert all(e["data"]["det"] != -1.0 for e in kept)
    for e, frame in zip(kept, frames):
        np.testing.assert_array_equal(e["data"]["direct_img"], frame)
    assert keeper.docs[0][1]["sample"] == "si"
    db.close()


@pytest.mark.parametrize("exc", [SystemExit, KeyboardInterrupt])
def test_base_exceptions_in_a_lossy_callback_neither_end_the_run_nor_leak(tmp_path, exc):
    RE = RunEngine(display=False)
    db = RunStore(tmp_path / "store")
    RE.subscribe_lossless(db)
    calls = []

    def hostile(name, doc):
        calls.append(name)
        if name == "event":
            raise exc("from a lossy callback")

    token = RE.subscribe(hostile)
    (first,) = RE(count([det], num=5))
    assert db[first].exit_status == "success" and len(db[first]["primary"]) == 5
    assert calls.count("event") >= 1
    RE.unsubscribe(token)
    ran = []

    def plan():
        ran.append("second")
        yield from count([det], num=2)

    (second,) = RE(plan())  # runs its own plan, once, now
    assert ran == ["second"] and db[second]["primary"].seq_num.tolist() == [1, 2]
    assert len(db) == 2 and RE.state == "idle"
    db.close()


def test_async_lossy_callbacks_obey_the_budget_and_leave_no_tasks(tmp_path):
    RE = RunEngine(display=False)
    calls = []

    async def slow(name, doc):
        await asyncio.sleep(0)
        calls.append(name)
        time.sleep(0.002)  # blocking work on the loop

    t0 = time.perf_counter()
    RE(count([det], num=2000))
    bare = time.perf_counter() - t0
    RE.subscribe(slow)
    t0 = time.perf_counter()
    RE(count([det], num=2000))
    elapsed = time.perf_counter() - t0
    blocked = 0.002 * calls.count("event")
    assert calls.count("start") == 1 and calls.count("stop") == 1
    # the subscriber blocked the loop for at most ~its budget (20 %) of the run
    assert blocked <= 0.3 * elapsed + 0.02, (blocked, elapsed)
    assert elapsed < 2.0 * bare + 0.3, (elapsed, bare)
    loop = RE._runner.get_loop()
    assert [t for t in asyncio.all_tasks(loop) if not t.done()] == []


def test_a_lossless_failure_on_the_stop_leaves_every_record_agreeing(tmp_path):
    RE = RunEngine(display=False)
    db = RunStore(tmp_path / "store")
    keeper = Keeper()
    h5 = HDF5Exporter(str(tmp_path / "{start.scan_id}.h5"))

    def fails_on_stop(name, doc):
        if name == "stop":
            raise RuntimeError("cannot finish")

    for sub in (db, h5, fails_on_stop, keeper):
        RE.subscribe_lossless(sub)
    with pytest.raises(CriticalCallbackError, match="cannot finish") as info:
        RE(count([det], num=3))
    stop = keeper.docs[-1][1]
    assert keeper.docs[-1][0] == "stop"
    # The stop had been composed and recorded before the failure: the error says so and
    # the store, the HDF5 file, the other subscribers and the error agree on it.
    assert f"exit_status={stop['exit_status']!r}" in str(info.value)
    assert db[-1].stop == stop
    with h5py.File(tmp_path / f"{db[-1].scan_id}.h5") as f:
        assert f["entry"].attrs["exit_status"] == stop["exit_status"]
    db.close()


def test_controls_from_another_thread_report_errors_to_the_caller(monkeypatch):
    RE = RunEngine(display=False)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:

        async def submit():
            return RE(count([det], num=None, delay=0.01))

        handle = asyncio.run_coroutine_threadsafe(submit(), loop).result(5)
        while RE.state != "running":
            time.sleep(0.01)

        set_state = RunEngine._set_state

        def boom(self, state):
            if state.value == "aborting":
                raise RuntimeError("refused abort")
            set_state(self, state)

        monkeypatch.setattr(RunEngine, "_set_state", boom)
        with pytest.raises(RuntimeError, match="refused abort"):
            RE.abort()  # runs on the loop's thread; its error reaches this thread
        monkeypatch.undo()
        RE.abort()
        asyncio.run_coroutine_threadsafe(asyncio.wait_for(handle._wait(), 10), loop).result(15)
        assert handle.exit_status == "abort"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
