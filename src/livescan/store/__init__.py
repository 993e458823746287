"""The run store: every run's documents in a local folder, looked up and replayed.

>>> from livescan.store import RunStore, replay
>>> db = RunStore()                  # $LIVESCAN_DATA_DIR/runs or ~/.local/share/livescan/runs
>>> RE.subscribe_lossless(db)        # doctest: +SKIP
>>> run = db[-1]                     # doctest: +SKIP
>>> replay(run, LiveTable(["det"]))  # doctest: +SKIP
"""

from livescan.store._frames import FramesHandler
from livescan.store._journal import read_journal
from livescan.store._paths import default_store_path
from livescan.store._replay import documents_of, replay, stream
from livescan.store._run import Run, Stream
from livescan.store._store import RunStore, active_store
from livescan.store._tiled import TiledRun, TiledStore, TiledStream

__all__ = [
    "FramesHandler",
    "Run",
    "RunStore",
    "Stream",
    "TiledRun",
    "TiledStore",
    "TiledStream",
    "active_store",
    "default_store_path",
    "documents_of",
    "read_journal",
    "replay",
    "stream",
]
