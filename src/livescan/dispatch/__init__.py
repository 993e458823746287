"""Dispatch: delivering documents to subscribers in two lanes.

* lossless — every document, in order, awaited before the run goes on; a failure
  ends the run;
* lossy — time-budgeted; slow subscribers skip events (counted), errors are logged.
"""

from livescan.dispatch._dispatcher import Dispatcher
from livescan.dispatch._lossless import LosslessFailure, LosslessLane
from livescan.dispatch._lossy import CallbackFailure, LossyLane, LossyStats
from livescan.dispatch._offload import Offload, OffloadError
from livescan.dispatch._subscriber import Subscription, is_bluesky_callback, label_of

__all__ = [
    "CallbackFailure",
    "Dispatcher",
    "LosslessFailure",
    "LosslessLane",
    "LossyLane",
    "LossyStats",
    "Offload",
    "OffloadError",
    "Subscription",
    "is_bluesky_callback",
    "label_of",
]
