"""The lossy lane: callbacks that may fall behind but never slow the scan materially.

Budget. Each subscriber may spend at most ``budget`` (default 20 %) of the run's
wall-clock time on per-point documents (event, event_page, resource, datum), and all of
them together at most ``total_budget`` (50 %), plus a small ``grace``. The check is
predictive: a call is made only if the subscriber's time so far plus the expected cost
of this call (a running average) fits. Start, descriptor and stop (set-up and tear-down)
are not charged.

Falling behind. A subscriber over budget gets its documents queued. In the queue a newer
event of the same stream replaces an older undelivered one (counted in ``skipped``);
start, descriptor, resource, datum and stop are never dropped, only delayed, and a stop
flushes them. At the stop an undelivered event is still delivered if the budget allows,
otherwise it is skipped too: a slow subscriber must not stretch the end of the run.

Event pages. A subscriber whose callable has ``accepts_event_pages = True`` gets events
batched into ``event_page`` documents: consecutive events of one stream, delivered when
another document arrives, when the stream changes, and whenever the engine yields to the
event loop (every ~10 ms) — and never dropped (only delayed while over budget; beyond
``max_page`` undelivered events the oldest are dropped and counted). This is how the
live widgets see every point at a per-point cost of one list append.

Isolation. The lossy lane gets its own copy of every document: dicts and lists are
copied and numpy arrays are handed over as read-only views (no frame is copied), so a
callback that edits a document or writes into a frame (``ValueError: assignment
destination is read-only``) changes nothing the lossless lane writes. Callbacks that
declare ``mutates_documents = False`` (livescan's widgets and tables, which only read)
need no copy: while every lossy subscriber is one of them, documents pass uncopied.

Errors are logged (the first per subscriber and run with its traceback) and recorded;
the run goes on — also for ``SystemExit`` and ``KeyboardInterrupt`` raised by a callback.

Coroutines. An ``async def`` callback's coroutine runs as a task whose every step is
timed and charged to the subscriber's budget; a subscriber with ``max_tasks`` (16) tasks
still running is treated as busy (its documents queue and coalesce). At each stop the
lane waits for the tasks still running at most ``settle_timeout`` seconds, then cancels
them: none outlives the run.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections import deque
from collections.abc import Callable, Generator
from typing import Any

import numpy as np

from livescan.dispatch._subscriber import Subscription
from livescan.documents import pack_event_page

__all__ = ["CallbackFailure", "LossyLane", "LossyStats", "isolate"]

log = logging.getLogger("livescan.dispatch")

CallbackFailure = tuple[str, str, BaseException]  # (label, document name, exception)

_CHARGED = frozenset({"event", "event_page", "resource", "datum"})
_isawaitable = inspect.isawaitable


class LossyStats:
    """Per-run delivery counters of one lossy subscriber."""

    __slots__ = (
        "busy",
        "cost",
        "delivered",
        "errors",
        "label",
        "page",
        "pending",
        "skipped",
        "spent",
    )

    def __init__(self, label: str) -> None:
        self.label = label
        self.pending: deque[tuple[str, dict[str, Any]]] = deque()
        self.page: list[dict[str, Any]] = []
        self.spent = 0.0
        self.cost = 0.0  # running average of one charged call
        self.delivered = 0
        self.skipped = 0
        self.errors = 0
        self.busy = 0  # tasks of this subscriber still running


class LossyLane:
    """Delivers to each subscriber within its time budget (see the module docstring)."""

    def __init__(
        self,
        *,
        budget: float = 0.2,
        total_budget: float = 0.5,
        grace: float = 0.005,
        max_page: int = 100_000,
        settle_timeout: float = 0.1,
        max_tasks: int = 16,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.subs: dict[int, Subscription] = {}
        self.budget = budget
        self.total_budget = total_budget
        self.grace = grace
        self.max_page = max_page
        self.settle_timeout = settle_timeout
        self.max_tasks = max_tasks
        self.clock = clock
        self.stats: dict[int, LossyStats] = {}
        self.on_failure: Callable[[CallbackFailure], None] | None = None
        self._t0 = clock()
        self._spent_total = 0.0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._pairs: tuple[tuple[Subscription, LossyStats], ...] = ()
        self._copy = False
        self._last_page: tuple[Any, Any, int, dict[str, Any]] | None = None

    # -- subscriptions -------------------------------------------------------------------
    def _rebuild(self) -> None:
        self._pairs = tuple((sub, self.stats[t]) for t, sub in self.subs.items())
        self._copy = any(not sub.readonly for sub in self.subs.values())

    def add(self, sub: Subscription) -> None:
        """Add a subscription."""
        self.subs[sub.token] = sub
        self.stats[sub.token] = LossyStats(sub.label)
        self._rebuild()

    def remove(self, token: int) -> bool:
        """Remove the subscription with ``token``, delivering what it still holds; False if none."""
        sub = self.subs.pop(token, None)
        if sub is None:
            return False
        st = self.stats[token]
        self._rebuild()
        if st.pending or st.page:
            self._flush_page(sub, st, must=True)
            self._drain(sub, st, force=True)
        return True

    def begin_run(self) -> None:
        """Reset the clock and the counters: budgets are per run."""
        self._t0 = self.clock()
        self._spent_total = 0.0
        self.stats = {token: LossyStats(sub.label) for token, sub in self.subs.items()}
        self._last_page = None
        self._rebuild()

    # -- delivery ------------------------------------------------------------------------
    def emit(self, name: str, doc: dict[str, Any]) -> None:
        """Hand one document to each subscriber: now within budget, else batched or queued."""
        if self._copy:
            doc = isolate(doc)
        is_event = name == "event"
        for sub, st in self._pairs:
            if sub.name != "all" and sub.name != name:
                continue
            if is_event and sub.pages:
                if st.page and st.page[-1]["descriptor"] != doc["descriptor"]:
                    self._flush_page(sub, st, must=True)  # replaces st.page
                st.page.append(doc)
                continue
            if st.page:
                self._flush_page(sub, st, must=True)
            if st.pending:
                self._enqueue(st, name, doc)
                self._drain(sub, st, force=name == "stop")
            elif name not in _CHARGED or self._allowed(st):
                self._call(sub, st, name, doc)
            else:
                self._enqueue(st, name, doc)
                if name == "stop":
                    self._drain(sub, st, force=True)

    def drain(self, *, force: bool = False) -> None:
        """Deliver pages and queued documents while budgets allow (all with ``force``)."""
        for sub, st in self._pairs:
            if st.page:
                self._flush_page(sub, st, must=force)
            if st.pending:
                self._drain(sub, st, force=force)

    def skipped(self) -> dict[str, int]:
        """Events skipped so far this run, by subscriber label (only those that skipped)."""
        out: dict[str, int] = {}
        for st in self.stats.values():
            if st.skipped:
                out[st.label] = out.get(st.label, 0) + st.skipped
        return out

    def _allowed(self, st: LossyStats) -> bool:
        if st.busy >= self.max_tasks:
            return False
        elapsed = self.clock() - self._t0
        if st.spent + st.cost > self.budget * elapsed + self.grace:
            return False
        # the lane's total budget never holds back a subscriber that spent no more than
        # its equal share of it: a slow subscriber cannot cost a fast one an event
        share = self.total_budget * elapsed / max(len(self.subs), 1)
        if st.spent + st.cost <= share + self.grace:
            return True
        return self._spent_total + st.cost <= self.total_budget * elapsed + self.grace

    def _flush_page(self, sub: Subscription, st: LossyStats, *, must: bool) -> None:
        """Turn the collected events into one event_page: call it if the budget allows,
        queue it if another document must follow it, else keep collecting."""
        if not st.pending and self._allowed(st):
            events, st.page = st.page, []
            self._call(sub, st, "event_page", self._pack(events))
        elif must:
            events, st.page = st.page, []
            st.pending.append(("event_page", self._pack(events)))
        elif len(st.page) > self.max_page:
            drop = len(st.page) - self.max_page
            del st.page[:drop]
            st.skipped += drop

    def _pack(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        """One event_page for ``events``; subscribers that flush the same span of events
        (the usual case: every widget flushes at the same engine yield) share it."""
        # The cache keeps the first and last events themselves: compared by id() alone, a
        # new event allocated where a delivered one was freed matched, and a subscriber
        # got the previous page again (tables showed seq_num 5, 5, 7).
        first, last, n = events[0], events[-1], len(events)
        cached = self._last_page
        if cached is not None and cached[0] is first and cached[1] is last and cached[2] == n:
            return cached[3]
        page = pack_event_page(*events)
        self._last_page = (first, last, n, page)
        return page

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
        pending = st.pending
        while pending:
            name = pending[0][0]
            if name not in _CHARGED or self._allowed(st):
                self._call(sub, st, *pending.popleft())
            elif force and name != "event":
                self._call(sub, st, *pending.popleft())  # pages, resources, datums: never lost
            elif force:
                pending.popleft()  # a stale event of a subscriber over budget
                st.skipped += 1
            else:
                return

    def _call(self, sub: Subscription, st: LossyStats, name: str, doc: dict[str, Any]) -> None:
        clock = self.clock
        t = clock()
        try:
            result = sub.func(name, doc)
            if result is not None and _isawaitable(result):
                self._schedule(sub, st, name, result)
        except BaseException as exc:  # SystemExit / KeyboardInterrupt too: never the run's
            self._failed(sub, st, name, exc)
        finally:
            st.delivered += 1
            if name in _CHARGED:
                self._charge(st, clock() - t)

    def _charge(self, st: LossyStats, dt: float, *, average: bool = True) -> None:
        st.spent += dt
        self._spent_total += dt
        if average:
            st.cost = dt if st.cost == 0.0 else 0.7 * st.cost + 0.3 * dt

    def _schedule(self, sub: Subscription, st: LossyStats, name: str, awaitable: Any) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            _close(awaitable)
            self._failed(sub, st, name, RuntimeError("an async callback needs a running loop"))
            return
        charged = name in _CHARGED
        task = loop.create_task(self._timed(sub, st, name, awaitable, charged))
        st.busy += 1
        self._tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            st.busy -= 1

        task.add_done_callback(done)

    async def _timed(
        self, sub: Subscription, st: LossyStats, name: str, awaitable: Any, charged: bool
    ) -> None:
        """Run a callback's awaitable step by step, charging each step's time."""
        clock = self.clock
        gen = awaitable.__await__() if not inspect.iscoroutine(awaitable) else awaitable
        spent = 0.0
        send: Any = None
        throw: BaseException | None = None
        try:
            while True:
                t = clock()
                try:
                    if throw is not None:
                        exc, throw = throw, None
                        step = gen.throw(exc)
                    else:
                        step = gen.send(send)
                except StopIteration:
                    return
                finally:
                    dt = clock() - t
                    spent += dt
                    if charged:
                        self._charge(st, dt, average=False)
                try:
                    send = await _Pass(step)
                except asyncio.CancelledError:
                    _close(gen)
                    raise
                except BaseException as exc:
                    throw = exc
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # the callback's own error, SystemExit included
            self._failed(sub, st, name, exc)
        finally:
            if charged:
                st.cost = spent if st.cost == 0.0 else 0.7 * st.cost + 0.3 * spent

    async def settle(self) -> None:
        """Wait for the callbacks' tasks at most ``settle_timeout`` seconds, then cancel them."""
        if not self._tasks:
            return
        tasks = set(self._tasks)
        _, late = await asyncio.wait(tasks, timeout=self.settle_timeout)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late, timeout=self.settle_timeout)
            log.warning(
                "cancelled %d unfinished task(s) of async lossy callbacks at the end of the run",
                len(late),
            )

    def _failed(self, sub: Subscription, st: LossyStats, name: str, exc: BaseException) -> None:
        st.errors += 1
        failure = (sub.label, name, exc)
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


class _Pass:
    """Hands what an inner coroutine step yielded (a future) to the task running us."""

    __slots__ = ("step",)

    def __init__(self, step: Any) -> None:
        self.step = step

    def __await__(self) -> Generator[Any, Any, Any]:
        return (yield self.step)


def _close(awaitable: Any) -> None:
    close = getattr(awaitable, "close", None)
    if close is not None:
        close()


_ATOMS = frozenset({str, int, float, bool, type(None)})


def isolate(obj: Any) -> Any:
    """The lossy lane's copy of a document: containers copied, arrays as read-only views."""
    t = type(obj)
    if t is dict:  # the common case: plain values are shared, not visited
        return {k: v if type(v) in _ATOMS else isolate(v) for k, v in obj.items()}
    if t is list:
        return [isolate(v) for v in obj]
    if t is np.ndarray:
        view = obj.view()
        view.flags.writeable = False
        return view
    if t is tuple:
        return tuple(isolate(v) for v in obj)
    if isinstance(obj, np.ndarray):
        view = obj.view(np.ndarray)
        view.flags.writeable = False
        return view
    if isinstance(obj, dict):
        return {k: isolate(v) for k, v in obj.items()}
    return obj
