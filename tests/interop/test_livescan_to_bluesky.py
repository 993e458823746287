"""livescan's RunEngine + livescan.sim documents driving bluesky's and event_model's
callbacks, validated with event_model's schemas."""

from __future__ import annotations

import event_model
import numpy as np
import pytest
from area_detector_handlers.handlers import AreaDetectorHDF5Handler

from livescan import sim
from livescan.callbacks import LiveTable, post_run
from livescan.documents import Filler, dumps, loads
from livescan.plans import count, grid_scan, scan
from tests.interop._util import (
    BlueskyRecorder,
    Recorder,
    nonempty,
    run_lossless,
    same_documents,
    schema_validate,
)

PLANS = {
    "count": (lambda: count([sim.det1, sim.det2, sim.det3], num=5), ["det1", "det2", "det3"]),
    "scan": (lambda: scan([sim.det], sim.motor, -1, 1, num=7), ["det", "motor", "motor_setpoint"]),
    "grid_scan": (
        lambda: grid_scan([sim.det4], sim.motor1, -1, 1, 3, sim.motor2, -2, 2, 4, snake_axes=True),
        ["det4", "motor1", "motor2"],
    ),
}


@pytest.fixture
def run(RE):
    """``run(plan) -> docs``, every document also given to bluesky's callbacks."""

    def go(plan, *lossless):
        return run_lossless(RE, plan, *lossless).documents

    return go


@pytest.mark.parametrize("plan", list(PLANS))
def test_bluesky_livetable_prints_what_livescan_prints(run, plan):
    make_plan, fields = PLANS[plan]
    from bluesky.callbacks import LiveTable as BlueskyLiveTable

    theirs: list[str] = []
    ours: list[str] = []
    docs = run(
        make_plan(),
        BlueskyLiveTable(fields, out=theirs.append),
        LiveTable(fields, view="text", out=ours.append),
    )
    assert nonempty(theirs) == nonempty(ours)
    n_events = sum(name == "event" for name, _ in docs)
    assert n_events == {"count": 5, "scan": 7, "grid_scan": 12}[plan]
    assert len(nonempty(theirs)) == 3 + n_events + 2
    assert nonempty(theirs)[-1] == f"generator {plan} ['{docs[0][1]['uid'][:8]}'] (scan num: 1)"


@pytest.mark.parametrize("plan", list(PLANS))
def test_bluesky_callbackbase_gets_every_document_in_order(run, plan):
    make_plan, _ = PLANS[plan]
    theirs, ours = BlueskyRecorder(), Recorder()
    docs = run(make_plan(), theirs, ours)
    assert same_documents(theirs.seen, docs)
    assert same_documents(ours.seen, docs)
    assert [n for n, _ in docs][:2] == ["start", "descriptor"]
    assert docs[-1][0] == "stop"


@pytest.mark.parametrize("plan", list(PLANS))
def test_documents_validate_with_event_model_after_json(run, plan):
    make_plan, _ = PLANS[plan]
    docs = run(make_plan())
    schema_validate(docs)
    schema_validate([(n, loads(dumps(d))) for n, d in docs])  # our one JSON encoding
    start, stop = docs[0][1], docs[-1][1]
    assert stop["num_events"] == {"primary": sum(n == "event" for n, _ in docs)}
    assert start["plan_name"] == plan and start["scan_id"] == 1
    if plan == "grid_scan":
        assert start["shape"] == [3, 4] and start["hints"]["gridding"] == "rectilinear"
        assert start["snaking"] == [False, True]


def test_grid_scan_snakes_like_bluesky(run, bluesky_docs):
    import bluesky.plans as bp
    from ophyd import sim as osim

    ours = run(grid_scan([sim.det4], sim.motor1, -1, 1, 3, sim.motor2, -2, 2, 4, snake_axes=True))
    theirs = bluesky_docs(
        bp.grid_scan([osim.det4], osim.motor1, -1, 1, 3, osim.motor2, -2, 2, 4, snake_axes=True)
    )

    def path(docs):
        return [(d["data"]["motor1"], d["data"]["motor2"]) for n, d in docs if n == "event"]

    np.testing.assert_allclose(path(ours), path(theirs))
    for key in ("shape", "extents", "snaking", "num_points"):
        # bluesky keeps tuples in memory; compare what both serialize to
        assert loads(dumps(ours[0][1][key])) == loads(dumps(theirs[0][1][key])), key


