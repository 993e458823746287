from __future__ import annotations

import pytest

from livescan.store import RunStore


@pytest.fixture
def db(tmp_path):
    store = RunStore(tmp_path / "store")
    yield store
    store.close()
