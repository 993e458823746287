"""livescan: bluesky-style live feedback that works properly in Jupyter.

>>> from livescan import RunEngine
>>> from livescan.plans import scan
>>> from livescan.sim import det, motor
>>> from livescan.callbacks import LiveTable
>>> RE = RunEngine()
>>> RE(scan([det], motor, -1, 1, num=5), LiveTable([det, motor]))  # doctest: +SKIP
"""

__version__ = "0.1.0"

from livescan.engine import PersistentDict, RunEngine, RunHandle, RunResult

__all__ = ["PersistentDict", "RunEngine", "RunHandle", "RunResult", "__version__"]
