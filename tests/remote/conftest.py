"""A redis-server for the whole session (tests that restart Redis start their own)."""

from __future__ import annotations

import itertools

import pytest

from tests.remote._servers import RedisServer

_streams = itertools.count(1)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def stream() -> str:
    """A stream name no other test uses."""
    return f"test-{next(_streams)}"
