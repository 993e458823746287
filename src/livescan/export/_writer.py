"""A writer thread with a bounded queue: back-pressure, never loss.

``submit`` blocks while the queue is full, so a scan that produces frames faster than
the disk takes them simply waits. The first error of the thread is kept and raised in
the caller's thread at the next ``submit``, ``flush`` or ``close``; once it failed the
thread writes nothing more (whatever it wrote before is complete and closed).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["WriterThread"]

_STOP = object()


class WriterThread:
    """Runs submitted jobs in order on one daemon thread."""

    def __init__(self, maxsize: int, name: str = "livescan-writer") -> None:
        if maxsize < 1:
            raise ValueError(f"queue size must be at least 1, not {maxsize!r}")
        self._queue: queue.Queue[Any] = queue.Queue(maxsize)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is _STOP:
                    return
                if self._error is None:
                    fn, args = job
                    fn(*args)
            except BaseException as exc:
                self._error = exc
            finally:
                self._queue.task_done()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Queue ``fn(*args)``; waits while the queue is full; raises an earlier error."""
        self._raise()
        if not self._thread.is_alive():
            raise RuntimeError("the writer thread is closed")
        self._queue.put((fn, args))

    def flush(self) -> None:
        """Wait until every queued job ran; raise the thread's error if there was one."""
        self._queue.join()
        self._raise()

    def close(self) -> None:
        """Finish the queued jobs and end the thread; raise its error if there was one."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
        self._raise()

    @property
    def failed(self) -> bool:
        """Whether a job has raised (the error is raised again by submit, flush and close)."""
        return self._error is not None
