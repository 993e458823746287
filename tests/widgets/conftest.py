"""Fixtures for the widget unit tests: a recording comm in place of a kernel."""

from __future__ import annotations

import pytest
from _comm import CommRecorder


@pytest.fixture
def recorder(monkeypatch) -> CommRecorder:
    """Every widget made in the test talks to a :class:`CommRecorder`."""
    return CommRecorder().install(monkeypatch)
