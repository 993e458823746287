"""The RunEngine on a running event loop (as in a Jupyter kernel) and its controls."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from livescan import RunHandle
from livescan.callbacks import DocumentCollector
from livescan.errors import IllegalStateTransition, RunEngineInterrupted
from livescan.plans import Msg, count, pause, scan
from livescan.sim import det, motor


def run_async(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def slow_count(n=200, delay=0.005):
    return count([det], num=n, delay=delay)


def test_running_loop_returns_a_handle_that_awaits_to_uids(RE) -> None:
    async def main():
        docs = DocumentCollector()
        handle = RE(count([det], num=3), docs)
        assert isinstance(handle, RunHandle)
        assert handle.state in ("queued", "running")
        uids = await handle
        assert uids == (docs.start["uid"],) and uids.exit_status == "success"
        assert handle.done() and handle.state == "finished" and handle.num_events == 3
        assert handle.scan_id == 1 and handle.num_points == 3
        return docs

    docs = run_async(main())
    assert docs.names()[-1] == "stop"


def test_runs_submitted_meanwhile_queue_in_order(RE) -> None:
    async def main():
        order = []
        handles = [
            RE(
                count([det], num=2),
                lambda n, d, i=i: order.append((i, n)) if n in ("start", "stop") else None,
            )
            for i in range(3)
        ]
        assert [h.state for h in handles[1:]] == ["queued", "queued"]
        results = [await h for h in handles]
        return order, results, handles

    order, _, handles = run_async(main())
    assert order == [
        (0, "start"),
        (0, "stop"),
        (1, "start"),
        (1, "stop"),
        (2, "start"),
        (2, "stop"),
    ]
    assert [h.scan_id for h in handles] == [1, 2, 3]


def test_the_loop_stays_responsive_during_a_fast_scan(RE) -> None:
    """Other tasks (widget flushes, button clicks) run at least every ~20 ms."""

    async def main():
        gaps = []
        stop = False

        async def ticker():
            # CPU time of this thread: pre-emption by other processes does not count,
            # only work the executor did without yielding
            last = time.thread_time()
            while not stop:
                await asyncio.sleep(0)
                now = time.thread_time()
                gaps.append(now - last)
                last = now

        task = asyncio.ensure_future(ticker())
        await asyncio.sleep(0)
        t0 = time.perf_counter()
        await RE(scan([det], motor, -1, 1, num=20_000))
        duration = time.perf_counter() - t0
        stop = True
        await task
        return gaps, duration

    gaps, duration = run_async(main())
    assert duration > 0.1  # long enough to mean something
    assert len(gaps) > duration / 0.05
    p99 = sorted(gaps[1:])[int(0.99 * (len(gaps) - 1))]
    assert p99 < 0.03, f"the loop was blocked for {p99:.3f} s of CPU time (99th percentile)"


def test_pause_resume_from_another_task(RE) -> None:
    async def main():
        docs = DocumentCollector()
        handle = RE(slow_count(100, 0.002), docs)
        states = []
        handle.add_listener(lambda h: states.append(h.state))
        await asyncio.sleep(0.05)
        RE.pause()
        while RE.state != "paused":
            await asyncio.sleep(0.005)
        n = handle.num_events
        await asyncio.sleep(0.1)
        assert handle.num_events == n, "events kept coming while paused"
        with pytest.raises(IllegalStateTransition, match="paused"):
            RE(count([det]))
        RE.resume()
        result = await handle
        return result, states, n

    result, states, n = run_async(main())
    assert 0 < n < 100
    assert result.exit_status == "success"
    assert "pausing" in states and "paused" in states and states[-1] == "finished"


@pytest.mark.parametrize(
    ("action", "status"), [("abort", "abort"), ("stop", "success"), ("halt", "abort")]
)
def test_abort_stop_halt_end_the_run_cleanly(RE, action, status) -> None:
    async def main():
        docs = DocumentCollector()
        handle = RE(count([det], num=None, delay=0.002), docs)
        await asyncio.sleep(0.05)
        getattr(RE, action)()
        result = await handle
        return docs, result

    docs, result = run_async(main())
    assert docs.stop["exit_status"] == status
    assert result.exit_status == status and result.interrupted
    assert docs.stop["num_events"]["primary"] == len(docs["event"]) > 0
    assert RE.state == "idle"


def test_abort_while_paused_and_abort_reason(RE) -> None:
    async def main():
        docs = DocumentCollector()
        handle = RE(slow_count(100, 0.002), docs)
        await asyncio.sleep(0.03)
        handle.pause()
        while RE.state != "paused":
            await asyncio.sleep(0.005)
        handle.abort("sample moved")
        await handle
        return docs

    docs = run_async(main())
    assert docs.stop["exit_status"] == "abort" and docs.stop["reason"] == "sample moved"


def test_controls_from_another_thread_reach_the_loop(RE) -> None:
    async def main():
        handle = RE(slow_count(200, 0.002))
        await asyncio.sleep(0.03)
        t = threading.Thread(target=RE.pause)
        t.start()
        t.join()
        while RE.state != "paused":
            await asyncio.sleep(0.005)
        t = threading.Thread(target=RE.resume)
        t.start()
        t.join()
        await asyncio.sleep(0.03)
        assert RE.state == "running"
        t = threading.Thread(target=RE.abort, args=("from a thread",))
        t.start()
        t.join()
        return await handle

    result = run_async(main())
    assert result.exit_status == "abort" and result.reason == "from a thread"


def test_cancelling_the_await_aborts_the_run(RE) -> None:
    async def main():
        docs = DocumentCollector()
        handle = RE(count([det], num=None, delay=0.002), docs)
        waiter = asyncio.ensure_future(handle._wait())
        await asyncio.sleep(0.03)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        while not handle.done():
            await asyncio.sleep(0.005)
        return docs

    docs = run_async(main())
    assert docs.stop["exit_status"] == "abort"


def test_aborting_a_queued_run(RE) -> None:
    async def main():
        first = RE(count([det], num=5, delay=0.002))
        second = RE(count([det], num=5))
        second.abort()
        await first
        return await second

    result = run_async(main())
    assert result == () and result.exit_status == "abort"


def test_illegal_transitions_are_clear(RE) -> None:
    with pytest.raises(IllegalStateTransition, match="nothing is running"):
        RE.resume()
    with pytest.raises(IllegalStateTransition, match="nothing is running"):
        RE.pause()
    with pytest.raises(IllegalStateTransition, match="nothing is running"):
        RE.abort()

    async def main():
        handle = RE(slow_count(50, 0.002))
        await asyncio.sleep(0.02)
        with pytest.raises(
            IllegalStateTransition, match="cannot resume while the RunEngine is running"
        ):
            RE.resume()
        RE.stop()
        with pytest.raises(
            IllegalStateTransition, match="cannot pause while the RunEngine is stopping"
        ):
            RE.pause()
        await handle

    run_async(main())


def test_blocking_pause_raises_and_resume_finishes(RE) -> None:
    docs = DocumentCollector()

    def plan():
        yield from pause()
        return (yield from count([det], num=2))

    with pytest.raises(RunEngineInterrupted, match="paused"):
        RE(plan(), docs)
    assert RE.state == "paused"
    with pytest.raises(IllegalStateTransition, match="paused"):
        RE(count([det]))
    result = RE.resume()
    assert result.exit_status == "success" and RE.state == "idle"
    assert docs.names().count("event") == 2


def test_blocking_abort_after_pause(RE) -> None:
    docs = DocumentCollector()

    def plan():
        yield Msg("open_run")
        yield from pause()
        yield Msg("close_run")

    with pytest.raises(RunEngineInterrupted):
        RE(plan(), docs)
    result = RE.abort("changed my mind")
    assert result.exit_status == "abort"
    assert docs.stop["reason"] == "changed my mind"


CTRL_C_SCRIPT = textwrap.dedent("""
    import sys, time
    from livescan import RunEngine
    from livescan.errors import RunEngineInterrupted
    from livescan.plans import count
    from livescan.sim import det

    class Exporter:
        closed = False
        def __call__(self, name, doc):
            if name == "start":
                print("started", flush=True)
            if name == "stop":
                self.closed = True
                print("stop", doc["exit_status"], doc["reason"], flush=True)

    RE = RunEngine()
    exporter = Exporter()
    RE.subscribe_lossless(exporter)
    try:
        RE(count([det], num=None, delay=0.01))
    except RunEngineInterrupted:
        print("paused closed=%s state=%s" % (exporter.closed, RE.state), flush=True)
    if sys.argv[1] == "twice":  # the second Ctrl-C pauses at once: a long sleep ends
        try:
            RE(count([det], num=2, delay=60))
        except RunEngineInterrupted:
            print("paused2 state=%s" % RE.state, flush=True)
    RE.abort("changed my mind")
    print("aborted closed=%s state=%s" % (exporter.closed, RE.state), flush=True)
    sys.exit(3)
