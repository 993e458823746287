"""The RunEngine façade: submit plans, subscribe callbacks, control the current run.

The heavy lifting is in ``_executor.execute`` (a plain ``async def``); this module only
decides where it runs:

* no running event loop in this thread (scripts, the terminal): ``RE(plan)`` runs the
  plan on the engine's own loop and blocks until it ends (or pauses: then it raises
  :class:`RunEngineInterrupted` and ``RE.resume()`` continues). Ctrl-C aborts the run
  cleanly (stop document with ``exit_status='abort'``) and then raises KeyboardInterrupt;
  more presses while it ends are noted and ignored (the fifth forces an interrupt at once).
* a running loop (a Jupyter kernel): ``RE(plan)`` schedules the run on that loop and
  returns a :class:`RunHandle` at once; ``await RE(plan)`` waits for it. Plans submitted
  while one runs are queued in order.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import logging
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from typing import Any

from livescan.dispatch import Dispatcher
from livescan.documents import Callback, check_callable, check_metadata_keys, normalize_subs
from livescan.engine._context import RunContext
from livescan.engine._executor import as_generator, execute
from livescan.engine._handle import RunHandle, RunResult, display_hook
from livescan.engine._md import check_scan_id
from livescan.engine._state import RunEngineState, check_transition
from livescan.engine._verbs import VERBS, Verb
from livescan.errors import IllegalStateTransition, PlanError, RunEngineInterrupted

__all__ = ["RunEngine", "default_scan_id_source"]

log = logging.getLogger("livescan.engine")
S = RunEngineState


def default_scan_id_source(md: MutableMapping[str, Any]) -> int:
    """Count ``md['scan_id']`` up by one and return it (1 for a fresh ``md``)."""
    check_scan_id(md.get("scan_id"))
    scan_id = int(md.get("scan_id", 0) or 0) + 1
    md["scan_id"] = scan_id
    return scan_id


class RunEngine:
    """Runs plans and emits their documents to subscribers.

    Parameters: ``md`` — the metadata every run carries (a dict, or a
    :class:`PersistentDict` to keep it in a file); ``lossy_budget`` — the share of a
    run's time one lossy subscriber may use (0.2); ``yield_interval`` — how often, in
    seconds of work, the executor lets the event loop run other things (0.01);
    ``display`` — show a run-status widget for runs submitted in a notebook.
    """

    def __init__(
        self,
        md: MutableMapping[str, Any] | None = None,
        *,
        lossy_budget: float = 0.2,
        lossy_total_budget: float = 0.5,
        yield_interval: float = 0.01,
        display: bool = True,
        scan_id_source: Callable[[MutableMapping[str, Any]], Any] | None = None,
        call_returns_result: bool = True,
    ) -> None:
        self.md: MutableMapping[str, Any] = md if md is not None else {}
        self.dispatcher = Dispatcher(
            lossy_budget=lossy_budget,
            lossy_total_budget=lossy_total_budget,
            on_failure=self._lossy_failure,
        )
        self.yield_interval = yield_interval
        #: seconds a control call from another thread waits for the run's loop to act
        self.control_timeout = 5.0
        self.display = display
        self.scan_id_source = scan_id_source or default_scan_id_source
        # bluesky's flag; a RunResult is the uid tuple and the result at once, so both
        # settings return it
        self.call_returns_result = call_returns_result
        self._verbs: dict[str, Verb] = dict(VERBS)
        self._state = S.IDLE
        self._queue: deque[RunHandle] = deque()
        self._current: RunHandle | None = None
        self._worker: asyncio.Task[None] | None = None
        self._runner: asyncio.Runner | None = None
        self._listeners: list[Callable[[RunHandle], Any]] = []

    # -- metadata ------------------------------------------------------------------------
    @property
    def md(self) -> MutableMapping[str, Any]:
        """Metadata put into every start document (a dict, or a PersistentDict kept on disk)."""
        return self._md

    @md.setter
    def md(self, value: MutableMapping[str, Any]) -> None:
        if not isinstance(value, MutableMapping):
            raise TypeError(
                f"RE.md must be a mutable mapping (a dict or PersistentDict), "
                f"not {type(value).__name__}"
            )
        self._md = value

    # -- state ---------------------------------------------------------------------------
    @property
    def state(self) -> RunEngineState:
        """The engine's state: idle, running, pausing, paused, stopping, aborting or halting."""
        return self._state

    @property
    def queue(self) -> list[RunHandle]:
        """Runs submitted and waiting for the current one to finish."""
        return list(self._queue)

    @property
    def current(self) -> RunHandle | None:
        """The run in progress, or None."""
        return self._current

    def _set_state(self, new: RunEngineState) -> None:
        if new is self._state:
            return
        check_transition(self._state, new)
        self._state = new
        if self._current is not None:
            self._current._notify()

    def add_listener(self, fn: Callable[[RunHandle], Any]) -> None:
        """``fn(handle)`` for every run: state changes, and every ~50 ms while running."""
        self._listeners.append(fn)

    def remove_listener(self, fn: Callable[[RunHandle], Any]) -> None:
        """Stop calling ``fn`` (added with ``add_listener``)."""
        self._listeners.remove(fn)

    # -- subscriptions -------------------------------------------------------------------
    @staticmethod
    def _sub_args(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Callback, str]:
        """Accept ``(func, name='all')`` and bluesky's older ``(name, func)``."""
        rest = list(args)
        name = kwargs.pop("name", None)
        has_func = "func" in kwargs
        func = kwargs.pop("func", None)
        if kwargs:
            raise TypeError(f"subscribe() got unexpected arguments {sorted(kwargs)}")
        if rest and isinstance(rest[0], str) and name is None:  # the older (name, func)
            name = rest.pop(0)
        if rest and not has_func:
            func, has_func = rest.pop(0), True
        if rest and name is None and isinstance(rest[0], str):
            name = rest.pop(0)
        if rest or not has_func:
            raise TypeError(
                "subscribe takes a callable and a document name: RE.subscribe(func, 'all')"
            )
        return check_callable(func, "subscribe"), name or "all"

    def subscribe(self, *args: Any, **kwargs: Any) -> int:
        """``RE.subscribe(func, name='all') -> token``: a normal (lossy) subscription.

        The older order ``RE.subscribe('all', func)`` works too. Lossy subscribers never
        slow the scan materially nor end it: a slow one skips events (counted), one that
        raises is logged and the run goes on.
        """
        func, name = self._sub_args(args, kwargs)
        return self.dispatcher.subscribe(func, name)

    def subscribe_lossless(self, *args: Any, **kwargs: Any) -> int:
        """``RE.subscribe_lossless(func, name='all') -> token``: a critical subscription.

        It gets every document, in order, before the run goes on (async callables are
        awaited). If it raises, the run ends cleanly with ``exit_status='fail'``, the other
        lossless subscribers still get the stop document, and the caller gets the error.
        """
        func, name = self._sub_args(args, kwargs)
        return self.dispatcher.subscribe(func, name, lossless=True)

    def unsubscribe(self, token: int) -> None:
        """Remove a lossy subscription by the token ``subscribe`` returned."""
        self.dispatcher.unsubscribe(token)

    def unsubscribe_lossless(self, token: int) -> None:
        """Remove a lossless subscription by the token ``subscribe_lossless`` returned."""
        self.dispatcher.unsubscribe(token, lossless=True)

    def register_command(self, name: str, verb: Verb) -> None:
        """Teach the engine a message: ``async def verb(ctx, msg) -> response``."""
        if not inspect.iscoroutinefunction(verb):
            raise TypeError("a command must be an async function verb(ctx, msg)")
        self._verbs[name] = verb

    def _lossy_failure(self, failure: tuple[str, str, BaseException]) -> None:
        if self._current is not None:
            self._current._failure(failure)

    # -- submitting plans ----------------------------------------------------------------
    def _prepare(self, plan: Any, subs: Any, md: dict[str, Any]) -> RunHandle:
        if inspect.isgeneratorfunction(plan) or (callable(plan) and not hasattr(plan, "__iter__")):
            name = getattr(plan, "__name__", repr(plan))
            raise PlanError(
                f"RE() needs a plan, and got the function {name}; call it first: RE({name}(...))"
            )
        if isinstance(plan, str | bytes | dict) or not isinstance(plan, Iterable):
            raise PlanError(
                f"RE() needs a plan (a generator of Msg, e.g. count([det]), or a "
                f"plan object such as Count([det])); got {plan!r:.80}"
            )
        run_subs = normalize_subs(subs)
        for name, funcs in normalize_subs(getattr(plan, "subs", None)).items():
            run_subs.setdefault(name, []).extend(funcs)
        for name, factories in (getattr(plan, "sub_factories", None) or {}).items():
            for factory in factories:
                made = factory(plan)
                for n, funcs in normalize_subs({name: made if made is not None else []}).items():
                    run_subs.setdefault(n, []).extend(funcs)
        check_metadata_keys(md, "RE() keyword metadata")
        plan_name = getattr(plan, "__name__", None) or type(plan).__name__
        if inspect.isgenerator(plan):
            plan_name = plan.gi_code.co_name
        return RunHandle(self, as_generator(plan), plan_name, run_subs, md)

    def __call__(self, plan: Any, subs: Any = None, /, **metadata: Any) -> Any:
        """Run ``plan``; ``subs`` (a callable, list, or dict keyed by document name) get
        this run's documents (lossy); keyword arguments become run metadata.

        Returns the start uids (blocking, no running loop) or a :class:`RunHandle`
        (inside a running loop, e.g. a notebook: ``await RE(plan)`` for the uids).
        """
        if self._state in (S.PAUSED, S.PAUSING) and self._current is not None:
            raise IllegalStateTransition(
                f"the RunEngine is {self._state.value} in the middle of "
                f"{self._current.plan_name}: RE.resume(), RE.stop() or RE.abort() it before "
                "starting another plan"
            )
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None and self._runner is not None and loop is self._runner.get_loop():
            raise IllegalStateTransition(
                "RE() was called from inside a running plan or "
                "callback; plans can be nested with `yield from`"
            )
        handle = self._prepare(plan, subs, metadata)
        if loop is None:
            if self._state is not S.IDLE:
                raise IllegalStateTransition(f"the RunEngine is {self._state.value}")
            return self._run_blocking(handle)
        handle._attach(loop)
        self._queue.append(handle)
        self._ensure_worker()
        if self.display:
            self._display(handle)
        return handle

    # -- where runs run ------------------------------------------------------------------
    def _ensure_worker(self) -> None:
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._work())

    async def _work(self) -> None:
        try:
            while self._queue:
                handle = self._queue.popleft()
                await self._execute(handle)
        finally:
            if self._worker is asyncio.current_task():
                self._worker = None

    def _dequeue(self, handle: RunHandle, reason: str) -> None:
        if handle in self._queue:
            self._queue.remove(handle)
            handle._finish(RunResult((), exit_status="abort", reason=reason), None)

    async def _execute(self, handle: RunHandle) -> None:
        self._current = handle
        ctx = RunContext(self, handle, self._verbs)
        handle._ctx = ctx
        tokens = [
            self.dispatcher.subscribe(f, name)
            for name, funcs in handle.subscriptions_by_name.items()
            for f in funcs
        ]
        self.dispatcher.begin_run()
        self._set_state(S.RUNNING)
        result: RunResult | None = None
        exception: BaseException | None = None
        try:
            outcome = await execute(handle.plan, ctx)
            result = RunResult(
                handle.uids,
                exit_status=outcome.exit_status,
                reason=outcome.reason,
                plan_result=outcome.plan_result,
                interrupted=outcome.interrupted,
            )
        except BaseException as exc:
            exception = exc
        finally:
            for token in tokens:
                try:
                    self.dispatcher.unsubscribe(token)
                except KeyError:
                    pass
            self._current = None
            self._state = S.IDLE
            handle._finish(result, exception)
        if isinstance(exception, asyncio.CancelledError):
            raise exception
        # KeyboardInterrupt / SystemExit reach RE()'s caller through the handle; raising
        # them here would kill the worker and leak into the next RE() call.
        blocking = (
            self._runner is not None
            and handle._future is not None
            and handle._future.get_loop() is self._runner.get_loop()
        )
        if exception is not None and not blocking and not handle.display.shown:
            # nobody may await this handle and no status widget shows it: say it here
            log.error("%s failed: %s", handle.plan_name, exception)

    def _display(self, handle: RunHandle) -> None:
        hook = display_hook()
        if hook is None or "ipykernel" not in sys.modules:
            return
        try:
            hook(handle)
        except ImportError:  # no widget libraries: the handle's repr shows the run
            return
        except Exception:
            log.exception("could not display the run-status widget")

    def _get_runner(self) -> asyncio.Runner:
        if self._runner is None:
            self._runner = asyncio.Runner()
        return self._runner

    def _run_blocking(self, handle: RunHandle) -> RunResult:
        runner = self._get_runner()
        handle._attach(runner.get_loop())
        self._queue.append(handle)
        with self._ctrl_c(runner.get_loop()) as presses:
            result = runner.run(self._drive(handle))
        if presses:
            raise KeyboardInterrupt(f"{handle.plan_name} was aborted (Ctrl-C)")
        return result

    @contextlib.contextmanager
    def _ctrl_c(self, loop: asyncio.AbstractEventLoop) -> Iterator[list[int]]:
        """While the engine's own loop runs: the first Ctrl-C aborts the run cleanly on
        the loop (never a KeyboardInterrupt in the middle of a subscriber or of the
        engine's own book-keeping); later presses are noted and ignored until the fifth,
        which raises KeyboardInterrupt at once (for a run that cannot end)."""
        presses: list[int] = []
        if (
            threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        ):
            yield presses
            return

        def on_sigint(signum: int, frame: Any) -> None:
            presses.append(signum)
            if len(presses) == 1:
                loop.call_soon_threadsafe(self._abort_on_ctrl_c)
            elif len(presses) < 5:
                print(
                    "livescan: the run is ending cleanly after Ctrl-C; "
                    f"press Ctrl-C {5 - len(presses)} more times to force",
                    file=sys.stderr,
                )
            else:
                signal.signal(signal.SIGINT, signal.default_int_handler)
                raise KeyboardInterrupt

        signal.signal(signal.SIGINT, on_sigint)
        try:
            yield presses
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)

    def _abort_on_ctrl_c(self) -> None:
        if self._current is None:
            return
        try:
            self.abort("interrupted (KeyboardInterrupt)")
        except IllegalStateTransition:  # already ending (stopping, aborting, halting)
            pass

    async def _drive(self, handle: RunHandle) -> RunResult:
        """Run the loop until ``handle`` finishes or pauses (blocking mode)."""
        self._ensure_worker()
        assert handle._future is not None
        paused = asyncio.Event()

        def watch(h: RunHandle) -> None:
            if self._state is S.PAUSED and self._current is handle:
                paused.set()

        handle.add_listener(watch)
        waiter = asyncio.ensure_future(paused.wait())
        try:
            await asyncio.wait({handle._future, waiter}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # Ctrl-C: end the run cleanly, then propagate
            if not handle.done():
                if self._current is handle:
                    self.abort("interrupted (KeyboardInterrupt)")
                await asyncio.wait({handle._future})
            raise
        finally:
            waiter.cancel()
            handle.remove_listener(watch)
        if handle.done():
            return handle.result()
        raise RunEngineInterrupted(
            f"{handle.plan_name} paused; RE.resume() continues it, RE.stop() or RE.abort() ends it"
        )

    def _continue_blocking(self) -> RunResult | None:
        """After a control call in blocking mode, run the loop until the run settles."""
        try:
            asyncio.get_running_loop()
            return None
        except RuntimeError:
            pass
        if self._runner is None or self._current is None:
            return None
        current = self._current
        with self._ctrl_c(self._runner.get_loop()) as presses:
            result = self._runner.run(self._drive(current))
        if presses:
            raise KeyboardInterrupt(f"{current.plan_name} was aborted (Ctrl-C)")
        return result

    # -- control -------------------------------------------------------------------------
    def _elsewhere(self, method: Callable[..., Any], *args: Any) -> bool:
        """If the current run lives on a loop running in another thread, hand the call
        to that loop (thread-safe) and return True. Button clicks may arrive on a
        different thread than the kernel's main loop (ipykernel 7)."""
        handle = self._current
        fut = handle._future if handle is not None else None
        if fut is None:
            return False
        loop = fut.get_loop()
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is loop or not loop.is_running():
            return False
        done: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def call() -> None:
            try:
                done.set_result(method(*args))
            except BaseException as exc:
                done.set_exception(exc)
                if waited.is_set():  # the caller stopped waiting: say it here
                    log.error("%s from another thread failed: %s", method.__name__, exc)

        waited = threading.Event()
        loop.call_soon_threadsafe(call)
        try:
            done.result(timeout=self.control_timeout)  # the caller sees the error
        except concurrent.futures.TimeoutError:
            waited.set()
            if done.done() and done.exception() is not None:
                raise done.exception() from None  # type: ignore[misc]
        return True

    def _ctx(self, what: str) -> RunContext:
        if self._current is None or self._current._ctx is None:
            raise IllegalStateTransition(f"cannot {what}: nothing is running")
        return self._current._ctx

    def pause(self) -> None:
        """Pause the current run at its next checkpoint."""
        ctx = self._ctx("pause")
        if self._state is S.PAUSING:
            return
        check_transition(self._state, S.PAUSING)
        if self._elsewhere(self.pause):
            return
        ctx.pause_requested = True
        self._set_state(S.PAUSING)

    def request_pause(self, defer: bool = True) -> None:
        """bluesky's name for :meth:`pause` (pauses are always deferred to a checkpoint)."""
        self.pause()

    def resume(self) -> RunResult | None:
        """Continue a paused run (or cancel a pending pause)."""
        ctx = self._ctx("resume")
        check_transition(self._state, S.RUNNING)
        if self._elsewhere(self.resume):
            return None
        ctx.pause_requested = False
        self._set_state(S.RUNNING)
        ctx.wake_event.set()
        return self._continue_blocking()

    def _interrupt(self, kind: str, state: RunEngineState, reason: str) -> RunResult | None:
        ctx = self._ctx(kind)
        check_transition(self._state, state)
        if self._elsewhere(self._interrupt, kind, state, reason):
            return None
        self._set_state(state)
        ctx.request_interrupt(kind, reason)
        return self._continue_blocking()

    def stop(self) -> RunResult | None:
        """End the current run cleanly with ``exit_status='success'``."""
        return self._interrupt("stop", S.STOPPING, "")

    def abort(self, reason: str = "") -> RunResult | None:
        """End the current run cleanly with ``exit_status='abort'``."""
        return self._interrupt("abort", S.ABORTING, reason)

    def halt(self) -> RunResult | None:
        """End the current run at once, skipping the plan's own cleanup."""
        return self._interrupt("halt", S.HALTING, "")

    def close(self) -> None:
        """Close the engine's own event loop (blocking mode); the engine stays usable."""
        if self._runner is not None and self._current is None:
            self._runner.close()
            self._runner = None

    def __repr__(self) -> str:
        return f"<RunEngine {self._state.value}, {len(self._queue)} queued>"
