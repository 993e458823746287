"""The lossy lane: callbacks that may fall behind but never slow the scan materially.

Budget. Each subscriber may spend at most ``budget`` (default 20 %) of the run's
wall-clock time on per-point documents (event, event_page, resource, datum), and all of
them together at most ``total_budget`` (50 %), plus a small ``grace``. The check is
predictive: a call is made only if the subscriber's time so far plus the expected cost
of this call (a running average, kept from run to run) fits; a new subscription's first
call, of unknown cost, is always made. Start, descriptor and stop (set-up and tear-down)
are not charged.

Falling behind. A subscriber over budget gets its documents queued. In the queue a newer
event of the same stream replaces an older undelivered one (counted in ``skipped``);
start, descriptor, resource, datum and stop are never dropped, only delayed, and a stop
flushes them. At the stop an undelivered event is still delivered if the budget allows,
otherwise it is skipped too: a slow subscriber must not stretch the end of the run.

Every event, late. A *complete* subscription (``Subscription.complete``: bluesky's
callbacks, or ``every_event=True``) never coalesces nor skips: during the run it gets
its queue in order within the same budget, a stop does not flush it, and ``drain(force=
True)`` — the engine calls it when the plan ends — delivers all of it. Its queue holds
references to the documents, not copies.

Event pages. A subscriber whose callable has ``accepts_event_pages = True`` gets events
batched into ``event_page`` documents: consecutive events of one stream, delivered when
another document arrives, when the stream changes, and whenever the engine yields to the
event loop (every ~10 ms) — and never dropped (only delayed while over budget; beyond
``max_page`` undelivered events the oldest are dropped and counted). The lane collects
the events once for all page subscribers and folds them into the page's columns every
``_FOLD`` events, so an event costs a list append and its share of a fold, and the event
documents do not pile up for the garbage collector; every page subscriber gets the same
page.

Isolation. A subscriber that may edit what it gets sees its own copy of each document:
dicts and lists are copied and numpy arrays are handed over as read-only views (no frame
is copied), so a callback that edits a document or writes into a frame (``ValueError:
assignment destination is read-only``) changes nothing the lossless lane writes. The copy
is made when a document is delivered, once for all the subscribers that get it then (an
event that is coalesced away is never copied); pages are built from fresh containers,
their arrays made read-only views. Callbacks that declare ``mutates_documents = False``
(livescan's widgets and tables, which only read) get the documents uncopied.

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
from operator import itemgetter
from typing import Any

import numpy as np

from livescan.dispatch._subscriber import Subscription
from livescan.documents import new_uids

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
        "held",
        "label",
        "pending",
        "skipped",
        "spent",
        "wake",
    )

    def __init__(self, label: str) -> None:
        self.label = label
        #: (name, document, copy it on delivery to a subscriber that may edit it)
        self.pending: deque[tuple[str, dict[str, Any], bool]] = deque()
        self.held = 0  # events in the event pages waiting in ``pending``
        self.spent = 0.0
        self.cost = 0.0  # running average of one charged call
        self.delivered = 0
        self.skipped = 0
        self.errors = 0
        self.busy = 0  # tasks of this subscriber still running
        self.wake = 0.0  # (lane clock) not within its budget before then


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
        Pairs = tuple[tuple[Subscription, LossyStats], ...]
        self._pairs: Pairs = ()
        self._pagers: Pairs = ()  # take events as pages
        self._plain: Pairs = ()  # take events one by one
        self._copy = False  # a subscriber may edit what it gets
        self._copy_pages = False  # a page subscriber may
        self._pages: _Pages | None = None
        self._isolated: tuple[Any, Any] = (None, None)  # (a document, its copy)
        self.event_sink: Callable[[dict[str, Any], bool], None] | None = None
        self.row_sink: Callable[[Any, int, dict[str, Any]], None] | None = None

    # -- subscriptions -------------------------------------------------------------------
    def _rebuild(self) -> None:
        if self._pages is not None:
            self._close_page()  # the events so far go to the subscribers they were for
        pairs = tuple((sub, self.stats[t]) for t, sub in self.subs.items())
        self._pairs = pairs
        events = [(sub, st) for sub, st in pairs if sub.name in ("all", "event")]
        self._pagers = tuple((sub, st) for sub, st in events if sub.pages)
        self._plain = tuple((sub, st) for sub, st in events if not sub.pages)
        self._copy = any(not sub.readonly for sub in self.subs.values())
        self._copy_pages = any(not sub.readonly for sub, _ in self._pagers)
        #: what an event is handed to (None: no subscriber takes events)
        self.event_sink = self.emit_event if events else None
        #: what a row of readings is handed to when page subscribers alone take events
        #: (None: some subscriber needs each event as a document)
        self.row_sink = self.emit_row if self._pagers and not self._plain else None

    def add(self, sub: Subscription) -> None:
        """Add a subscription."""
        self.subs[sub.token] = sub
        self.stats[sub.token] = LossyStats(sub.label)
        self._rebuild()

    def remove(self, token: int) -> bool:
        """Remove the subscription with ``token``, delivering what it still holds; False if none."""
        if token not in self.subs:
            return False
        if self._pages is not None:
            self._close_page()
        sub = self.subs.pop(token)
        st = self.stats[token]
        self._rebuild()
        if st.pending:
            self._drain(sub, st, force=True, final=True)
        return True

    def begin_run(self) -> None:
        """Reset the clock and the counters: budgets are per run. A subscriber's measured
        cost per call is kept: it predicts its first call of this run too (else a
        subscription's first call is always made, whatever it costs)."""
        self._pages = None
        self._t0 = self.clock()
        self._spent_total = 0.0
        old = self.stats
        self.stats = {token: LossyStats(sub.label) for token, sub in self.subs.items()}
        for token, st in self.stats.items():
            if token in old:
                st.cost = old[token].cost
        self._isolated = (None, None)
        self._rebuild()

    # -- delivery ------------------------------------------------------------------------
    def emit(self, name: str, doc: dict[str, Any]) -> None:
        """Hand one document to each subscriber: now within budget, else batched or queued."""
        if name == "event":
            self.emit_event(doc)
            return
        if self._pages is not None:
            self._close_page()  # the events before this document go first
        copy = self._copy
        if name == "event_page" and copy:
            doc, copy = isolate(doc), False  # (page subscribers share one copy)
        charged = name in _CHARGED
        for sub, st in self._pairs:
            if sub.name != "all" and sub.name != name:
                continue
            if st.pending:
                self._enqueue(sub, st, name, doc, copy)
                self._drain(sub, st, force=name == "stop" and not sub.complete)
            elif not charged or self._allowed(st):
                self._call(sub, st, name, doc, copy)
            else:
                self._enqueue(sub, st, name, doc, copy)

    def emit_event(self, doc: dict[str, Any], private: bool = False) -> None:
        """Hand one event to the subscribers (the common case of :meth:`emit`).
        ``private``: nothing outside the lossy lane holds ``doc`` or its dicts (the
        engine built it for the lossy lane alone), so a subscriber that may edit it
        needs a copy only if it carries arrays or other containers."""
        if self._pagers:
            pages = self._pages
            if pages is None or doc["descriptor"] != pages.descriptor:
                pages = self._open_page(doc["descriptor"])
            events = pages.events
            events.append(doc)
            if len(events) >= _FOLD:
                pages.fold()
        if not self._plain:
            return
        copy = self._copy
        if copy and private:
            copy = not _flat(doc["data"])
        clock = self.clock
        for sub, st in self._plain:
            pending = st.pending
            if pending:
                last = pending[-1]
                if (
                    last[0] == "event"
                    and not sub.complete
                    and last[1]["descriptor"] == doc["descriptor"]
                ):
                    pending[-1] = ("event", doc, copy)  # (what _enqueue does, inlined)
                    st.skipped += 1
                else:
                    self._enqueue(sub, st, "event", doc, copy)
                if clock() >= st.wake:
                    self._drain(sub, st, force=False)
            elif self._allowed(st):
                self._call(sub, st, "event", doc, copy)
            else:
                self._enqueue(sub, st, "event", doc, copy)

    def emit_row(self, descriptor: Any, seq_num: int, readings: dict[str, Any]) -> None:
        """Take one event as a row of ``readings`` (``{key: {"value", "timestamp"}}``, as
        devices read them) of the stream ``descriptor``, numbered ``seq_num`` (the
        engine's per-event fast path when page subscribers alone take events): it goes
        straight into the open page's columns, and no event document is ever made."""
        pages = self._pages
        if pages is None or descriptor["uid"] != pages.descriptor:
            pages = self._open_page(descriptor["uid"])
        pages.row(seq_num, readings)

    def _open_page(self, descriptor_uid: str) -> _Pages:
        """A new page for the events of stream ``descriptor_uid``, the open one (another
        stream's) closed first."""
        if self._pages is not None:
            self._close_page()
        pages = self._pages = _Pages(descriptor_uid, self._copy_pages)
        return pages

    def drain(self, *, force: bool = False) -> None:
        """Deliver pages and queued documents while budgets allow; with ``force`` (the
        plan's end) everything a subscriber must get — every queued document of a
        complete subscriber, and all but stale events of the others."""
        if self._pages is not None:
            self._close_page()
        for sub, st in self._pairs:
            if st.pending:
                self._drain(sub, st, force=force, final=force)

    def catch_up(self, seconds: float = 0.05) -> bool:
        """While the run is paused: deliver what the subscribers hold, budgets aside (a
        paused scan loses nothing to them), for at most about ``seconds``; True if some
        of it is still held. A complete subscriber gets all of its queue; the others get
        theirs as it is (already coalesced). Time spent here is not charged to their
        budgets, so a subscriber that caught up is not held back when the run resumes."""
        if self._pages is not None:
            self._close_page()
        end = self.clock() + seconds
        for sub, st in self._pairs:
            pending = st.pending
            while pending:
                if self.clock() >= end:
                    return True
                name, doc, copy = pending.popleft()
                if name == "event_page":
                    doc = self._joined(st, doc)
                self._call(sub, st, name, doc, copy, charge=False)
        return False

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
            st.wake = self._t0 + (st.spent + st.cost - self.grace) / self.budget
            return False
        # the lane's total budget never holds back a subscriber that spent no more than
        # its equal share of it: a slow subscriber cannot cost a fast one an event
        share = self.total_budget * elapsed / max(len(self.subs), 1)
        if st.spent + st.cost <= share + self.grace:
            return True
        return self._spent_total + st.cost <= self.total_budget * elapsed + self.grace

    def _close_page(self) -> None:
        """The events collected so far become one event_page, shared by every page
        subscriber: called at once where the budget allows, else queued."""
        pages, self._pages = self._pages, None
        assert pages is not None
        for page in pages.done():
            for sub, st in self._pagers:
                if not st.pending and self._allowed(st):
                    self._call(sub, st, "event_page", page, False)
                else:
                    self._enqueue(sub, st, "event_page", page, False)

    def _enqueue(
        self, sub: Subscription, st: LossyStats, name: str, doc: dict[str, Any], copy: bool
    ) -> None:
        pending = st.pending
        if name == "event_page":
            st.held += len(doc["seq_num"])
            pending.append((name, doc, copy))
            if st.held > self.max_page and not sub.complete:
                self._trim(st)
            return
        if name == "event" and not sub.complete:
            # replace the newest undelivered event of this stream since the last
            # non-event document: the subscriber sees the latest state, in order
            for i in range(len(pending) - 1, -1, -1):
                pname, pdoc, _ = pending[i]
                if pname != "event":
                    break
                if pdoc["descriptor"] == doc["descriptor"]:
                    del pending[i]
                    st.skipped += 1
                    break
        pending.append((name, doc, copy))

    def _trim(self, st: LossyStats) -> None:
        """Drop the oldest waiting events beyond ``max_page`` (counted as skipped)."""
        excess = st.held - self.max_page
        kept: deque[tuple[str, dict[str, Any], bool]] = deque()
        for pname, pdoc, pcopy in st.pending:
            if excess > 0 and pname == "event_page":
                n = len(pdoc["seq_num"])
                drop = min(n, excess)
                excess -= drop
                st.held -= drop
                st.skipped += drop
                if drop == n:
                    continue
                pdoc = _slice_page(pdoc, drop)
            kept.append((pname, pdoc, pcopy))
        st.pending = kept

    def _drain(
        self, sub: Subscription, st: LossyStats, *, force: bool, final: bool = False
    ) -> None:
        """Deliver ``sub``'s queue while its budget allows. ``force`` (a stop) delivers
        what must not be lost and skips stale events; ``final`` (the plan's end) delivers
        everything to a complete subscriber."""
        pending = st.pending
        every = final and sub.complete
        while pending:
            name, doc, copy = pending[0]
            if name not in _CHARGED or every or self._allowed(st):
                pending.popleft()
            elif force and name != "event":
                pending.popleft()  # pages, resources, datums: never lost
            elif force:
                pending.popleft()  # a stale event of a subscriber over budget
                st.skipped += 1
                continue
            else:
                return
            if name == "event_page":
                doc = self._joined(st, doc)
            self._call(sub, st, name, doc, copy)

    @staticmethod
    def _joined(st: LossyStats, page: dict[str, Any]) -> dict[str, Any]:
        """``page`` joined with the pages of its stream queued right after it."""
        pending = st.pending
        pages = [page]
        while pending and pending[0][0] == "event_page" and _joinable(page, pending[0][1]):
            pages.append(pending.popleft()[1])
        st.held -= sum(len(p["seq_num"]) for p in pages)
        return pages[0] if len(pages) == 1 else _join_pages(pages)

    def _call(
        self,
        sub: Subscription,
        st: LossyStats,
        name: str,
        doc: dict[str, Any],
        copy: bool,
        *,
        charge: bool = True,
    ) -> None:
        if copy and not sub.readonly:
            # copied when delivered, once for every subscriber that gets it: an event
            # that is coalesced away is never copied
            last = self._isolated
            if last[0] is doc:
                doc = last[1]
            else:
                mine = isolate(doc)
                self._isolated = (doc, mine)
                doc = mine
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
                dt = clock() - t
                if charge:
                    st.spent += dt
                    self._spent_total += dt
                st.cost = dt if st.cost == 0.0 else 0.7 * st.cost + 0.3 * dt

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


def _flat(data: dict[str, Any]) -> bool:
    """Whether every value of ``data`` is a plain scalar (nothing a callback could edit)."""
    return _ATOMS.issuperset(map(type, data.values()))


def isolate(obj: Any) -> Any:
    """The lossy lane's copy of a document: containers copied, arrays as read-only views."""
    t = type(obj)
    if t is dict:  # the common case: a C copy, then only the containers are visited
        out = obj.copy()
        for k, v in obj.items():
            if type(v) not in _ATOMS:
                out[k] = isolate(v)
        return out
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


class _Pages:
    """The events of one stream collected for the page subscribers since the last
    delivery. Event documents are folded into the columns of an event_page every
    ``_FOLD`` events (list comprehensions), so they are not held for long: holding a
    page's worth of them made the garbage collector run every ~200 events. Rows of
    readings (:meth:`LossyLane.emit_row`) go into columns at once; their uids are made
    when the page is done."""

    __slots__ = ("chunks", "descriptor", "events", "iso", "rows")

    def __init__(self, descriptor: Any, iso: bool) -> None:
        self.descriptor = descriptor
        self.iso = iso  # values other than plain scalars become read-only views
        self.events: list[dict[str, Any]] = []
        self.rows: _Rows | None = None  # rows taken since the last fold
        self.chunks: list[dict[str, Any]] = []  # event_pages, in order

    def row(self, seq_num: int, readings: dict[str, Any]) -> None:
        """Add one event as a row of readings (after the events collected before it)."""
        rows = self.rows
        if self.events or rows is None or readings.keys() != rows.data.keys():
            self.fold()
            rows = self.rows = _Rows(readings)
        rows.seq_num.append(seq_num)
        rows.time.append(_now())
        data, stamps = rows.data, rows.timestamps
        for k, r in readings.items():
            data[k].append(r["value"])
            stamps[k].append(r["timestamp"])

    def fold(self) -> None:
        """Move the collected events (or rows) into the last page (or new ones)."""
        rows = self.rows
        if rows is not None:
            self.rows = None
            self._add(rows.page(self.descriptor, self.iso))
        events, self.events = self.events, []
        if not events:
            return
        page = _columns(events, self.iso)
        if page is not None:
            self._add(page)
            return
        # events of one stream with different fields: one page per run of equal fields
        start = 0
        for i in range(1, len(events) + 1):
            if i == len(events) or not _same_fields(events[i], events[start]):
                page = _columns(events[start:i], self.iso)
                assert page is not None
                self._add(page)
                start = i

    def _add(self, page: dict[str, Any]) -> None:
        last = self.chunks[-1] if self.chunks else None
        if last is not None and _joinable(last, page):
            _append(last, page)
        else:
            self.chunks.append(page)

    def done(self) -> list[dict[str, Any]]:
        """The event_pages of everything collected."""
        self.fold()
        return self.chunks


class _Rows:
    """Columns of events taken as rows of readings, all with the same keys."""

    __slots__ = ("data", "seq_num", "time", "timestamps")

    def __init__(self, readings: dict[str, Any]) -> None:
        self.seq_num: list[int] = []
        self.time: list[float] = []
        self.data: dict[str, list[Any]] = {k: [] for k in readings}
        self.timestamps: dict[str, list[Any]] = {k: [] for k in readings}

    def page(self, descriptor: Any, iso: bool) -> dict[str, Any]:
        """These rows as an event_page (the keys and their order of an event's page)."""
        page: dict[str, Any] = {
            "descriptor": descriptor,
            "uid": new_uids(len(self.seq_num)),
            "time": self.time,
            "seq_num": self.seq_num,
            "data": self.data,
            "timestamps": self.timestamps,
            "filled": {},  # as an event's (empty) filled
        }
        if iso:
            _isolate_columns(page)
        return page


_FOLD = 128


def _same_fields(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (
        a["data"].keys() == b["data"].keys()
        and a["timestamps"].keys() == b["timestamps"].keys()
        and ("filled" in a) is ("filled" in b)
        and a.get("filled", {}).keys() == b.get("filled", {}).keys()
    )


def _columns(events: list[dict[str, Any]], iso: bool) -> dict[str, Any] | None:
    """``events`` (of one stream) as one event_page; None if their fields differ."""
    first = events[0]
    try:
        datas = list(map(_DATA, events))
        stamps = list(map(_STAMPS, events))
        keys = list(first["data"])
        if sum(map(len, datas)) != len(events) * len(keys):
            return None  # (a missing field raises KeyError below)
        page: dict[str, Any] = {
            "descriptor": first["descriptor"],
            "uid": list(map(_UID, events)),
            "time": list(map(_TIME, events)),
            "seq_num": list(map(_SEQ, events)),
            "data": {k: list(map(itemgetter(k), datas)) for k in keys},
            "timestamps": {k: list(map(itemgetter(k), stamps)) for k in keys},
        }
        if "filled" in first:
            fills = list(map(_FILLED, events))
            page["filled"] = {k: list(map(itemgetter(k), fills)) for k in first["filled"]}
    except (KeyError, TypeError):
        return None
    if iso:
        _isolate_columns(page)
    return page


def _isolate_columns(page: dict[str, Any]) -> None:
    """Values other than plain scalars in ``page``'s data columns become read-only views."""
    for col in page["data"].values():
        if not _ATOMS.issuperset(map(type, col)):
            col[:] = [v if type(v) in _ATOMS else isolate(v) for v in col]


_now = time.time
_DATA, _STAMPS, _FILLED = itemgetter("data"), itemgetter("timestamps"), itemgetter("filled")
_UID, _TIME, _SEQ = itemgetter("uid"), itemgetter("time"), itemgetter("seq_num")


def _append(page: dict[str, Any], more: dict[str, Any]) -> None:
    """Append the events of ``more`` to ``page`` (joinable: same stream and fields)."""
    for key in ("uid", "time", "seq_num"):
        page[key] += more[key]
    for key in ("data", "timestamps", "filled"):
        if key in page:
            for k, col in page[key].items():
                col += more[key][k]


def _joinable(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return bool(
        a["descriptor"] == b["descriptor"]
        and a["data"].keys() == b["data"].keys()
        and a.get("filled", {}).keys() == b.get("filled", {}).keys()
    )


def _join_pages(pages: list[dict[str, Any]]) -> dict[str, Any]:
    """One event_page of consecutive pages of one stream (with the same fields)."""
    first = pages[0]
    out: dict[str, Any] = {"descriptor": first["descriptor"]}
    for key in ("uid", "time", "seq_num"):
        out[key] = [v for p in pages for v in p[key]]
    for key in ("data", "timestamps", "filled"):
        if key in first:
            out[key] = {k: [v for p in pages for v in p[key][k]] for k in first[key]}
    return out


def _slice_page(page: dict[str, Any], drop: int) -> dict[str, Any]:
    """``page`` without its first ``drop`` events."""
    out: dict[str, Any] = {"descriptor": page["descriptor"]}
    for key in ("uid", "time", "seq_num"):
        out[key] = page[key][drop:]
    for key in ("data", "timestamps", "filled"):
        if key in page:
            out[key] = {k: v[drop:] for k, v in page[key].items()}
    return out
