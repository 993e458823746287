#!/usr/bin/env python
"""The same plans through livescan and bluesky (+ ophyd.sim), in one process.

Prints one JSON object: events/s of each engine per plan (medians of ``--repeat`` runs)
and their ratio, and what a slow lossy subscriber (sleeping 10 ms per event) costs a
livescan count. bluesky runs fewer points (it manages ~150–250 events/s here), which the
JSON says. Both engines have one trivial subscriber that counts documents (livescan: on
the lossless lane), so both really produce every document.

    .venv/bin/python bench/engine.py [--repeat 5] [--quick]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any


class Counter:
    """Counts documents by name."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1

    def reset(self) -> None:
        self.counts = {}


def timed(run: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    run()
    return time.perf_counter() - t0


def grid_sides(points: int) -> tuple[int, int]:
    """Two grid sides whose product is about ``points``."""
    a = max(1, round(points**0.5))
    return a, max(1, round(points / a))


def livescan_plans(n: int, grid: tuple[int, int]) -> dict[str, tuple[Callable[[], Any], int]]:
    from livescan import sim
    from livescan.plans import count, grid_scan, scan

    return {
        "count": (lambda: count([sim.det1, sim.det2, sim.det3], num=n), n),
        "scan": (lambda: scan([sim.det], sim.motor, -1, 1, num=n), n),
        "grid_scan": (
            lambda: grid_scan([sim.det4], sim.motor1, -1, 1, grid[0], sim.motor2, -1, 1, grid[1]),
            grid[0] * grid[1],
        ),
    }


def bluesky_plans(n: int, grid: tuple[int, int]) -> dict[str, tuple[Callable[[], Any], int]]:
    import bluesky.plans as bp
    from ophyd import sim

    return {
        "count": (lambda: bp.count([sim.det1, sim.det2, sim.det3], num=n), n),
        "scan": (lambda: bp.scan([sim.det], sim.motor, -1, 1, n), n),
        "grid_scan": (
            lambda: bp.grid_scan(
                [sim.det4], sim.motor1, -1, 1, grid[0], sim.motor2, -1, 1, grid[1]
            ),
            grid[0] * grid[1],
        ),
    }


def measure(
    engine: Callable[[Any], Any],
    counter: Counter,
    plans: dict[str, tuple[Callable[[], Any], int]],
    repeat: int,
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, (make, events) in plans.items():
        times = []
        for _ in range(repeat):
            counter.reset()
            times.append(timed(lambda make=make: engine(make())))
            if counter.counts.get("event") != events:
                raise RuntimeError(f"{name}: expected {events} events, got {counter.counts}")
        median = statistics.median(times)
        out[name] = {
            "events": events,
            "seconds_median": round(median, 4),
            "seconds_all": [round(t, 4) for t in times],
            "events_per_s": round(events / median, 1),
        }
    return out


def _noop(name: str, doc: dict[str, Any]) -> None:
    pass


def floor_documents(n: int) -> float:
    """Seconds to build ``n`` event documents of ``det`` (uid, time, data, timestamps,
    seq_num, filled) and hand each to a no-op callback: what any engine must do."""
    import uuid

    from livescan import sim

    det = sim.det
    t0 = time.perf_counter()
    descriptor = str(uuid.uuid4())
    for seq in range(1, n + 1):
        det.trigger()
        reading = det.read()
        doc = {
            "uid": str(uuid.uuid4()),
            "time": time.time(),
            "descriptor": descriptor,
            "seq_num": seq,
            "data": {k: r["value"] for k, r in reading.items()},
            "timestamps": {k: r["timestamp"] for k, r in reading.items()},
            "filled": {},
        }
        _noop("event", doc)
    return time.perf_counter() - t0


def floor_interpreter(n: int) -> float:
    """Seconds for a minimal interpreter of the same six messages per event
    (checkpoint, trigger, wait, create, read, save) from a generator plan, plain
    functions in a dict, the same documents to a no-op callback."""
    import uuid

    from livescan import sim
    from livescan.plans import Msg

    det = sim.det

    def plan() -> Any:
        for _ in range(n):
            yield Msg("checkpoint")
            yield Msg("trigger", det, group="g")
            yield Msg("wait", None, group="g")
            yield Msg("create", name="primary")
            yield Msg("read", det)
            yield Msg("save")

    state: dict[str, Any] = {"seq": 0, "desc": str(uuid.uuid4()), "bundle": None}

    def create(msg: Any) -> None:
        state["bundle"] = {}

    def read(msg: Any) -> Any:
        reading = msg.obj.read()
        state["bundle"].update(reading)
        return reading

    def save(msg: Any) -> None:
        readings, state["bundle"] = state["bundle"], None
        state["seq"] += 1
        doc = {
            "uid": str(uuid.uuid4()),
            "time": time.time(),
            "descriptor": state["desc"],
            "seq_num": state["seq"],
            "data": {k: r["value"] for k, r in readings.items()},
            "timestamps": {k: r["timestamp"] for k, r in readings.items()},
            "filled": {},
        }
        _noop("event", doc)

    verbs = {
        "checkpoint": lambda msg: None,
        "trigger": lambda msg: msg.obj.trigger(),
        "wait": lambda msg: None,
        "create": create,
        "read": read,
        "save": save,
    }
    t0 = time.perf_counter()
    gen = plan()
    response = None
    try:
        while True:
            msg = gen.send(response)
            response = verbs[msg.command](msg)
    except StopIteration:
        pass
    return time.perf_counter() - t0


def bare_engine(n: int, repeat: int) -> dict[str, Any]:
    """livescan with no subscriber at all (count, scan, grid) beside the two floors, in
    events/s and as ratios: the engine's own cost per event."""
    from livescan import RunEngine, sim
    from livescan.plans import count, grid_scan, scan

    RE = RunEngine(display=False)
    side = max(2, round(n**0.5))
    plans = {
        "count": (lambda: count([sim.det], num=n), n),
        "scan": (lambda: scan([sim.det], sim.motor, -1, 1, num=n), n),
        "grid_scan": (
            lambda: grid_scan([sim.det4], sim.motor1, -1, 1, side, sim.motor2, -1, 1, side),
            side * side,
        ),
    }
    out: dict[str, Any] = {}
    docs = statistics.median(floor_documents(n) for _ in range(repeat))
    interp = statistics.median(floor_interpreter(n) for _ in range(repeat))
    out["floor_documents_events_per_s"] = round(n / docs)
    out["floor_interpreter_events_per_s"] = round(n / interp)
    for name, (make, events) in plans.items():
        seconds = statistics.median(timed(lambda make=make: RE(make())) for _ in range(repeat))
        rate = events / seconds
        out[name] = {
            "events": events,
            "events_per_s": round(rate),
            "ratio_to_documents_floor": round(rate / out["floor_documents_events_per_s"], 3),
            "ratio_to_interpreter_floor": round(rate / out["floor_interpreter_events_per_s"], 3),
        }
    return out


def lossy_cost(events: int, repeat: int, sleep: float) -> dict[str, Any]:
    """A count with no lossy subscriber vs one that sleeps ``sleep`` s per event."""
    from livescan import RunEngine, sim
    from livescan.plans import count

    RE = RunEngine(display=False)
    handles: list[Any] = []
    RE.add_listener(lambda h: handles.append(h) if h not in handles else None)

    class Sleepy:
        def __init__(self) -> None:
            self.events = 0

        def __call__(self, name: str, doc: dict[str, Any]) -> None:
            if name == "event":
                self.events += 1
                time.sleep(sleep)

    without, with_, got, skipped = [], [], [], []
    for _ in range(repeat):
        without.append(timed(lambda: RE(count([sim.det1, sim.det2, sim.det3], num=events))))
        sleepy = Sleepy()
        handles.clear()
        with_.append(
            timed(lambda s=sleepy: RE(count([sim.det1, sim.det2, sim.det3], num=events), s))
        )
        got.append(sleepy.events)
        skipped.append(sum(handles[-1].skipped.values()) if handles else None)
    t0, t1 = statistics.median(without), statistics.median(with_)
    return {
        "events": events,
        "sleep_per_event_s": sleep,
        "seconds_without_median": round(t0, 4),
        "seconds_with_median": round(t1, 4),
        "slowdown": round(t1 / t0, 2),
        "target_slowdown": 1.5,
        "within_target": t1 / t0 <= 1.5,
        "delivered_events_median": statistics.median(got),
        "skipped_events_reported_median": statistics.median(s or 0 for s in skipped),
        "delivered_all": got,
        "skipped_reported_all": skipped,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat (smoke)")
    parser.add_argument("--points", type=int, default=2000, help="livescan count/scan points")
    parser.add_argument("--grid", type=int, default=100, help="livescan grid side (N×N)")
    parser.add_argument("--bluesky-points", type=int, default=300, help="bluesky points/plan")
    parser.add_argument(
        "--bare-points", type=int, default=50000, help="events per plan with no subscriber"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.repeat, args.points, args.grid, args.bluesky_points = 1, 200, 20, 30
        args.bare_points = 400
    warnings.simplefilter("ignore")

    import bluesky
    import ophyd
    from bluesky import RunEngine as BlueskyRunEngine

    import livescan
    from livescan import RunEngine

    ours, theirs = Counter(), Counter()
    RE = RunEngine(display=False)
    RE.subscribe_lossless(ours)
    bRE = BlueskyRunEngine({})
    bRE.subscribe(theirs)

    bgrid = grid_sides(args.bluesky_points)
    ls = measure(RE, ours, livescan_plans(args.points, (args.grid, args.grid)), args.repeat)
    bs = measure(bRE, theirs, bluesky_plans(args.bluesky_points, bgrid), args.repeat)
    cases = {
        name: {
            "livescan": ls[name],
            "bluesky": bs[name],
            "ratio": round(ls[name]["events_per_s"] / bs[name]["events_per_s"], 1),
        }
        for name in ls
    }
    result = {
        "versions": {
            "python": platform.python_version(),
            "livescan": livescan.__version__,
            "bluesky": bluesky.__version__,
            "ophyd": ophyd.__version__,
        },
        "repeat": args.repeat,
        "quick": args.quick,
        "plans": {
            "count": "count([det1, det2, det3], num=N)",
            "scan": "scan([det], motor, -1, 1, N)",
            "grid_scan": "grid_scan([det4], motor1, -1, 1, A, motor2, -1, 1, B)",
        },
        "note": (
            f"bluesky runs {args.bluesky_points} points per 1-D plan and a "
            f"{bgrid[0]}x{bgrid[1]} grid (livescan {args.points} points and "
            f"{args.grid}x{args.grid}) to keep the bench quick; events/s are medians; "
            "ratio = livescan events/s / bluesky events/s"
        ),
        "cases": cases,
        "bare": bare_engine(args.bare_points, args.repeat),
        "lossy": lossy_cost(args.points, args.repeat, 0.01),
    }
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
