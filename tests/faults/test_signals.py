"""Double Ctrl-C and SIGKILL loops in real subprocesses.

Double SIGINT: each round starts a never-ending count, and once it runs sends SIGINT twice
with a gap from 0 to 50 ms (bluesky's "pause now": RE() raises RunEngineInterrupted, then
the script aborts the paused run). Every round must end with exactly one stop to every
subscriber (store, HDF5, a lossless and a lossy
counter), the HDF5 file renamed to its final name, and the engine usable for the next.

SIGKILL: kill a recording process at a random point, a few times over one store; the store
opens, every run reads, and every document the child reported recorded is there.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import h5py

from livescan.store import RunStore
from tests._processes import run_and_kill

GAPS_MS = [0, 1, 5, 20, 50]

DOUBLE_SIGINT_CHILD = textwrap.dedent(
    """
    import json, sys, time, collections
    from livescan import RunEngine
    from livescan.errors import RunEngineInterrupted
    from livescan.export import HDF5Exporter
    from livescan.plans import count
    from livescan.sim import det, direct_img
    from livescan.store import RunStore

    out = sys.argv[1]
    rounds = int(sys.argv[2])
    RE = RunEngine(display=False)
    db = RunStore(out + "/store")
    stops = collections.Counter()
    seen = set()

    def lossless(name, doc):
        if name == "stop":
            stops["lossless", doc["run_start"]] += 1
        if name == "event" and doc["descriptor"] not in seen:
            seen.add(doc["descriptor"])
            print("running", flush=True)

    def lossy(name, doc):
        if name == "stop":
            stops["lossy", doc["run_start"]] += 1

    RE.subscribe_lossless(db)
    RE.subscribe_lossless(HDF5Exporter(out + "/h5/{start.scan_id}.h5"))
    RE.subscribe_lossless(lossless)
    RE.subscribe(lossy)
    outcomes, late = [], []

    def quiet():  # a second press may land after RE() returned: that is the script's
        while True:
            try:
                time.sleep(0.1)
                return
            except KeyboardInterrupt:
                late.append(1)

    for i in range(rounds):
        try:
            try:
                RE(count([det, direct_img], num=None, delay=0.002))
                outcome = "returned"
            except RunEngineInterrupted:
                outcome = "paused " + str(RE.state)
                RE.abort("Ctrl-C twice, then RE.abort()")
            except KeyboardInterrupt:
                outcome = "KeyboardInterrupt"
            except BaseException as exc:
                outcome = f"{type(exc).__name__}: {exc}"
        except KeyboardInterrupt:
            outcome, late = "KeyboardInterrupt", [*late, 1]
        quiet()
        outcomes.append(outcome)
        print("round", i, RE.state, flush=True)
    uids = RE(count([det], num=3))
    print("RESULT", json.dumps({
        "outcomes": outcomes, "state": RE.state, "late": len(late), "final": list(uids),
        "stops": {f"{k[0]} {k[1]}": v for k, v in stops.items()},
    }), flush=True)
    """
)


def test_double_sigint_leaves_one_stop_per_run_and_a_usable_engine(tmp_path):
    child = subprocess.Popen(
        [sys.executable, "-c", DOUBLE_SIGINT_CHILD, str(tmp_path), str(len(GAPS_MS))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    result = None
    try:
        rounds = iter(GAPS_MS)
        for line in child.stdout:
            if line.startswith("running"):
                gap = next(rounds, None)
                if gap is None:  # the last, normal run
                    continue
                os.kill(child.pid, signal.SIGINT)
                time.sleep(gap / 1000)
                os.kill(child.pid, signal.SIGINT)
            elif line.startswith("RESULT"):
                result = json.loads(line.split(" ", 1)[1])
                break
        _, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    assert result is not None, err
    assert result["outcomes"] == ["paused paused"] * len(GAPS_MS), result
    assert result["state"] == "idle"
    db = RunStore(tmp_path / "store")
    runs = list(db)
    assert len(runs) == len(GAPS_MS) + 1
    for run in runs[:-1]:
        assert run.exit_status == "abort", (run, run.stop)
        for lane in ("lossless", "lossy"):
            assert result["stops"][f"{lane} {run.uid}"] == 1, (lane, run.uid, result["stops"])
        stops = [n for n, _ in run.documents() if n == "stop"]
        assert stops == ["stop"]
        with h5py.File(tmp_path / f"h5/{run.scan_id}.h5") as f:
            assert f["entry"].attrs["exit_status"] == "abort"
            assert f["entry/primary/direct_img"].shape[0] == len(run["primary"])
    assert runs[-1].exit_status == "success" and runs[-1].uid == result["final"][0]
    assert not list((tmp_path / "h5").glob("*.partial"))
    db.close()


SIGKILL_CHILD = textwrap.dedent(
    """
    import sys
    from livescan import RunEngine
    from livescan.plans import count
    from livescan.sim import det, direct_img
    from livescan.store import RunStore

    RE = RunEngine(display=False)
    RE.subscribe_lossless(RunStore(sys.argv[1]))
    RE.subscribe_lossless(lambda name, doc: print(name, doc.get("uid", ""), flush=True))
    while True:
        RE(count([det, direct_img], num=5, delay=0.001))
    """
)


def test_sigkill_loop_never_loses_a_recorded_document(tmp_path):
    store = tmp_path / "store"
    rng = random.Random(10)
    reported: dict[str, list[str]] = {}
    for _ in range(4):
        lines = run_and_kill(SIGKILL_CHILD, store, rng.randint(5, 40))
        for name, uid in (x for x in lines if len(x) == 2):
            reported.setdefault(name, []).append(uid)
    db = RunStore(store)
    recorded: dict[str, set[str]] = {}
    for run in db:
        for name, doc in run.documents():
            recorded.setdefault(name, set()).add(doc["uid"])
    lost = {n: [u for u in uids if u not in recorded.get(n, set())] for n, uids in reported.items()}
    assert all(not v for v in lost.values()), lost
    assert len(db) >= 4 and sum(1 for r in db if r.stop is None) >= 1
    db.close()


STUCK_CHILD = textwrap.dedent(
    """
    import sys, time
    from livescan import RunEngine
    from livescan.plans import count
    from livescan.sim import SimStatus

    class Stuck:
        name, parent = "stuck", None
        def trigger(self):
            print("stuck", flush=True)
            time.sleep(60)  # blocks the engine's loop: no checkpoint comes
            return SimStatus.finished()
        def read(self):
            return {"stuck": {"value": 0.0, "timestamp": time.time()}}
        def describe(self):
            return {"stuck": {"source": "x", "dtype": "number", "shape": []}}
        def read_configuration(self):
            return {}
        def describe_configuration(self):
            return {}

    t0 = time.monotonic()
    try:
        RunEngine(display=False)(count([Stuck()], num=1))
    except KeyboardInterrupt:
        print(f"escaped after {time.monotonic() - t0:.1f} s", flush=True)
    """
)


def test_the_fifth_ctrl_c_escapes_a_run_that_cannot_end(tmp_path):
    """A device blocks the loop, so the pause the first two presses ask for never comes:
    presses three and four say how many more force it, the fifth raises KeyboardInterrupt
    at once."""
    child = subprocess.Popen(
        [sys.executable, "-c", STUCK_CHILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, cwd=tmp_path,
    )  # fmt: skip
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "stuck"
    for _ in range(5):
        time.sleep(0.2)
        child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    escaped = float(out.split("escaped after ")[1].split(" s")[0])
    assert escaped < 10, out  # not the device's 60 s
    assert "press Ctrl-C 2 more times to force" in err
    assert "press Ctrl-C 1 more times to force" in err
