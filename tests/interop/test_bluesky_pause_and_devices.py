"""Pauses, suspensions and device calls on bluesky's RunEngine and livescan's (issue 9).

The same plan runs on both engines; the calls the devices get (stage/unstage statuses
awaited, pause/resume, stop at a pause, a stop, an abort, a halt and the plan's end), the
states ``RE.state_hook`` sees around a suspension, and the monitor events of several
runs open at once around a pause must be bluesky's.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.plans as bp
import pytest
from bluesky.suspenders import SuspendFloor
from bluesky.utils import Msg, PlanHalt, RequestAbort, RequestStop, RunEngineInterrupted
from ophyd import Signal, StatusBase
from ophyd.sim import SynAxis, det

from livescan import RunEngine


@pytest.fixture
def RE():
    engine = RunEngine(display=False)
    yield engine
    engine.close()


@pytest.fixture
def engines(RE, bRE):
    yield {"livescan": RE, "bluesky": bRE}
    bRE.state_hook = None
    bRE.clear_suspenders()


class Logged(SynAxis):
    """A motor that logs the calls the engine makes, and stages slowly (a Status)."""

    def __init__(self, log: list[Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.calls = log

    def _slow(self, what: str) -> StatusBase:
        status = StatusBase()
        threading.Timer(0.2, status.set_finished).start()
        self.calls.append(what)
        self.last = status
        return status

    def stage(self) -> StatusBase:
        super().stage()
        return self._slow("stage")

    def unstage(self) -> StatusBase:
        super().unstage()
        return self._slow("unstage")

    def pause(self) -> None:
        self.calls.append("pause")

    def resume(self) -> None:
        self.calls.append("resume")

    def stop(self, *, success: bool = False) -> None:
        self.calls.append(f"stop success={success}")
        super().stop(success=success)


def _bluesky_class(exc: BaseException) -> str:
    """The bluesky class that catches ``exc`` (livescan's derive from bluesky's)."""
    kinds = (RequestStop, RequestAbort, PlanHalt)
    return next((k.__name__ for k in kinds if isinstance(exc, k)), type(exc).__name__)


def _device_calls(engine: Any, end: str) -> list[Any]:
    log: list[Any] = []
    m = Logged(log, name="m", delay=5)

    def plan():
        try:
            yield from bps.stage(m, wait=True)
            log.append(f"staged done={m.last.done}")  # the engine waited for it
            yield Msg("open_run")
            yield Msg("checkpoint")
            yield Msg("set", m, 1, group="g")  # a 5 s move ...
            yield Msg("pause")  # ... stopped at the pause
            yield Msg("wait", None, group="g")
            yield Msg("close_run")
            yield from bps.unstage(m, wait=True)
            log.append(f"unstaged done={m.last.done}")
        except BaseException as exc:
            log.append(f"plan saw {_bluesky_class(exc)}")
            raise

    with pytest.raises(RunEngineInterrupted):
        engine(plan())
    log.append(f"paused; {end}")
    m.delay = 0  # the retaken move is quick
    getattr(engine, end)()
    return log


@pytest.mark.parametrize("end", ["resume", "stop", "abort", "halt"])
def test_devices_get_bluesky_s_calls_at_pause_stop_abort_halt(engines, end):
    ours = _device_calls(engines["livescan"], end)
    theirs = _device_calls(engines["bluesky"], end)
    assert ours == theirs
    stop = "stop success=True"
    assert ours[:5] == ["stage", "staged done=True", stop, "pause", f"paused; {end}"]
    if end == "resume":
        assert ours[5:] == ["resume", "unstage", "unstaged done=True", stop]
    else:  # the plan saw bluesky's exception; the device stopped and was unstaged
        assert set(ours[5:]) == {stop, "unstage", f"plan saw {SEEN[end]}"}


SEEN = {"stop": "RequestStop", "abort": "RequestAbort", "halt": "PlanHalt"}


def _suspension(engine: Any) -> tuple[list[tuple[str, str]], set[str], list[int]]:
    beam = Signal(name="beam", value=1.0)
    beam.put(1.0)
    engine.install_suspender(SuspendFloor(beam, 0.5, sleep=0.1))
    transitions: list[tuple[str, str]] = []
    engine.state_hook = lambda new, old: transitions.append((str(old), str(new)))
    seen: set[str] = set()
    seq: list[int] = []

    def poll(until: float) -> None:
        while time.monotonic() < until:
            seen.add(str(engine.state))
            time.sleep(0.01)

    threading.Timer(0.1, beam.put, (0.0,)).start()  # the beam goes ...
    threading.Timer(0.5, beam.put, (1.0,)).start()  # ... and comes back
    poller = threading.Timer(0.2, poll, (time.monotonic() + 0.45,))  # while suspended
    poller.start()
    engine(
        bp.count([det], 3, delay=0.2),
        lambda n, d: seq.append(d["seq_num"]) if n == "event" else None,
    )
    poller.join()
    engine.state_hook = None
    engine.clear_suspenders()
    return transitions, seen, seq


def test_a_suspension_shows_bluesky_s_states(engines):
    ours = _suspension(engines["livescan"])
    theirs = _suspension(engines["bluesky"])
    # 'suspending' until the engine takes the suspension up, then 'running' while it
    # waits for the beam (bluesky has no 'suspended' state)
    assert (
        ours[0]
        == theirs[0]
        == [
            ("idle", "running"),
            ("running", "suspending"),
            ("suspending", "running"),
            ("running", "idle"),
        ]
    )
    assert ours[1] == theirs[1] == {"running"}  # polled while suspended
    assert ours[2] == theirs[2]


def _two_runs_paused(engine: Any) -> tuple[tuple[int, int], dict[str, list[float]]]:
    flux_a = Signal(name="flux_a", value=1.0)
    flux_b = Signal(name="flux_b", value=1.0)
    flux_a.put(1.0)
    flux_b.put(1.0)

    def plan():
        yield Msg("open_run", run="a")
        yield Msg("monitor", flux_a, run="a", name="a_monitor")
        yield Msg("open_run", run="b")
        yield Msg("monitor", flux_b, run="b", name="b_monitor")
        yield Msg("checkpoint")
        yield Msg("pause")
        yield Msg("sleep", None, 0.1)
        yield Msg("close_run", run="b")
        yield Msg("close_run", run="a")

    streams: dict[str, str] = {}
    values: dict[str, list[float]] = {}

    def cb(name: str, doc: dict) -> None:
        if name == "descriptor":
            streams[doc["uid"]] = doc["name"]
        elif name == "event":
            values.setdefault(streams[doc["descriptor"]], []).extend(doc["data"].values())

    with pytest.raises(RunEngineInterrupted):
        engine(plan(), cb)
    subscribed = (len(flux_a._callbacks["value"]), len(flux_b._callbacks["value"]))
    flux_a.put(2.0)  # while paused: not monitored; read again at the resume
    flux_b.put(2.0)
    engine.resume()
    return subscribed, values


def test_a_pause_suspends_the_monitors_of_every_open_run(engines):
    ours = _two_runs_paused(engines["livescan"])
    assert ours == _two_runs_paused(engines["bluesky"])
    assert ours == ((0, 0), {"a_monitor": [1.0, 2.0], "b_monitor": [1.0, 2.0]})
