"""RemoteDispatcher: documents from a Redis stream to local callbacks, in another process."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from livescan.dispatch import label_of
from livescan.documents import check_callable, check_subscription_name
from livescan.remote._codec import decode
from livescan.remote._connect import RemoteError, check_url, connect, describe, is_transient
from livescan.remote._publisher import run_index_key

__all__ = ["RemoteDispatcher"]

log = logging.getLogger(__name__)

_ENTRY_ID = re.compile(r"^\d+-\d+$")
_STARTS = ("newest", "run-start", "beginning")


class RemoteDispatcher:
    """Read the documents a :class:`RedisPublisher` appends and hand them to callbacks.

    ::

        d = RemoteDispatcher("redis://:PASSWORD@beamline-redis:6379/0", start="run-start")
        d.subscribe(LiveTable(["det", "motor"]))
        d.start()                 # blocks; or: task = d.start_task() in a notebook

    ``start`` is where reading begins: ``'newest'`` (only documents appended from now on),
    ``'run-start'`` (the start document of the newest run, so a late consumer catches up
    on a run in progress), ``'beginning'`` (all the stream still holds), a stream entry id
    (``'1733000000000-0'``, inclusive) or a run's uid. Duplicates a publisher resent after
    a lost connection are dropped. A callback that raises is logged and keeps getting
    documents. A lost connection is retried; a wrong password or an unreachable server
    at the first read raises :class:`RemoteError`.
    """

    def __init__(
        self,
        url: str,
        stream: str = "livescan",
        *,
        start: str = "newest",
        block: float = 0.2,
        count: int = 1000,
    ) -> None:
        self.url = check_url(url)
        self.stream = stream
        if not isinstance(start, str) or not start:
            raise ValueError(
                f"start must be one of {_STARTS}, an entry id or a run uid, not {start!r}"
            )
        self.start_at = start
        self.block_ms = max(1, int(block * 1000))
        self.count = count
        self._subs: dict[int, tuple[str, Callable[[str, dict[str, Any]], Any]]] = {}
        self._tokens = itertools.count(1)
        self._seen: dict[str, int] = {}  # publisher id -> last sequence number delivered
        self._last: str | None = None  # the last entry id read
        self._stopping = False
        self.received = 0
        self.duplicates = 0
        self.stops = 0
        self.errors: list[tuple[str, BaseException]] = []

    # -- subscriptions ------------------------------------------------------------------
    def subscribe(self, func: Callable[[str, dict[str, Any]], Any], name: str = "all") -> int:
        """Give ``func(name, doc)`` every document (or those named ``name``); a token."""
        check_callable(func)
        check_subscription_name(name)
        token = next(self._tokens)
        self._subs[token] = (name, func)
        return token

    def unsubscribe(self, token: int) -> None:
        """Remove the subscription with ``token`` (from ``subscribe``)."""
        if self._subs.pop(token, None) is None:
            raise KeyError(f"no subscription has token {token!r}")

    def stop(self) -> None:
        """Make :meth:`start` / :meth:`run` return after the read in progress."""
        self._stopping = True

    # -- reading ------------------------------------------------------------------------
    def start(self, *, runs: int | None = None, timeout: float | None = None) -> int:
        """Read and dispatch until :meth:`stop`, ``runs`` stop documents, or ``timeout``
        seconds; returns how many documents were dispatched."""
        client = connect(self.url, socket_timeout=self.block_ms / 1000 + 5)
        try:
            return self._loop_sync(client, runs, timeout)
        finally:
            client.close()

    def _loop_sync(self, client: Any, runs: int | None, timeout: float | None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        self._stopping = False
        n0, stops0 = self.received, self.stops
        if self._last is None:
            self._last = self._resolve(client)
        pause = 0.05
        while not self._done(deadline, runs, stops0):
            try:
                reply = client.xread(
                    {self.stream: self._last}, count=self.count, block=self.block_ms
                )
            except Exception as exc:
                pause = self._retry(exc, pause)
                time.sleep(pause)
                continue
            pause = 0.05
            self._dispatch(reply, runs, stops0)
        return self.received - n0

    async def run(self, *, runs: int | None = None, timeout: float | None = None) -> int:
        """:meth:`start` as a coroutine on the running loop (callbacks run on the loop)."""
        import redis.asyncio as aioredis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        deadline = None if timeout is None else time.monotonic() + timeout
        client = aioredis.Redis.from_url(
            self.url,
            socket_connect_timeout=2.0,
            socket_timeout=self.block_ms / 1000 + 5,
            retry=Retry(NoBackoff(), 0),
        )
        self._stopping = False
        n0, stops0 = self.received, self.stops
        try:
            try:
                await client.ping()
                if self._last is None:
                    self._last = await self._resolve_async(client)
            except Exception as exc:
                raise RemoteError(describe(exc, self.url)) from None
            pause = 0.05
            while not self._done(deadline, runs, stops0):
                try:
                    reply = await client.xread(
                        {self.stream: self._last}, count=self.count, block=self.block_ms
                    )
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    pause = self._retry(exc, pause)
                    await asyncio.sleep(pause)
                    continue
                pause = 0.05
                self._dispatch(reply, runs, stops0)
        finally:
            await client.aclose()
        return self.received - n0

    def start_task(self, **kwargs: Any) -> asyncio.Task[int]:
        """Run :meth:`run` as a task on the running loop (a notebook's kernel loop).

        Where reading begins is settled now, before the task first runs: with
        ``start='newest'`` the documents of a scan started right after this call are
        read (the task connects only once the cell has handed the loop back, and a
        scan started in between would otherwise come first)."""
        loop = asyncio.get_running_loop()
        if self._last is None:
            client = connect(self.url, socket_timeout=self.block_ms / 1000 + 5)
            try:
                self._last = self._resolve(client)
            finally:
                client.close()
        return loop.create_task(self.run(**kwargs))

    def _done(self, deadline: float | None, runs: int | None, stops0: int) -> bool:
        if self._stopping:
            return True
        if runs is not None and self.stops - stops0 >= runs:
            return True
        return deadline is not None and time.monotonic() >= deadline

    def _retry(self, exc: BaseException, pause: float) -> float:
        if not is_transient(exc):
            raise RemoteError(describe(exc, self.url)) from exc
        log.warning("%s; retrying", describe(exc, self.url))
        return min(pause * 2, 1.0)

    def _dispatch(self, reply: Any, runs: int | None, stops0: int) -> None:
        for _stream, entries in reply or ():
            for entry_id, fields in entries:
                if runs is not None and self.stops - stops0 >= runs:
                    return
                self._last = _text(entry_id)
                self._deliver(fields)

    def _deliver(self, fields: dict[Any, Any]) -> None:
        f = {_text(k): v for k, v in fields.items()}
        pub, seq = _text(f.get("p", b"")), int(f.get("s", 0))
        if seq and seq <= self._seen.get(pub, 0):
            self.duplicates += 1
            return
        self._seen[pub] = seq
        name = _text(f["n"])
        doc = decode(f["d"])
        self.received += 1
        if name == "stop":
            self.stops += 1
        for wanted, func in list(self._subs.values()):
            if wanted != "all" and wanted != name:
                continue
            try:
                func(name, doc)
            except Exception as exc:
                self.errors.append((label_of(func), exc))
                log.exception("remote callback %s raised on a %r document", label_of(func), name)

    # -- where to begin -----------------------------------------------------------------
    def _resolve(self, client: Any) -> str:
        try:
            return self._position(
                self.start_at,
                lambda: client.xrevrange(self.stream, count=1),
                lambda key: client.hget(run_index_key(self.stream), key),
            )
        except RemoteError:
            raise
        except Exception as exc:
            raise RemoteError(describe(exc, self.url)) from None

    async def _resolve_async(self, client: Any) -> str:
        newest = await client.xrevrange(self.stream, count=1)
        key = None if self.start_at in ("newest", "beginning") else self.start_at
        if key == "run-start":
            key = "last"
        entry = await client.hget(run_index_key(self.stream), key) if key else None
        return self._position(self.start_at, lambda: newest, lambda _key: entry)

    def _position(self, start: str, newest: Callable[[], Any], index: Callable[[str], Any]) -> str:
        if start == "beginning":
            return "0-0"
        if start == "newest":
            last = newest()
            return _text(last[0][0]) if last else "0-0"
        if _ENTRY_ID.match(start):
            return _before(start)
        entry = index("last" if start == "run-start" else start)
        if entry is None:
            if start == "run-start":
                return "0-0"  # no run published yet: everything from the beginning
            raise RemoteError(
                f"the stream {self.stream!r} has no run {start!r}; give start='newest', "
                "'run-start', 'beginning', an entry id or the uid of a published run"
            )
        return _before(_text(entry))

    def __repr__(self) -> str:
        return (
            f"RemoteDispatcher(stream={self.stream!r}, start={self.start_at!r}, "
            f"received={self.received}, subscribers={len(self._subs)})"
        )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _before(entry_id: str) -> str:
    """The stream id just before ``entry_id`` (XREAD reads strictly after its id)."""
    ms, seq = (int(x) for x in entry_id.split("-"))
    if seq > 0:
        return f"{ms}-{seq - 1}"
    return f"{ms - 1}-18446744073709551615" if ms > 0 else "0-0"