# -- external data: resource/datum with spec AD_HDF5 ------------------------------------------
# the standard AD_HDF5 handler (area-detector-handlers, what databroker uses)
H5FrameHandler = AreaDetectorHDF5Handler


@pytest.fixture
def image_run(run):
    docs = run(scan([sim.img], sim.motor1, -2, 2, num=4))
    names = [n for n, _ in docs]
    assert names.count("resource") == 1 and names.count("datum") == 4
    assert all(d["filled"] == {"img": False} for n, d in docs if n == "event")
    return docs


def _livescan_frames(docs):
    filler = Filler()
    out = []
    for name, doc in docs:
        name, doc = filler(name, doc)
        if name == "event":
            out.append(doc["data"]["img"])
    return out


def test_event_model_filler_reads_our_resource_and_datum(image_run):
    ours = _livescan_frames(image_run)
    assert len(ours) == 4 and ours[0].shape == (1, 64, 64) and ours[0].dtype == np.uint16
    assert not np.array_equal(ours[0], ours[-1])  # the spot moved with motor1
    with event_model.Filler({"AD_HDF5": H5FrameHandler}, inplace=False) as filler:
        theirs = [filler(n, d)[1] for n, d in image_run]
    theirs = [d["data"]["img"] for (n, _), d in zip(image_run, theirs) if n == "event"]
    assert len(theirs) == 4
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)


def test_run_router_fills_pages_for_bluesky_and_livescan_callbacks(image_run):
    collected: list[tuple[str, dict]] = []
    ours = Recorder()
    seen_starts = []

    def factory(name, start):
        seen_starts.append(start["uid"])
        return [lambda n, d: collected.append((n, d)), ours], []

    router = event_model.RunRouter(
        [factory], handler_registry={"AD_HDF5": H5FrameHandler}, fill_or_fail=True
    )
    for name, doc in image_run:
        router(name, doc)
    assert seen_starts == [image_run[0][1]["uid"]]
    pages = [d for n, d in collected if n == "event_page"]
    assert len(pages) == 4
    frames = [np.asarray(p["data"]["img"][0]) for p in pages]
    for got, want in zip(frames, _livescan_frames(image_run)):
        np.testing.assert_array_equal(got, want)
    # a livescan CallbackBase under the RunRouter gets the pages unpacked into events
    events = [d for n, d in ours.seen if n == "event"]
    assert [e["seq_num"] for e in events] == [1, 2, 3, 4]
    for event, want in zip(events, _livescan_frames(image_run)):
        np.testing.assert_array_equal(event["data"]["img"], want)
    assert [n for n, _ in ours.seen][-1] == "stop"


def test_post_run_fill_loads_the_frames_after_the_run(image_run):
    got: list[tuple[str, dict]] = []
    cb = post_run(lambda n, d: got.append((n, d)), fill=True)
    for name, doc in image_run:
        cb(name, doc)
        if name != "stop":
            assert got == []
    assert [n for n, _ in got] == [n for n, _ in image_run]
    events = [d for n, d in got if n == "event"]
    assert all(e["filled"] == {"img": True} for e in events)
    for event, want in zip(events, _livescan_frames(image_run)):
        np.testing.assert_array_equal(event["data"]["img"], want)


def test_bluesky_livetable_skips_our_image_fields(run):
    from bluesky.callbacks import LiveTable as BlueskyLiveTable

    theirs: list[str] = []
    ours: list[str] = []
    with pytest.warns(UserWarning):
        docs = run(
            count([sim.img, sim.direct_img, sim.det], num=2),
            BlueskyLiveTable(["img", "direct_img", "det"], out=theirs.append),
            LiveTable(["img", "direct_img", "det"], view="text", out=ours.append),
        )
    assert isinstance(docs[-2][1]["data"]["direct_img"], np.ndarray)
    assert nonempty(theirs) == nonempty(ours)
    assert nonempty(theirs)[1].split("|")[3].strip() == "det"
