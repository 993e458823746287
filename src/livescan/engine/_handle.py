"""RunHandle (what ``RE(plan)`` gives back inside a running loop) and RunResult."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any

from livescan.documents import RunStart, RunStop
from livescan.engine._interrupt import sigint_noticed
from livescan.errors import IllegalStateTransition, RunEngineInterrupted

if TYPE_CHECKING:
    from livescan.engine._context import RunContext
    from livescan.engine._engine import RunEngine

__all__ = [
    "DisplayHook",
    "DisplaySlot",
    "RunHandle",
    "RunResult",
    "display_hook",
    "set_display_hook",
]

log = logging.getLogger("livescan.engine")

DisplayHook = Callable[["RunHandle"], Any]
_display_hook: DisplayHook | None = None


def set_display_hook(hook: DisplayHook | None) -> DisplayHook | None:
    """Install ``hook(handle)``, which shows a run in a notebook; returns the previous one.

    The engine calls it when a run is submitted inside a kernel, and a handle's
    ``_ipython_display_`` calls it. The engine itself never imports a widget library:
    ``livescan/__init__.py`` installs a hook that loads ``livescan.jupyter`` on first use.
    A hook raising ImportError means "no widgets here" (text is shown instead).
    """
    global _display_hook
    previous, _display_hook = _display_hook, hook
    return previous


def display_hook() -> DisplayHook | None:
    """The installed run-display hook, or None."""
    return _display_hook


class DisplaySlot:
    """Where a run's notebook output is recorded, filled by whoever shows the run.

    ``shown``: the run was displayed (at most once per handle; see :meth:`claim`);
    ``status``: the status widget object that shows it; ``fallback_left``: its output
    was replaced by a static fallback when the run ended.
    """

    __slots__ = ("fallback_left", "pending", "shown", "status")

    def __init__(self) -> None:
        self.shown = False
        self.status: Any = None
        self.fallback_left = False
        self.pending: list[Awaitable[Any]] = []

    def add_pending(self, work: Awaitable[Any]) -> None:
        """Output work (e.g. a fallback picture) an awaited run waits for before it
        returns, so that an executed notebook keeps what it produces."""
        self.pending.append(work)

    async def settled(self) -> None:
        """Wait for the pending output work; its errors are its own business."""
        while self.pending:
            work = self.pending.pop(0)
            try:
                await work
            except Exception:
                log.exception("output work of a finished run failed")

    def claim(self) -> bool:
        """True the first time (the caller shows the run), False afterwards."""
        if self.shown:
            return False
        self.shown = True
        return True


def _interrupted(message: str) -> RunEngineInterrupted:
    """An awaited run ended by Jupyter's interrupt button: IPython shows this one line
    (``_render_traceback_``) instead of a traceback through the handle's internals."""
    exc = RunEngineInterrupted(message)
    exc.__dict__["_render_traceback_"] = lambda: [f"RunEngineInterrupted: {message}"]
    return exc


class RunResult(tuple[str, ...]):
    """The start uids of the runs a plan made (a tuple), plus how it ended."""

    exit_status: str
    reason: str
    plan_result: Any
    interrupted: bool

    def __new__(
        cls,
        uids: tuple[str, ...] | list[str],
        *,
        exit_status: str = "success",
        reason: str = "",
        plan_result: Any = None,
        interrupted: bool = False,
    ) -> RunResult:
        self = super().__new__(cls, tuple(uids))
        self.exit_status = exit_status
        self.reason = reason
        self.plan_result = plan_result
        self.interrupted = interrupted
        return self

    @property
    def run_start_uids(self) -> tuple[str, ...]:
        """The start uids of the runs, as bluesky's ``RE()`` returns them."""
        return tuple(self)