""")


def test_ctrl_c_once_in_a_script_pauses_at_the_next_checkpoint(tmp_path) -> None:
    """bluesky's Ctrl-C: once = pause at the next checkpoint; RE() raises
    RunEngineInterrupted, the run stays open until RE.abort() ends it cleanly."""
    script = tmp_path / "ctrl_c.py"
    script.write_text(CTRL_C_SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, str(script), "once"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # the engine says "deferred pause" on stderr
        text=True,
        cwd=os.getcwd(),
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "started"
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 3, out
    assert "deferred pause" in out
    assert "paused closed=False state=paused" in out
    assert "stop abort changed my mind" in out
    assert "aborted closed=True state=idle" in out


def test_ctrl_c_twice_pauses_now_even_in_a_long_sleep(tmp_path) -> None:
    script = tmp_path / "ctrl_c.py"
    script.write_text(CTRL_C_SCRIPT.replace("RE(count([det], num=None, delay=0.01))", "pass"))
    proc = subprocess.Popen(
        [sys.executable, str(script), "twice"], stdout=subprocess.PIPE, text=True, cwd=os.getcwd()
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "started"
    time.sleep(0.3)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert time.monotonic() - t0 < 10  # not the 60 s sleep
    assert proc.returncode == 3, out
    assert "paused2 state=paused" in out
    assert "stop abort changed my mind" in out


def test_a_failed_run_nobody_awaits_is_logged(RE, caplog) -> None:
    import logging

    def broken():
        yield Msg("open_run")
        raise RuntimeError("plan bug nobody awaited")

    async def main():
        handle = RE(broken())
        while not handle.done():
            await asyncio.sleep(0.005)
        return handle

    with caplog.at_level(logging.ERROR, "livescan.engine"):
        handle = run_async(main())
    assert handle.exit_status == "fail"
    assert any("plan bug nobody awaited" in r.getMessage() for r in caplog.records)
