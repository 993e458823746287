"""Lossy subscribers that take every event late: bluesky's callbacks and ``every_event=True``.

They get every document, in order, never dropped; during the run within the lane's
budget (the scan is not slowed), the rest before ``RE()`` returns or the awaited run ends.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from bluesky.callbacks.core import CallbackBase

from livescan.dispatch import LossyLane, Subscription, is_bluesky_callback
from livescan.plans import count
from livescan.sim import det
from tests.dispatch._feed import feed_run

SLOW = 0.01  # seconds a slow subscriber spends on each event
N = 100


class SlowBlueskyCallback(CallbackBase):
    """A callback written for bluesky (a ``CallbackBase``) that takes 10 ms an event."""

    def __init__(self):
        super().__init__()
        self.names: list[str] = []
        self.seq: list[int] = []

    def __call__(self, name, doc):
        self.names.append(name)
        return super().__call__(name, doc)

    def event(self, doc):
        self.seq.append(doc["seq_num"])
        time.sleep(SLOW)
        return doc


class StopClock:
    """A lossless subscriber noting, at each stop, the time and what ``watched`` had."""

    def __init__(self, watched):
        self.watched = watched
        self.at_stop: list[int] = []
        self.times: dict[str, list[float]] = {"start": [], "stop": []}

    def __call__(self, name, doc):
        if name in self.times:
            self.times[name].append(time.perf_counter())
        if name == "stop":
            self.at_stop.append(len(self.watched.seq))


def _run_seconds(RE, plan_factory, *, awaited: bool) -> float:
    t0 = time.perf_counter()
    if awaited:

        async def main():
            await RE(plan_factory())

        asyncio.run(main())
    else:
        RE(plan_factory())
    return time.perf_counter() - t0


@pytest.mark.parametrize("awaited", [False, True], ids=["blocking", "awaited"])
def test_a_slow_bluesky_callback_gets_every_event_late_without_slowing_the_scan(RE, awaited):
    def plan():
        return count([det], num=N, delay=0.003)

    cb = SlowBlueskyCallback()
    clock = StopClock(cb)
    RE.subscribe(cb)  # no keyword: a CallbackBase takes every event
    RE.subscribe_lossless(clock)
    _run_seconds(RE, plan, awaited=awaited)
    run = clock.times["stop"][0] - clock.times["start"][0]

    assert cb.seq == list(range(1, N + 1)), "every event, in order"
    assert cb.names[:2] == ["start", "descriptor"] and cb.names[-1] == "stop"
    assert cb.names.count("stop") == 1 and len(cb.names) == N + 3
    # it lagged: at the stop it had had only part of the events, and RE() / the
    # awaited run returned only once it had caught up
    assert clock.at_stop[0] < N // 2
    # during the run it took no more than the lane's budget (20 % of the run's time,
    # the first call is always let through), so the scan was not slowed to its pace
    assert clock.at_stop[0] * SLOW <= 0.2 * run + SLOW + 0.005, (clock.at_stop, run)


def test_two_runs_in_one_plan_keep_the_document_order(RE):
    def two_runs():
        yield from count([det], num=30, delay=0.002)
        yield from count([det], num=20, delay=0.002)

    cb = SlowBlueskyCallback()
    RE.subscribe(cb)
    uids = RE(two_runs())
    assert len(uids) == 2
    assert cb.seq == list(range(1, 31)) + list(range(1, 21))
    names = cb.names
    assert [n for n in names if n != "event"] == ["start", "descriptor", "stop"] * 2
    assert names.index("stop") == 1 + 1 + 30  # run 1's events all before its stop


def test_a_plain_function_opts_in_with_every_event(RE):
    got: dict[str, list[int]] = {"opted": [], "default": []}

    def slow(key):
        def cb(name, doc):
            if name == "event":
                got[key].append(doc["seq_num"])
                time.sleep(SLOW)

        return cb

    RE.subscribe(slow("opted"), every_event=True)
    RE.subscribe(slow("default"))
    handles = []
    RE.add_listener(handles.append)
    RE(count([det], num=60, delay=0.002))
    assert got["opted"] == list(range(1, 61))
    assert len(got["default"]) < 60  # a plain function still skips (coalesces)
    skipped = handles[-1].skipped
    assert list(skipped) == [
        "test_a_plain_function_opts_in_with_every_event.<locals>.slow.<locals>.cb"
    ]
    assert sum(skipped.values()) == 60 - len(got["default"])


def test_bluesky_callbacks_are_recognised_without_importing_bluesky_types():
    assert is_bluesky_callback(SlowBlueskyCallback())
    assert not is_bluesky_callback(lambda name, doc: None)
    assert Subscription(0, SlowBlueskyCallback()).complete
    assert not Subscription(0, SlowBlueskyCallback(), every_event=False).complete
    assert Subscription(0, print, every_event=True).complete


def test_every_event_subscriber_over_budget_waits_for_the_plans_end() -> None:
    now = [0.0]
    lane = LossyLane(budget=0.2, total_budget=1.0, grace=0.0, clock=lambda: now[0])
    calls: list[tuple[str, int]] = []

    def cb(name, doc):
        calls.append((name, doc.get("seq_num", 0)))
        if name == "event":
            now[0] += 1.0

    lane.add(Subscription(1, cb, every_event=True))
    lane.begin_run()
    feed_run(lane, now)
    during = len(calls)
    assert 3 <= during - 2 <= 7 and ("stop", 0) not in calls  # the stop waits its turn
    lane.drain(force=True)  # the plan's end
    assert [c[1] for c in calls if c[0] == "event"] == list(range(1, 21))
    assert calls[-1] == ("stop", 0) and lane.stats[1].skipped == 0


def test_an_error_while_catching_up_reaches_re_when_callback_exceptions_count(RE):
    class Fails(SlowBlueskyCallback):
        def event(self, doc):
            super().event(doc)
            if doc["seq_num"] == 40:
                raise ValueError("peak fit failed")

    RE.ignore_callback_exceptions = False
    cb = Fails()
    RE.subscribe(cb)
    stops = []
    RE.subscribe_lossless(lambda name, doc: stops.append(doc) if name == "stop" else None)
    with pytest.raises(ValueError, match="peak fit failed"):
        RE(count([det], num=40, delay=0.002))
    assert cb.seq == list(range(1, 41)) and len(stops) == 1


def test_a_page_subscriber_that_edits_its_pages_changes_nothing_lossless(RE):
    import numpy as np

    from livescan.sim import direct_img

    kept = []
    RE.subscribe_lossless(lambda name, doc: kept.append(doc) if name == "event" else None)

    class Editor:  # takes pages, and does not promise to leave them alone
        accepts_event_pages = True
        errors = 0

        def __call__(self, name, doc):
            if name == "event_page":
                doc["seq_num"][:] = [0] * len(doc["seq_num"])
                doc["data"]["det"][:] = [-1.0] * len(doc["seq_num"])
                for frame in doc["data"]["direct_img"]:
                    try:
                        frame[...] = 0
                    except ValueError:  # read-only
                        self.errors += 1

    editor = Editor()
    RE.subscribe(editor)
    RE(count([det, direct_img], num=10))
    assert [e["seq_num"] for e in kept] == list(range(1, 11))
    assert all(e["data"]["det"] != -1.0 for e in kept)
    assert all(np.asarray(e["data"]["direct_img"]).any() for e in kept)
    assert editor.errors == 10


def test_every_event_subscriber_catches_up_while_the_run_is_paused(RE) -> None:
    # a slow every-event subscriber falls behind a fast count; once the run is paused it
    # gets every event up to the pause (the scan loses nothing to it then), and a Resume
    # is still taken at once; after the resume it goes on to the end
    from livescan.plans import count as count_plan

    class Slow:
        def __init__(self):
            self.seq: list[int] = []

        def __call__(self, name, doc):
            if name == "event":
                self.seq.append(doc["seq_num"])
                time.sleep(0.002)

    slow = Slow()
    token = RE.subscribe(slow, every_event=True)

    async def main():
        handle = RE(count_plan([det], 1000, delay=0.0005))
        at_pause: list[int] = []

        def on_state(h):
            if h.state == "paused" and not at_pause:  # (called as the state changes)
                at_pause.extend([h.num_events, len(slow.seq)])

        handle.add_listener(on_state)
        await asyncio.sleep(0.2)
        RE.pause()
        while RE.state != "paused":
            await asyncio.sleep(0.005)
        paused_at, behind = at_pause[0], at_pause[0] - at_pause[1]
        t0 = time.perf_counter()
        while len(slow.seq) < paused_at and time.perf_counter() - t0 < 3:
            await asyncio.sleep(0.01)
        caught_up = list(slow.seq)
        t1 = time.perf_counter()
        RE.resume()
        while RE.state == "paused":
            await asyncio.sleep(0.001)
        resumed_in = time.perf_counter() - t1
        result = await handle
        return result, paused_at, behind, caught_up, resumed_in

    try:
        result, paused_at, behind, caught_up, resumed_in = asyncio.run(main())
    finally:
        RE.unsubscribe(token)
    assert behind > 20, "the subscriber was behind when the run paused (else no test)"
    assert caught_up[-1] >= paused_at - 1 and caught_up == list(range(1, len(caught_up) + 1))
    assert resumed_in < 0.2, f"a Resume waited {resumed_in:.3f} s for the catch-up"
    assert result.exit_status == "success"
    assert slow.seq == list(range(1, 1001))
