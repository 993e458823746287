"""The dashboard's list of past runs: a dropdown of a run store's newest runs."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import ipywidgets

__all__ = ["LIVE", "RunHistory", "run_label"]

LIVE = object()  # the "live" entry of the past-runs list


def run_label(run: Any) -> str:
    """``scan_id · plan · time · exit status`` of a stored run."""
    start = run.start
    when = time.strftime("%m-%d %H:%M:%S", time.localtime(float(start.get("time", 0))))
    status = run.exit_status or "unfinished"
    return f"{start.get('scan_id', '?')} · {start.get('plan_name', '?')} · {when} · {status}"


class RunHistory:
    """A dropdown of the ``recent`` newest runs of ``store`` (newest first) after "live".

    Choosing a run calls ``on_pick(uid)``; choosing "live" does nothing.
    """

    def __init__(self, store: Any, recent: int, on_pick: Callable[[Any], Any]) -> None:
        self.store = store
        self.recent = int(recent)
        self._on_pick_run = on_pick
        W = ipywidgets
        self.widget = W.Dropdown(
            options=[("live", LIVE)],
            value=LIVE,
            description="Past runs",
            layout=W.Layout(width="auto", min_width="260px", flex="1 1 auto"),
            disabled=store is None,
        )
        self.widget.add_class("livescan-dashboard-runs")
        self.widget.observe(self._on_pick, names="value")

    def refresh(self) -> None:
        """Reload the list from the store (newest first); keep the choice if still listed."""
        if self.store is None:
            return
        options: list[tuple[str, Any]] = [("live", LIVE)]
        for run in reversed(self.store[-self.recent :]):
            options.append((run_label(run), run.uid))
        current = self.widget.value
        values = [v for _, v in options]
        self.widget.unobserve(self._on_pick, names="value")
        try:
            self.widget.options = options
            self.widget.value = current if current in values else LIVE
        finally:
            self.widget.observe(self._on_pick, names="value")
        self.widget.disabled = False

    def select_live(self) -> None:
        """Show "live" as the choice (without replaying anything)."""
        if self.widget.value is not LIVE:
            self.widget.unobserve(self._on_pick, names="value")
            try:
                self.widget.value = LIVE
            finally:
                self.widget.observe(self._on_pick, names="value")

    def _on_pick(self, change: dict[str, Any]) -> None:
        if change["new"] is LIVE or change["new"] is None:
            return
        self._on_pick_run(change["new"])
