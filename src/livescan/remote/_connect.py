"""Connecting to Redis, and errors that say what is wrong and how to fix it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from livescan.errors import LivescanError

__all__ = ["RemoteError", "check_url", "connect", "describe", "is_transient", "redacted"]


class RemoteError(LivescanError):
    """Redis cannot be used: unreachable, wrong password, or a bad URL."""


def redacted(url: str) -> str:
    """``url`` with its password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def check_url(url: str) -> str:
    if not isinstance(url, str) or urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise RemoteError(
            f"{url!r} is not a Redis URL; give redis://:PASSWORD@HOST:PORT/0 (rediss:// for TLS)"
        )
    return url


def is_transient(exc: BaseException) -> bool:
    """A connection that broke or a server that is (re)starting, not a refused password."""
    import redis.exceptions as rex

    if isinstance(exc, rex.AuthenticationError | rex.AuthorizationError | rex.NoPermissionError):
        return False
    return isinstance(exc, rex.ConnectionError | rex.TimeoutError | OSError | rex.BusyLoadingError)


def describe(exc: BaseException, url: str) -> str:
    """One sentence naming the problem with Redis at ``url`` and the fix."""
    import redis.exceptions as rex

    where = f"Redis at {redacted(url)}"
    text = str(exc).split("\n")[0]
    auth = isinstance(exc, rex.AuthenticationError | rex.AuthorizationError) or any(
        word in text for word in ("NOAUTH", "WRONGPASS", "invalid username-password", "HELLO must")
    )
    if auth:
        return (
            f"{where} refused the password ({text}); put the server's requirepass in the "
            "URL: redis://:PASSWORD@HOST:PORT/0"
        )
    if isinstance(exc, rex.ConnectionError | rex.TimeoutError | OSError):
        return (
            f"cannot reach {where} ({text}); start redis-server there, or fix the host "
            "and port in the URL"
        )
    return f"{where} answered with an error: {type(exc).__name__}: {text}"


def connect(url: str, *, check: bool = True, **kwargs: Any) -> Any:
    """A ``redis.Redis`` for ``url``; with ``check`` it pings and raises one clear
    :class:`RemoteError` if the server is unreachable or refuses the password."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    check_url(url)
    kwargs.setdefault("socket_connect_timeout", 2.0)
    # No retries inside redis-py: the publisher and the dispatcher retry themselves, and
    # their timeouts then mean what they say.
    kwargs.setdefault("retry", Retry(NoBackoff(), 0))
    client = redis.Redis.from_url(url, **kwargs)
    if check:
        try:
            client.ping()
        except redis.exceptions.RedisError as exc:
            client.close()
            raise RemoteError(describe(exc, url)) from None
    return client
