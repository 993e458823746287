"""Jupyter integration: the run-status widget and how a run shows itself in a notebook.

The engine calls :func:`display_run` when a run is submitted inside a kernel; it shows a
:class:`RunStatus` (state, progress, Pause / Resume / Stop / Abort) together with the live
widgets the run was given (``RE(plan, [LiveTable(...), LivePlot(...)])``).
"""

from livescan.jupyter._dashboard import Dashboard, Peaks, peak_stats
from livescan.jupyter._display import display_run, live_widget_of, run_layout
from livescan.jupyter._status import RunLike, RunStatus

__all__ = [
    "Dashboard",
    "Peaks",
    "RunLike",
    "RunStatus",
    "display_run",
    "live_widget_of",
    "peak_stats",
    "run_layout",
]
