"""A small Status: awaitable, ophyd-compatible (done / success / add_callback)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator
from typing import Any

__all__ = ["SimStatus"]


class SimStatus:
    """Completion of a simulated move or trigger.

    Finished at once (``SimStatus.finished()``) or later, on the running loop
    (``SimStatus.after(delay)``). Awaiting it raises the failure, if any.
    """

    __slots__ = ("_callbacks", "_exception", "done", "success")

    def __init__(self) -> None:
        self.done = False
        self.success = False
        self._exception: BaseException | None = None
        self._callbacks: list[Callable[[SimStatus], None]] = []

    @classmethod
    def finished(cls) -> SimStatus:
        """A status that is already finished successfully."""
        st = cls.__new__(cls)
        st.done = st.success = True
        st._exception = None
        st._callbacks = []
        return st

    @classmethod
    def after(cls, delay: float, action: Callable[[], None] | None = None) -> SimStatus:
        """Finish after ``delay`` seconds on the running loop (or at once with no loop)."""
        st = cls()

        def finish() -> None:
            if action is not None:
                action()
            st.set_finished()

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            finish()
        else:
            loop.call_later(delay, finish)
        return st

    def set_finished(self) -> None:
        """Mark the status successful and call its callbacks."""
        self.done = self.success = True
        self._fire()

    def set_exception(self, exc: BaseException) -> None:
        """Mark the status failed with ``exc`` and call its callbacks."""
        self.done, self.success, self._exception = True, False, exc
        self._fire()

    def exception(self) -> BaseException | None:
        """The exception the status failed with, or None."""
        return self._exception

    def add_callback(self, callback: Callable[[SimStatus], None]) -> None:
        """Call ``callback(status)`` when the status finishes (now, if it already has)."""
        if self.done:
            callback(self)
        else:
            self._callbacks.append(callback)

    def _fire(self) -> None:
        callbacks, self._callbacks = self._callbacks, []
        for cb in callbacks:
            cb(self)

    def __await__(self) -> Generator[Any, None, None]:
        if not self.done:
            loop = asyncio.get_running_loop()
            fut = loop.create_future()

            def resolve() -> None:
                if not fut.done():
                    fut.set_result(None)

            def wake(_: SimStatus) -> None:  # may run on another thread
                loop.call_soon_threadsafe(resolve)

            self.add_callback(wake)
            yield from fut.__await__()
        if not self.success:
            raise self._exception or RuntimeError("status failed")

    def __repr__(self) -> str:
        state = "done" if self.done else "pending"
        return f"SimStatus({state}, success={self.success})"
