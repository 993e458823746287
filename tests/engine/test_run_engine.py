"""The RunEngine in blocking mode: results, metadata, plans, devices, errors."""

from __future__ import annotations

import asyncio
import json
import threading

import numpy as np
import pytest

from livescan import PersistentDict, RunEngine
from livescan.callbacks import DocumentCollector
from livescan.documents import Filler
from livescan.errors import DeviceError, MetadataError, PlanError
from livescan.plans import (
    Count,
    Msg,
    count,
    grid_scan,
    list_grid_scan,
    list_scan,
    log_scan,
    rel_grid_scan,
    rel_list_scan,
    rel_scan,
    scan,
    scan_nd,
)
from livescan.sim import (
    SimCamera,
    SimStatus,
    det,
    det1,
    det2,
    det3,
    det4,
    direct_img,
    img,
    motor,
    motor1,
    motor2,
    noisy_det,
)


def test_blocking_call_returns_uids_and_status(RE) -> None:
    docs = DocumentCollector()
    result = RE(count([det1, det2, det3], num=4), docs)
    assert isinstance(result, tuple) and len(result) == 1
    assert result == (docs.start["uid"],)
    assert result.exit_status == "success" and result.reason == ""
    assert docs.names() == ["start", "descriptor", *["event"] * 4, "stop"]
    assert docs.stop["num_events"] == {"primary": 4}
    assert [e["data"]["det1"] for e in docs["event"]] == [5.0] * 4


@pytest.mark.parametrize(
    "plan",
    [
        lambda: count([det1, det2, det3], num=3),
        lambda: scan([det], motor, -1, 1, num=5),
        lambda: rel_scan([det], motor, -1, 1, num=3),
        lambda: list_scan([det], motor, [1, 2, 3]),
        lambda: rel_list_scan([det], motor, [1, 2]),
        lambda: log_scan([det], motor, 1, 10, 3),
        lambda: grid_scan([det4], motor1, -1, 1, 3, motor2, -1, 1, 4, snake_axes=True),
        lambda: rel_grid_scan([det4], motor1, -1, 1, 2, motor2, -1, 1, 2),
        lambda: list_grid_scan([det4], motor1, [0, 1], motor2, [0, 1, 2]),
        lambda: scan_nd([det], [{motor: 1}, {motor: 2}]),
        lambda: count([noisy_det, img, direct_img], num=2),
    ],
    ids=[
        "count",
        "scan",
        "rel_scan",
        "list_scan",
        "rel_list_scan",
        "log_scan",
        "grid_scan",
        "rel_grid_scan",
        "list_grid_scan",
        "scan_nd",
        "camera",
    ],
)
def test_every_plan_runs_and_validates(RE, validator, plan) -> None:
    docs = DocumentCollector()
    RE(plan(), docs)
    start, stop = docs.start, docs.stop
    assert stop["exit_status"] == "success"
    assert stop["num_events"]["primary"] == start.get("num_points", stop["num_events"]["primary"])
    assert validator.runs == 1 and validator.count == len(docs)


def test_scan_values_follow_the_gaussian(RE) -> None:
    docs = DocumentCollector()
    RE(scan([det], motor, -1, 1, num=3), docs)
    values = [e["data"]["det"] for e in docs["event"]]
    np.testing.assert_allclose(values, np.exp(-np.array([1, 0, 1]) / 2))
    desc = docs["descriptor"][0]
    assert desc["data_keys"]["motor"]["precision"] == 3
    assert set(desc["data_keys"]) == {"det", "motor", "motor_setpoint"}
    assert desc["hints"]["motor"] == {"fields": ["motor"]}
    assert desc["configuration"]["det"]["data"]["det_sigma"] == 1.0
    assert desc["object_keys"] == {"det": ["det"], "motor": ["motor", "motor_setpoint"]}


def test_file_backed_frames_load_and_match_inline_shape(RE) -> None:
    docs = DocumentCollector()
    RE(count([img], num=3), docs)
    names = docs.names()
    assert names.index("resource") < names.index("datum") < names.index("event")
    events = docs["event"]
    assert all(e["filled"] == {"img": False} for e in events)
    filler = Filler()
    for n, d in docs:
        filler(n, d)
    frames = [filler.fill_event(e)["data"]["img"] for e in events]
    # one datum is a stack of frame_per_point frames, as the data key declares
    (descriptor,) = docs["descriptor"]
    assert descriptor["data_keys"]["img"]["shape"] == [1, 64, 64]
    assert all(f.shape == (1, 64, 64) and f.dtype == np.uint16 for f in frames)
    assert frames[0].max() > 500  # the spot is there


