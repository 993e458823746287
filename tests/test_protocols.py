"""livescan.protocols is the device contract: the simulated devices and ophyd's satisfy it."""

from __future__ import annotations

import pytest
from ophyd import sim as ophyd_sim

from livescan.protocols import (
    Movable,
    Readable,
    Stageable,
    Status,
    Triggerable,
    WritesExternalAssets,
)
from livescan.sim import SimMotor, det, img, motor


@pytest.mark.parametrize(
    ("device", "protocols"),
    [
        (det, [Readable, Triggerable]),
        (motor, [Readable, Movable]),
        (img, [Readable, Triggerable, Stageable, WritesExternalAssets]),
        (ophyd_sim.det, [Readable, Triggerable, Stageable]),
        (ophyd_sim.motor, [Readable, Movable, Stageable]),
    ],
    ids=["det", "motor", "img", "ophyd.det", "ophyd.motor"],
)
def test_devices_satisfy_the_protocols(device, protocols) -> None:
    missing = [p.__name__ for p in protocols if not isinstance(device, p)]
    assert not missing, f"{device.name} does not satisfy {missing}"


def test_a_move_returns_a_status() -> None:
    assert isinstance(SimMotor("m").set(0.25), Status)
    assert isinstance(ophyd_sim.SynAxis(name="m").set(0.25), Status)
    assert not isinstance(det, Movable)  # a detector does not move
