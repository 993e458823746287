"""bluesky's suspenders on livescan's RunEngine.

``bluesky.suspenders.SuspendFloor`` & co. watch a signal and, when it trips, call
``RE.request_suspend(event.wait, pre_plan=…, post_plan=…, justification=…)`` through
``RE._loop.call_soon_threadsafe`` (bluesky's private event loop, always running in its
own thread). livescan runs on the caller's loop, which in a script runs only while
``RE()`` does: :class:`SuspenderLoop` is what they reach as ``RE._loop`` — the loop the
engine's runs use, with calls made while it is stopped kept for its next run.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from livescan.engine._engine import RunEngine

__all__ = ["SuspenderLoop", "tripped_futures"]


class SuspenderLoop:
    """The engine's event loop as bluesky's suspenders use it (``RE._loop``)."""

    def __init__(self, engine: RunEngine) -> None:
        self._engine = engine

    def _loop(self) -> asyncio.AbstractEventLoop:
        return self._engine._run_loop()

    @property
    def _thread_id(self) -> int | None:
        """The thread running the loop; while it is stopped, the caller's (so a suspender
        makes its ``asyncio.Event`` at once, to be waited for in the next run)."""
        loop = self._loop()
        if loop.is_running():
            return getattr(loop, "_thread_id", None)
        return threading.get_ident()

    def call_soon_threadsafe(self, callback: Callable[..., Any], *args: Any) -> Any:
        return self._loop().call_soon_threadsafe(callback, *args)

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> Any:
        loop = self._loop()
        if loop.is_running() and getattr(loop, "_thread_id", None) != threading.get_ident():
            return loop.call_soon_threadsafe(loop.call_later, delay, callback, *args)
        return loop.call_later(delay, callback, *args)

    def create_task(self, coro: Any) -> Any:
        return self._loop().create_task(coro)

    def is_running(self) -> bool:
        return self._loop().is_running()

    def is_closed(self) -> bool:
        return self._loop().is_closed()


def tripped_futures(suspenders: tuple[Any, ...]) -> tuple[list[Any], list[str]]:
    """What the suspenders tripped before a run began ask it to wait for, and why."""
    futs: list[Any] = []
    why: list[str] = []
    for suspender in suspenders:
        found, justification = suspender.get_futures()
        if found:
            futs.extend(found)
            why.append(str(justification))
    return futs, why
