"""Runs shown from one notebook cell: running a cell again keeps its live runs on screen.

Re-executing a cell clears its output, so a run still going (or queued) from the cell's
earlier execution would vanish while a new one queues behind it. JupyterLab sends the
cell's id with each execute request (``metadata.cellId``); a run displayed from a cell is
remembered under that id until it finishes, and the next run displayed from the same cell
shows those runs again first (same widgets and display ids, so the end-of-run fallback
updates every copy).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["batch_execution", "current_cell_id", "remember_run", "show_earlier_runs"]

# cell id -> [(weak handle, show the run's outputs again)], unfinished runs only
_LIVE: dict[str, list[tuple[weakref.ref[Any], Callable[[], Any]]]] = {}


def _execute_request() -> dict[str, Any] | None:
    """The execute request the kernel is running now, or None."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    get_parent = getattr(kernel, "get_parent", None)
    if get_parent is None:
        return None
    try:
        parent = get_parent("shell") or {}
    except Exception:
        return None
    if (parent.get("header") or {}).get("msg_type") != "execute_request":
        return None
    return parent


def batch_execution() -> bool:
    """Whether the cell executing now was sent by a client that cannot answer ``input()``
    (``allow_stdin`` false: nbclient, nbconvert, papermill): one that stops listening
    when the kernel goes idle, so whatever a run leaves in the notebook must be in place
    before the cell ends. JupyterLab, Notebook and VS Code allow stdin."""
    parent = _execute_request()
    return parent is not None and not (parent.get("content") or {}).get("allow_stdin", True)


def current_cell_id() -> str | None:
    """The id of the notebook cell executing now (JupyterLab, Notebook 7), or None."""
    parent = _execute_request()
    if parent is None:
        return None
    cell = (parent.get("metadata") or {}).get("cellId") or (parent.get("content") or {}).get(
        "cell_id"
    )
    return str(cell) if cell else None


def _unfinished(cell: str) -> list[tuple[weakref.ref[Any], Callable[[], Any]]]:
    kept = []
    for ref, show in _LIVE.get(cell, []):
        handle = ref()
        if handle is not None and not handle.done():
            kept.append((ref, show))
    if kept:
        _LIVE[cell] = kept
    else:
        _LIVE.pop(cell, None)
    return kept


def show_earlier_runs(cell: str | None, handle: Any) -> int:
    """Display again the unfinished runs shown earlier from ``cell`` (not ``handle``);
    returns how many."""
    if cell is None:
        return 0
    shown = 0
    for ref, show in _unfinished(cell):
        if ref() is handle:
            continue
        show()
        shown += 1
    return shown


def remember_run(cell: str | None, handle: Any, show: Callable[[], Any]) -> None:
    """Note that ``handle`` was displayed from ``cell``; ``show()`` displays it again."""
    if cell is None:
        return
    entries = _unfinished(cell)
    entries.append((weakref.ref(handle), show))
    _LIVE[cell] = entries
