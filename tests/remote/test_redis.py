"""Live documents through a real redis-server (started on 127.0.0.1 with a password)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from livescan.errors import CriticalCallbackError
from livescan.plans import count
from livescan.remote import RedisPublisher, RemoteDispatcher, RemoteError
from livescan.sim import det, det1, det2, direct_img
from livescan.store import RunStore
from livescan.testing import DocumentValidator
from tests.remote._digest import Digest
from tests.remote._servers import RedisServer, child_env, free_port


def _consumer(url: str, stream: str, start: str = "beginning", *extra: str) -> subprocess.Popen:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.remote._consumer", url, stream, start, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    assert child.stdout.readline().strip() == "ready", child.stderr.read()
    return child


def _summary(child: subprocess.Popen, timeout: float = 120) -> dict:
    out, err = child.communicate(timeout=timeout)
    assert child.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def test_a_second_process_reproduces_every_document_of_a_10000_event_run(RE, redis_server, stream):
    child = _consumer(redis_server.url, stream)
    try:
        pub = RedisPublisher(redis_server.url, stream)
        local = Digest()
        RE.subscribe_lossless(pub)
        RE.subscribe_lossless(local)
        RE(count([det1, det2], num=10_000))
        summary = _summary(child)
    finally:
        child.kill()
    assert summary["errors"] == []
    assert summary["names"] == {"start": 1, "descriptor": 1, "event": 10_000, "stop": 1}
    assert summary["validated"] == local.documents == 10_003 and summary["runs"] == 1
    assert summary["digest"] == local.hexdigest()  # the same documents, in the same order
    pub.close()


def test_frames_travel_as_binary_and_come_back_as_the_same_arrays(RE, redis_server, stream):
    import redis

    pub = RedisPublisher(redis_server.url, stream)
    frames = []
    RE.subscribe_lossless(pub)
    RE.subscribe_lossless(lambda n, d: n == "event" and frames.append(d["data"]["direct_img"]))
    RE(count([direct_img], num=3))
    pub.close()

    got = []
    d = RemoteDispatcher(redis_server.url, stream, start="beginning")
    d.subscribe(lambda n, doc: got.append(doc["data"]["direct_img"]), "event")
    assert asyncio.run(d.run(runs=1, timeout=30)) == 6
    assert len(got) == 3
    for a, b in zip(frames, got):
        assert isinstance(b, np.ndarray) and b.dtype == a.dtype and np.array_equal(a, b)
    raw = redis.Redis.from_url(redis_server.url).xrange(stream)
    events = [fields for _id, fields in raw if fields[b"n"] == b"event"]
    size = len(events[0][b"d"])
    assert frames[0].nbytes < size < frames[0].nbytes + 1000  # raw bytes, not JSON text


def test_a_redis_restart_mid_run_loses_nothing(RE, tmp_path, stream):
    server = RedisServer(tmp_path / "redis").start()
    child = None
    try:
        child = _consumer(server.url, stream)
        pub = RedisPublisher(server.url, stream, timeout=30)
        local = Digest()
        RE.subscribe_lossless(pub)
        RE.subscribe_lossless(local)
        sent_before = []

        def restart():
            sent_before.append(pub.sent)
            server.stop()
            time.sleep(1.0)
            server.start()

        restarter = threading.Thread(target=restart)
        RE.subscribe_lossless(  # Redis goes away 200 events into the run, for a second
            lambda n, d: n == "event" and d["seq_num"] == 200 and restarter.start()
        )
        result = RE(count([det], num=2500, delay=0.001))
        restarter.join()
        assert result.exit_status == "success"
        assert 0 < sent_before[0] < local.documents  # Redis went away mid-run
        assert pub.retries > 0  # and the publisher noticed
        summary = _summary(child)
        assert summary["errors"] == []
        assert summary["names"]["event"] == 2500 and summary["validated"] == local.documents
        assert summary["digest"] == local.hexdigest()
        pub.close()
    finally:
        if child is not None and child.poll() is None:
            child.kill()
        server.stop()


def test_a_slow_consumer_never_slows_the_scan(RE, redis_server, stream, tmp_path):
    progress = tmp_path / "progress"
    child = _consumer(redis_server.url, stream, "beginning", "--sleep", "0.005",
                      "--progress", str(progress))  # fmt: skip
    try:
        pub = RedisPublisher(redis_server.url, stream)
        RE.subscribe_lossless(pub)
        RE(count([det], num=400))
        seen_when_the_scan_ended = int(progress.read_text() or 0) if progress.exists() else 0
        assert seen_when_the_scan_ended < 200  # the consumer is far behind ...
        summary = _summary(child)
    finally:
        child.kill()
    assert summary["names"]["event"] == 400  # ... and still gets every event
    assert summary["errors"] == []
    pub.close()


def test_a_late_consumer_catches_up_on_a_run_in_progress(RE, redis_server, stream, tmp_path):
    pub = RedisPublisher(redis_server.url, stream)
    local = Digest()
    RE.subscribe_lossless(pub)
    RE(count([det], num=5))  # an earlier run the late consumer must not see
    RE.subscribe_lossless(local)
    db = RunStore(tmp_path / "runs")
    remote = Digest()
    validator = DocumentValidator()
    done = threading.Event()

    def late():
        d = RemoteDispatcher(redis_server.url, stream, start="run-start")
        for cb in (remote, validator, db):
            d.subscribe(cb)
        d.start(runs=1, timeout=60)
        done.set()

    values = []
    RE.subscribe_lossless(lambda n, d: n == "event" and values.append(d["data"]["det"]))
    joiner = threading.Thread(target=late, daemon=True)
    RE.subscribe_lossless(lambda n, d: n == "event" and d["seq_num"] == 100 and joiner.start())
    RE(count([det], num=300, delay=0.004))  # ~1.2 s; the consumer joins at the 100th event
    assert done.wait(60)
    assert remote.hexdigest() == local.hexdigest() and validator.runs == 1
    run = db[-1]
    assert run.exit_status == "success" and np.array_equal(run.primary["det"], values)
    pub.close()


def test_a_wrong_password_gives_one_clear_error(redis_server, stream):
    bad = f"redis://:not-the-password@127.0.0.1:{redis_server.port}/0"
    with pytest.raises(RemoteError, match=r"refused the password.*requirepass") as info:
        RedisPublisher(bad, stream)
    assert "not-the-password" not in str(info.value) and info.value.__cause__ is None
    with pytest.raises(RemoteError, match="refused the password"):
        RemoteDispatcher(bad, stream).start(timeout=5)
    no_password = f"redis://127.0.0.1:{redis_server.port}/0"
    with pytest.raises(RemoteError, match="refused the password"):
        RedisPublisher(no_password, stream)


def test_an_unreachable_server_gives_one_clear_error(stream):
    url = f"redis://:pw@127.0.0.1:{free_port()}/0"
    with pytest.raises(RemoteError, match=r"cannot reach Redis at .*start redis-server"):
        RedisPublisher(url, stream)
    with pytest.raises(RemoteError, match="cannot reach Redis"):
        RemoteDispatcher(url, stream).start(timeout=5)
    with pytest.raises(RemoteError, match="cannot reach Redis"):
        asyncio.run(RemoteDispatcher(url, stream).run(timeout=5))
    with pytest.raises(RemoteError, match="not a Redis URL"):
        RemoteDispatcher("http://127.0.0.1:1", stream)


def test_redis_going_away_fills_the_buffer_then_ends_the_run_cleanly(RE, tmp_path, stream):
    server = RedisServer(tmp_path / "redis").start()
    try:
        pub = RedisPublisher(server.url, stream, buffer=50, timeout=0.5)
        stops = []
        RE.subscribe_lossless(pub)
        RE.subscribe_lossless(lambda n, d: n == "stop" and stops.append(d))
        server.stop()
        with pytest.raises(CriticalCallbackError, match="RedisPublisher") as info:
            RE(count([det], num=200))
        assert "unreachable" in str(info.value) and "buffer" in str(info.value)
        assert stops[-1]["exit_status"] == "fail"
        assert "cannot reach Redis" in stops[-1]["reason"]
        assert stops[-1]["num_events"]["primary"] < 200
        pub.close(timeout=0.1)
    finally:
        server.stop()


def test_a_bluesky_callback_takes_remote_documents(RE, redis_server, stream, capsys):
    from bluesky.callbacks import LiveTable as BlueskyLiveTable

    pub = RedisPublisher(redis_server.url, stream)
    RE.subscribe_lossless(pub)
    RE(count([det], num=4))
    pub.close()
    capsys.readouterr()
    d = RemoteDispatcher(redis_server.url, stream, start="beginning")
    d.subscribe(BlueskyLiveTable(["det"]))
    assert d.start(runs=1, timeout=30) == 7 and d.errors == []
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("|")]
    assert len(rows) == 1 + 4 and "det" in rows[0]  # the header and one row per event


def test_a_dashboard_and_a_live_table_follow_a_remote_run(RE, redis_server, stream):
    """The notebook's views as remote callbacks: the Dashboard picks its views from the
    remote run's hints and holds every point; LiveTable prints every row."""
    from livescan.callbacks import LiveTable
    from livescan.jupyter import Dashboard
    from livescan.plans import scan
    from livescan.sim import motor

    pub = RedisPublisher(redis_server.url, stream)
    RE.subscribe_lossless(pub)
    values = []
    RE.subscribe_lossless(lambda n, d: n == "event" and values.append(d["data"]["det"]))
    RE(scan([det], motor, -1, 1, num=9))
    pub.close()
    lines: list[str] = []
    d = RemoteDispatcher(redis_server.url, stream, start="beginning")
    dash = Dashboard()
    d.subscribe(dash)
    d.subscribe(LiveTable(["det", "motor"], out=lines.append))
    assert d.start(runs=1, timeout=30) == 1 + 1 + 9 + 1 and d.errors == []
    assert "det" in dash.plots and dash.table is not None
    np.testing.assert_allclose(dash.plots["det"].data[-1][1], values)
    rows = [line for line in lines if line.startswith("|") and "seq_num" not in line]
    assert len(rows) == 9