def test_stacks_per_point(RE, tmp_path) -> None:
    cam = SimCamera("stack", shape=(8, 6), frames_per_point=3, root=str(tmp_path))
    docs = DocumentCollector()
    RE(count([cam], num=2), docs)
    assert docs["descriptor"][0]["data_keys"]["stack"]["shape"] == [3, 8, 6]
    filler = Filler()
    for n, d in docs:
        filler(n, d)
    frames = [filler.fill_event(e)["data"]["stack"] for e in docs["event"]]
    assert [f.shape for f in frames] == [(3, 8, 6), (3, 8, 6)]


def test_scan_id_counts_up_and_md_precedence(RE) -> None:
    RE.md["sample"] = "from RE.md"
    RE.md["operator"] = "ada"
    docs = DocumentCollector()
    RE(count([det], md={"sample": "from plan", "purpose": "p"}), docs, sample="from call")
    RE(count([det]), docs)
    first, second = docs["start"]
    assert (first["scan_id"], second["scan_id"]) == (1, 2)
    assert first["sample"] == "from call"
    assert first["purpose"] == "p" and first["operator"] == "ada"
    assert second["sample"] == "from RE.md"
    assert first["plan_type"] == "generator" and first["plan_name"] == "count"
    assert "livescan" in first["versions"]
    RE.md.clear()
    RE(count([det]), docs)
    assert docs["start"][-1]["scan_id"] == 1


def test_persistent_md_saves_nested_edits(tmp_path) -> None:
    path = tmp_path / "md.json"
    RE = RunEngine(PersistentDict(path), display=False)
    RE.md["sample"] = {"name": "Si", "temps": [300]}
    RE.md["sample"]["name"] = "Ge"
    RE.md["sample"]["temps"].append(310)
    RE(count([det]))
    on_disk = json.loads(path.read_text())
    assert "livescan" in on_disk.pop("versions")  # RE.md carries versions, as in bluesky
    assert on_disk == {"sample": {"name": "Ge", "temps": [300, 310]}, "scan_id": 1}
    again = PersistentDict(path)
    assert again["scan_id"] == 1 and again["sample"]["temps"] == [300, 310]
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        PersistentDict(path)


def test_bad_metadata_is_refused_before_the_run(RE) -> None:
    docs = DocumentCollector()
    RE.subscribe(docs)
    with pytest.raises(MetadataError, match=r"'a\.b'"):
        RE(count([det]), **{"a.b": 1})
    with pytest.raises(MetadataError, match="cannot be stored"):
        RE(count([det]), thing=object())
    RE.md["x.y"] = 1
    with pytest.raises(MetadataError, match=r"'x\.y'"):
        RE(count([det]))
    del RE.md["x.y"]
    assert "start" not in docs.names() or all(d["exit_status"] for d in docs["stop"])


def test_not_a_plan_is_a_clear_error(RE) -> None:
    with pytest.raises(PlanError, match="got the function count"):
        RE(count)
    with pytest.raises(PlanError, match="needs a plan"):
        RE(42)
    with pytest.raises(PlanError, match="needs a plan"):
        RE("count")

    def bad():
        yield "not a message"

    with pytest.raises(PlanError, match="must yield Msg"):
        RE(bad())

    def unknown():
        yield Msg("levitate")

    with pytest.raises(PlanError, match="no command 'levitate'"):
        RE(unknown())


def test_list_of_messages_is_a_plan(RE) -> None:
    docs = DocumentCollector()
    RE(
        [
            Msg("open_run"),
            Msg("create", name="primary"),
            Msg("read", det),
            Msg("save"),
            Msg("close_run"),
        ],
        docs,
    )
    assert docs.names() == ["start", "descriptor", "event", "stop"]


