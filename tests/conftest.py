"""Shared fixtures: a RunEngine whose every document is validated with event_model."""

from __future__ import annotations

import os
import tempfile

import pytest

from livescan.testing import DocumentValidator

# Simulated cameras write into a per-session folder, not the shared temp dir.
os.environ.setdefault("LIVESCAN_SIM_DATA", tempfile.mkdtemp(prefix="livescan-sim-"))


@pytest.fixture
def validator() -> DocumentValidator:
    return DocumentValidator()


@pytest.fixture
def RE(validator: DocumentValidator):
    """A fresh RunEngine with a lossless event_model validator subscribed."""
    from livescan import RunEngine

    engine = RunEngine(display=False)
    engine.subscribe_lossless(validator)
    yield engine
    assert engine.state == "idle", f"the test left the RunEngine {engine.state}"


@pytest.fixture
def recorder(monkeypatch):
    """Every widget made in the test talks to a recording comm in place of a kernel."""
    from livescan.testing import CommRecorder

    return CommRecorder().install(monkeypatch)


@pytest.fixture(autouse=True)
def _reset_sim_devices():
    """Put the shared simulated motors back at 0 between tests."""
    yield
    from livescan import sim

    for m in (sim.motor, sim.motor1, sim.motor2, sim.motor3):
        m.set(0.0)
        m.delay = 0.0


def pytest_collection_modifyitems(config, items):
    """Run the browser tests last. Playwright's sync API leaves an asyncio loop marked as
    running in the main thread while its (session-scoped) browser is open; any test after
    it would see "a running loop" and take the notebook code path."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
