"""Throttled flushing: widget callbacks mark state dirty; a timer pushes it at a bounded rate.

Widgets never send a comm message per document. A callback appends to kernel-side
buffers and calls :meth:`Throttle.poke`; the throttle runs the widget's ``flush`` at most
``max_rate`` times a second, on the running asyncio loop (the kernel's, or the loop a
blocking ``RE()`` runs on). A flush that takes long delays the next one further, so that
flushing never uses more than ``max_duty`` of the loop's time. ``flush_now`` (called at
stop) always pushes the final state.

Without a running loop (documents fed by hand from plain code) the throttle flushes
synchronously inside ``poke`` whenever the interval has passed, so the rate stays bounded.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

__all__ = ["DEFAULT_MAX_RATE", "Throttle"]

logger = logging.getLogger(__name__)

#: Default upper bound on flushes per second per widget.
DEFAULT_MAX_RATE = 20.0


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
        ``t`` seconds delays the next by at least ``t / max_duty``.
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
        self._timer_loop = loop
        self._timer = loop.call_later(delay, self._fire)

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

    def _fire(self) -> None:
        self._timer = None
        self._timer_loop = None
        if not self._dirty:
            return
        try:
            self._run()
        except Exception as exc:  # a timer callback must not raise into the loop
            self.errors.append(exc)
            logger.exception("flushing %r failed", self._flush)

    def _run(self) -> None:
        self._dirty = False
        t0 = self._clock()
        try:
            self._flush()
        finally:
            took = self._clock() - t0
            self.flushes += 1
            self._next_allowed = t0 + max(1.0 / self.max_rate, took / self.max_duty)
