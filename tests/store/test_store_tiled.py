"""TiledStore against a real tiled server (``tiled serve catalog --temp``) on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from livescan.documents import Filler
from livescan.errors import CriticalCallbackError, StoreError
from livescan.plans import count, scan
from livescan.sim import default_data_root, det, direct_img, img, motor
from livescan.store import TiledStore, replay
from livescan.testing import DocumentValidator
from tests.remote._servers import TiledServer, child_env, free_port


@pytest.fixture(scope="module")
def tiled_server(tmp_path_factory):
    with TiledServer(tmp_path_factory.mktemp("tiled"), readable=[default_data_root()]) as s:
        yield s


def _client(server):
    from tiled.client import from_uri

    return from_uri(server.uri, api_key=server.api_key)


class _Live:
    """The live events, with file-backed frames loaded as they arrive."""

    def __init__(self):
        self.filler = Filler()
        self.rows = []

    def __call__(self, name, doc):
        name, doc = self.filler(name, doc)
        if name == "event":
            self.rows.append(doc["data"])


def test_values_and_frames_read_back_by_tiled_equal_the_live_events(RE, tiled_server):
    db = TiledStore(tiled_server.uri, api_key=tiled_server.api_key)
    live = _Live()
    seen_mid_run = []

    def peek(name, doc):  # while the run goes on, tiled already has its rows
        if name == "event" and doc["seq_num"] == 10:
            db.flush()
            node = _client(tiled_server)[RE_uid[0]]
            seen_mid_run.append((len(node["primary"].base["internal"].read()), node.metadata))

    RE_uid = []
    RE.subscribe_lossless(lambda n, d: n == "start" and RE_uid.append(d["uid"]))
    RE.subscribe_lossless(db)
    RE.subscribe_lossless(live)
    RE.subscribe_lossless(peek)
    (uid,) = RE(scan([det, img, direct_img], motor, -1, 1, num=25), sample="Si")
    db.flush()
    rows, meta = seen_mid_run[0]
    assert rows >= 10 and "stop" not in meta

    c = _client(tiled_server)
    run = c[uid]
    assert [s.name for s in run.specs] == ["BlueskyRun"]
    assert run.metadata["start"]["sample"] == "Si"
    assert run.metadata["stop"]["exit_status"] == "success"
    assert run.metadata["stop"]["num_events"] == {"primary": 25}
    primary = run["primary"]
    assert {s.name for s in primary.specs} == {"BlueskyEventStream", "composite"}
    assert primary.metadata["data_keys"]["img"]["external"]
    table = primary.base["internal"].read()
    assert list(table["seq_num"]) == list(range(1, 26))
    for key in ("det", "motor"):
        np.testing.assert_array_equal(primary[key].read(), [r[key] for r in live.rows])
    for key in ("img", "direct_img"):  # the frames, read by tiled's own client
        frames = np.stack([r[key] for r in live.rows])  # img: (25, 1, 64, 64), one per datum
        # tiled serves the camera's file itself: its frames, (25, 64, 64)
        np.testing.assert_array_equal(primary[key].read(), frames.reshape(25, 64, 64))
    source = primary.base["img"].data_sources()[0]  # the camera's HDF5 file, not a copy
    assert source.management == "external" and source.mimetype == "application/x-hdf5"
    assert source.assets[0].data_uri.startswith(f"file://localhost{default_data_root()}")

    # The RunStore reading API on top.
    assert db[-1].uid == uid and db[uid[:8]].uid == uid and uid in db
    assert db[run.metadata["start"]["scan_id"]].uid == uid
    assert [r.uid for r in db.search(sample="Si")][-1] == uid
    assert db[-1].exit_status == "success"
    np.testing.assert_array_equal(db[-1]["primary"]["img"], primary["img"].read())
    validator = DocumentValidator()
    assert replay(db[-1], validator) == 1 + 1 + 25 + 1
    assert validator.runs == 1

    # The dashboard lists the runs in tiled and replays one into its views.
    from livescan.jupyter import Dashboard

    dash = Dashboard(store=db)
    dash.refresh_runs()
    assert any(uid == value for _, value in dash.run_list.options)
    assert dash.show_run(uid) is True and "det" in dash.plots
    np.testing.assert_allclose(dash.plots["det"].data[-1][1], [r["det"] for r in live.rows])
    db.close()


def test_a_bad_address_or_key_gives_one_clear_error(tiled_server):
    with pytest.raises(StoreError, match="cannot reach the tiled server"):
        TiledStore(f"http://127.0.0.1:{free_port()}", api_key="x")
    with pytest.raises(StoreError, match="API key"):
        TiledStore(tiled_server.uri, api_key="not-the-key")


WRITER = textwrap.dedent(
    """
    import sys
    from livescan import RunEngine
    from livescan.plans import count
    from livescan.sim import det, img
    from livescan.store import TiledStore

    db = TiledStore(sys.argv[1], api_key=sys.argv[2])
    RE = RunEngine(display=False)
    RE.subscribe_lossless(db)

    def report(name, doc):
        if name == "start":
            print("start", doc["uid"], flush=True)
        elif name == "event" and doc["seq_num"] % 20 == 0:
            db.flush()  # everything up to here is in tiled
            print("event", doc["seq_num"], flush=True)

    RE.subscribe_lossless(report)
    RE(count([det, img], num=None, delay=0.002))  # runs until killed
    """
)


def test_sigkill_of_the_writer_leaves_the_server_consistent(tiled_server):
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, tiled_server.uri, tiled_server.api_key],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(),
    )  # fmt: skip
    try:
        uid, flushed = None, 0
        for line in child.stdout:
            word, value = line.split()
            if word == "start":
                uid = value
            elif int(value) >= 60:
                flushed = int(value)
                break
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
    assert uid is not None and flushed >= 60, child.stderr.read()
    run = _client(tiled_server)[uid]  # readable after the writer died
    assert "stop" not in run.metadata  # and visibly unfinished
    seq = run["primary"].base["internal"].read()["seq_num"].to_numpy()
    assert len(seq) >= flushed and list(seq) == list(range(1, len(seq) + 1))
    frames = run["primary"]["img"].read()
    assert flushed <= len(frames) <= len(seq) and frames.shape[1:] == (64, 64)
    db = TiledStore(_client(tiled_server))
    assert db[uid].stop is None and db[uid].exit_status is None
    assert "unfinished" in repr(db[uid]) and len(db[uid]["primary"]) == len(seq)


def test_the_server_going_away_ends_the_run_cleanly(RE, tmp_path):
    server = TiledServer(tmp_path / "tiled").start()
    try:
        db = TiledStore(server.uri, api_key=server.api_key, timeout=1.0)
        stops = []
        RE.subscribe_lossless(db)
        RE.subscribe_lossless(lambda n, d: n == "stop" and stops.append(d))
        RE.subscribe_lossless(  # the server dies 100 events into the run
            lambda n, d: n == "event" and d["seq_num"] == 100 and server.proc.kill()
        )
        with pytest.raises(CriticalCallbackError, match="TiledStore"):
            RE(count([det], num=2000, delay=0.002))
        stop = stops[-1]
        assert stop["exit_status"] == "fail"
        assert "cannot reach the tiled server" in stop["reason"] or (
            "server has not answered" in stop["reason"]
        )
        assert 0 < stop["num_events"]["primary"] < 2000
        db.close(timeout=0.1)
    finally:
        server.stop()


def test_frames_in_files_of_another_spec_are_copied_in(tiled_server, tmp_path):
    from livescan.documents import RunComposer, register_handler

    stack = np.arange(3 * 4 * 5, dtype="<i4").reshape(3, 4, 5)
    np.save(tmp_path / "frames.npy", stack)
    register_handler(
        "LIVESCAN_TEST_NPY",
        lambda path, **_: lambda index: np.load(path)[index],
        overwrite=True,
    )
    run = RunComposer({"plan_name": "count", "scan_id": 901})
    key = {"dtype": "array", "shape": [4, 5], "source": "t", "external": "FILESTORE:"}
    desc = run.descriptor("primary", {"cam": key})
    res = run.resource("LIVESCAN_TEST_NPY", str(tmp_path), "frames.npy")
    docs = [("start", run.start()), ("descriptor", desc), ("resource", res)]
    for i in range(3):
        datum = run.datum(res, {"index": i})
        event = run.event(desc, {"cam": datum["datum_id"]}, {"cam": 0.0}, filled={"cam": False})
        docs += [("datum", datum), ("event", event)]
    docs.append(("stop", run.stop()))
    db = TiledStore(tiled_server.uri, api_key=tiled_server.api_key)
    for name, doc in docs:
        db(name, doc)
    db.flush()
    node = _client(tiled_server)[run.uid]["primary"].base["cam"]
    np.testing.assert_array_equal(node.read(), stack)
    assert node.data_sources()[0].management != "external"  # written, not registered
    db.close()


def test_an_ophyd_async_detectors_stream_rows_are_copied_in(tiled_server, tmp_path):
    """SimBlobDetector's frames and sums come as stream_datum rows of its own file: the
    store copies each event's row in beside the point detector's values."""
    from urllib.parse import urlparse

    import bluesky.plans as bp
    import h5py

    from livescan import RunEngine
    from tests.interop.test_scenarios import _connect, _ophyd_async_devices

    m, blob, point = _ophyd_async_devices(tmp_path)
    RE = RunEngine(display=False)
    RE(_connect(m, blob, point))
    db = TiledStore(tiled_server.uri, api_key=tiled_server.api_key)
    resources = []
    RE.subscribe_lossless(db)
    RE.subscribe_lossless(lambda n, d: n == "stream_resource" and resources.append(d))
    (uid,) = RE(bp.scan([point, blob], m, -1, 1, 3))
    db.flush()
    primary = _client(tiled_server)[uid]["primary"]
    (frames_res,) = [r for r in resources if r["data_key"] == "blob"]
    with h5py.File(urlparse(frames_res["uri"]).path, "r") as f:
        frames, sums = f["/entry/data/data"][()], f["/entry/sum"][()]
    got = primary["blob"].read()
    assert got.shape == (3, 1, 240, 320), got.shape
    np.testing.assert_array_equal(got[:, 0], frames)
    np.testing.assert_array_equal(primary["blob-sum"].read()[:, 0], sums)
    table = primary.base["internal"].read()
    assert list(table["m"]) == [-1.0, 0.0, 1.0] and list(table["seq_num"]) == [1, 2, 3]
    db.close()
    RE.close()


def _nodes(node, prefix=""):
    """Every node under ``node``: path -> (structure family, specs, shape)."""
    out = {}
    for key, child in node.items():
        family = str(child.structure_family).rsplit(".", 1)[-1]
        shape = None if family in ("container", "composite") else child.structure().shape
        out[prefix + key] = (family, sorted(s.name for s in child.specs), shape)
        if family in ("container", "composite"):
            out.update(_nodes(child, f"{prefix}{key}/"))
    return out


def test_the_layout_is_the_one_bluesky_s_own_tiled_writer_writes(RE, tiled_server):
    """The same scan (scalars and the file-backed camera) written by bluesky's TiledWriter
    and by TiledStore: the same nodes, specs, shapes and metadata keys; TiledStore adds
    only the timestamps of the external key (``ts_img``), which its replay gives back."""
    from bluesky.callbacks.tiled_writer import TiledWriter

    token = RE.subscribe_lossless(TiledWriter(_client(tiled_server)))
    (theirs,) = RE(scan([det, img], motor, -1, 1, num=5))
    RE.unsubscribe_lossless(token)
    db = TiledStore(_client(tiled_server))
    RE.subscribe_lossless(db)
    (ours,) = RE(scan([det, img], motor, -1, 1, num=5))
    db.flush()
    c = _client(tiled_server)
    a, b = c[theirs], c[ours]
    assert [s.name for s in a.specs] == [s.name for s in b.specs] == ["BlueskyRun"]
    assert sorted(a.metadata) == sorted(b.metadata) == ["start", "stop"]
    assert sorted(a["primary"].metadata) == sorted(b["primary"].metadata)
    na, nb = _nodes(a), _nodes(b)
    assert len(na) >= 10 and set(nb) - set(na) == {"primary/ts_img"} and not set(na) - set(nb)
    assert {k: nb[k] for k in na} == na
    for key in ("det", "motor", "motor_setpoint"):
        assert a["primary"][key].read().shape == b["primary"][key].read().shape == (5,)
    assert b["primary"]["img"].read().shape == (5, 64, 64)
    db.close()