def test_plan_error_closes_the_run_with_fail(RE) -> None:
    docs = DocumentCollector()

    def broken():
        yield from count([det], num=2)
        yield Msg("open_run")
        yield Msg("create", name="primary")
        raise ZeroDivisionError("plan bug")

    with pytest.raises(ZeroDivisionError):
        RE(broken(), docs)
    assert [s["exit_status"] for s in docs["stop"]] == ["success", "fail"]
    assert "ZeroDivisionError: plan bug" in docs["stop"][-1]["reason"]


class FailingMotor:
    name = "bad_motor"
    hints = {"fields": ["bad_motor"]}
    position = 0.0

    def set(self, value):
        st = SimStatus()
        st.set_exception(RuntimeError("limit switch"))
        return st

    def read(self):
        return {"bad_motor": {"value": 0.0, "timestamp": 0.0}}

    def describe(self):
        return {"bad_motor": {"dtype": "number", "shape": [], "source": "x"}}


def test_device_failure_ends_the_run_and_unstages(RE) -> None:
    cam = SimCamera("cam2", shape=(4, 4), external=False)
    staged = []
    cam.stage = lambda: staged.append("stage")  # type: ignore[method-assign]
    cam.unstage = lambda: staged.append("unstage")  # type: ignore[method-assign]
    docs = DocumentCollector()
    with pytest.raises(DeviceError, match="limit switch"):
        RE(scan([cam], FailingMotor(), 0, 1, num=3), docs)
    assert docs.stop["exit_status"] == "fail"
    assert staged == ["stage", "unstage"]


class AsyncDevice:
    """Answers with coroutines, like an ophyd-async device."""

    name = "adev"

    def __init__(self) -> None:
        self.value = 0.0

    async def set(self, value):
        await asyncio.sleep(0.001)
        self.value = value

    async def trigger(self):
        await asyncio.sleep(0)

    async def read(self):
        return {"adev": {"value": self.value, "timestamp": 1.0}}

    async def describe(self):
        return {"adev": {"dtype": "number", "shape": [], "source": "async"}}


class ThreadedStatusMotor:
    """An ophyd-style device whose status finishes on another thread."""

    name = "tmotor"
    hints = {"fields": ["tmotor"]}

    def __init__(self) -> None:
        self.position = 0.0

    def set(self, value):
        st = SimStatus()

        def finish():
            self.position = value
            st.set_finished()

        threading.Timer(0.005, finish).start()
        return st

    def read(self):
        return {"tmotor": {"value": self.position, "timestamp": 1.0}}

    def describe(self):
        return {"tmotor": {"dtype": "number", "shape": [], "source": "thread"}}


def test_async_and_threaded_devices(RE) -> None:
    docs = DocumentCollector()
    RE(scan([AsyncDevice()], ThreadedStatusMotor(), 0, 2, num=3), docs)
    assert [e["data"]["tmotor"] for e in docs["event"]] == [0, 1, 2]
    dev = AsyncDevice()
    RE(scan([det], dev, 0, 1, num=2), docs)
    assert [e["data"]["adev"] for e in docs["event"]][-2:] == [0, 1]


def test_motion_time_is_waited_for(RE) -> None:
    motor.delay = 0.02
    docs = DocumentCollector()
    RE(scan([det], motor, 0, 1, num=3), docs)
    assert [e["data"]["motor"] for e in docs["event"]] == [0, 0.5, 1]


def test_plan_object_subscriptions_and_factories(RE) -> None:
    plan = Count([det, det1, det2, det3], num=2)
    seen: list[str] = []
    plan.subs["start"].append(lambda name, doc: seen.append(name))
    made: list[list[str]] = []

    def factory(p):
        fields = [d.name for d in p.detectors]
        made.append(fields)
        return lambda name, doc: seen.append(f"factory-{name}")

    plan.sub_factories["stop"].append(factory)
    RE(plan)
    plan.detectors.remove(det3)
    RE(plan)
    assert made == [["det", "det1", "det2", "det3"], ["det", "det1", "det2"]]
    assert seen == ["start", "factory-stop", "start", "factory-stop"]


def test_nested_call_from_a_callback_is_refused(RE) -> None:
    errors: list[Exception] = []

    def reenter(name, doc):
        if name == "start":
            try:
                RE(count([det]))
            except Exception as exc:
                errors.append(exc)

    RE(count([det]), reenter)
    assert errors and "from inside a running plan" in str(errors[0])
