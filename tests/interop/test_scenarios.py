"""The same bluesky plans on bluesky's RunEngine and on livescan's, side by side.

Each scenario runs once on each engine with fresh devices; the two document streams must
agree on the sequence of document names, every stream's data keys, hints, object keys
and configuration, and every value read — all but uids, times, file names and the
metadata each engine adds about itself (``versions``, ``scan_id``).
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
    assert [(n, d.get("name", "")) for n, d in ours] == [(n, d.get("name", "")) for n, d in theirs]
    for (name, a), (_, b) in zip(ours, theirs):
        assert normalize(a) == normalize(b), name
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
