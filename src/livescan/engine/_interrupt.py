"""Jupyter's interrupt button (SIGINT to the kernel) for runs on the kernel's own loop.

ipykernel ignores SIGINT while it handles no message (``SIG_IGN``) and installs
``signal.default_int_handler`` around each shell message it handles
(``Kernel.pre_handler_hook``; ``kernel.saved_sigint_handler`` holds the one to put back).
So a background run (``h = RE(plan)``, cell finished) would never hear the button, and
with widgets on screen the page's comm messages keep the kernel inside message handlers
often: a SIGINT then raises KeyboardInterrupt inside a comm handler, where ipykernel logs
and drops it (``KeyboardInterrupt caught in kernel``).

While runs exist, :class:`KernelInterrupts` owns SIGINT outside cells: it takes the idle
slot, and the kernel's pre-handler hook leaves it in place for every shell message but
``execute_request`` (comm messages, completions, kernel info…). SIGINT then aborts the
current run (and drops the queued ones) on the loop, cleanly. A cell executing code keeps
ipykernel's own behaviour (KeyboardInterrupt, or the cancellation of an awaiting cell).
When the engine goes idle everything is given back.

An awaited run (``await RE(plan)``) is cancelled by ipykernel on SIGINT;
:func:`sigint_noticed` lets the handle tell that cancellation from others, so it can pause
the run as Ctrl-C pauses bluesky's ``RE()`` (once: at the next checkpoint, twice: at once)
and say so in one line instead of a ``CancelledError`` traceback.
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


def _shell_msg_type(kernel: Any) -> str:
    """The type of the shell message the kernel is handling (set before its hooks run)."""
    try:
        return str(kernel.get_parent("shell")["header"]["msg_type"])
    except Exception:  # no parent yet, or an ipykernel without get_parent(channel)
        return ""


class _Owner:
    """The one SIGINT handler of the armed :class:`KernelInterrupts` (one per engine)."""

    armed: list[KernelInterrupts] = []
    kernel: Any = None
    previous: Any = None

    @staticmethod
    def handler(signum: int, frame: Any) -> None:
        for interrupts in list(_Owner.armed):
            interrupts._schedule()

    @classmethod
    def pre_handler_hook(cls) -> None:
        """The kernel's hook before each shell message, while runs exist: only a cell
        (``execute_request``) gets ipykernel's KeyboardInterrupt; for any other message
        SIGINT stays the engine's."""
        kernel = cls.kernel
        current = signal.getsignal(signal.SIGINT)
        if current is cls.handler and _shell_msg_type(kernel) != "execute_request":
            kernel.saved_sigint_handler = current  # post_handler_hook puts it back
            return
        type(kernel).pre_handler_hook(kernel)

    @classmethod
    def take(cls, kernel: Any) -> None:
        cls.kernel = kernel
        current = signal.getsignal(signal.SIGINT)
        if current is signal.SIG_IGN:  # idle: no handler of ipykernel's is active
            cls.previous = current
            signal.signal(signal.SIGINT, cls.handler)
        if getattr(kernel, "saved_sigint_handler", None) is signal.SIG_IGN:
            # inside a message handler: what its post_handler_hook puts back
            cls.previous = signal.SIG_IGN
            kernel.saved_sigint_handler = cls.handler
        kernel.pre_handler_hook = cls.pre_handler_hook

    @classmethod
    def give_back(cls) -> None:
        kernel, cls.kernel = cls.kernel, None
        previous = cls.previous if cls.previous is not None else signal.SIG_IGN
        if signal.getsignal(signal.SIGINT) is cls.handler:
            signal.signal(signal.SIGINT, previous)
        if kernel is None:
            return
        if getattr(kernel, "saved_sigint_handler", None) is cls.handler:
            kernel.saved_sigint_handler = previous
        if kernel.__dict__.get("pre_handler_hook") == cls.pre_handler_hook:
            del kernel.pre_handler_hook
        cls.previous = None


class KernelInterrupts:
    """While armed (runs exist in a kernel), SIGINT outside cells calls ``on_interrupt()``
    on ``loop``. Several engines may be armed at once: each gets the call."""

    def __init__(self, on_interrupt: Callable[[], Any]) -> None:
        self._on_interrupt = on_interrupt
        self._loop: asyncio.AbstractEventLoop | None = None
        self.armed = False

    def _schedule(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._on_interrupt)

    def arm(self, loop: asyncio.AbstractEventLoop) -> None:
        """Own SIGINT outside cells (no-op outside an ipykernel main thread)."""
        if self.armed or not _main_thread():
            return
        kernel = _kernel()
        if kernel is None:
            return
        self._loop = loop
        self.armed = True
        if not _Owner.armed:
            _Owner.take(kernel)
        _Owner.armed.append(self)

    def disarm(self) -> None:
        """Give SIGINT back (the engine has nothing left to run)."""
        if not self.armed or not _main_thread():
            return
        self.armed = False
        if self in _Owner.armed:
            _Owner.armed.remove(self)
        if not _Owner.armed:
            _Owner.give_back()


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
