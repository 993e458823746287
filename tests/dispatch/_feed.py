"""A run's documents fed straight into a lossy lane on a fake clock."""

from __future__ import annotations

from livescan.dispatch import LossyLane
from livescan.documents import RunComposer


def feed_run(lane: LossyLane, now: list[float], events: int = 20) -> None:
    """start, descriptor, ``events`` events one fake second apart, stop."""
    run = RunComposer({})
    lane.emit("start", run.start())
    desc = run.descriptor("primary", {"x": {"dtype": "number", "shape": [], "source": "s"}})
    lane.emit("descriptor", desc)
    for _ in range(events):
        lane.emit("event", run.event(desc, {"x": 1.0}, {"x": 0.0}))
        now[0] += 1.0
    lane.emit("stop", run.stop())
