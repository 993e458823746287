"""The store shares and heals: binary frames, NaN kept, damaged journals and index,
two stores on one folder racing, no empty journals."""

from __future__ import annotations

import json
import math
import sqlite3

import numpy as np
import pytest

from livescan.documents import RunComposer, pack_event_page
from livescan.store import RunStore, read_journal
from livescan.store._index import Index
from livescan.testing import check_schema, feed, jsonable_documents, make_run


def _camera_run(n=4, shape=(64, 48), page=False):
    run = RunComposer({"plan_name": "count", "scan_id": 1})
    key = {"dtype": "array", "shape": list(shape), "source": "cam", "dtype_numpy": "<u2"}
    desc = run.descriptor(
        "primary", {"cam": key, "det": {"dtype": "number", "shape": [], "source": "d"}}
    )
    rng = np.random.default_rng(1)
    events = [
        run.event(
            desc,
            {"cam": rng.integers(0, 4096, shape, dtype=np.uint16), "det": float(i)},
            {"cam": 0.0, "det": 0.0},
        )
        for i in range(n)
    ]
    docs = [("start", run.start()), ("descriptor", desc)]
    docs += [("event_page", pack_event_page(*events))] if page else [("event", e) for e in events]
    return [*docs, ("stop", run.stop())]


@pytest.mark.parametrize("page", [False, True])
def test_frames_are_stored_as_binary_and_read_back_equal(db, page):
    docs = _camera_run(page=page)
    feed(docs, db)
    run = db[-1]
    raw = list(read_journal(run.path))
    names = [n for n, _ in raw]
    # The journal records every document: a resource for the frame file, a datum per frame.
    assert names.count("resource") == 1 and names.count("datum") == 4
    resource = next(d for n, d in raw if n == "resource")
    check_schema("resource", resource)
    assert resource["spec"] == "LIVESCAN_FRAMES"
    frames_file = run.path.parent / resource["resource_path"]
    assert frames_file.stat().st_size == 4 * 64 * 48 * 2
    assert run.path.stat().st_size < 6000  # no frame as JSON text
    back = list(run.documents())
    assert [n for n, _ in back] == [n for n, _ in docs]  # the store's own docs are hidden
    assert jsonable_documents(back) == jsonable_documents(docs)
    for (_, live), (_, saved) in zip(docs, back):
        if "data" in live:
            live_frames = live["data"]["cam"] if page else [live["data"]["cam"]]
            saved_frames = saved["data"]["cam"] if page else [saved["data"]["cam"]]
            for a, b in zip(live_frames, saved_frames):
                assert b.dtype == np.uint16
                np.testing.assert_array_equal(a, b)
    assert run["primary"]["cam"].shape == (4, 64, 48)


def test_nan_and_infinities_survive_the_round_trip(db):
    docs = make_run(n=3, md={"offset": math.nan, "limit": math.inf})
    docs[2][1]["data"]["det"] = math.nan
    docs[3][1]["data"]["det"] = -math.inf
    feed(docs, db)
    back = list(db[-1].documents())
    assert math.isnan(back[0][1]["offset"]) and back[0][1]["limit"] == math.inf
    assert math.isnan(back[2][1]["data"]["det"]) and back[3][1]["data"]["det"] == -math.inf
    assert math.isnan(db[-1].start["offset"])


def test_a_damaged_line_is_skipped_naming_file_and_line(db):
    docs = make_run(n=4)
    feed(docs, db)
    run = db[-1]
    lines = run.path.read_bytes().splitlines(keepends=True)
    lines[3] = b'["event", {"uid": "x", \x00garbage\n'
    run.path.write_bytes(b"".join(lines))
    with pytest.warns(RuntimeWarning, match=rf"{run.uid}\.jsonl:4: skipped a damaged line"):
        back = list(db[run.uid].documents())
    assert len(back) == len(docs) - 1
    assert back[-1][0] == "stop" and db[run.uid].exit_status == "success"


def test_stray_and_empty_journals_do_not_stop_the_store_opening(tmp_path):
    store = tmp_path / "s"
    db = RunStore(store)
    feed(make_run(n=2), db)
    uid = db[-1].uid
    db.close()
    (store / "index.sqlite").unlink()
    day = next(p for p in store.iterdir() if p.is_dir())
    (day / "stray.jsonl").write_text("not json at all\n")
    (day / "empty.jsonl").write_bytes(b"")
    (day / "descriptor-first.jsonl").write_text('["descriptor", {"uid": "d"}]\n')
    (day / "leftover.jsonl.part").write_text('["start", {"uid": "p"')  # a killed creation
    with pytest.warns(RuntimeWarning) as caught:
        db = RunStore(store)
    messages = " ".join(str(w.message) for w in caught)
    assert "stray.jsonl:1" in messages and "descriptor-first.jsonl" in messages
    assert "empty.jsonl" not in messages  # empty: nothing to say
    assert len(db) == 1 and db[-1].uid == uid
    db.close()


def test_a_damaged_index_is_moved_aside_and_rebuilt(tmp_path):
    store = tmp_path / "s"
    db = RunStore(store)
    for seed in range(3):
        feed(make_run(n=2, seed=seed), db)
    uids = [r.uid for r in db]
    db.close()
    (store / "index.sqlite").write_bytes(b"this is not an sqlite file" * 100)
    with pytest.warns(RuntimeWarning, match="index.sqlite is damaged"):
        db = RunStore(store)
    assert [r.uid for r in db] == uids and db[-1].exit_status == "success"
    assert list(store.glob("index.sqlite.damaged-*"))
    db.close()


def test_opening_a_store_between_journal_and_index_does_not_break_the_writer(tmp_path, monkeypatch):
    """The race of issue 10: another RunStore opened while the writer's journal exists
    but its run is not indexed yet indexes that journal itself; the writer goes on."""
    writer = RunStore(tmp_path)
    others = []
    original = Index.add_run

    def add_run(self, start, path):
        if self is writer._index and not others:
            others.append(RunStore(tmp_path))  # reconciles the fresh journal first
            assert start["uid"] in others[0]
        return original(self, start, path)

    monkeypatch.setattr(Index, "add_run", add_run)
    docs = make_run(n=3)
    feed(docs, writer)
    assert writer[-1].exit_status == "success" and len(writer) == 1
    assert others[0][-1].exit_status == "success"
    with sqlite3.connect(tmp_path / "index.sqlite") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    writer.close()
    others[0].close()


def test_a_journal_is_never_empty_and_never_shared(db):
    docs = make_run(n=1)
    db("start", docs[0][1])
    run_path = next(db.path.glob("*/*.jsonl"))
    first = json.loads(run_path.read_text().splitlines()[0])
    assert first[0] == "start"  # written before the journal got its name
    assert not list(db.path.glob("*/*.part"))
    other = RunStore(db.path)
    with pytest.raises(Exception, match="already in the store"):
        other("start", docs[0][1])
    other.close()
