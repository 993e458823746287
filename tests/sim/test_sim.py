"""The simulated devices on their own: readings, data keys, statuses and camera files."""

from __future__ import annotations

import asyncio
import math
import time

import h5py
import numpy as np
import pytest

from livescan.documents import Filler
from livescan.sim import SimCamera, SimMotor, SimStatus, SynGauss, SynGauss2D


def test_a_motor_reads_what_it_was_set_to_and_describes_both_fields() -> None:
    m = SimMotor("m", value=1.5, precision=4, egu="deg")
    assert m.set(-2).done
    reading = m.read()
    assert reading["m"]["value"] == -2.0 and reading["m_setpoint"]["value"] == -2.0
    keys = m.describe()
    assert set(keys) == set(reading)
    assert keys["m"]["dtype"] == "number" and keys["m"]["precision"] == 4
    assert keys["m"]["units"] == "deg"
    assert m.hints == {"fields": ["m"]}
    assert set(m.read_configuration()) == set(m.describe_configuration())
    with pytest.raises(TypeError, match="can only move to a number"):
        m.set("far")


def test_a_motor_with_a_delay_arrives_when_its_status_finishes() -> None:
    m = SimMotor("m", delay=0.05)

    async def move() -> tuple[float, bool, float]:
        status = m.set(3)
        during, done = m.read()["m"]["value"], status.done
        t0 = time.perf_counter()
        await status
        return during, done, time.perf_counter() - t0

    during, done, waited = asyncio.run(move())
    assert during == 0.0 and not done and waited >= 0.04
    assert m.read()["m"]["value"] == 3.0 and m.read()["m_setpoint"]["value"] == 3.0


def test_a_status_reports_failure_to_callbacks_and_awaiters() -> None:
    seen: list[SimStatus] = []
    st = SimStatus()
    st.add_callback(seen.append)
    st.set_exception(ValueError("jammed"))
    assert seen == [st] and not st.success and isinstance(st.exception(), ValueError)

    async def wait() -> None:
        await st

    with pytest.raises(ValueError, match="jammed"):
        asyncio.run(wait())


def test_gaussian_detectors_follow_their_motors() -> None:
    m1, m2 = SimMotor("a"), SimMotor("b")
    det = SynGauss("d", m1, center=1.0, Imax=4.0, sigma=0.5)
    det2d = SynGauss2D("d2", m1, m2, center=(0.0, 0.0), Imax=2.0, sigma=1.0)
    m1.set(1.0)
    det.trigger()
    assert det.read()["d"]["value"] == pytest.approx(4.0)
    m1.set(2.0)
    assert det.read()["d"]["value"] == pytest.approx(4.0)  # the value of the last trigger
    det.trigger()
    assert det.read()["d"]["value"] == pytest.approx(4.0 * math.exp(-2.0))
    m1.set(1.0)
    m2.set(1.0)
    det2d.trigger()
    assert det2d.read()["d2"]["value"] == pytest.approx(2.0 * math.exp(-1.0))
    noisy = SynGauss("n", m1, noise="uniform", noise_multiplier=0.1, seed=1)
    values = set()
    for _ in range(5):
        noisy.trigger()
        values.add(noisy.read()["n"]["value"])
    assert len(values) == 5 and all(abs(v - math.exp(-0.5)) <= 0.05 for v in values)
    with pytest.raises(ValueError, match="sigma must be positive"):
        SynGauss("bad", m1, sigma=0)
    with pytest.raises(ValueError, match="noise must be one of"):
        SynGauss("bad", m1, noise="pink")


def test_an_inline_camera_puts_frames_with_its_spot_into_the_reading() -> None:
    mx = SimMotor("mx")
    cam = SimCamera("cam", shape=(40, 60), motors=(mx, None), external=False, noise=False)
    assert cam.describe()["cam"]["shape"] == [40, 60] and "external" not in cam.describe()["cam"]
    cam.trigger()
    frame = cam.read()["cam"]["value"]
    assert frame.shape == (40, 60) and frame.dtype == np.uint16
    assert np.unravel_index(frame.argmax(), frame.shape) == (20, 30)  # the centre
    mx.set(2.0)  # the spot moves by 2 * columns / 10
    cam.trigger()
    moved = cam.read()["cam"]["value"]
    assert np.unravel_index(moved.argmax(), moved.shape) == (20, 42)


def test_a_file_backed_camera_writes_frames_a_filler_reads_back(tmp_path) -> None:
    cam = SimCamera("cam", shape=(8, 6), root=str(tmp_path), noise=False, frames_per_point=2)
    key = cam.describe()["cam"]
    assert key["shape"] == [2, 8, 6] and key["external"] == "FILESTORE:"
    cam.stage()
    ids = []
    for _ in range(3):
        cam.trigger()
        ids.append(cam.read()["cam"]["value"])
    docs = list(cam.collect_asset_docs())
    assert [name for name, _ in docs] == ["resource", "datum", "datum", "datum"]
    resource = docs[0][1]
    assert resource["spec"] == "AD_HDF5" and resource["resource_kwargs"] == {"frame_per_point": 2}
    assert [d["datum_id"] for _, d in docs[1:]] == ids
    cam.unstage()
    path = tmp_path / resource["resource_path"]
    with h5py.File(path, "r") as f:
        assert f["/entry/data/data"].shape == (6, 8, 6)
    filler = Filler()
    for name, doc in docs:
        filler(name, doc)
    frames = [filler.load(i) for i in ids]
    assert all(f.shape == (2, 8, 6) for f in frames)
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(np.concatenate(frames), f["/entry/data/data"][:])
    cam.stage()  # a new file, a new resource
    cam.trigger()
    again = list(cam.collect_asset_docs())
    assert again[0][0] == "resource" and again[0][1]["uid"] != resource["uid"]
    with pytest.raises(ValueError, match="shape must be"):
        SimCamera("bad", shape=(0, 3))
