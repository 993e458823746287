"""The lossy lane: callbacks that may fall behind but never slow the scan materially.

Each subscriber may spend at most ``budget`` (default 20 %) of the run's wall-clock time
in its calls, and all of them together at most ``total_budget`` (50 %), plus a small
``grace`` allowance. A subscriber over its budget gets its documents queued instead of
delivered; in the queue, a newer event of the same stream replaces an older one that was
not delivered yet (counted in ``skipped``). Start, descriptor, resource, datum and stop
are never dropped, only delayed, and a stop flushes the queue whatever the budget.

Exceptions are logged (the first one per subscriber and run with its traceback) and
recorded; the run goes on. Awaitables returned by a callback are scheduled as tasks.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from livescan.dispatch._subscriber import Subscription

__all__ = ["CallbackFailure", "LossyLane", "LossyStats"]

log = logging.getLogger("livescan.dispatch")

CallbackFailure = tuple[str, str, BaseException]  # (label, document name, exception)


class LossyStats:
    """Per-run delivery counters of one lossy subscriber."""

    __slots__ = ("delivered", "errors", "label", "pending", "skipped", "spent")

    def __init__(self, label: str) -> None:
        self.label = label
        self.pending: deque[tuple[str, dict[str, Any]]] = deque()
        self.spent = 0.0
        self.delivered = 0
        self.skipped = 0
        self.errors = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "delivered": self.delivered,
            "skipped": self.skipped,
            "errors": self.errors,
            "pending": len(self.pending),
            "seconds": round(self.spent, 6),
        }


class LossyLane:
    def __init__(
        self,
        *,
        budget: float = 0.2,
        total_budget: float = 0.5,
        grace: float = 0.01,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.subs: dict[int, Subscription] = {}
        self.budget = budget
        self.total_budget = total_budget
        self.grace = grace
        self.clock = clock
        self.stats: dict[int, LossyStats] = {}
        self.failures: list[CallbackFailure] = []
        self.on_failure: Callable[[CallbackFailure], None] | None = None
        self._t0 = clock()
        self._spent_total = 0.0
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- subscriptions -------------------------------------------------------------------
    def add(self, sub: Subscription) -> None:
        self.subs[sub.token] = sub
        self.stats[sub.token] = LossyStats(sub.label)

    def remove(self, token: int) -> bool:
        sub = self.subs.pop(token, None)
        if sub is None:
            return False
        st = self.stats.get(token)
        if st is not None and st.pending:
            self._drain(sub, st, force=True)
        return True

    def begin_run(self) -> None:
        """Reset the clock and the counters: budgets are per run."""
        self._t0 = self.clock()
        self._spent_total = 0.0
        self.failures = []
        self.stats = {token: LossyStats(sub.label) for token, sub in self.subs.items()}

    # -- delivery ------------------------------------------------------------------------
    def emit(self, name: str, doc: dict[str, Any]) -> None:
        for sub in list(self.subs.values()):
            if not sub.wants(name):
                continue
            st = self.stats[sub.token]
            if st.pending:
                self._enqueue(st, name, doc)
                self._drain(sub, st, force=name == "stop")
            elif self._allowed(st):
                self._call(sub, st, name, doc)
            else:
                self._enqueue(st, name, doc)
                if name == "stop":
                    self._drain(sub, st, force=True)

    def drain(self, *, force: bool = False) -> None:
        """Deliver queued documents while budgets allow (all of them with ``force``)."""
        for sub in list(self.subs.values()):
            st = self.stats[sub.token]
            if st.pending:
                self._drain(sub, st, force=force)

    def skipped(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for st in self.stats.values():
            if st.skipped:
                out[st.label] = out.get(st.label, 0) + st.skipped
        return out

    def _allowed(self, st: LossyStats) -> bool:
        elapsed = self.clock() - self._t0
        return (
            st.spent <= self.budget * elapsed + self.grace
            and self._spent_total <= self.total_budget * elapsed + self.grace
        )

    @staticmethod
    def _enqueue(st: LossyStats, name: str, doc: dict[str, Any]) -> None:
        pending = st.pending
        if name == "event":
            # replace the newest undelivered event of this stream since the last
            # non-event document: the subscriber sees the latest state, in order
            for i in range(len(pending) - 1, -1, -1):
                pname, pdoc = pending[i]
                if pname != "event":
                    break
                if pdoc["descriptor"] == doc["descriptor"]:
                    del pending[i]
                    st.skipped += 1
                    break
        pending.append((name, doc))

    def _drain(self, sub: Subscription, st: LossyStats, *, force: bool) -> None:
        while st.pending and (force or self._allowed(st)):
            name, doc = st.pending.popleft()
            self._call(sub, st, name, doc)

    def _call(self, sub: Subscription, st: LossyStats, name: str, doc: dict[str, Any]) -> None:
        t = self.clock()
        try:
            result = sub.func(name, doc)
            if inspect.isawaitable(result):
                self._schedule(sub, st, name, result)
        except Exception as exc:
            self._failed(sub, st, name, exc)
        finally:
            dt = self.clock() - t
            st.spent += dt
            self._spent_total += dt
            st.delivered += 1

    def _schedule(self, sub: Subscription, st: LossyStats, name: str, awaitable: Any) -> None:
        task = asyncio.ensure_future(awaitable)
        self._tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                self._failed(sub, st, name, t.exception())  # type: ignore[arg-type]

        task.add_done_callback(done)

    def _failed(self, sub: Subscription, st: LossyStats, name: str, exc: BaseException) -> None:
        st.errors += 1
        failure = (sub.label, name, exc)
        self.failures.append(failure)
        if st.errors == 1:
            log.error(
                "callback %s raised on a %r document; the run goes on (lossy subscription)",
                sub.label,
                name,
                exc_info=exc,
            )
        else:
            log.debug("callback %s raised again on %r: %r", sub.label, name, exc)
        if self.on_failure is not None:
            self.on_failure(failure)
