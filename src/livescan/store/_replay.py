"""Feed a saved run to callbacks as if it were live."""

from __future__ import annotations

import time as ttime
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from livescan.store._store import active_store

__all__ = ["documents_of", "replay", "stream"]

Callback = Callable[[str, dict[str, Any]], Any]


def documents_of(run: Any, *, fill: bool = False) -> Iterator[tuple[str, dict[str, Any]]]:
    """The ``(name, doc)`` pairs of ``run``: a stored Run (anything with ``documents()``),
    a uid / uid prefix / scan_id / -recency looked up in the active store, or an iterable
    of ``(name, doc)`` pairs."""
    if isinstance(run, str | int):
        run = active_store()[run]
    if hasattr(run, "documents"):
        try:
            return iter(run.documents(fill=fill))
        except TypeError:  # a documents() that takes no fill argument
            return iter(run.documents())
    if isinstance(run, Iterable):
        return iter(run)
    raise TypeError(
        f"cannot replay {type(run).__name__}: give a Run, a uid or an iterable of (name, doc) pairs"
    )


def _callbacks(callback: Callback | Iterable[Callback]) -> list[Callback]:
    cbs = [callback] if callable(callback) else list(callback)
    for cb in cbs:
        if not callable(cb):
            raise TypeError(f"{cb!r} is not callable; give callback(name, doc) functions")
    return cbs


def replay(
    run: Any,
    callback: Callback | Iterable[Callback],
    realtime: bool = False,
    *,
    speed: float = 1.0,
    fill: bool = False,
) -> int:
    """Send every document of ``run`` to ``callback(name, doc)`` in order; returns how many.

    ``realtime=True`` waits between documents as long as they were apart when recorded
    (divided by ``speed``). ``fill=True`` replaces datum ids in events by the file-backed
    data. A callback may be a list of callbacks.
    """
    if speed <= 0:
        raise ValueError(f"speed must be positive, not {speed!r}")
    cbs = _callbacks(callback)
    n = 0
    t0_doc = t0_wall = None
    for name, doc in documents_of(run, fill=fill):
        if realtime and "time" in doc and isinstance(doc["time"], int | float):
            if t0_doc is None:
                t0_doc, t0_wall = doc["time"], ttime.monotonic()
            else:
                assert t0_wall is not None
                delay = (doc["time"] - t0_doc) / speed - (ttime.monotonic() - t0_wall)
                if delay > 0:
                    ttime.sleep(delay)
        for cb in cbs:
            cb(name, doc)
        n += 1
    return n


def stream(header: Any, callback: Callback | Iterable[Callback], *, fill: bool = False) -> int:
    """The spec's ``stream(header, callback)``: replay a saved run at full speed."""
    return replay(header, callback, realtime=False, fill=fill)
