"""The throttle's rate bound and final flush; min/max decimation's bounds and fidelity."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from livescan.widgets import MinMaxDecimator, Throttle, minmax_indices
from livescan.widgets._throttle import MAX_BACKOFF


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_without_a_loop_flushes_synchronously_at_a_bounded_rate():
    clock, flushed = FakeClock(), []
    th = Throttle(lambda: flushed.append(clock.t), max_rate=20, clock=clock)
    for _ in range(10_000):  # 10 s of pokes every millisecond
        th.poke()
        clock.t += 0.001
    assert 195 <= len(flushed) <= 201
    assert np.all(np.diff(flushed) >= 0.05 - 1e-9)
    th.flush_now()  # the last state always goes out
    assert not th.dirty and len(flushed) == th.flushes


def test_slow_flushes_are_spaced_by_the_duty_cycle():
    clock = FakeClock()

    def slow_flush():
        clock.t += 0.02  # each flush takes 20 ms

    th = Throttle(slow_flush, max_rate=20, max_duty=0.1, clock=clock)
    for _ in range(1000):
        th.poke()
        clock.t += 0.001
    # 20 ms per flush at <= 10 % duty: at most one flush per 200 ms of wall time
    assert th.flushes <= clock.t / 0.2 + 1


def test_one_slow_flush_does_not_freeze_the_widget():
    # a one-off stall (an import, a GC pause) inside a flush used to delay the next
    # flush by took / max_duty: 10 s after a 1 s flush
    clock = FakeClock()
    took = [0.001, 1.0, 1.0, 0.001]  # normal, a stall, another, normal again

    def flush():
        clock.t += took.pop(0) if took else 0.001

    th = Throttle(flush, max_rate=20, max_duty=0.1, clock=clock)
    th.poke()  # normal
    clock.t += 0.05
    th.poke()  # the first stall: not counted alone
    stalled = clock.t
    while th.flushes < 3:
        th.poke()
        clock.t += 0.001
    assert clock.t - stalled < 1.0 + 0.05 + 0.002  # the next flush one interval later
    second = clock.t
    while th.flushes < 4:  # two slow flushes in a row back off, boundedly
        th.poke()
        clock.t += 0.001
    assert clock.t - second <= MAX_BACKOFF * 0.05 + 0.002


def test_on_a_loop_throttles_flush_together_on_the_interval_grid():
    # each flush notes the loop iteration it ran in (a callback that re-schedules itself
    # runs first in every iteration and counts them), not its clock time: on a busy
    # machine the process may be descheduled between two callbacks of one iteration
    stamps: dict[float, list[int]] = {20.0: [], 10.0: []}
    iteration = [0]

    async def main() -> None:
        loop = asyncio.get_running_loop()

        def count() -> None:
            iteration[0] += 1
            loop.call_soon(count)

        loop.call_soon(count)
        throttles = [
            Throttle(lambda r=rate: stamps[r].append(iteration[0]), max_rate=rate)
            for rate in stamps
        ]
        t_end = time.monotonic() + 0.6
        while time.monotonic() < t_end:
            for th in throttles:
                th.poke()
            await asyncio.sleep(0.003)

    asyncio.run(main())
    fast, slow = stamps[20.0], stamps[10.0]
    assert len(slow) >= 3 and len(fast) >= len(slow)
    # the 10 Hz flushes ran in the same loop iteration as a 20 Hz one (one burst); on a
    # busy machine a timer that fires very late may put one of them off the grid
    together = [t in fast for t in slow]
    assert sum(together) >= len(slow) - 1, (fast, slow)


def test_on_a_loop_bursts_coalesce_and_the_rate_is_bounded():
    stamps: list[float] = []

    async def main() -> Throttle:
        th = Throttle(lambda: stamps.append(time.monotonic()), max_rate=20)
        t_end = time.monotonic() + 0.5
        while time.monotonic() < t_end:
            for _ in range(200):
                th.poke()
            await asyncio.sleep(0.001)
        th.flush_now()
        return th

    th = asyncio.run(main())
    assert 5 <= len(stamps) <= 0.5 * 20 + 2
    # flushes fall on the 50 ms grid of the loop's clock: a slightly late one (the loop
    # was busy) and the next on time may be up to 15 % of an interval closer
    gaps = np.diff(stamps[:-1])  # the final flush_now may come early
    assert np.all(gaps >= 0.85 * 0.05 - 0.005), gaps
    assert th.errors == []


def test_a_timer_flush_error_is_kept_not_raised_into_the_loop(caplog):
    def bad():
        raise RuntimeError("boom")

    async def main() -> Throttle:
        th = Throttle(bad, max_rate=100)
        th.poke()
        await asyncio.sleep(0.05)
        return th

    th = asyncio.run(main())
    assert [str(e) for e in th.errors] == ["boom"]
    assert "flushing" in caplog.text


def test_a_timer_left_on_a_closed_loop_does_not_block_the_next_loop():
    flushed = []
    th = Throttle(lambda: flushed.append(1), max_rate=20)
    th.poke()  # no loop: flushes now; the next flush may come 50 ms later

    async def poke_only():
        th.poke()  # scheduled in 50 ms, but this loop ends before the timer fires

    asyncio.run(poke_only())

    async def poke_and_wait():
        th.poke()
        await asyncio.sleep(0.1)

    asyncio.run(poke_and_wait())
    assert flushed == [1, 1]


@pytest.mark.parametrize("bad", [0, -1])
def test_rate_must_be_positive(bad):
    with pytest.raises(ValueError, match="max_rate"):
        Throttle(lambda: None, max_rate=bad)


def test_short_lines_are_not_decimated():
    y = np.random.default_rng(0).normal(size=500)
    assert np.array_equal(minmax_indices(y, 2000), np.arange(500))


def test_incremental_decimation_is_bounded_sorted_and_keeps_extremes():
    rng = np.random.default_rng(1)
    y = np.cumsum(rng.normal(size=1_000_000))
    y[123_456] = 1e6  # a spike must survive
    d = MinMaxDecimator(2000)
    for n in [10, 1999, 2000, 2001, 5000, 77_777, 500_000, 999_999, 1_000_000]:
        idx = d.indices(y[:n])
        assert idx.size <= 2000
        assert np.all(np.diff(idx) > 0)
        assert idx[0] == 0 or y[idx[0]] in (y[: d.width].min(), y[: d.width].max())
        seen = y[:n]
        assert seen.max() in y[idx] and seen.min() in y[idx]
    assert 1e6 in y[idx]
    assert idx[-1] >= 1_000_000 - d.width  # the newest points are represented


def test_a_shrinking_array_is_an_error():
    d = MinMaxDecimator(100)
    d.indices(np.zeros(1000))
    with pytest.raises(ValueError, match="reset"):
        d.indices(np.zeros(10))
