"""Ctrl-C in a plain Python script, as bluesky users know it, on both engines (issue 9).

One child process per engine runs the same rounds of a bluesky plan with ophyd.sim's
``det``; the test sends real SIGINTs: once (a deferred pause at the next checkpoint) or
twice 0.2 s apart (pause now), then the child calls ``RE.resume()`` / ``RE.stop()`` /
``RE.abort()`` / ``RE.halt()``. What RE() raised (caught as bluesky's class), the state,
what the plan saw, the exit status and the events' seq_nums must be bluesky's.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tests._processes import reaped

ROUNDS = [("once", "resume"), ("twice", "resume"), ("twice", "stop"), ("twice", "abort")]
ROUNDS += [("twice", "halt")]


def _terminal_sigint() -> None:
    """The child starts with SIGINT as in a terminal, however these tests were started: a
    command run in the background by a shell without job control inherits SIGINT ignored,
    and Python then installs no KeyboardInterrupt handler (nor does livescan, which leaves
    a SIGINT handler it did not expect alone)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


CHILD = textwrap.dedent(
    """
    import json, sys
    import bluesky.plan_stubs as bps
    from bluesky.utils import PlanHalt, RequestAbort, RequestStop, RunEngineInterrupted
    from ophyd.sim import det

    if sys.argv[1] == "bluesky":
        from bluesky import RunEngine
        RE = RunEngine({})
    else:
        from livescan import RunEngine
        RE = RunEngine(display=False)
    docs = []
    RE.subscribe(lambda name, doc: docs.append((name, doc)))

    def plan(presses, seen):
        try:
            yield from bps.open_run()
            for i in range(3):
                yield from bps.checkpoint()
                yield from bps.trigger_and_read([det])
                if i == 0 and not seen:
                    print("go", presses, flush=True)
                    seen.append("go")
                yield from bps.sleep(0.6)
            yield from bps.close_run()
        except BaseException as exc:
            kinds = (RequestStop, RequestAbort, PlanHalt)  # bluesky's catch livescan's
            seen.append(next((k.__name__ for k in kinds if isinstance(exc, k)), repr(exc)))
            raise

    for presses, then in json.loads(sys.argv[2]):
        docs.clear()
        seen = []
        out = {"presses": presses, "then": then}
        try:
            RE(plan(presses, seen))
            out["raised"] = None
        except RunEngineInterrupted:
            out["raised"] = "RunEngineInterrupted"
        out["state"] = str(RE.state)
        try:
            getattr(RE, then)()
        except RunEngineInterrupted:
            out["then_raised"] = "RunEngineInterrupted"
        out["after"] = str(RE.state)
        out["plan_saw"] = seen[1:]
        out["seq_nums"] = [d["seq_num"] for n, d in docs if n == "event"]
        out["exit_status"] = [d["exit_status"] for n, d in docs if n == "stop"]
        print("ROUND", json.dumps(out), flush=True)
    """
)


def _run(engine: str) -> list[dict]:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, engine, json.dumps(ROUNDS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=os.getcwd(),
        preexec_fn=_terminal_sigint,
    )
    rounds = []
    with reaped(child):
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith("go "):
                os.kill(child.pid, signal.SIGINT)
                if line.split()[1] == "twice":
                    time.sleep(0.2)  # bluesky counts presses >= 100 ms apart
                    os.kill(child.pid, signal.SIGINT)
            elif line.startswith("ROUND "):
                rounds.append(json.loads(line.split(" ", 1)[1]))
        _, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    return rounds


@pytest.mark.slow
def test_ctrl_c_once_twice_then_resume_stop_abort_halt_as_bluesky():
    ours = _run("livescan")
    by_round = {(r["presses"], r["then"]): r for r in ours}
    assert len(by_round) == len(ROUNDS), ours
    for r in ours:  # RE() raised RunEngineInterrupted (bluesky's class) and left it paused
        assert (r["raised"], r["state"], r["after"]) == ("RunEngineInterrupted", "paused", "idle")
    # once: paused at the next checkpoint, nothing to retake; twice: paused in the sleep,
    # the point since the last checkpoint is taken again
    assert by_round["once", "resume"]["seq_nums"] == [1, 2, 3]
    assert by_round["twice", "resume"]["seq_nums"] == [1, 1, 2, 3]
    assert by_round["twice", "stop"]["plan_saw"] == ["RequestStop"]
    assert by_round["twice", "abort"]["plan_saw"] == ["RequestAbort"]
    assert by_round["twice", "halt"]["plan_saw"] == ["PlanHalt"]
    assert [by_round[k]["exit_status"] for k in ROUNDS] == [
        ["success"],
        ["success"],
        ["success"],
        ["abort"],
        ["abort"],
    ]
    theirs = _run("bluesky")
    assert ours == theirs


SUSPENDED_CHILD = textwrap.dedent(
    """
    import json, os, signal, sys, threading, time
    import bluesky.plans as bp
    from bluesky.suspenders import SuspendFloor
    from bluesky.utils import RunEngineInterrupted
    from ophyd import Signal
    from ophyd.sim import det

    if sys.argv[1] == "bluesky":
        from bluesky import RunEngine
        RE = RunEngine({})
    else:
        from livescan import RunEngine
        RE = RunEngine(display=False)
    beam = Signal(name="beam", value=1.0)
    beam.put(1.0)
    RE.install_suspender(SuspendFloor(beam, 0.5, sleep=0.1))
    seq = []

    def ctrl_c_twice():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Timer(0.3, beam.put, (0.0,)).start()  # the beam goes: the run suspends
    threading.Timer(0.8, ctrl_c_twice).start()  # "To get prompt hit Ctrl-C twice"
    try:
        RE(bp.count([det], 5, delay=0.2), lambda n, d: n == "event" and seq.append(d["seq_num"]))
        print("RESULT returned")
    except RunEngineInterrupted:
        print("RESULT", json.dumps([str(RE.state), seq]))
    beam.put(1.0)
    time.sleep(0.3)
    RE.resume()
    print("RESULT", json.dumps([str(RE.state), seq]))
    """
)


def test_ctrl_c_twice_while_suspended_pauses_as_bluesky():
    """bluesky's advice while a suspender holds the run: Ctrl-C twice for a prompt."""
    for engine in ("livescan", "bluesky"):
        done = subprocess.run(
            [sys.executable, "-c", SUSPENDED_CHILD, engine],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=os.getcwd(),
            preexec_fn=_terminal_sigint,
        )
        assert done.returncode == 0, done.stderr
        lines = [ln.split(" ", 1)[1] for ln in done.stdout.splitlines() if ln.startswith("RESULT")]
        (paused, before), (after, seq) = (json.loads(ln) for ln in lines)
        # paused while suspended; on resume the point in progress is retaken, then the rest
        assert (paused, after) == ("paused", "idle"), engine
        k = before[-1]
        assert before == list(range(1, k + 1)) and seq == [*before, k, *range(k + 1, 6)], engine
