"""livescan's RunEngine driving real ophyd.sim devices (ophyd statuses, SynAxis delays)."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from ophyd import sim as osim

from livescan.callbacks import LiveTable
from livescan.documents import Filler
from livescan.plans import count, grid_scan, scan
from tests.interop._util import bluesky_table, nonempty, run_lossless


def _without_object_name(data_keys):
    return {
        k: {kk: vv for kk, vv in v.items() if kk != "object_name"} for k, v in data_keys.items()
    }


def test_count_of_ophyd_detectors(RE, validator):
    dets = [osim.det1, osim.det2, osim.det3]
    docs = run_lossless(RE, count(dets, num=4))
    assert validator.runs == 1 and validator.count == len(docs)
    (desc,) = docs["descriptor"]
    expected_keys = {}
    for d in dets:
        expected_keys.update(d.describe())
    assert _without_object_name(desc["data_keys"]) == _without_object_name(expected_keys)
    assert desc["hints"] == {d.name: d.hints for d in dets}
    assert desc["configuration"]["det1"]["data"]["det1_Imax"] == osim.det1.Imax.get()
    events = docs["event"]
    assert len(events) == 4 and docs.stop["num_events"] == {"primary": 4}
    for d in dets:  # motors at 0: each detector reads what ophyd reads
        d.trigger().wait(5)
        assert all(e["data"][d.name] == d.read()[d.name]["value"] for e in events)


def test_scan_waits_for_a_slow_ophyd_axis(RE, validator):
    axis = osim.SynAxis(name="slow", delay=0.05)
    gauss = osim.SynGauss("sdet", axis, "slow", center=0.5, Imax=2, sigma=0.7)
    lines: list[str] = []
    t0 = time.perf_counter()
    docs = run_lossless(
        RE,
        scan([gauss], axis, -1, 1, num=5),
        LiveTable(["sdet", "slow"], view="text", out=lines.append),
    )
    elapsed = time.perf_counter() - t0
    assert elapsed >= 5 * 0.05  # every move's status was waited for
    events = docs["event"]
    positions = np.linspace(-1, 1, 5)
    np.testing.assert_allclose([e["data"]["slow"] for e in events], positions)
    np.testing.assert_allclose([e["data"]["slow_setpoint"] for e in events], positions)
    for e in events:
        m = e["data"]["slow"]
        assert e["data"]["sdet"] == pytest.approx(2 * math.exp(-((m - 0.5) ** 2) / (2 * 0.7**2)))
        # and what ophyd itself reads at that position
        axis.set(m).wait(5)
        gauss.trigger().wait(5)
        assert e["data"]["sdet"] == pytest.approx(gauss.read()["sdet"]["value"])
    assert docs.start["motors"] == ["slow"]
    assert docs.start["hints"]["dimensions"] == [(["slow"], "primary")]  # tuples stay
    assert nonempty(lines) == bluesky_table(docs.documents, ["sdet", "slow"])
    assert validator.count == len(docs)


def test_grid_scan_of_ophyd_det4(RE):
    docs = run_lossless(
        RE,
        grid_scan([osim.det4], osim.motor1, -1, 1, 3, osim.motor2, -1, 1, 3, snake_axes=True),
    )
    events = docs["event"]
    assert len(events) == 9
    for e in events:
        osim.motor1.set(e["data"]["motor1"]).wait(5)
        osim.motor2.set(e["data"]["motor2"]).wait(5)
        osim.det4.trigger().wait(5)
        assert e["data"]["det4"] == pytest.approx(osim.det4.read()["det4"]["value"])
    assert max(events, key=lambda e: e["data"]["det4"])["data"]["motor1"] == 0


def test_ophyd_images_inline_and_external(RE, validator):
    docs = run_lossless(RE, count([osim.img], num=3))
    names = docs.names()
    assert names.count("resource") == 1 and names.count("datum") == 3
    (resource,) = docs["resource"]
    assert resource["spec"] == "NPY_SEQ" and resource["run_start"] == docs.start["uid"]
    filler = Filler({"NPY_SEQ": osim.NumpySeqHandler})
    frames = [filler(n, d)[1] for n, d in docs]
    frames = [d["data"]["img"] for n, d in zip(names, frames) if n == "event"]
    assert [f.shape for f in frames] == [(10, 10)] * 3
    np.testing.assert_array_equal(frames[0], osim.img.get())
    docs2 = run_lossless(RE, count([osim.direct_img], num=2))
    events = docs2["event"]
    assert [e["data"]["img"].shape for e in events] == [(10, 10), (10, 10)]
    assert validator.runs == 2
