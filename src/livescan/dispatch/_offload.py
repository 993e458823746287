"""Offload: a bounded, ordered buffer drained by one background thread.

Lossless subscribers that talk to a server (Redis, tiled) put what they send here, so the
scan never waits for the network. ``send(batch)`` runs on the thread; when it raises an
error that ``retryable(error)`` accepts, the same batch is sent again after a pause (the
server is restarting); any other error is fatal. ``put`` waits while the buffer is full
and raises :class:`OffloadError` once it stayed full for ``timeout`` seconds, or once the
server has been unreachable (or one send has hung) for ``timeout`` seconds; ``flush``
waits until everything is sent. Either raises on a fatal error. Raised from a lossless
subscriber or its ``flush()``, that ends the run with ``exit_status='fail'``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["Offload", "OffloadError"]


class OffloadError(RuntimeError):
    """The background sender cannot keep up or the server is gone; the message says why."""


class Offload:
    """Send items in order from a background thread; at most ``capacity`` wait."""

    def __init__(
        self,
        send: Callable[[list[Any]], None],
        *,
        label: str,
        capacity: int = 100_000,
        timeout: float = 10.0,
        batch: int = 500,
        retryable: Callable[[BaseException], bool] = lambda exc: False,
        describe: Callable[[BaseException], str] = lambda exc: f"{type(exc).__name__}: {exc}",
    ) -> None:
        if capacity < 1:
            raise ValueError(f"the buffer must hold at least one item, not {capacity!r}")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive seconds, not {timeout!r}")
        self._send = send
        self.label = label
        self.capacity = int(capacity)
        self.timeout = float(timeout)
        self.batch = int(batch)
        self._retryable = retryable
        self._describe = describe
        self._items: deque[Any] = deque()
        self._cond = threading.Condition()
        self._in_flight = 0
        self._closed = False
        self.sent = 0
        self.retries = 0
        #: the last error of a failed send (the server was unreachable), ``None`` once one works
        self.last_error: BaseException | None = None
        self.fatal: BaseException | None = None
        self._down_since: float | None = None  # first failed send of the current outage
        self._send_started = 0.0
        self._thread = threading.Thread(target=self._work, name=f"livescan-{label}", daemon=True)
        self._thread.start()

    # -- the caller's side ------------------------------------------------------------------
    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

    def put(self, item: Any) -> None:
        """Queue ``item``; wait while the buffer is full, at most ``timeout`` seconds."""
        with self._cond:
            self._raise_fatal()
            if self._closed:
                raise OffloadError(f"{self.label} is closed; make a new one")
            stalled = self._stalled()
            if stalled:
                raise OffloadError(
                    f"{self.label}: {stalled}; {len(self._items)} items wait to be sent, so "
                    "the run ends here. Make the server reachable, or give a larger timeout="
                )
            if len(self._items) >= self.capacity:
                ok = self._cond.wait_for(
                    lambda: len(self._items) < self.capacity or self.fatal is not None,
                    self.timeout,
                )
                self._raise_fatal()
                if not ok:
                    raise OffloadError(
                        f"{self.label}: {self._why()}; its buffer of {self.capacity} items "
                        f"stayed full for {self.timeout:g} s, so the run ends here. Make the "
                        "server reachable, or give a larger buffer= or timeout="
                    )
            self._items.append(item)
            self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every queued item is sent (at most ``timeout``, default the
        offload's); raise :class:`OffloadError` if they could not be."""
        wait = self.timeout if timeout is None else timeout
        with self._cond:
            ok = self._cond.wait_for(
                lambda: (not self._items and not self._in_flight) or self.fatal is not None,
                wait,
            )
            self._raise_fatal()
            if not ok:
                raise OffloadError(
                    f"{self.label}: {self._why()}; {len(self._items)} items could not be "
                    f"sent within {wait:g} s. Make the server reachable, or give a larger "
                    "timeout="
                )

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread after it sent what it can within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._cond.wait_for(
                lambda: (not self._items and not self._in_flight) or self.fatal is not None,
                timeout,
            )
            self._closed = True
            self._cond.notify_all()
        self._thread.join(max(0.0, deadline - time.monotonic()) + 0.5)

    def reset(self) -> None:
        """Forget a fatal error and anything still queued (a new run starts clean)."""
        with self._cond:
            self.fatal = None
            self._items.clear()
            self._cond.notify_all()

    def _raise_fatal(self) -> None:
        if self.fatal is not None:
            raise OffloadError(f"{self.label} failed: {self._describe(self.fatal)}") from self.fatal

    def _stalled(self) -> str | None:
        now = time.monotonic()
        if self._down_since is not None and now - self._down_since > self.timeout:
            return f"{self._why()} for {now - self._down_since:.1f} s"
        if self._in_flight and now - self._send_started > self.timeout:
            return (
                f"the server has not answered for {now - self._send_started:.1f} s (it may be gone)"
            )
        return None

    def _why(self) -> str:
        if self.last_error is not None:
            return f"the server is unreachable ({self._describe(self.last_error)})"
        return "the server is too slow"

    # -- the thread ---------------------------------------------------------------------------
    def _work(self) -> None:
        pause = 0.02
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._items or self._closed)
                if self._closed and (not self._items or self.last_error is not None):
                    return
                batch = [self._items[i] for i in range(min(self.batch, len(self._items)))]
                self._in_flight = len(batch)
                self._send_started = time.monotonic()
            try:
                self._send(batch)
            except BaseException as exc:
                with self._cond:
                    self._in_flight = 0
                    if self._retryable(exc):
                        self.last_error = exc
                        self.retries += 1
                        if self._down_since is None:
                            self._down_since = self._send_started
                    else:
                        self.fatal = exc
                        self._items.clear()
                    self._cond.notify_all()
                    if self._closed:
                        return
                time.sleep(pause)
                pause = min(pause * 2, 0.5)
                continue
            pause = 0.02
            with self._cond:
                for _ in batch:
                    self._items.popleft()
                self._in_flight = 0
                self.sent += len(batch)
                self.last_error = None
                self._down_since = None
                self._cond.notify_all()
