"""The same bluesky plans on bluesky's RunEngine and on livescan's, side by side.

Each scenario runs once on each engine with fresh devices (ophyd.sim and ophyd-async
sim devices; baseline and monitors, also through ``SupplementalData``; fly scans of
ophyd.sim flyers and of an ophyd-async file-writing detector; stream_resource /
stream_datum and resource / datum documents); the two document streams must agree on
the sequence of document names, the number of events in each stream, every stream's
data keys, hints, object keys and configuration, and every value read — all but uids,
times, file names and the metadata each engine adds about itself (``versions``,
``scan_id``). Events are compared per stream, in order: how a monitor's events
interleave with a scan's is a matter of timing on either engine.
"""

from __future__ import annotations

import pathlib
import re
from collections.abc import Callable
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.plans as bp
import bluesky.preprocessors as bpp
import numpy as np
import pytest
from bluesky import RunEngine as BlueskyRunEngine
from bluesky.utils import Msg
from ophyd import sim as osim

from livescan import RunEngine
from livescan.testing import DocumentValidator

Docs = list[tuple[str, dict[str, Any]]]

#: per-document keys that differ between any two runs (or between engines' files)
VOLATILE = {
    "uid",
    "time",
    "run_start",
    "descriptor",
    "datum_id",
    "resource",
    "stream_resource",
    "timestamps",
    "uri",
    "root",
    "resource_path",
    "versions",
    "scan_id",
}


