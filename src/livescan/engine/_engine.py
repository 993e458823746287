"""The RunEngine façade: submit plans, subscribe callbacks, control the current run.

The heavy lifting is in ``_executor.execute`` (a plain ``async def``); this module only
decides where it runs:

* no running event loop in this thread (scripts, the terminal): ``RE(plan)`` runs the
  plan on the engine's own loop and blocks until it ends (or pauses: then it raises
  :class:`RunEngineInterrupted` and ``RE.resume()`` continues). Ctrl-C acts as in
  bluesky: once pauses at the next checkpoint, twice within 10 s pauses at once; more
  presses are noted and ignored (the fifth raises KeyboardInterrupt at once).
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
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from typing import Any

from livescan.dispatch import Dispatcher
from livescan.documents import Callback, check_callable, check_metadata_keys, normalize_subs
from livescan.engine._context import RunContext
from livescan.engine._executor import NO_PLAN_RETURN, as_generator, execute
from livescan.engine._handle import RunHandle, RunResult, display_hook
from livescan.engine._interrupt import KernelInterrupts
from livescan.engine._md import check_scan_id
from livescan.engine._state import RunEngineState, check_transition
from livescan.engine._suspend import SuspenderLoop, tripped_futures
from livescan.engine._verbs import VERBS, Suspension, Verb
from livescan.errors import IllegalStateTransition, PlanError, RunEngineInterrupted

__all__ = ["RunEngine", "default_scan_id_source"]

log = logging.getLogger("livescan.engine")
S = RunEngineState


def _versions() -> dict[str, str]:
    """Versions of livescan and of the document/device libraries installed beside it."""
    from importlib.metadata import PackageNotFoundError, version

    from livescan._version import __version__

    found = {"livescan": __version__}
    for key, dist in (
        ("bluesky", "bluesky"),
        ("ophyd", "ophyd"),
        ("ophyd_async", "ophyd-async"),
        ("event_model", "event-model"),
    ):
        module = sys.modules.get(key)
        ver = getattr(module, "__version__", None)
        if ver is None:
            try:
                ver = version(dist)
            except PackageNotFoundError:
                continue
        found[key] = str(ver)
    return found


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
        md_validator: Callable[[dict[str, Any]], Any] | None = None,
        md_normalizer: Callable[[dict[str, Any]], Any] | None = None,
    ) -> None:
        self.md: MutableMapping[str, Any] = md if md is not None else {}
        if "versions" not in self.md:
            self.md["versions"] = _versions()
        #: bluesky's hooks: ``md_validator(md)`` may raise; ``md_normalizer(md) -> md``
        self.md_validator = md_validator
        self.md_normalizer = md_normalizer
        #: ``msg_hook(msg)`` sees every message before the engine acts on it
        self.msg_hook: Callable[[Any], Any] | None = None
        #: ``state_hook(new, old)`` on every state change
        self.state_hook: Callable[[str, str], Any] | None = None
        #: ``waiting_hook(statuses)`` when a ``wait`` starts (a set of the group's
        #: statuses), ``waiting_hook(None)`` when it ends (bluesky's progress-bar hook)
        self.waiting_hook: Callable[[Any], Any] | None = None
        #: functions ``plan -> plan`` applied to every plan ``RE()`` runs, in order
        self.preprocessors: list[Callable[[Any], Any]] = []
        #: ``input(prompt)`` used by ``Msg('input')`` (swap it in tests or GUIs)
        self.input: Callable[[str], str] = input
        self.record_interruptions = False
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
        # Jupyter's interrupt button while runs go on in the background (no cell executing)
        self._kernel_interrupts = KernelInterrupts(self._interrupt_from_kernel)
        self._suspenders: list[Any] = []
        self._last_loop: asyncio.AbstractEventLoop | None = None  # a kernel's loop
        #: bluesky's suspenders reach the engine's loop as ``RE._loop``
        self._loop = SuspenderLoop(self)

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
        """The engine's state: idle, running, pausing, paused, stopping, aborting, halting
        or (briefly, as bluesky, when a suspender trips) suspending."""
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
        old, self._state = self._state, new
        if self.state_hook is not None:
            self.state_hook(new.value, old.value)
        if self._current is not None:
            self._current._mark_state(new.value)
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
            warnings.warn(
                "RE.subscribe(name, func) is the old argument order; use RE.subscribe(func, name)",
                stacklevel=3,
            )
        if rest and not has_func:
            func, has_func = rest.pop(0), True
        if rest and name is None and isinstance(rest[0], str):
            name = rest.pop(0)
        if rest or not has_func:
            raise TypeError(
                "subscribe takes a callable and a document name: RE.subscribe(func, 'all')"
            )
        return check_callable(func, "subscribe"), name or "all"

    def subscribe(self, *args: Any, every_event: bool | None = None, **kwargs: Any) -> int:
        """``RE.subscribe(func, name='all', *, every_event=None) -> token``: a normal
        (lossy) subscription.

        The older order ``RE.subscribe('all', func)`` works too. Lossy subscribers never
        slow the scan materially nor end it: a slow one skips events (counted), one that
        raises is logged and the run goes on. With ``every_event=True`` (the default for
        callbacks written for bluesky, ``bluesky.callbacks.core.CallbackBase``) a slow one
        gets every document, in order, late instead: what it has not caught up with when
        the plan ends is delivered before ``RE()`` returns (or the awaited run ends).
        """
        func, name = self._sub_args(args, kwargs)
        return self.dispatcher.subscribe(func, name, every_event=every_event)

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
        """Remove a subscription by its token (the same as ``unsubscribe``: tokens are
        unique across both lanes, and bluesky's ``unsubscribe_lossless`` is an alias)."""
        self.dispatcher.unsubscribe(token)

    def register_command(self, name: str, verb: Callable[..., Any]) -> None:
        """Teach the engine a message: ``async def verb(ctx, msg) -> response``, or
        bluesky's form ``verb(msg)`` (a plain or async function of the message)."""
        if not callable(verb):
            raise TypeError("a command must be a function verb(ctx, msg) or verb(msg)")
        try:
            takes_ctx = len(inspect.signature(verb).parameters) >= 2
        except (TypeError, ValueError):
            takes_ctx = False
        if takes_ctx and inspect.iscoroutinefunction(verb):
            self._verbs[name] = verb
            return
        if takes_ctx:
            raise TypeError("a command verb(ctx, msg) must be an async function")

        async def of_msg(ctx: RunContext, msg: Any) -> Any:
            result = verb(msg)
            return (await result) if inspect.isawaitable(result) else result

        self._verbs[name] = of_msg

    def unregister_command(self, name: str) -> None:
        """Forget the message ``name`` (bluesky's API)."""
        del self._verbs[name]

    @property
    def commands(self) -> list[str]:
        """The messages this engine understands."""
        return sorted(self._verbs)

    @property
    def deferred_pause_requested(self) -> bool:
        """Whether a pause waits for the run's next checkpoint (as bluesky: still True
        after a run that ended before reaching one, until the next run starts)."""
        ctx = self._current._ctx if self._current is not None else None
        if ctx is None:
            return self._deferred_left
        return ctx.pause_requested

    _deferred_left = False

    @property
    def resumable(self) -> bool:
        """Whether a pause now could be resumed (the plan did not clear its checkpoint)."""
        ctx = self._current._ctx if self._current is not None else None
        return ctx is None or ctx.msg_cache is not None

    @property
    def ignore_callback_exceptions(self) -> bool:
        """bluesky's switch for the (lossy) subscribers of ``RE.subscribe`` and ``RE(plan,
        subs)``. True (livescan's default): one that raises is logged, warned about once
        per run (``UserWarning``, as bluesky) and the run goes on. False (bluesky's
        default): its exception is thrown into the plan, the run ends with
        ``exit_status='fail'`` and ``RE()`` raises it. Lossless subscribers always end the
        run when they raise (that is what they are for)."""
        return self._ignore_callback_exceptions

    @ignore_callback_exceptions.setter
    def ignore_callback_exceptions(self, value: bool) -> None:
        self._ignore_callback_exceptions = bool(value)

    _ignore_callback_exceptions = True

    def reset(self) -> None:
        """Halt whatever runs and drop every subscription (bluesky's ``RE.reset()``)."""
        if self._current is not None and self._state is not S.IDLE:
            try:
                self.halt()
            except IllegalStateTransition:
                pass
        for lane in (self.dispatcher.lossless, self.dispatcher.lossy):
            for token in list(lane.subs):
                lane.remove(token)

    # -- suspenders (bluesky's) -------------------------------------------------------
    @property
    def suspenders(self) -> tuple[Any, ...]:
        """The installed suspenders (``bluesky.suspenders.SuspendFloor`` & co.)."""
        return tuple(self._suspenders)

    def install_suspender(self, suspender: Any) -> None:
        """Install a bluesky suspender: when its signal trips, the current run suspends
        (moving devices stop, the plan waits) and, once the signal is back, it retakes
        what followed its last checkpoint. A run does not begin while one is tripped."""
        try:  # in a notebook, the kernel's loop is the one runs will use
            self._last_loop = asyncio.get_running_loop()
        except RuntimeError:
            pass
        if suspender not in self._suspenders:
            self._suspenders.append(suspender)
        suspender.install(self)

    def remove_suspender(self, suspender: Any) -> None:
        """Uninstall a suspender (installed with ``install_suspender``)."""
        if suspender in self._suspenders:
            suspender.remove()
            self._suspenders.remove(suspender)

    def clear_suspenders(self) -> None:
        """Uninstall every suspender."""
        for suspender in list(self._suspenders):
            self.remove_suspender(suspender)

    def request_suspend(
        self,
        fut: Any,
        *,
        pre_plan: Any = None,
        post_plan: Any = None,
        justification: str | None = None,
    ) -> None:
        """Suspend the current run until ``fut`` (an awaitable, or a function giving one)
        is done: ``pre_plan`` runs before the wait, ``post_plan`` after it, then the run
        retakes what followed its last checkpoint (bluesky's ``request_suspend``)."""
        factory = fut if callable(fut) else (lambda: fut)
        self._suspend(Suspension([factory], pre_plan, post_plan, justification))

    def _suspend(self, suspension: Suspension) -> None:
        ctx = self._current._ctx if self._current is not None else None
        if ctx is None or self._state not in (S.RUNNING, S.SUSPENDING, S.PAUSING, S.PAUSED):
            return  # (a paused run suspends when resumed)
        if self._elsewhere(self._suspend, suspension):
            return
        print(f"Suspending: {suspension.justification or 'a suspender tripped'}")
        ctx.request_suspend(suspension)
        if self._state is S.RUNNING:  # as bluesky: 'suspending' until the run takes it up
            self._set_state(S.SUSPENDING)

    def _run_loop(self) -> asyncio.AbstractEventLoop:
        """The loop runs run on: the current run's, a kernel's, or the engine's own."""
        handle = self._current
        if handle is not None and handle._future is not None:
            return handle._future.get_loop()
        if self._last_loop is not None and not self._last_loop.is_closed():
            return self._last_loop
        return self._get_runner().get_loop()

    def _lossy_failure(self, failure: tuple[str, str, BaseException]) -> None:
        handle = self._current
        if handle is None:
            return
        label, name, exc = failure
        first = all(f[0] != label for f in handle.callback_errors)
        handle._failure(failure)
        ctx = handle._ctx
        if not self._ignore_callback_exceptions and isinstance(exc, Exception):
            if ctx is not None and ctx.async_failure is None:
                ctx.async_failure = exc  # thrown into the plan next, as bluesky's
                ctx.interrupt_event.set()  # a wait in progress returns
        elif first:
            warnings.warn(
                f"A {exc!r} was raised by {label} during the processing of a {name} document; "
                "it is ignored so the run goes on (to end the run instead, set "
                "RE.ignore_callback_exceptions = False)",
                UserWarning,
                stacklevel=2,
            )

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
            plan_name = plan.__name__  # the decorated function's name for wrapped plans
        for preprocessor in self.preprocessors:
            plan = preprocessor(plan)
        return RunHandle(self, as_generator(plan), plan_name, run_subs, md)

    def __call__(self, plan: Any, subs: Any = None, /, **metadata: Any) -> Any:
        """Run ``plan``; ``subs`` (a callable, list, or dict keyed by document name) get
        this run's documents (lossy); keyword arguments become run metadata.

        Returns the start uids (blocking, no running loop) or a :class:`RunHandle`
        (inside a running loop, e.g. a notebook: ``await RE(plan)`` for the uids).
        """
        if "raise_if_interrupted" in metadata:  # bluesky removed it; it warns
            metadata.pop("raise_if_interrupted")
            warnings.warn(
                "the 'raise_if_interrupted' argument is gone (as in bluesky): RE() raises "
                "RunEngineInterrupted whenever a run is interrupted",
                UserWarning,
                stacklevel=2,
            )
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
        self._last_loop = loop
        self._queue.append(handle)
        self._ensure_worker()
        self._kernel_interrupts.arm(loop)
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
            if not self._queue:
                self._kernel_interrupts.disarm()

    def _interrupt_from_kernel(self) -> None:
        """Jupyter's interrupt button with no cell executing: abort the current run and
        drop the queued ones (each ends with one stop, ``exit_status='abort'``)."""
        reason = "interrupted (Jupyter interrupt)"
        for handle in list(self._queue):
            self._dequeue(handle, reason)
        if self._current is not None and self._state not in (S.IDLE, S.ABORTING, S.HALTING):
            try:
                self.abort(reason)
            except IllegalStateTransition:  # ending already
                pass

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
        self._deferred_left = False
        futs, why = tripped_futures(self.suspenders)
        if futs:  # as bluesky: the plan begins when every suspender is back to normal
            print(f"A suspender has tripped; the plan begins when it is back: {'; '.join(why)}")
            ctx.request_suspend(Suspension(futs, started=True))
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
            self._deferred_left = ctx.pause_requested
            old, self._state = self._state, S.IDLE
            if self.state_hook is not None and old is not S.IDLE:
                try:
                    self.state_hook(S.IDLE.value, old.value)
                except Exception:
                    log.exception("RE.state_hook failed")
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
        return self._run_until_settled(handle, from_call=True)

    def _run_until_settled(self, handle: RunHandle, *, from_call: bool = False) -> RunResult:
        """Run the engine's loop until ``handle`` ends or pauses (then RE() raises
        RunEngineInterrupted), with bluesky's Ctrl-C (see ``_ctrl_c``)."""
        runner = self._get_runner()
        with self._ctrl_c(runner.get_loop()):
            result = runner.run(self._drive(handle))
        if from_call and result.interrupted:
            # as bluesky: RE() that a stop/abort/halt from elsewhere ended says so
            raise RunEngineInterrupted(
                f"{handle.plan_name} was {result.reason or 'interrupted'} "
                f"(exit_status={result.exit_status!r})"
            )
        return result

    @contextlib.contextmanager
    def _ctrl_c(self, loop: asyncio.AbstractEventLoop) -> Iterator[list[float]]:
        """While the engine's own loop runs, Ctrl-C acts as in bluesky, on the loop (never
        a KeyboardInterrupt in the middle of a subscriber or of the engine's own
        book-keeping): the first press pauses at the next checkpoint, a second within
        10 s pauses at once; later presses are noted and ignored until the fifth, which
        raises KeyboardInterrupt at once (for a run that cannot end)."""
        presses: list[float] = []
        if (
            threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        ):
            yield presses
            return

        def on_sigint(signum: int, frame: Any) -> None:
            now = time.monotonic()
            if presses and now - presses[0] > 10:
                presses.clear()
            presses.append(now)
            if len(presses) <= 2:
                loop.call_soon_threadsafe(self._pause_on_ctrl_c, len(presses))
            elif len(presses) < 5:
                print(
                    "livescan: the run is pausing after Ctrl-C; "
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

    def _pause_on_ctrl_c(self, presses: int) -> None:
        if self._current is None or self._state in (S.IDLE, S.PAUSED):
            return
        try:
            if presses == 1:
                print(
                    "A 'deferred pause' has been requested. The RunEngine will pause at the "
                    "next checkpoint. To pause immediately, hit Ctrl+C again in the next 10 "
                    "seconds.",
                    file=sys.stderr,
                )
                self.pause()
            else:
                print("Pausing...", file=sys.stderr)
                self.request_pause(defer=False)
        except IllegalStateTransition:  # already ending (stopping, aborting, halting)
            pass

    async def _drive(self, handle: RunHandle) -> RunResult:
        """Run the loop until ``handle`` finishes or pauses (blocking mode)."""
        self._ensure_worker()
        assert handle._future is not None
        try:
            await handle._paused_or_done()
        except asyncio.CancelledError:  # Ctrl-C: end the run cleanly, then propagate
            if not handle.done():
                if self._current is handle:
                    self.abort("interrupted (KeyboardInterrupt)")
                await asyncio.wait({handle._future})
            raise
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
        return self._run_until_settled(self._current)

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
            error = done.exception() if done.done() else None
            if error is not None:
                raise error from None
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

    def request_pause(self, defer: bool = False) -> None:
        """bluesky's pause: now (``defer=False``; on resume the plan rewinds to its last
        checkpoint and retakes what followed) or at the next checkpoint (``defer=True``,
        the same as :meth:`pause`)."""
        if defer:
            self.pause()
            return
        ctx = self._ctx("pause")
        if self._state is S.PAUSED:
            return
        if self._state is not S.PAUSING:
            check_transition(self._state, S.PAUSING)
        if self._elsewhere(self.request_pause, defer):
            return
        self._set_state(S.PAUSING)
        ctx.request_pause_now()

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

    #: the plan_result of a run that was stopped, aborted or halted (bluesky's sentinel)
    NO_PLAN_RETURN = NO_PLAN_RETURN

    def close(self) -> None:
        """Close the engine's own event loop (blocking mode); the engine stays usable."""
        if self._runner is not None and self._current is None:
            self._runner.close()
            self._runner = None

    @property
    def rewindable(self) -> bool:
        """Whether a pause may replay the messages since the last checkpoint."""
        ctx = self._current._ctx if self._current is not None else None
        return ctx.rewindable if ctx is not None else self._rewindable

    @rewindable.setter
    def rewindable(self, value: bool) -> None:
        self._rewindable = bool(value)
        ctx = self._current._ctx if self._current is not None else None
        if ctx is not None:
            ctx.rewindable = bool(value)

    _rewindable = True

    def __repr__(self) -> str:
        return f"<RunEngine {self._state.value}, {len(self._queue)} queued>"
