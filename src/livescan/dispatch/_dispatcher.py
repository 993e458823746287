"""Dispatcher: the two lanes behind one subscribe/emit interface."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from livescan.dispatch._lossless import LosslessFailure, LosslessLane
from livescan.dispatch._lossy import CallbackFailure, LossyLane
from livescan.dispatch._subscriber import Subscription
from livescan.documents import Callback

__all__ = ["Dispatcher"]


class Dispatcher:
    """Routes each document to the lossless lane (awaited, in order) and then to the
    lossy lane (budgeted). Tokens are unique across both lanes."""

    def __init__(
        self,
        *,
        lossy_budget: float = 0.2,
        lossy_total_budget: float = 0.5,
        on_failure: Callable[[CallbackFailure], None] | None = None,
    ) -> None:
        self.lossless = LosslessLane()
        self.lossy = LossyLane(budget=lossy_budget, total_budget=lossy_total_budget)
        #: told ``(label, doc name, exception)`` when a lossy subscriber raises
        self.lossy.on_failure = on_failure
        self._tokens = itertools.count()  # 0, 1, … as bluesky's

    def subscribe(
        self,
        func: Callback,
        name: str = "all",
        *,
        lossless: bool = False,
        every_event: bool | None = None,
    ) -> int:
        """Subscribe ``func`` to ``name`` documents, lossy or lossless; return the token.
        ``every_event`` (lossy lane): every document, in order, delivered late rather than
        skipped (default: True for bluesky's callbacks, False otherwise)."""
        sub = Subscription(next(self._tokens), func, name, every_event=every_event)
        (self.lossless if lossless else self.lossy).add(sub)
        return sub.token

    def unsubscribe(self, token: int, *, lossless: bool | None = None) -> None:
        """Remove the subscription ``token`` (from either lane unless ``lossless`` says which)."""
        if lossless is None:
            lanes: list[LossyLane | LosslessLane] = [self.lossless, self.lossy]
        else:
            lanes = [self.lossless] if lossless else [self.lossy]
        for lane in lanes:
            if lane.remove(token):
                return
        kind = "lossless " if lossless else ""
        raise KeyError(f"no {kind}subscription has token {token!r}")

    def begin_run(self) -> None:
        """Reset both lanes' per-run state (failures, budgets, counters) before a run."""
        self.lossless.begin_run()
        self.lossy.begin_run()

    def drain(self, *, force: bool = False) -> None:
        """Let the lossy lane deliver what it holds (event pages, queued documents) while
        budgets allow; with ``force`` everything, except stale events of a subscriber
        over budget (counted as skipped). The engine calls it whenever it yields or waits."""
        self.lossy.drain(force=force)

    def catch_up(self, seconds: float = 0.05) -> bool:
        """While the run is paused: the lossy lane delivers what it holds, budgets aside,
        for about ``seconds``; True if some is still held (see ``LossyLane.catch_up``)."""
        return self.lossy.catch_up(seconds)

    async def settle(self) -> None:
        """Wait a little for the lossy lane's async callbacks, then cancel them."""
        await self.lossy.settle()

    async def flush(self) -> None:
        """Before a stop is composed: ``flush()`` every lossless subscriber that has one;
        raises :class:`LosslessFailure` if one fails."""
        await self.lossless.flush()

    def skipped(self) -> dict[str, int]:
        """Events the lossy lane skipped this run, by subscriber label."""
        return self.lossy.skipped()

    def emit_event_now(self, doc: dict[str, Any]) -> bool:
        """Deliver the event ``doc`` at once when no lossless subscriber has to be awaited
        (the engine's per-event fast path); return False, having done nothing, when one has."""
        if self.lossless.subs:
            return False
        sink = self.lossy.event_sink
        if sink is not None:
            sink(doc, True)  # the engine built it for the lossy lane alone
        return True

    async def emit(self, name: str, doc: dict[str, Any]) -> None:
        """Deliver ``doc``; raises :class:`LosslessFailure` after the lossy lane had it."""
        failure: LosslessFailure | None = None
        if self.lossless.subs:
            try:
                await self.lossless.emit(name, doc)
            except LosslessFailure as exc:
                failure = exc
        if self.lossy.subs:
            self.lossy.emit(name, doc)
        if name == "stop":
            await self.lossy.settle()  # no async lossy callback outlives its run
        if failure is not None:
            raise failure
