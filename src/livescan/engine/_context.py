"""RunContext: what the executor and the verbs share while one plan runs."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from livescan.documents import RunComposer

if TYPE_CHECKING:
    from livescan.engine._engine import RunEngine
    from livescan.engine._handle import RunHandle

__all__ = ["Bundle", "Interrupt", "RunContext"]


class Interrupt(BaseException):
    """Thrown into a plan when the user stops, aborts or halts it (a BaseException so
    that a plan's ``except Exception`` does not swallow it; ``finally`` blocks run)."""

    def __init__(self, kind: str, reason: str = "") -> None:
        super().__init__(f"{kind}: {reason}" if reason else kind)
        self.kind = kind  # 'stop' | 'abort' | 'halt'
        self.reason = reason


@dataclass
class Bundle:
    """Readings collected between ``create`` and ``save``."""

    name: str
    objs: list[Any] = field(default_factory=list)
    readings: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Stream:
    descriptor: dict[str, Any]
    object_names: tuple[str, ...]
    external: tuple[str, ...]


class RunContext:
    """Per-plan state: the open run, the bundle, status groups, staged devices, and the
    interrupt/pause requests coming from the user."""

    def __init__(self, engine: RunEngine, handle: RunHandle) -> None:
        self.engine = engine
        self.handle = handle
        self.dispatcher = engine.dispatcher
        self.composer: RunComposer | None = None
        self.bundle: Bundle | None = None
        self.streams: dict[str, Stream] = {}
        self.described: dict[int, dict[str, Any]] = {}
        self.groups: dict[Any, list[Any]] = {}
        self.staged: list[Any] = []
        self.plan_tokens: list[int] = []
        self.interrupt: Interrupt | None = None
        self.interrupt_event = asyncio.Event()
        self.wake_event = asyncio.Event()
        self.pause_requested = False
        self.failure: BaseException | None = None
        self.primary_events = 0
        self.last_yield = time.perf_counter()
        self.last_notify = 0.0

    async def emit(self, name: str, doc: dict[str, Any]) -> None:
        await self.dispatcher.emit(name, doc)

    # -- requests from the user (called on the loop) -------------------------------------
    def request_interrupt(self, kind: str, reason: str = "") -> None:
        if self.interrupt is None or _rank(kind) > _rank(self.interrupt.kind):
            self.interrupt = Interrupt(kind, reason)
        self.interrupt_event.set()
        self.wake_event.set()

    async def wait_or_interrupt(self, awaitable: Any) -> bool:
        """Wait for ``awaitable``; return False early if an interrupt arrives.

        Before a real wait the lossy lane delivers what it holds (event pages), so
        live views are never a motor move behind."""
        if self.interrupt is not None:
            return False
        self.dispatcher.lossy.drain()
        fut = asyncio.ensure_future(awaitable)
        stopper = asyncio.ensure_future(self.interrupt_event.wait())
        try:
            await asyncio.wait({fut, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if fut.done():
            fut.result()
            return True
        fut.cancel()
        return False


def _rank(kind: str) -> int:
    return {"stop": 0, "abort": 1, "halt": 2}[kind]
