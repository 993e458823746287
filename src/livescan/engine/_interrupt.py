"""Jupyter's interrupt button (SIGINT to the kernel) for runs on the kernel's own loop.

ipykernel ignores SIGINT while no cell executes (``SIG_IGN``) and swaps in its own handler
only around each message it handles (``kernel.saved_sigint_handler`` holds the one to put
back). So a background run (``h = RE(plan)``, cell finished) would never hear the button.
While such runs exist, :class:`KernelInterrupts` takes the idle slot: SIGINT then aborts the
current run (and drops the queued ones) on the loop, cleanly. When the engine goes idle the
previous handler comes back. Cells keep ipykernel's own behaviour.

An awaited run (``await RE(plan)``) is cancelled by ipykernel on SIGINT;
:func:`sigint_noticed` lets the handle tell that cancellation from others, so it can end
the run and say so in one line instead of a ``CancelledError`` traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["KernelInterrupts", "sigint_noticed"]


def _kernel() -> Any:
    """The running ipykernel Kernel, or None (plain Python, or no kernel started)."""
    base = sys.modules.get("ipykernel.kernelbase")
    kernel_cls = getattr(base, "Kernel", None)
    if kernel_cls is None or not kernel_cls.initialized():
        return None
    return kernel_cls.instance()


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class KernelInterrupts:
    """While armed, SIGINT with no cell executing calls ``on_interrupt()`` on ``loop``."""

    def __init__(self, on_interrupt: Callable[[], Any]) -> None:
        self._on_interrupt = on_interrupt
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous: Any = None
        self.armed = False

    def _handler(self, signum: int, frame: Any) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._on_interrupt)

    def arm(self, loop: asyncio.AbstractEventLoop) -> None:
        """Take the kernel's idle SIGINT slot (no-op outside an ipykernel main thread)."""
        if self.armed or not _main_thread():
            return
        kernel = _kernel()
        if kernel is None:
            return
        self._loop = loop
        current = signal.getsignal(signal.SIGINT)
        saved = getattr(kernel, "saved_sigint_handler", None)
        if current is signal.SIG_IGN:  # idle: no handler of ipykernel's is active
            self._previous = current
            signal.signal(signal.SIGINT, self._handler)
            self.armed = True
        if saved is signal.SIG_IGN:  # inside a message handler: what it puts back after
            self._previous = saved
            kernel.saved_sigint_handler = self._handler
            self.armed = True

    def disarm(self) -> None:
        """Give the idle slot back (the engine has nothing left to run)."""
        if not self.armed or not _main_thread():
            return
        self.armed = False
        previous = self._previous if self._previous is not None else signal.SIG_IGN
        if signal.getsignal(signal.SIGINT) == self._handler:
            signal.signal(signal.SIGINT, previous)
        kernel = _kernel()
        if kernel is not None and getattr(kernel, "saved_sigint_handler", None) == self._handler:
            kernel.saved_sigint_handler = previous


class _Noticed:
    count = 0


def _chain(previous: Any) -> Callable[[int, Any], Any]:
    def handler(signum: int, frame: Any) -> Any:
        _Noticed.count += 1
        if callable(previous):
            return previous(signum, frame)
        if previous == signal.SIG_DFL:
            raise KeyboardInterrupt
        return None

    return handler


@contextlib.contextmanager
def sigint_noticed() -> Iterator[Callable[[], bool]]:
    """While inside, count SIGINTs (passing them on to the handler in place); yields a
    function telling whether one arrived. Outside the main thread it notices nothing."""
    if not _main_thread():
        yield lambda: False
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous in (signal.SIG_IGN, None):
        yield lambda: False
        return
    start = _Noticed.count
    ours = _chain(previous)
    signal.signal(signal.SIGINT, ours)
    try:
        yield lambda: _Noticed.count > start
    finally:
        if signal.getsignal(signal.SIGINT) is ours:
            signal.signal(signal.SIGINT, previous)
