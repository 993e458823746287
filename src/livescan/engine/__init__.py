"""The engine: RunEngine façade, plan executor, verbs, states, handles, metadata."""

from livescan.engine._context import RunContext
from livescan.engine._engine import RunEngine, default_scan_id_source
from livescan.engine._handle import RunHandle, RunResult
from livescan.engine._md import PersistentDict
from livescan.engine._state import RunEngineState
from livescan.engine._verbs import VERBS

__all__ = [
    "VERBS",
    "PersistentDict",
    "RunContext",
    "RunEngine",
    "RunEngineState",
    "RunHandle",
    "RunResult",
    "default_scan_id_source",
]