def test_reading_starts_where_asked_newest_or_a_runs_uid(RE, redis_server, stream):
    """start='newest' sees only what is appended after it began; start=<run uid> begins at
    that run's start document (a finished run can be replayed from the stream)."""
    pub = RedisPublisher(redis_server.url, stream)
    RE.subscribe_lossless(pub)
    (first,) = RE(count([det], num=3))
    (second,) = RE(count([det], num=4))
    pub.flush()

    def starts(start: str, runs: int) -> list[str]:
        seen: list[str] = []
        d = RemoteDispatcher(redis_server.url, stream, start=start)
        d.subscribe(lambda n, doc: seen.append(doc["uid"]), "start")
        d.start(runs=runs, timeout=30)
        return seen

    assert starts(first, 2) == [first, second]
    assert starts(second, 1) == [second]
    got: list[str] = []
    d = RemoteDispatcher(redis_server.url, stream, start="newest")
    d.subscribe(lambda n, doc: got.append(doc["uid"]), "start")
    assert d.start(timeout=0.3) == 0  # 'newest' is fixed now: nothing new yet
    (third,) = RE(count([det], num=2))
    assert d.start(runs=1, timeout=30) == 1 + 1 + 2 + 1 and got == [third]
    with pytest.raises(RemoteError, match="has no run 'no-such-run'"):
        RemoteDispatcher(redis_server.url, stream, start="no-such-run").start(timeout=2)
    pub.close()


def test_a_reader_started_as_a_task_reads_a_scan_started_right_after_it(redis_server, stream):
    """``start_task()`` settles where reading begins when it is called: a notebook that
    starts a reader (start='newest') and then a scan in the same cell gets the whole run,
    though the task connects only once the cell hands the loop back."""
    from livescan import RunEngine

    async def main() -> list[str]:
        RE = RunEngine(display=False)
        pub = RedisPublisher(redis_server.url, stream)
        RE.subscribe_lossless(pub)
        RE(count([det], num=1))  # an earlier run in the stream: not read
        await asyncio.sleep(0.2)
        pub.flush()
        got: list[str] = []
        reader = RemoteDispatcher(redis_server.url, stream, start="newest")
        reader.subscribe(lambda name, doc: got.append(name))
        task = reader.start_task(runs=1, timeout=30)
        await RE(count([det], num=3))  # no await between: the task has not run yet
        pub.flush()
        await asyncio.wait_for(task, 30)
        pub.close()
        return got

    got = asyncio.run(main())
    assert got[0] == "start" and got[-1] == "stop", got
    assert got == ["start", "descriptor", "event", "event", "event", "stop"], got
