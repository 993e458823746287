"""Frames of a scan reduced on a Dask LocalCluster by a consumer of the Redis stream, while
the scan runs; the results are a new stream that a LivePlot shows live."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import numpy as np

from livescan.documents import Filler
from livescan.plans import scan
from livescan.remote import RedisPublisher, RemoteDispatcher, radial_profile
from livescan.sim import img, motor1
from livescan.testing import DocumentValidator
from livescan.widgets import LivePlot
from tests.remote._servers import child_env

REDUCER = textwrap.dedent(
    """
    import sys
    from dask.distributed import Client, LocalCluster
    from livescan.remote import FrameReducer, RedisPublisher, RemoteDispatcher

    url, raw, reduced = sys.argv[1:4]
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None, host="127.0.0.1")
    with cluster, Client(cluster) as client:
        d = RemoteDispatcher(url, raw, start="beginning")
        out = RedisPublisher(url, reduced)
        reducer = FrameReducer(client, "img", out)
        d.subscribe(reducer)
        print("ready", flush=True)
        d.start(runs=1, timeout=120)
        out.close()
        workers = {w for w in client.run(lambda: 1)}
        print("done", reducer.submitted, reducer.emitted, len(workers), flush=True)
    """
)


def test_frames_reduced_on_a_dask_cluster_reach_a_live_plot_while_the_scan_runs(
    RE, redis_server, stream
):
    raw, reduced = stream, stream + "-reduced"
    child = subprocess.Popen(
        [sys.executable, "-c", REDUCER, redis_server.url, raw, reduced],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(),
    )  # fmt: skip
    try:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        plot = LivePlot("com_x", "motor1")
        results, validator = [], DocumentValidator()
        watcher = RemoteDispatcher(redis_server.url, reduced, start="beginning")
        watcher.subscribe(plot)
        watcher.subscribe(validator)
        watcher.subscribe(lambda n, d: results.append((n, d)))
        watching = threading.Thread(target=watcher.start, kwargs={"runs": 1, "timeout": 120})
        watching.start()

        pub = RedisPublisher(redis_server.url, raw)
        filler, frames, stop_time = Filler(), [], []
        RE.subscribe_lossless(pub)
        RE.subscribe_lossless(lambda n, d: n == "stop" and stop_time.append(d["time"]))

        def keep(name, doc):
            name, doc = filler(name, doc)
            if name == "event":
                frames.append((doc["data"]["motor1"], filler.fill_event(doc)["data"]["img"]))

        RE.subscribe_lossless(keep)
        motor1.delay = 0.05  # each step takes a moment, as on a real stage
        RE(scan([img], motor1, -2, 2, num=20))
        watching.join(120)
        out, err = child.communicate(timeout=120)
    finally:
        child.kill()
    assert child.returncode == 0, err
    _, submitted, emitted, workers = out.split()
    assert (int(submitted), int(emitted), int(workers)) == (20, 20, 2)

    events = [d for n, d in results if n == "event"]
    assert [n for n, _ in results][:2] == ["start", "descriptor"] and results[-1][0] == "stop"
    assert validator.runs == 1 and len(events) == 20
    assert min(e["time"] for e in events) < stop_time[0]  # results arrived during the scan
    for (position, frame), ev in zip(frames, events):
        expected = radial_profile(frame)
        assert ev["data"]["motor1"] == position
        assert np.isclose(ev["data"]["com_x"], expected["com_x"])
        assert np.allclose(ev["data"]["profile"], expected["profile"])
    com_x = np.array([e["data"]["com_x"] for e in events])
    assert np.corrcoef(com_x, [p for p, _ in frames])[0, 1] > 0.9  # the spot follows motor1
    assert watcher.errors == []
    x, y = plot.data[-1]  # what the plot holds (outside a kernel nothing is drawn)
    np.testing.assert_allclose(x, [p for p, _ in frames])
    np.testing.assert_allclose(y, com_x)
    pub.close()