def normalize(obj: Any) -> Any:
    """Documents with the volatile keys dropped, tuples as lists, numpy as Python."""
    if isinstance(obj, dict):
        return {k: normalize(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list | tuple):
        return [normalize(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float):
        return round(obj, 9)
    if isinstance(obj, str):  # file names, reprs with timestamps, each engine's folder
        obj = _UUID.sub("UUID", obj)
        obj = re.sub(r"timestamp=[0-9.]+", "timestamp=T", obj)
        return re.sub(r"/[bl]/", "/X/", obj)
    return obj


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _ophyd_async_devices(tmp: pathlib.Path) -> tuple[Any, Any, Any]:
    from ophyd_async.core import StaticPathProvider, UUIDFilenameProvider
    from ophyd_async.sim import PatternGenerator, SimBlobDetector, SimMotor, SimPointDetector

    pattern = PatternGenerator()
    blob = SimBlobDetector(StaticPathProvider(UUIDFilenameProvider(), tmp), pattern, name="blob")
    return SimMotor(name="m"), blob, SimPointDetector(pattern, name="point")


def _connect(*devices: Any) -> Any:
    async def connect() -> None:
        for d in devices:
            await d.connect()

    yield Msg("wait_for", None, [connect])


def scenario_count(hw: Any, tmp: pathlib.Path) -> Any:
    return bp.count([hw.det1, hw.det2], num=3)


def scenario_scan_positional_num(hw: Any, tmp: pathlib.Path) -> Any:
    return bp.scan([hw.det], hw.motor, -1, 1, 5)


def scenario_grid_snake(hw: Any, tmp: pathlib.Path) -> Any:
    return bp.grid_scan([hw.det4], hw.motor1, -1, 1, 3, hw.motor2, -2, 2, 4, snake_axes=True)


def scenario_baseline(hw: Any, tmp: pathlib.Path) -> Any:
    return bpp.baseline_wrapper(bp.scan([hw.det], hw.motor, -1, 1, 3), [hw.motor1, hw.det2])


def scenario_monitor(hw: Any, tmp: pathlib.Path) -> Any:
    from ophyd import Signal

    flux = Signal(name="flux", value=5.0)
    flux.put(5.0)  # ophyd runs a new subscriber at once only once a value was put

    def plan():
        yield from bps.open_run()
        yield from bps.monitor(flux, name="flux_monitor")
        yield from bps.trigger_and_read([hw.det])
        yield from bps.mv(flux, 6.0)  # an update: one more event in the monitor stream
        yield from bps.unmonitor(flux)
        yield from bps.mv(flux, 7.0)  # after unmonitor: none
        yield from bps.close_run()

    return plan()


def scenario_configure(hw: Any, tmp: pathlib.Path) -> Any:
    @bpp.run_decorator()
    def plan():
        yield from bps.trigger_and_read([hw.det])
        yield from bps.configure(hw.det, {"sigma": 2})
        yield from bps.trigger_and_read([hw.det])

    return plan()


def scenario_fly(hw: Any, tmp: pathlib.Path) -> Any:
    return bp.fly([hw.flyer1])


def scenario_external_npy(hw: Any, tmp: pathlib.Path) -> Any:
    return bp.count([hw.img], num=2)


def scenario_ophyd_async_files(hw: Any, tmp: pathlib.Path) -> Any:
    m, blob, point = _ophyd_async_devices(tmp)

    def plan():
        yield from _connect(m, blob, point)
        yield from bp.count([blob], num=2)
        yield from bp.rel_scan([point, blob], m, -1, 1, 3)

    return plan()


def scenario_supplemental_baseline_and_monitors(hw: Any, tmp: pathlib.Path) -> Any:
    from ophyd import Signal

    flux = Signal(name="flux", value=1.0)
    flux.put(1.0)
    sd = bpp.SupplementalData(baseline=[hw.motor2, hw.det3], monitors=[flux])

    def plan():
        yield from bps.open_run()
        yield from bps.trigger_and_read([hw.det])
        yield from bps.mv(flux, 2.0)  # a monitor event, delivered before the next reading
        yield from bps.sleep(0.2)
        yield from bps.trigger_and_read([hw.det])
        yield from bps.close_run()

    return sd(plan())


def scenario_monitor_during_decorator(hw: Any, tmp: pathlib.Path) -> Any:
    @bpp.monitor_during_decorator([hw.motor1])
    def plan():
        yield from bp.scan([hw.det1], hw.motor1, 0, 1, 3)

    return plan()


def scenario_list_and_rel_grid(hw: Any, tmp: pathlib.Path) -> Any:
    def plan():
        yield from bp.list_scan([hw.det], hw.motor, [0.1, 0.5, -0.3])
        yield from bp.rel_grid_scan([hw.det4], hw.motor1, -1, 1, 2, hw.motor2, 0, 1, 3)

    return plan()


def scenario_per_shot_count_with_md(hw: Any, tmp: pathlib.Path) -> Any:
    def per_shot(detectors):
        yield from bps.trigger_and_read(list(detectors), name="primary")
        yield from bps.trigger_and_read([hw.det2], name="extra")

    return bp.count([hw.det1], num=2, per_shot=per_shot, md={"sample": "Si", "n": (1, 2)})


def scenario_trivial_flyer(hw: Any, tmp: pathlib.Path) -> Any:
    return bp.fly([hw.trivial_flyer])


def scenario_ophyd_async_motor_moves(hw: Any, tmp: pathlib.Path) -> Any:
    m, _, point = _ophyd_async_devices(tmp)

    def plan():
        yield from _connect(m, point)
        yield from bps.mv(m, 0.5)

        @bpp.run_decorator()
        def inner():
            yield from bps.mvr(m, 0.25)
            position = yield from bps.rd(m)
            yield from bps.trigger_and_read([point, m])
            yield from bps.mv(m, position - 1)
            yield from bps.trigger_and_read([point, m])

        yield from inner()
        yield from bp.scan([point], m, 0, 1, 3)

    return plan()


def scenario_ophyd_async_fly_file_writer(hw: Any, tmp: pathlib.Path) -> Any:
    from ophyd_async.core import TriggerInfo

    _, blob, _ = _ophyd_async_devices(tmp)

    def plan():
        yield from _connect(blob)

        @bpp.stage_decorator([blob])
        @bpp.run_decorator()
        def fly():
            yield from bps.prepare(blob, TriggerInfo(number_of_events=4), wait=True)
            yield from bps.declare_stream(blob, name="primary", collect=True)
            yield from bps.kickoff(blob, wait=True)
            yield from bps.complete(blob, wait=True)
            yield from bps.collect(blob, name="primary")

        yield from fly()

    return plan()


SCENARIOS: dict[str, Callable[[Any, pathlib.Path], Any]] = {
    name.removeprefix("scenario_"): fn
    for name, fn in globals().items()
    if name.startswith("scenario_")
}


def _run(engine: Any, scenario: str, tmp: pathlib.Path) -> Docs:
    docs: Docs = []
    hw = osim.hw(str(tmp))
    engine(SCENARIOS[scenario](hw, tmp), lambda n, d: docs.append((n, d)))
    return docs


@pytest.fixture(scope="module")
def engines():
    bRE = BlueskyRunEngine({})
    RE = RunEngine(display=False)
    yield bRE, RE
    bRE.reset()
    RE.close()


def _by_stream(docs: Docs) -> tuple[Docs, dict[str, Docs]]:
    """The documents in order but their events (and event pages), which go per stream:
    how a monitor's events interleave with a scan's depends on timing on either engine."""
    streams: dict[str, str] = {}
    others: Docs = []
    events: dict[str, Docs] = {}
    for name, doc in docs:
        if name == "descriptor":
            streams[doc["uid"]] = doc.get("name", "primary")
        if name in ("event", "event_page"):
            events.setdefault(streams[doc["descriptor"]], []).append((name, doc))
        else:
            others.append((name, doc))
    return others, events


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_same_documents_on_both_engines(engines, scenario, tmp_path):
    bRE, RE = engines
    (tmp_path / "b").mkdir()
    (tmp_path / "l").mkdir()
    theirs = _run(bRE, scenario, tmp_path / "b")
    ours: Docs = []
    token = RE.subscribe_lossless(lambda n, d: ours.append((n, d)))  # every document
    try:
        RE(SCENARIOS[scenario](osim.hw(str(tmp_path / "l")), tmp_path / "l"))
    finally:
        RE.unsubscribe_lossless(token)
    check = DocumentValidator()
    for name, doc in ours:
        check(name, doc)
    our_docs, our_events = _by_stream(ours)
    their_docs, their_events = _by_stream(theirs)
    assert [(n, d.get("name", "")) for n, d in our_docs] == [
        (n, d.get("name", "")) for n, d in their_docs
    ]
    for (name, a), (_, b) in zip(our_docs, their_docs):
        if name == "descriptor":  # the parts a user reads, named when they differ
            for part in ("data_keys", "hints", "configuration", "object_keys"):
                assert normalize(a.get(part)) == normalize(b.get(part)), f"{a['name']} {part}"
        assert normalize(a) == normalize(b), name
    assert {s: len(e) for s, e in our_events.items()} == {
        s: len(e) for s, e in their_events.items()
    }
    for stream, events in our_events.items():
        for i, (a, b) in enumerate(zip(events, their_events[stream])):
            assert normalize(a) == normalize(b), f"{stream} event {i + 1}"
    starts = [d for n, d in ours if n == "start"]
    assert all({"livescan", "ophyd", "event_model"} <= set(d["versions"]) for d in starts)


def test_stream_resource_documents_reach_every_callback(tmp_path, recorder):
    """An ophyd-async file-writing detector (read() gives {}, data via stream_resource /
    stream_datum) through every livescan callback, widget, exporter and the store."""
    import h5py

    from livescan.callbacks import DocumentCollector, LiveTable
    from livescan.export import HDF5Exporter
    from livescan.store import RunStore
    from livescan.widgets import LiveImage, LivePlot

    m, blob, _ = _ophyd_async_devices(tmp_path)
    RE = RunEngine(display=False)
    RE(_connect(m, blob))
    lines: list[str] = []
    store = RunStore(tmp_path / "store")
    docs = DocumentCollector()
    callbacks = [
        docs,
        LiveTable(["m"], view="text", out=lines.append),
        store,
        HDF5Exporter(str(tmp_path / "h5" / "{start.scan_id}.h5")),
        LivePlot("m"),
        LiveImage("blob"),
    ]
    for cb in callbacks:
        RE.subscribe_lossless(cb)
    result = RE(bp.scan([blob], m, -1, 1, 3))
    assert result.exit_status == "success", result.reason
    names = [n for n, _ in docs.documents]
    assert names.count("stream_resource") == 2 and names.count("stream_datum") == 6
    assert len([line for line in lines if line.startswith("|")]) == 1 + 3  # header + rows
    (run,) = list(store)
    assert [n for n, _ in run.documents()] == names
    with h5py.File(tmp_path / "h5" / "1.h5") as f:
        assert list(f["entry/primary/m"][:]) == [-1.0, 0.0, 1.0]
    store.close()
    RE.close()
