"""bluesky's RunEngine + ophyd.sim documents driving livescan's callbacks."""

from __future__ import annotations

import bluesky.plans as bp
import event_model
import numpy as np
import pytest
from ophyd import sim as osim

from livescan.callbacks import DocumentCollector, LiveTable, post_run
from livescan.documents import Filler
from livescan.testing import validate_documents
from tests.interop._util import (
    Recorder,
    bluesky_table,
    livescan_table,
    nonempty,
    same_documents,
)

PLANS = {
    "count": (
        lambda: bp.count([osim.det1, osim.det2, osim.det3], num=5),
        ["det1", "det2", "det3"],
    ),
    "scan": (
        lambda: bp.scan([osim.det], osim.motor, -1, 1, 7),
        ["det", "motor", "motor_setpoint"],
    ),
    "grid_scan": (
        lambda: bp.grid_scan(
            [osim.det4], osim.motor1, -1, 1, 3, osim.motor2, -2, 2, 4, snake_axes=True
        ),
        ["det4", "motor1", "motor2"],
    ),
}


@pytest.mark.parametrize("plan", list(PLANS))
def test_livescan_livetable_prints_what_bluesky_prints(bluesky_docs, plan):
    make_plan, fields = PLANS[plan]
    lines: list[str] = []
    ours = LiveTable(fields, view="text", out=lines.append)
    docs = bluesky_docs(make_plan(), ours)  # bluesky's RunEngine calls our table
    theirs = bluesky_table(docs, fields)
    assert nonempty(lines) == theirs
    n_events = sum(name == "event" for name, _ in docs)
    assert len(theirs) == 3 + n_events + 2  # header block, rows, border, summary
    assert theirs[-1].startswith(f"generator {plan} ['{docs[0][1]['uid'][:8]}']")


@pytest.mark.parametrize("plan", list(PLANS))
def test_callbackbase_collector_and_post_run_get_every_document_in_order(bluesky_docs, plan):
    make_plan, _ = PLANS[plan]
    recorder = Recorder()
    collector = DocumentCollector()
    seen_late: list[tuple[str, int]] = []
    total = DocumentCollector()  # subscribed first: bluesky calls subscribers in order

    def after(name, doc):
        seen_late.append((name, len(total)))

    docs = bluesky_docs(make_plan(), total, recorder, collector, post_run(after))
    validate_documents(docs)  # our validator accepts bluesky's documents
    assert same_documents(recorder.seen, docs)
    assert same_documents(collector.documents, docs)
    assert collector.start is docs[0][1] and collector.stop is docs[-1][1]
    assert collector.names()[:2] == ["start", "descriptor"]
    assert len(collector["event"]) == docs[-1][1]["num_events"]["primary"]
    # post_run hands over the whole run at once, after the stop document
    assert [name for name, _ in seen_late] == [name for name, _ in docs]
    assert {n for _, n in seen_late} == {len(docs)}


def test_post_run_replays_each_run_separately(bRE):
    runs: list[list[str]] = []

    def whole_run(name, doc):
        if name == "start":
            runs.append([])
        runs[-1].append(name)

    cb = post_run(whole_run)
    bRE(bp.count([osim.det1], num=2), cb)
    bRE(bp.count([osim.det2], num=3), cb)
    assert runs == [
        ["start", "descriptor", "event", "event", "stop"],
        ["start", "descriptor", "event", "event", "event", "stop"],
    ]


def test_array_fields_are_skipped_with_a_warning_like_bluesky(bluesky_docs):
    docs = bluesky_docs(bp.count([osim.direct_img, osim.det], num=3))
    assert isinstance(docs[2][1]["data"]["img"], np.ndarray)
    with pytest.warns(UserWarning, match="img"):
        theirs = bluesky_table(docs, ["img", "det"])
    with pytest.warns(UserWarning, match="img"):
        ours = livescan_table(docs, ["img", "det"])
    assert ours == theirs
    assert "img" not in theirs[1] and "det" in theirs[1]


def test_external_ophyd_images_pass_through_and_fill(bluesky_docs):
    docs = bluesky_docs(bp.count([osim.img], num=3))
    names = [n for n, _ in docs]
    assert names.count("resource") == 1 and names.count("datum") == 3
    validate_documents(docs)
    recorder = Recorder()
    for name, doc in docs:
        recorder(name, doc)
    assert same_documents(recorder.seen, docs)
    # livescan's Filler with ophyd's own NPY_SEQ handler fills bluesky's events ...
    ours = Filler({"NPY_SEQ": osim.NumpySeqHandler})
    filled_ours = [ours(n, d)[1] for n, d in docs]
    ours_events = [d for (n, _), d in zip(docs, filled_ours) if n == "event"]
    # ... exactly as event_model's Filler does
    with event_model.Filler({"NPY_SEQ": osim.NumpySeqHandler}, inplace=False) as theirs:
        theirs_events = [theirs(n, d)[1] for n, d in docs]
    theirs_events = [d for (n, _), d in zip(docs, theirs_events) if n == "event"]
    assert len(ours_events) == len(theirs_events) == 3
    originals = [d for n, d in docs if n == "event"]
    for a, b, orig in zip(ours_events, theirs_events, originals):
        assert a["filled"] == {"img": True}
        # event_model marks a filled key with its datum id (truthy) instead of True
        assert b["filled"] == {"img": orig["data"]["img"]}
        assert a["data"]["img"].shape == (10, 10)
        np.testing.assert_array_equal(a["data"]["img"], b["data"]["img"])
    # the originals are left unfilled
    assert all(d["filled"] == {"img": False} for n, d in docs if n == "event")


def _paged(docs, size):
    """The same run with its events packed into event_page documents of ``size``."""
    out, events = [], []
    for name, doc in docs:
        if name == "event":
            events.append(doc)
            if len(events) == size:
                out.append(("event_page", event_model.pack_event_page(*events)))
                events = []
            continue
        if events:
            out.append(("event_page", event_model.pack_event_page(*events)))
            events = []
        out.append((name, doc))
    return out


def test_event_pages_are_unpacked_into_events(bluesky_docs):
    docs = bluesky_docs(bp.scan([osim.det], osim.motor, -1, 1, 7))
    paged = _paged(docs, 3)
    assert [n for n, _ in paged].count("event_page") == 3
    fields = ["det", "motor", "motor_setpoint"]
    assert livescan_table(paged, fields) == bluesky_table(docs, fields)
    recorder = Recorder()
    for name, doc in paged:
        recorder(name, doc)
    assert [n for n, _ in recorder.seen] == [n for n, _ in docs]
    for (_, got), (_, want) in zip(recorder.seen, docs):
        for key in ("uid", "seq_num", "time", "descriptor", "data", "timestamps"):
            assert got.get(key) == want.get(key)
