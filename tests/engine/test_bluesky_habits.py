"""Habits of bluesky users that livescan's RunEngine keeps (issue 9)."""

from __future__ import annotations

import time

import bluesky.plan_stubs as bps
import bluesky.utils
import pytest
from bluesky.run_engine import TransitionError, WaitForTimeoutError
from ophyd import sim as osim

from livescan.errors import RunEngineInterrupted
from livescan.plans import Msg, count, scan, subs_wrapper
from livescan.sim import det, motor


class Recorder:
    def __init__(self) -> None:
        self.names: list[str] = []
        self.stop: dict | None = None

    def __call__(self, name: str, doc: dict) -> None:
        self.names.append(name)
        if name == "stop":
            self.stop = doc


@pytest.mark.parametrize("end", ["stop", "abort"])
def test_subs_wrapper_callbacks_get_the_stop_of_a_stopped_run(RE, end):
    cb = Recorder()

    def plan():
        yield Msg("open_run")
        yield Msg("pause")
        yield Msg("close_run")

    with pytest.raises(RunEngineInterrupted):
        RE(subs_wrapper(plan(), cb))
    result = getattr(RE, end)()
    assert cb.names == ["start", "stop"]
    assert cb.stop is not None
    assert cb.stop["exit_status"] == {"stop": "success", "abort": "abort"}[end]
    assert result.exit_status == cb.stop["exit_status"]


def test_resume_into_another_pause_pauses_again_without_hanging(RE):
    def plan():
        yield Msg("open_run")
        yield Msg("pause")
        yield Msg("pause")
        yield Msg("close_run")

    with pytest.raises(RunEngineInterrupted):
        RE(plan())
    t0 = time.monotonic()
    with pytest.raises(RunEngineInterrupted):
        RE.resume()
    assert time.monotonic() - t0 < 5 and RE.state == "paused"
    assert RE.resume().exit_status == "success"


def test_pause_now_rewinds_to_the_checkpoint_and_retakes_the_point(RE):
    seen: list[int] = []
    RE.subscribe_lossless(lambda n, d: seen.append(d["seq_num"]) if n == "event" else None)

    def plan():
        yield Msg("open_run")
        yield Msg("checkpoint")
        yield from bps.trigger_and_read([det])
        yield Msg("checkpoint")
        yield from bps.trigger_and_read([det])
        yield Msg("pause")  # bluesky's default: pause now
        yield Msg("close_run")

    with pytest.raises(RunEngineInterrupted):
        RE(plan())
    assert RE.resume().exit_status == "success"
    assert seen == [1, 2, 2]  # the point after the last checkpoint, taken again


def test_bluesky_exception_classes_catch_livescan_errors(RE):
    class Failing:
        name = "failing"

        def set(self, value):
            from ophyd import StatusBase

            st = StatusBase()
            st.set_exception(LookupError("Movement failed"))
            return st

    with pytest.raises(bluesky.utils.FailedStatus):
        RE(bps.abs_set(Failing(), 1, wait=False))  # nobody waits: the plan still fails
    with pytest.raises(TransitionError):
        RE.request_pause()  # nothing runs
    slow = osim.SynAxis(name="slow", delay=0.5)
    with pytest.raises(WaitForTimeoutError):
        RE(bps.mv(slow, 1, timeout=0.1))
    with pytest.raises(bluesky.utils.RunEngineInterrupted):
        RE([Msg("pause")])
    RE.abort()


def test_abort_stops_moving_devices(RE):
    class Motor(osim.SynAxis):
        stopped = 0

        def stop(self, *, success=False):
            Motor.stopped += 1
            super().stop(success=success)

    m = Motor(name="m", delay=5)

    def plan():
        yield Msg("open_run")
        yield Msg("set", m, 1, group="g")
        yield Msg("pause")
        yield Msg("wait", None, group="g")
        yield Msg("close_run")

    with pytest.raises(RunEngineInterrupted):
        RE(plan())
    assert Motor.stopped >= 1  # at the pause
    RE.abort()
    assert Motor.stopped >= 2  # and at the abort


