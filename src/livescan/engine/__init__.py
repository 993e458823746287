"""The engine: RunEngine façade, plan executor, verbs, states, handles, metadata.

It imports no widget library. A notebook front end fills the run-display slot with
:func:`set_display_hook` (``livescan/__init__.py`` does, loading ``livescan.jupyter``
lazily).
"""

from livescan.engine._context import RunContext
from livescan.engine._engine import RunEngine, default_scan_id_source
from livescan.engine._handle import (
    DisplayHook,
    DisplaySlot,
    RunHandle,
    RunResult,
    display_hook,
    set_display_hook,
)
from livescan.engine._md import PersistentDict
from livescan.engine._state import RunEngineState
from livescan.engine._verbs import VERBS

__all__ = [
    "VERBS",
    "DisplayHook",
    "DisplaySlot",
    "PersistentDict",
    "RunContext",
    "RunEngine",
    "RunEngineState",
    "RunHandle",
    "RunResult",
    "default_scan_id_source",
    "display_hook",
    "set_display_hook",
]
