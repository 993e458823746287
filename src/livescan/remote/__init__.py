"""Beyond one machine: live documents through Redis Streams, frame reductions on Dask.

>>> pub = RedisPublisher("redis://:PASSWORD@host:6379/0")  # doctest: +SKIP
>>> RE.subscribe_lossless(pub)                              # doctest: +SKIP

and in another process or kernel:

>>> d = RemoteDispatcher("redis://:PASSWORD@host:6379/0", start="run-start")  # doctest: +SKIP
>>> d.subscribe(LiveTable(["det"])); d.start()                               # doctest: +SKIP
"""

from livescan.remote._codec import decode, encode
from livescan.remote._connect import RemoteError
from livescan.remote._dask import FrameReducer, radial_profile
from livescan.remote._dispatcher import RemoteDispatcher
from livescan.remote._publisher import RedisPublisher

__all__ = [
    "FrameReducer",
    "RedisPublisher",
    "RemoteDispatcher",
    "RemoteError",
    "decode",
    "encode",
    "radial_profile",
]
