"""Subscriptions and the two delivery lanes."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from livescan.callbacks import DocumentCollector
from livescan.dispatch import LossyLane, Subscription
from livescan.errors import CriticalCallbackError, NotCallableError, UnknownDocumentName
from livescan.plans import Count, count, subs_decorator
from livescan.sim import det, det1
from tests.dispatch._feed import feed_run


# -- the ways to subscribe ------------------------------------------------------------------
def test_per_run_callable_list_and_dict(RE) -> None:
    a, b, starts, events = DocumentCollector(), DocumentCollector(), [], []
    RE(count([det], num=2), a)
    RE(count([det], num=2), [a, b])
    RE(
        count([det], num=2),
        {
            "all": [b],
            "start": starts.append and (lambda n, d: starts.append(n)),
            "event": lambda n, d: events.append(d["seq_num"]),
        },
    )
    assert a.names().count("start") == 2 and b.names().count("start") == 2
    assert starts == ["start"] and events == [1, 2]


def test_bad_subscriptions_fail_before_anything_runs(RE) -> None:
    seen = DocumentCollector()
    RE.subscribe(seen)
    with pytest.raises(UnknownDocumentName, match=r"'evnt' is not a document name.*'all'"):
        RE(count([det]), {"evnt": print})
    with pytest.raises(NotCallableError, match="not callable"):
        RE(count([det]), [print, "LiveTable"])
    with pytest.raises(NotCallableError):
        RE(count([det]), 12)
    with pytest.raises(UnknownDocumentName):
        RE.subscribe(print, "events")
    with pytest.raises(NotCallableError):
        RE.subscribe_lossless("all", None)
    assert len(seen) == 0 and RE.md.get("scan_id") is None


def test_subscribe_both_orders_and_unsubscribe(RE) -> None:
    new, old, lossless = [], [], []
    t1 = RE.subscribe(lambda n, d: new.append(n), "start")
    with pytest.warns(UserWarning, match="old argument order"):  # as bluesky warns
        t2 = RE.subscribe("stop", lambda n, d: old.append(n))
    t3 = RE.subscribe_lossless(lambda n, d: lossless.append(n), name="event")
    assert isinstance(t1, int) and len({t1, t2, t3}) == 3
    RE(count([det], num=2))
    assert new == ["start"] and old == ["stop"] and lossless == ["event", "event"]
    RE.unsubscribe(t1)
    RE.unsubscribe(t2)
    RE.unsubscribe_lossless(t3)
    RE(count([det]))
    assert new == ["start"] and old == ["stop"] and len(lossless) == 2
    with pytest.raises(KeyError, match="no subscription has token"):
        RE.unsubscribe(t1)
    with pytest.raises(KeyError, match="no subscription has token"):
        RE.unsubscribe_lossless(t1)
    # tokens count from 0 and are unique across the lanes; unsubscribe_lossless is
    # bluesky's alias of unsubscribe (bluesky's tests unsubscribe RE.subscribe's with it)
    assert min(t1, t2, t3) == 1  # the fixture subscribed token 0
    t4 = RE.subscribe(lambda n, d: new.append(n), "start")
    RE.unsubscribe_lossless(t4)
    RE(count([det]))
    assert new == ["start"]


def test_plan_subscriptions_are_removed_after_the_plan(RE) -> None:
    seen = []

    @subs_decorator({"start": lambda n, d: seen.append(n)})
    def plan():
        yield from count([det])

    RE(plan())
    RE(count([det]))
    assert seen == ["start"]
    assert not RE.dispatcher.lossy.subs


# -- lossy lane ---------------------------------------------------------------------------------
def test_a_raising_lossy_callback_is_logged_and_the_run_goes_on(RE, caplog) -> None:
    def broken(name, doc):
        if name == "event":
            raise ValueError("plot broke")

    async def main():
        handle = RE(count([det], num=5), broken)
        return handle, await handle

    with caplog.at_level(logging.ERROR, "livescan.dispatch"):
        handle, result = asyncio.run(main())
    assert result.exit_status == "success"
    assert len(handle.callback_errors) == 5
    label, name, exc = handle.callback_errors[0]
    assert label.endswith("broken") and name == "event" and "plot broke" in str(exc)
    assert (
        sum("plot broke" in r.getMessage() or r.exc_info is not None for r in caplog.records) == 1
    )  # logged once with its traceback


def test_a_slow_lossy_callback_skips_events_but_never_documents(RE) -> None:
    got: list[str] = []

    def slow(name, doc):
        got.append(name)
        if name == "event":
            time.sleep(0.01)

    async def main():
        handle = RE(count([det], num=2000), slow)
        t0 = time.perf_counter()
        await handle
        return handle, time.perf_counter() - t0

    handle, duration = asyncio.run(main())
    assert got[:2] == ["start", "descriptor"] and got[-1] == "stop"
    delivered = got.count("event")
    assert delivered + handle.skipped[next(iter(handle.skipped))] == 2000
    assert delivered < 50
    assert duration < 2000 * 0.01 / 10


def test_lossy_budget_is_predictive_and_ignores_setup_docs() -> None:
    now = [0.0]
    lane = LossyLane(budget=0.2, total_budget=1.0, grace=0.0, clock=lambda: now[0])
    calls: list[str] = []

    def cb(name, doc):
        calls.append(name)
        now[0] += 1.0 if name == "event" else 5.0  # start/descriptor are expensive set-up

    lane.add(Subscription(1, cb))
    lane.begin_run()
    feed_run(lane, now)
    # set-up cost 10 s is not charged: events flow; each costs 1 s out of a 20 % budget
    events = calls.count("event")
    assert calls[:2] == ["start", "descriptor"] and calls[-1] == "stop"
    assert 3 <= events <= 7
    stats = lane.stats[1]
    assert stats.skipped == 20 - events


def test_event_pages_batch_every_event_for_widgets(RE) -> None:
    class Widget:
        accepts_event_pages = True

        def __init__(self):
            self.seq: list[int] = []
            self.names: list[str] = []

        def __call__(self, name, doc):
            self.names.append(name)
            if name == "event_page":
                self.seq.extend(doc["seq_num"])

    w = Widget()
    RE(count([det, det1], num=3000), w)
    assert w.seq == list(range(1, 3001)), "a page subscriber sees every event, in order"
    assert w.names[:2] == ["start", "descriptor"] and w.names[-1] == "stop"
    assert 1 < w.names.count("event_page") < 3000


def test_async_lossy_callbacks_are_scheduled(RE) -> None:
    seen = []

    async def acb(name, doc):
        await asyncio.sleep(0)
        seen.append(name)

    async def main():
        await RE(count([det], num=2), acb)
        await asyncio.sleep(0.01)

    asyncio.run(main())
    assert seen.count("event") == 2 and "stop" in seen


# -- lossless lane ------------------------------------------------------------------------------
def test_lossless_gets_every_document_in_order_and_may_be_async(RE) -> None:
    order: list[tuple[str, int]] = []

    async def writer(name, doc):
        await asyncio.sleep(0)
        order.append((name, doc.get("seq_num", 0)))

    RE.subscribe_lossless(writer)
    RE(count([det], num=500))
    assert [n for n, _ in order] == ["start", "descriptor", *["event"] * 500, "stop"]
    assert [s for n, s in order if n == "event"] == list(range(1, 501))


def test_a_failing_lossless_subscriber_ends_the_run_cleanly(RE) -> None:
    other = DocumentCollector()
    lossy = DocumentCollector()

    class DiskFull:
        def __call__(self, name, doc):
            if name == "event" and doc["seq_num"] == 3:
                raise OSError(28, "No space left on device")

    RE.subscribe_lossless(DiskFull())
    RE.subscribe_lossless(other)
    with pytest.raises(CriticalCallbackError, match="DiskFull raised OSError") as info:
        RE(count([det], num=10), lossy)
    err = info.value
    assert isinstance(err.__cause__, OSError)
    assert err.uids == (other.start["uid"],)
    stop = other.stop
    assert stop["exit_status"] == "fail" and "DiskFull" in stop["reason"]
    assert stop["num_events"]["primary"] == 3
    assert other.names() == ["start", "descriptor", "event", "event", "event", "stop"]
    assert lossy.stop["exit_status"] == "fail"
    assert RE.state == "idle"


def test_lossless_failure_in_the_loop_mode_reaches_the_awaiter(RE) -> None:
    def bad(name, doc):
        if name == "descriptor":
            raise RuntimeError("cannot open file")

    RE.subscribe_lossless(bad)

    async def main():
        handle = RE(count([det]))
        with pytest.raises(CriticalCallbackError, match="cannot open file"):
            await handle
        return handle

    handle = asyncio.run(main())
    assert handle.exit_status == "fail" and "bad" in handle.reason


def test_plan_object_subs_are_lossy(RE) -> None:
    plan = Count([det], num=3)

    def broken(name, doc):
        raise RuntimeError("a plot error must not kill the scan")

    plan.subs["all"].append(broken)
    result = RE(plan)
    assert result.exit_status == "success"


def test_pages_reach_widgets_before_the_next_motor_move(RE) -> None:
    """In a slow scan a page subscriber sees each point before the next move finishes."""
    from livescan.plans import scan
    from livescan.sim import motor

    lags: list[float] = []

    class Widget:
        accepts_event_pages = True

        def __call__(self, name, doc):
            if name == "event_page":
                lags.extend(time.time() - t for t in doc["time"])

    motor.delay = 0.1
    RE(scan([det], motor, 0, 1, num=4), Widget())
    assert len(lags) == 4
    assert max(lags) < 0.05, f"a point reached the widget {max(lags):.3f} s late"


def test_page_subscribers_get_every_event_of_every_stream(RE) -> None:
    from livescan.plans import baseline_wrapper
    from livescan.sim import motor1

    class Widget:
        accepts_event_pages = True

        def __init__(self):
            self.by_descriptor: dict[str, list[int]] = {}
            self.names: dict[str, str] = {}

        def __call__(self, name, doc):
            if name == "descriptor":
                self.names[doc["uid"]] = doc["name"]
            if name == "event_page":
                self.by_descriptor.setdefault(doc["descriptor"], []).extend(doc["seq_num"])

    w = Widget()
    RE(baseline_wrapper(count([det], num=3), [motor1]), w)
    seen = {w.names[d]: seqs for d, seqs in w.by_descriptor.items()}
    assert seen == {"baseline": [1, 2], "primary": [1, 2, 3]}


@pytest.mark.parametrize("slow_first", [True, False])
def test_a_slow_lossy_subscriber_never_costs_a_fast_one_an_event(RE, slow_first) -> None:
    import time

    seen = {"slow": 0, "fast": 0}

    def slow(name, doc):
        if name == "event":
            seen["slow"] += 1
            time.sleep(0.01)

    def fast(name, doc):
        if name == "event":
            seen["fast"] += 1

    for cb in (slow, fast) if slow_first else (fast, slow):
        RE.subscribe(cb)
    handles = []
    RE.add_listener(lambda h: handles.append(h))
    RE(count([det], num=300, delay=0.002))
    assert seen["fast"] == 300
    assert 0 < seen["slow"] < 300
    (label, skipped), *others = handles[-1].skipped.items()  # counted per subscriber
    assert not others and label.endswith(".slow") and skipped == 300 - seen["slow"]


def test_a_subscribers_cost_predicts_its_first_call_of_the_next_run() -> None:
    now = [0.0]
    lane = LossyLane(budget=0.2, total_budget=1.0, grace=0.0, clock=lambda: now[0])
    calls: list[str] = []

    def cb(name, doc):
        calls.append(name)
        if name == "event":
            now[0] += 10.0  # far more than a 20-event run's budget

    lane.add(Subscription(1, cb))
    for run in (1, 2):
        calls.clear()
        lane.begin_run()
        feed_run(lane, now)
        # run 1: its first call, of unknown cost, is made; run 2: predicted, it is not
        assert calls.count("event") == (1 if run == 1 else 0)
        assert calls[-1] == "stop" and lane.stats[1].skipped == 20 - calls.count("event")
