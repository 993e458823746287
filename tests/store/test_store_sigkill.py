"""A process killed with SIGKILL mid-run leaves every document it wrote readable."""

from __future__ import annotations

import textwrap

import numpy as np

from livescan.documents import to_jsonable
from livescan.store import RunStore
from tests._processes import run_and_kill

CHILD = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from livescan.documents import RunComposer
    from livescan.store import RunStore

    db = RunStore(sys.argv[1])
    run = RunComposer({"plan_name": "count", "scan_id": 7})
    keys = {"det": {"dtype": "number", "shape": [], "source": "x"},
            "img": {"dtype": "array", "shape": [8, 8], "source": "y", "dtype_numpy": "<u2"}}

    def emit(name, doc):
        db(name, doc)
        print(name, doc.get("uid", ""), flush=True)  # reported only once recorded

    emit("start", run.start())
    desc = run.descriptor("primary", keys)
    emit("descriptor", desc)
    i = 0
    while True:  # runs until killed
        i += 1
        frame = np.full((8, 8), i, dtype="u2")
        emit("event", run.event(desc, {"det": float(i), "img": frame}, {"det": 0, "img": 0}))
        time.sleep(0.002)
    """
)


ENGINE_CHILD = textwrap.dedent(
    """
    import sys
    from livescan import RunEngine
    from livescan.plans import count
    from livescan.sim import det, img
    from livescan.store import RunStore

    RE = RunEngine(display=False)
    RE.subscribe_lossless(RunStore(sys.argv[1]))
    # Subscribed after the store: reports each document once the store has recorded it.
    RE.subscribe_lossless(lambda name, doc: print(name, doc.get("uid", doc.get("datum_id")),
                                                  flush=True))
    RE(count([det, img], num=None, delay=0.002))  # runs until killed
    """
)


def test_sigkill_of_a_running_engine_leaves_a_readable_unfinished_run(tmp_path):
    reported = run_and_kill(ENGINE_CHILD, tmp_path / "store", 80)
    db = RunStore(tmp_path / "store")
    run = db[-1]
    assert run.stop is None and run.start["plan_name"] == "count"
    docs = list(run.documents())
    ids = [[n, d.get("uid", d.get("datum_id"))] for n, d in docs]
    assert ids[: len(reported)] == reported
    assert len(docs) - len(reported) in (0, 1)
    # Every recorded event's frame loads from the camera's file.
    primary = run["primary"]
    assert len(primary) >= 20
    frames = primary["img"]
    assert frames.shape == (len(primary), 1, 64, 64) and frames.dtype == np.uint16
    db.close()


def test_sigkill_mid_run_keeps_every_written_document(tmp_path):
    store = tmp_path / "store"
    reported = run_and_kill(CHILD, store, 60)
    assert len(reported) >= 60

    db = RunStore(store)  # opens normally after the kill
    run = db[-1]
    assert run.scan_id == 7
    assert run.stop is None and run.exit_status is None  # unfinished
    docs = list(run.documents())
    # Every document reported written is there, in order (and possibly one more that was
    # written between the last report and the kill).
    assert [[n, d["uid"]] for n, d in docs[: len(reported)]] == reported
    assert len(docs) - len(reported) in (0, 1)
    events = [d for n, d in docs if n == "event"]
    for k, event in enumerate(events, start=1):
        assert event["seq_num"] == k and event["data"]["det"] == float(k)
        assert event["data"]["img"].dtype == np.uint16
        np.testing.assert_array_equal(event["data"]["img"], np.full((8, 8), k))
    assert len(db[run.uid]["primary"]) == len(events)

    # The store keeps working: another run records and reads back.
    from livescan.testing import feed, make_run

    more = make_run(n=2)
    feed(more, db)
    assert db[-1].uid == more[0][1]["uid"] and db[-1].finished
    assert [to_jsonable(d) for _, d in db[-1].documents()] == [to_jsonable(d) for _, d in more]
    assert len(db) == 2
    db.close()
