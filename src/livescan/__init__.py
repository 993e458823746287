"""livescan: bluesky-style live feedback that works properly in Jupyter.

>>> from livescan import RunEngine
>>> from livescan.plans import scan
>>> from livescan.sim import det, motor
>>> from livescan.callbacks import LiveTable
>>> RE = RunEngine()
>>> RE(scan([det], motor, -1, 1, num=5), LiveTable([det, motor]))  # doctest: +SKIP

This module is the composition root, above every layer: the engine and the callbacks
offer slots for what the notebook layers provide (the run-status widget, LiveTable's
grid, the live widgets), and the functions below fill them. Each imports its widget
module only when first called, so ``import livescan`` loads no widget library.
"""

from __future__ import annotations

from typing import Any

from livescan._version import __version__
from livescan.callbacks import LiveTable as _LiveTable
from livescan.callbacks import TableView as _TableView
from livescan.callbacks import set_widget_provider as _set_widget_provider
from livescan.engine import PersistentDict, RunEngine, RunHandle, RunResult
from livescan.engine import set_display_hook as _set_display_hook

__all__ = ["PersistentDict", "RunEngine", "RunHandle", "RunResult", "__version__"]


def _display_run(handle: RunHandle) -> Any:
    """The engine's run-display hook: the status widget and the run's live widgets."""
    from livescan.jupyter import display_run

    return display_run(handle)


def _table_grid(table: _LiveTable) -> _TableView:
    """LiveTable's view factory: its ipydatagrid face in a notebook."""
    from livescan.widgets import TableGridView

    return TableGridView(table)


def _live_widget(name: str) -> Any:
    """livescan.callbacks' provider of LivePlot, LiveRaster and LiveImage."""
    import livescan.widgets

    return getattr(livescan.widgets, name)


_set_display_hook(_display_run)
_LiveTable.view_factory = _table_grid
_set_widget_provider(_live_widget)