class RunHandle:
    """One submitted plan: awaitable (``await handle`` → :class:`RunResult`), controllable
    (pause/resume/stop/abort/halt act on it while it is the current run), observable
    (``add_listener``), and shown as a run-status widget in a notebook."""

    def __init__(
        self,
        engine: RunEngine,
        plan: Generator[Any, Any, Any],
        plan_name: str,
        subscriptions: dict[str, list[Callable[..., Any]]],
        call_md: dict[str, Any],
    ) -> None:
        self.engine = engine
        self.plan = plan
        self.plan_name = plan_name
        self.subscriptions_by_name = subscriptions
        self.subscriptions: list[Callable[..., Any]] = list(
            dict.fromkeys(f for funcs in subscriptions.values() for f in funcs)
        )
        self.call_md = call_md
        self.uids: list[str] = []
        self.start_doc: RunStart | None = None
        self.stop_doc: RunStop | None = None
        self.scan_id: int | None = None
        self.num_points: int | None = None
        self.start_time: float | None = None
        self.end_time: float | None = None
        self.result_value: RunResult | None = None
        self.exception: BaseException | None = None
        self.skipped: dict[str, int] = {}
        self.callback_errors: list[tuple[str, str, BaseException]] = []
        self._future: asyncio.Future[RunResult] | None = None
        self._listeners: list[Callable[[RunHandle], Any]] = []
        self._finished = False
        #: how this run is shown in a notebook (filled by the display hook)
        self.display = DisplaySlot()
        self._ctx: RunContext | None = None
        self._paused_total = 0.0
        self._paused_since: float | None = None

    # -- state ---------------------------------------------------------------------------
    @property
    def state(self) -> str:
        """``'queued'``, the engine's state while this is the current run, or ``'finished'``."""
        if self._finished:
            return "finished"
        if self.engine._current is self:
            return str(self.engine.state)
        return "queued"

    @property
    def num_events(self) -> int:
        """Events in the primary stream so far."""
        ctx = self._ctx
        return ctx.primary_events if ctx is not None else self._final_events

    _final_events = 0

    @property
    def elapsed(self) -> float:
        """Seconds since the run started (to its end once finished; 0 before it starts)."""
        if self.start_time is None:
            return 0.0
        return (self.end_time or time.time()) - self.start_time

    @property
    def running_time(self) -> float:
        """Seconds the run has been running: ``elapsed`` minus the time spent paused."""
        now = self.end_time or time.time()
        paused = self._paused_total
        if self._paused_since is not None:
            paused += now - self._paused_since
        return max(0.0, self.elapsed - paused)

    def _mark_state(self, state: str) -> None:
        """The engine changed state while this was its current run (pause book-keeping)."""
        now = time.time()
        if state == "paused":
            if self._paused_since is None:
                self._paused_since = now
        elif self._paused_since is not None:
            self._paused_total += now - self._paused_since
            self._paused_since = None

    @property
    def exit_status(self) -> str | None:
        """``'success'``, ``'abort'`` or ``'fail'`` once the run has ended, else None."""
        if self.stop_doc is not None:
            return self.stop_doc["exit_status"]
        if self.result_value is not None:
            return self.result_value.exit_status
        return "fail" if self.exception is not None else None

    @property
    def reason(self) -> str:
        """Why the run ended, if it did not succeed (empty otherwise)."""
        if self.stop_doc is not None:
            return self.stop_doc.get("reason", "")
        return str(self.exception) if self.exception is not None else ""

    def done(self) -> bool:
        """Whether the run has finished."""
        return self._finished

    def result(self) -> RunResult:
        """The :class:`RunResult` of a finished run (raises its error if it failed)."""
        if not self._finished:
            raise RuntimeError("the run has not finished; await it")
        if self.exception is not None:
            raise self.exception
        assert self.result_value is not None
        return self.result_value

    # -- control -------------------------------------------------------------------------
    def _require_current(self, what: str) -> RunEngine:
        if self.engine._current is not self:
            raise IllegalStateTransition(f"cannot {what} this run: it is {self.state}")
        return self.engine

    def pause(self) -> None:
        """Pause this run at its next checkpoint (it must be the current run)."""
        self._require_current("pause").pause()

    def resume(self) -> Any:
        """Resume this run after a pause."""
        return self._require_current("resume").resume()

    def stop(self) -> Any:
        """End this run cleanly with ``exit_status='success'``."""
        return self._require_current("stop").stop()

    def abort(self, reason: str = "") -> Any:
        """End this run with ``exit_status='abort'``; a queued run is dropped before it starts."""
        if self.state == "queued":
            self.engine._dequeue(self, reason or "aborted before it started")
            return None
        return self._require_current("abort").abort(reason)

    def halt(self) -> Any:
        """End this run at once, skipping the plan's own cleanup."""
        return self._require_current("halt").halt()

    # -- listening -----------------------------------------------------------------------
    def add_listener(self, fn: Callable[[RunHandle], Any]) -> None:
        """Call ``fn(handle)`` on state changes and at most every 50 ms while events arrive."""
        self._listeners.append(fn)

    def remove_listener(self, fn: Callable[[RunHandle], Any]) -> None:
        """Stop calling ``fn`` (added with ``add_listener``)."""
        self._listeners.remove(fn)

    def _notify(self) -> None:
        if self._ctx is not None:
            self.skipped = self.engine.dispatcher.skipped()
        for fn in list(self._listeners) + list(self.engine._listeners):
            try:
                fn(self)
            except Exception:
                log.exception("run listener %r failed", fn)

    # -- engine side ---------------------------------------------------------------------
    def _attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._future = loop.create_future()

    def _run_started(self, start: RunStart) -> None:
        self.start_doc = start
        self.stop_doc = None
        self.uids.append(start["uid"])
        self.scan_id = start.get("scan_id")
        self.num_points = start.get("num_points")
        if self.start_time is None:
            self.start_time = start["time"]
        self._notify()

    def _run_stopped(self, stop: RunStop) -> None:
        self.stop_doc = stop
        self._notify()

    def _failure(self, failure: tuple[str, str, BaseException]) -> None:
        self.callback_errors.append(failure)

    def _finish(self, result: RunResult | None, exception: BaseException | None) -> None:
        ctx = self._ctx
        if ctx is not None:
            self._final_events = ctx.primary_events
            self.skipped = self.engine.dispatcher.skipped()
        self._ctx = None
        self._mark_state("finished")
        self.end_time = time.time()
        self.result_value, self.exception = result, exception
        self._finished = True
        fut = self._future
        if fut is not None and not fut.done():
            if exception is not None:
                fut.set_exception(exception)
                fut.exception()  # mark retrieved: the handle reports it, not asyncio
            else:
                assert result is not None, "a run ends with a result or an exception"
                fut.set_result(result)
        self._notify()

    # -- awaiting ------------------------------------------------------------------------
    def __await__(self) -> Generator[Any, None, RunResult]:
        return self._wait_settled().__await__()

    async def _wait_settled(self) -> RunResult:
        try:
            return await self._wait()
        finally:
            if self._finished:
                await self.display.settled()

    async def _wait(self) -> RunResult:
        if self._future is None:
            raise RuntimeError("this run was not submitted on an event loop")
        with sigint_noticed() as interrupted:
            try:
                return await asyncio.shield(self._future)
            except asyncio.CancelledError:
                # the awaiting cell was cancelled
                if not interrupted():
                    self._end_early("cancelled while awaiting the run")
                    raise
        # Jupyter's interrupt button does what Ctrl-C does to bluesky's RE(): the first
        # press pauses at the next checkpoint, a second pauses at once; the cell then ends
        # with one line (not a CancelledError traceback through these internals) and
        # RE.resume() / RE.stop() / RE.abort() / RE.halt() go on from there
        presses = 1
        if self.engine._current is self:
            self.engine._pause_on_ctrl_c(presses)
        else:  # still queued: it never starts
            self._end_early("interrupted (KeyboardInterrupt)")
        while True:
            with sigint_noticed() as interrupted:
                try:
                    await self._paused_or_done()
                    break
                except asyncio.CancelledError:
                    if not interrupted():
                        self._end_early("cancelled while awaiting the run")
                        raise
                    presses += 1
                    if presses == 2 and self.engine._current is self:
                        self.engine._pause_on_ctrl_c(presses)
        raise _interrupted(self._interrupted_message()) from None

    async def _paused_or_done(self) -> None:
        """Wait until this run has ended or is the engine's paused run."""
        assert self._future is not None
        paused = asyncio.Event()

        def watch(_: RunHandle) -> None:
            if self.engine.state == "paused" and self.engine._current is self:
                paused.set()

        self.add_listener(watch)
        watch(self)
        waiter: asyncio.Future[Any] = asyncio.ensure_future(paused.wait())
        watched: list[asyncio.Future[Any]] = [self._future, waiter]
        try:
            await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            self.remove_listener(watch)

    def _end_early(self, reason: str) -> None:
        if self._finished:
            return
        if self.engine._current is self:
            with contextlib.suppress(IllegalStateTransition):  # already ending
                self.engine.abort(reason)
        else:
            self.engine._dequeue(self, reason)

    def _interrupted_message(self) -> str:
        scan = f"scan {self.scan_id}" if self.scan_id is not None else self.plan_name
        total = f"/{self.num_points}" if self.num_points else ""
        if not self._finished and self.engine.state == "paused":
            return (
                f"{scan} paused after {self.num_events}{total} events; RE.resume() "
                "continues it, RE.stop() or RE.abort() ends it"
            )
        if not self._finished:
            return f"{scan} is ending (interrupted); RE.state is {self.engine.state}"
        if not self.uids:
            return f"{self.plan_name} interrupted before it started"
        return (
            f"{scan} interrupted: exit_status={self.exit_status!r} after "
            f"{self.num_events}{total} events"
        )

    # -- display -------------------------------------------------------------------------
    def _ipython_display_(self) -> None:
        if self.display.shown:
            return
        hook = _display_hook
        try:
            if hook is None:
                raise ImportError("no run-display hook is installed")
            hook(self)
        except ImportError as exc:  # widget libraries missing: show text
            print(f"{self!r}  (run-status widget unavailable: {exc})")
            self.display.shown = True

    def __repr__(self) -> str:
        sid = f" scan_id={self.scan_id}" if self.scan_id is not None else ""
        total = f"/{self.num_points}" if self.num_points else ""
        status = f" exit_status={self.exit_status!r}" if self._finished else ""
        return (
            f"<RunHandle {self.plan_name}{sid} {self.state} "
            f"events={self.num_events}{total}{status}>"
        )
