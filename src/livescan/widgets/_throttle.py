"""Throttled flushing: widget callbacks mark state dirty; a timer pushes it at a bounded rate.

Widgets never send a comm message per document. A callback appends to kernel-side
buffers and calls :meth:`Throttle.poke`; the throttle runs the widget's ``flush`` at most
``max_rate`` times a second, on the running asyncio loop (the kernel's, or the loop a
blocking ``RE()`` runs on). Flushes that take long delay the next one further, so that
flushing uses at most ``max_duty`` of the loop's time, but never by more than
``MAX_BACKOFF`` intervals, and a single slow flush (an import, a garbage collection) does
not count: the delay follows the shorter of the last two flushes. ``flush_now`` (called at
stop) always pushes the final state.

Timer flushes fall on a grid of the throttle's interval on the loop's clock, so widgets
with the same rate (or rates that divide each other, 20 and 10 Hz) flush in the same loop
iteration: in a kernel every burst of comm messages wakes ipykernel's IOPub thread, which
then takes the interpreter lock from the busy run, and one burst of several messages costs
the run little more than one message alone.

Without a running loop (documents fed by hand from plain code) the throttle flushes
synchronously inside ``poke`` whenever the interval has passed, so the rate stays bounded.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable

__all__ = ["DEFAULT_MAX_RATE", "MAX_BACKOFF", "Throttle"]

logger = logging.getLogger(__name__)

#: Default upper bound on flushes per second per widget.
DEFAULT_MAX_RATE = 20.0
#: Slow flushes delay the next one by at most this many intervals (``1 / max_rate``).
MAX_BACKOFF = 5.0
#: A timer flush this late (fraction of an interval) still counts from its grid point.
_LATE_SLACK = 0.15


class Throttle:
    """Run ``flush`` at most ``max_rate`` times per second after :meth:`poke`.

    Parameters
    ----------
    flush:
        Pushes the widget's changed state (inside ``hold_sync()``).
    max_rate:
        Upper bound on flushes per second (default 20).
    max_duty:
        Upper bound on the fraction of wall time spent flushing: a flush that took
        ``t`` seconds (and the one before it) delays the next by ``t / max_duty``, at most
        ``MAX_BACKOFF / max_rate``.
    clock:
        Monotonic clock (tests pass a fake one).
    """

    def __init__(
        self,
        flush: Callable[[], object],
        *,
        max_rate: float = DEFAULT_MAX_RATE,
        max_duty: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not max_rate > 0:
            raise ValueError(f"max_rate must be > 0 flushes per second, not {max_rate!r}")
        if not 0 < max_duty <= 1:
            raise ValueError(f"max_duty must be in (0, 1], not {max_duty!r}")
        self._flush = flush
        self.max_rate = float(max_rate)
        self.max_duty = float(max_duty)
        self._clock = clock
        self._dirty = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None
        self._next_allowed = float("-inf")
        self._last_took = math.inf  # the first flush counts alone
        #: Number of flushes run so far.
        self.flushes = 0
        #: Errors raised by timer-driven flushes (logged, never raised into the loop).
        self.errors: list[BaseException] = []

    @property
    def dirty(self) -> bool:
        """True while there is state not flushed yet."""
        return self._dirty

    def poke(self) -> None:
        """Note that state changed; a flush will follow within ``1/max_rate`` s."""
        self._dirty = True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:
            if self._clock() >= self._next_allowed:
                self._run()
            return
        if self._timer is not None and self._timer_loop is loop:
            return
        delay = max(0.0, self._next_allowed - self._clock())
        # on the grid of the interval (loop time), so that throttles flush together
        interval = 1.0 / self.max_rate
        # (less a hair: clock reads and float rounding must not skip a grid point)
        when = math.ceil((loop.time() + delay) / interval - 1e-3) * interval
        self._timer_loop = loop
        self._timer = loop.call_at(when, self._fire, loop, when)

    def flush_now(self) -> None:
        """Flush at once if anything is pending (errors propagate to the caller)."""
        self.cancel()
        if self._dirty:
            self._run()

    def cancel(self) -> None:
        """Drop a scheduled flush (the state stays dirty)."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._timer_loop = None

    def _fire(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        self._timer = None
        self._timer_loop = None
        if not self._dirty:
            return
        try:
            self._run(late=max(0.0, loop.time() - when))
        except Exception as exc:  # a timer callback must not raise into the loop
            self.errors.append(exc)
            logger.exception("flushing %r failed", self._flush)

    def _run(self, late: float = 0.0) -> None:
        self._dirty = False
        t0 = self._clock()
        try:
            self._flush()
        finally:
            took = self._clock() - t0
            self.flushes += 1
            interval = 1.0 / self.max_rate
            # one slow flush alone does not back off; slow ones in a row do, boundedly
            typical = min(took, self._last_took)
            self._last_took = took
            wait = min(max(interval, typical / self.max_duty), MAX_BACKOFF * interval)
            # a timer that fired a little late (the loop was busy) keeps the grid: the
            # next flush may come up to LATE_SLACK of an interval early, not earlier
            early = late if late <= _LATE_SLACK * interval else 0.0
            self._next_allowed = t0 - early + wait
