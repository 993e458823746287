"""The lossless lane: every document, in order, before the run goes on."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from typing import Any

from livescan.dispatch._subscriber import Subscription
from livescan.protocols import Flushable

__all__ = ["LosslessFailure", "LosslessLane"]


class LosslessFailure(Exception):
    """Raised by :meth:`LosslessLane.emit` when a subscriber raised; carries which one."""

    def __init__(self, subscription: Subscription, doc_name: str, error: BaseException) -> None:
        super().__init__(
            f"lossless subscriber {subscription.label} raised "
            f"{type(error).__name__}: {error} (on a {doc_name!r} document)"
        )
        self.subscription = subscription
        self.doc_name = doc_name
        self.error = error


class LosslessLane:
    """Critical subscribers. Each document goes to every one of them, in order, and the
    caller awaits them all. One that raises is disabled for the rest of the run (it
    gets no more documents); the others still get this document and every later one;
    the first failure is raised after the document has gone round."""

    def __init__(self) -> None:
        self.subs: dict[int, Subscription] = {}
        self.failed: set[int] = set()

    def add(self, sub: Subscription) -> None:
        """Add a subscription."""
        self.subs[sub.token] = sub

    def remove(self, token: int) -> bool:
        """Remove the subscription with ``token``; False if there was none."""
        return self.subs.pop(token, None) is not None

    def begin_run(self) -> None:
        """Forget which subscribers failed in the previous run."""
        self.failed.clear()

    async def flush(self) -> None:
        """Before a stop is composed: call ``flush()`` on every subscriber that has one
        (e.g. an exporter with a writer thread), so an error still pending there ends the
        run with ``exit_status='fail'`` instead of surfacing after a 'success' stop."""
        failure: LosslessFailure | None = None
        for sub in list(self.subs.values()):
            flush = sub.func.flush if isinstance(sub.func, Flushable) else None
            if sub.token in self.failed or not callable(flush):
                continue
            try:
                result = flush()
                if inspect.isawaitable(result):
                    await _await(result)
            except (Exception, KeyboardInterrupt, SystemExit) as exc:  # fails the run
                self.failed.add(sub.token)
                if failure is None:
                    failure = LosslessFailure(sub, "stop", exc)
        if failure is not None:
            raise failure

    async def emit(self, name: str, doc: dict[str, Any]) -> None:
        """Deliver one document to every subscriber that wants it, awaiting each in turn."""
        if not self.subs:
            return
        failure: LosslessFailure | None = None
        for sub in list(self.subs.values()):
            if sub.token in self.failed or not sub.wants(name):
                continue
            try:
                result = sub.func(name, doc)
                if inspect.isawaitable(result):
                    await _await(result)
            except (Exception, KeyboardInterrupt, SystemExit) as exc:  # fails the run
                self.failed.add(sub.token)
                if failure is None:
                    failure = LosslessFailure(sub, name, exc)
        if failure is not None:
            raise failure


async def _await(result: Awaitable[Any]) -> Any:
    return await result
