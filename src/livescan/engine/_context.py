"""RunContext: what the executor and the verbs share while one plan runs.

It is their one door to the run's state: the verbs and the executor call its methods
(``run_started``, ``drain``, ``set_state`` …) instead of reaching into the engine, the
handle or the dispatcher's lanes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from livescan.documents import (
    Document,
    EventDescriptor,
    RunComposer,
    RunStart,
    RunStop,
    as_dict,
)
from livescan.errors import RequestAbort, RequestHalt, RequestStop, RunInterrupt

if TYPE_CHECKING:
    from livescan.engine._engine import RunEngine
    from livescan.engine._handle import RunHandle
    from livescan.engine._state import RunEngineState
    from livescan.engine._verbs import Verb

__all__ = ["Bundle", "Interrupt", "RunContext"]


Interrupt = RunInterrupt  # the name the executor uses
_KINDS: dict[str, type[RunInterrupt]] = {
    "stop": RequestStop,
    "abort": RequestAbort,
    "halt": RequestHalt,
}


class Bundle:
    """Readings collected between ``create`` and ``save``."""

    __slots__ = ("assets", "name", "objs", "readings")

    def __init__(self, name: str) -> None:
        self.name = name
        self.objs: list[Any] = []
        self.readings: dict[str, dict[str, Any]] = {}
        self.assets: list[tuple[str, Any]] = []


@dataclass
class Stream:
    descriptor: EventDescriptor
    object_names: tuple[str, ...]
    external: tuple[str, ...]
    objs: tuple[Any, ...] = ()
    declared: bool = False


class RunContext:
    """Per-plan state: the open run, the bundle, status groups, staged devices, and the
    interrupt/pause requests coming from the user."""

    def __init__(
        self, engine: RunEngine, handle: RunHandle, verbs: Mapping[str, Verb] | None = None
    ) -> None:
        self.engine = engine
        self.handle = handle
        self.dispatcher = engine.dispatcher
        #: the engine's command registry (``RE.register_command`` adds to it): name -> verb
        self.verbs: Mapping[str, Verb] = verbs if verbs is not None else {}
        self.composer: RunComposer | None = None
        self.bundle: Bundle | None = None
        #: a saved event's bundle, emptied, for the next create (fast path only)
        self.spare_bundle: Bundle | None = None
        self.streams: dict[str, Stream] = {}
        #: the descriptor of the run's ``interruptions`` stream (RE.record_interruptions)
        self.interruptions: EventDescriptor | None = None
        #: id(device) -> its describe() once read in this run (then reads take the fast
        #: path); per stream (each stream describes its devices once, as bluesky) in
        #: ``described_streams``
        self.described: dict[int, dict[str, Any]] = {}
        self.described_streams: dict[str, dict[int, dict[str, Any]]] = {}
        self.groups: dict[Any, list[Any]] = {}
        #: the groups whose failure ends the wait in progress (its group and ``watch``)
        self.watching: set[Any] = set()
        #: the executor's dispatch table (name -> (fast verb or None, verb))
        #: the executor's command table: name -> (fast verb, verb, replayed after a rewind)
        self.table: dict[str, tuple[Any, Any, bool]] = {}
        #: several runs at once (bluesky's ``Msg.run`` keys): the fields of ``RUN_FIELDS``
        #: belong to the run ``run_key``; the other runs' are kept in ``other_runs``
        self.run_key: Any = None
        self.keyed_runs = False  # the run verbs pick their run (a keyed open_run came)
        self.other_runs: dict[Any, dict[str, Any]] = {}
        #: bluesky's ``RE.waiting_hook`` (None: statuses done at once are not tracked)
        self.waiting_hook: Any = getattr(engine, "waiting_hook", None)
        self.staged: list[Any] = []
        self.plan_tokens: list[int] = []
        self.interrupt: RunInterrupt | None = None
        #: set when a wait must end early: an interrupt, or a pause that cannot wait
        self.interrupt_event = asyncio.Event()
        self.wake_event = asyncio.Event()
        self.pause_requested = False  # deferred: pause at the next checkpoint
        self.pause_now = False  # pause before the next message, rewind on resume
        #: the pause asked for is the user's or the plan's (not only a suspension's)
        self.user_pause = False
        #: a suspension to carry out before the next message (RE.request_suspend)
        self.suspension: Any = None
        #: messages since the last checkpoint (None after clear_checkpoint: no rewind)
        self.msg_cache: list[Any] | None = []
        self.rewindable: bool = getattr(engine, "_rewindable", True)
        self.failed_pause = False  # a pause came after clear_checkpoint: the run aborts
        self.seq_snapshot: dict[str, int] = {}
        self.replay: list[Any] = []
        #: every object a message named (devices' pause()/resume() at a pause)
        self.objs_seen: dict[int, Any] = {}
        #: objects set during the run (their stop() is called at a pause, stop, abort)
        self.movers: dict[int, Any] = {}
        #: monitored objects -> (callback, subscription token or None)
        self.monitors: dict[int, tuple[Any, Any, Any]] = {}
        #: objects whose read() returned a dict (their later reads take the fast path)
        self.sync_readers: set[int] = set()
        #: a status of a group nobody waits for failed: thrown into the plan next
        self.async_failure: BaseException | None = None
        self.failure: BaseException | None = None
        self.primary_events = 0
        self.last_yield = time.perf_counter()
        self.last_notify = 0.0

    async def emit(self, name: str, doc: Document | dict[str, Any]) -> None:
        """Hand ``doc`` to the subscribers (lossless first, awaited; then lossy)."""
        await self.dispatcher.emit(name, as_dict(doc))

    async def flush(self) -> None:
        """Flush the lossless subscribers before a stop (raises LosslessFailure)."""
        await self.dispatcher.flush()

    def drain(self, *, force: bool = False) -> None:
        """Let the lossy lane deliver what it holds (see ``Dispatcher.drain``)."""
        self.dispatcher.drain(force=force)

    # -- several runs at once -------------------------------------------------------------
    def use_run(self, key: Any) -> None:
        """Make the run keyed ``key`` (``Msg.run``) the one the verbs work on."""
        if key == self.run_key:
            return
        self.other_runs[self.run_key] = {f: getattr(self, f) for f in RUN_FIELDS}
        saved = self.other_runs.pop(key, None)
        if saved is None:
            saved = {
                "composer": None,
                "bundle": None,
                "streams": {},
                "described": {},
                "described_streams": {},
                "interruptions": None,
                "seq_snapshot": {},
                "monitors": {},
            }
        for f, value in saved.items():
            setattr(self, f, value)
        self.run_key = key

    def open_run_keys(self) -> list[Any]:
        """The keys of the runs open now, in the order they were opened."""
        opened = {k: saved["composer"] for k, saved in self.other_runs.items()}
        opened[self.run_key] = self.composer
        keys = [k for k, composer in opened.items() if composer is not None]
        return sorted(keys, key=lambda k: opened[k].start_doc["time"])

    # -- the run's state, as the handle and the engine show it ---------------------------
    def run_started(self, start: RunStart) -> None:
        """A start document was composed: the handle records it and tells its listeners."""
        self.handle._run_started(start)

    def run_stopped(self, stop: RunStop) -> None:
        """A stop document was composed: the handle records it and tells its listeners."""
        self.handle._run_stopped(stop)

    def notify(self) -> None:
        """Tell the run's listeners (status widget, ``RE.add_listener``) about progress."""
        self.handle._notify()

    def set_state(self, state: RunEngineState) -> None:
        """Move the engine to ``state`` (a checked transition; listeners are told)."""
        self.engine._set_state(state)

    # -- requests from the user (called on the loop) -------------------------------------
    def request_interrupt(self, kind: str, reason: str = "") -> None:
        """Ask the plan to end (``stop``, ``abort`` or ``halt``); a stronger kind wins."""
        if self.interrupt is None or _rank(kind) > _rank(self.interrupt.kind):
            self.interrupt = _KINDS[kind](reason)
        self.interrupt_event.set()
        self.wake_event.set()

    def request_pause_now(self) -> None:
        """Pause before the next message (a wait in progress ends early); on resume the
        messages since the last checkpoint are replayed."""
        self.pause_now = True
        self.user_pause = True
        self.pause_requested = False
        self.interrupt_event.set()

    def request_suspend(self, suspension: Any) -> None:
        """Suspend before the next message (a wait in progress ends early): see
        ``_verbs.suspend_and_rewind``."""
        if self.suspension is not None:  # one more condition to wait for
            self.suspension.futs.extend(suspension.futs)
        else:
            self.suspension = suspension
        self.pause_now = True
        self.interrupt_event.set()

    async def wait_or_interrupt(self, awaitable: Any, timeout: float | None = None) -> bool:
        """Wait for ``awaitable``; return False early if an interrupt or an immediate
        pause arrives; raise ``TimeoutError`` after ``timeout`` seconds.

        Before a real wait the lossy lane delivers what it holds (event pages), so
        live views are never a motor move behind."""
        if self.interrupt is not None or self.pause_now:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()
            return False
        self.dispatcher.drain()
        fut = asyncio.ensure_future(awaitable)
        stopper = asyncio.ensure_future(self.interrupt_event.wait())
        try:
            await asyncio.wait({fut, stopper}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if fut.done():
            fut.result()
            return True
        fut.cancel()
        if not self.interrupt_event.is_set():
            raise TimeoutError(f"not done after {timeout:g} s")
        return False


#: what each of several open runs has of its own (``RunContext.use_run`` swaps them)
RUN_FIELDS = (
    "composer",
    "bundle",
    "streams",
    "described",
    "described_streams",
    "interruptions",
    "seq_snapshot",
    "monitors",
)


def _rank(kind: str) -> int:
    return {"stop": 0, "abort": 1, "halt": 2}[kind]