def test_positional_num_and_lazy_scan(RE):
    docs = Recorder()
    RE(scan([det], motor, -1, 1, 5), docs)
    assert docs.names.count("event") == 5
    plan = scan([det], motor, -1, 1, num=10**12)  # no table of a trillion points
    t0 = time.monotonic()
    first = [next(plan) for _ in range(12)]
    assert time.monotonic() - t0 < 1 and any(m.command == "set" for m in first)
    plan.close()


def test_versions_and_tuples_in_the_start_document(RE):
    docs: list = []
    RE(count([det], num=1, md={"pair": (1, 2)}), lambda n, d: docs.append((n, d)))
    start = docs[0][1]
    assert type(start["pair"]) is tuple and start["pair"] == (1, 2)  # the user's tuple too
    assert {"livescan", "ophyd", "event_model"} <= set(start["versions"])
    assert start["hints"]["dimensions"] == [(["time"], "primary")]  # a tuple, as bluesky
    assert RE.md["scan_id"] == start["scan_id"]


def test_ignore_callback_exceptions_is_honoured(RE):
    def broken(name, doc):
        if name == "event":
            raise ZeroDivisionError("broken callback")

    cleaned = []

    def plan():
        try:
            yield from count([det], num=3)
        finally:
            cleaned.append(True)

    stops: list[dict] = []
    RE.subscribe_lossless(lambda n, d: stops.append(d) if n == "stop" else None)
    assert RE.ignore_callback_exceptions is True  # livescan's default: the run goes on
    with pytest.warns(UserWarning, match="ZeroDivisionError.*ignore_callback_exceptions"):
        result = RE(plan(), broken)
    assert result.exit_status == "success" and stops[-1]["num_events"] == {"primary": 3}

    RE.ignore_callback_exceptions = False  # bluesky's default: the error ends the run
    with pytest.raises(ZeroDivisionError, match="broken callback"):
        RE(plan(), broken)
    assert stops[-1]["exit_status"] == "fail" and stops[-1]["num_events"]["primary"] < 3
    assert cleaned == [True, True] and RE.state == "idle"


@pytest.mark.parametrize("on_a_running_loop", [False, True])
def test_bluesky_suspender_suspends_and_retakes_the_point(RE, on_a_running_loop):
    import asyncio
    import threading

    from bluesky.suspenders import SuspendFloor
    from ophyd import Signal

    beam = Signal(name="beam", value=1.0)
    beam.put(1.0)
    suspender = SuspendFloor(beam, 0.5, sleep=0.1, tripped_message="beam lost")
    RE.install_suspender(suspender)
    assert RE.suspenders == (suspender,)
    seen: list[str] = []
    RE.msg_hook = lambda msg: seen.append(msg.command)
    stops: list[dict] = []
    RE.subscribe_lossless(lambda n, d: stops.append(d) if n == "stop" else None)

    def plan():
        yield from bps.open_run()
        for _ in range(3):
            yield from bps.checkpoint()
            yield from bps.trigger_and_read([det])
            yield from bps.sleep(0.2)
        yield from bps.close_run()

    threading.Timer(0.1, beam.put, (0.0,)).start()  # the beam goes ...
    threading.Timer(0.5, beam.put, (1.0,)).start()  # ... and comes back
    t0 = time.monotonic()
    if on_a_running_loop:  # a notebook: the run goes on the caller's loop

        async def main():
            return await RE(plan())

        result = asyncio.run(main())
    else:
        result = RE(plan())
    elapsed = time.monotonic() - t0
    RE.clear_suspenders()
    assert RE.suspenders == () and suspender.RE is None
    assert result.exit_status == "success" and stops[-1]["num_events"] == {"primary": 3}
    assert elapsed > 0.5 + 0.1  # waited for the beam, then the suspender's sleep
    i = seen.index("_start_suspender")
    assert seen[i : i + 4] == [
        "_start_suspender",
        "rewindable",
        "wait_for",
        "_resume_from_suspender",
    ]
    # then the rewindable flag back and the point since the last checkpoint retaken
    assert seen[i + 4 : i + 7] == ["rewindable", "trigger", "wait"]
