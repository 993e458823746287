"""RedisPublisher: every document, in order, appended to a Redis stream off the scan's path."""

from __future__ import annotations

import itertools
import logging
import threading
from typing import Any

from livescan.dispatch import Offload, OffloadError
from livescan.documents import new_uid
from livescan.remote._codec import encode
from livescan.remote._connect import connect, describe, is_transient, redacted

__all__ = ["RedisPublisher", "run_index_key"]

log = logging.getLogger(__name__)


def run_index_key(stream: str) -> str:
    """The Redis hash mapping each run's uid to the stream entry of its start document
    (the key ``'last'`` holds the newest run's)."""
    return f"{stream}:runs"


class RedisPublisher:
    """A subscriber that appends every document to the Redis stream ``stream``.

    Subscribe it lossless so it sees every document in order::

        pub = RedisPublisher("redis://:PASSWORD@beamline-redis:6379/0")
        RE.subscribe_lossless(pub)

    Each entry holds the document's name (``n``), the document as msgpack with numpy
    arrays as binary (``d``), this publisher's id (``p``) and a sequence number (``s``)
    that :class:`RemoteDispatcher` uses to drop the duplicates a resend after a lost
    connection can make. ``XADD`` trims the stream to about ``maxlen`` entries.

    Sending runs on a background thread. While Redis is unreachable up to ``buffer``
    documents wait (and are resent after the reconnect); if the buffer stays full for
    ``timeout`` seconds, or the run's documents are not all sent ``timeout`` seconds after
    its last event, the subscriber raises and the run ends with ``exit_status='fail'``.
    A wrong password or an unreachable server at construction raises :class:`RemoteError`.
    """

    def __init__(
        self,
        url: str,
        stream: str = "livescan",
        *,
        maxlen: int | None = 1_000_000,
        buffer: int = 100_000,
        timeout: float = 10.0,
        batch: int = 500,
        check: bool = True,
    ) -> None:
        self.url = url
        self.stream = stream
        self.maxlen = maxlen
        self._redis = connect(url, check=check)
        self.publisher_id = new_uid()[:12]
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        self._offload = Offload(
            self._send,
            label=f"RedisPublisher({redacted(url)}, {stream!r})",
            capacity=buffer,
            timeout=timeout,
            batch=batch,
            retryable=is_transient,
            describe=lambda exc: describe(exc, url),
        )

    # -- the subscriber ------------------------------------------------------------------
    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        """Queue one document (encoded now, so later changes to ``doc`` do not travel)."""
        with self._lock:
            if name == "start" and self._offload.fatal is not None:
                self._offload.reset()  # a new run after a failed one starts clean
            fields = {"n": name, "d": encode(doc), "p": self.publisher_id, "s": next(self._seq)}
            if name == "start":
                fields["u"] = doc["uid"]
            self._offload.put(fields)
        if name == "stop":
            try:  # hand over the whole run before RE returns, if Redis lets us
                self._offload.flush()
            except OffloadError as exc:
                log.warning("%s", exc)

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every queued document is in Redis; raise if they cannot be sent."""
        self._offload.flush(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued (for at most ``timeout`` seconds) and stop the thread."""
        self._offload.close(timeout)
        self._redis.close()

    @property
    def pending(self) -> int:
        """Documents queued and not yet confirmed by Redis."""
        return len(self._offload)

    @property
    def sent(self) -> int:
        """Documents Redis has confirmed."""
        return self._offload.sent

    @property
    def retries(self) -> int:
        """How many times a batch was sent again after a lost connection."""
        return self._offload.retries

    # -- the sending thread -------------------------------------------------------------
    def _send(self, batch: list[dict[str, Any]]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for fields in batch:
            pipe.xadd(
                self.stream,
                {k: v for k, v in fields.items() if k != "u"},
                maxlen=self.maxlen,
                approximate=True,
            )
        ids = pipe.execute()
        starts = [(f["u"], entry) for f, entry in zip(batch, ids) if "u" in f]
        if starts:
            index = run_index_key(self.stream)
            mapping = {uid: entry for uid, entry in starts}
            mapping["last"] = starts[-1][1]
            self._redis.hset(index, mapping=mapping)

    def __repr__(self) -> str:
        return (
            f"RedisPublisher({redacted(self.url)!r}, stream={self.stream!r}, "
            f"sent={self.sent}, pending={self.pending})"
        )
