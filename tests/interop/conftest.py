"""Fixtures for the interop tests: a bluesky RunEngine and ophyd.sim devices put back."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def bRE():
    """One bluesky RunEngine for the session (each creates a loop thread)."""
    from bluesky import RunEngine

    engine = RunEngine({})
    yield engine
    engine.reset()


@pytest.fixture
def bluesky_docs(bRE):
    """``run(plan, *subs) -> docs``: run a plan on bluesky's RunEngine, collect its docs."""
    from tests.interop._util import Docs

    def run(plan, *subs):
        docs: Docs = []
        bRE(plan, [lambda n, d: docs.append((n, d)), *subs])
        return docs

    return run


@pytest.fixture(autouse=True)
def _reset_ophyd_sim():
    """Put the shared ophyd.sim motors back at 0 (no delay) between tests."""
    yield
    from ophyd import sim

    for m in (sim.motor, sim.motor1, sim.motor2, sim.motor3):
        m.delay = 0
        m.set(0).wait(5)
