"""RunStore: recording, lookup, search, streams as arrays, documents in order."""

from __future__ import annotations

import json

import numpy as np
import pytest

from livescan.errors import RunNotFound, StoreError
from livescan.store import Run, RunStore, default_store_path, read_journal
from livescan.testing import feed, frames_of, jsonable_documents, make_run, validate_documents


def test_documents_come_back_equal_and_in_order(db):
    docs = make_run(n=4)
    feed(docs, db)
    run = db[-1]
    assert isinstance(run, Run)
    back = list(run.documents())
    assert [n for n, _ in back] == [n for n, _ in docs]
    assert jsonable_documents(back) == jsonable_documents(docs)
    assert validate_documents(back).count == len(docs)
    # Inline frames keep their dtype and values.
    for (_, live), (_, saved) in zip(docs, back):
        if "data" in live:
            assert saved["data"]["img"].dtype == np.uint16
            np.testing.assert_array_equal(saved["data"]["img"], live["data"]["img"])
    assert run.start == docs[0][1]
    assert run.stop == docs[-1][1]
    assert run.exit_status == "success"


def test_journal_is_suitcase_jsonl(db):
    docs = make_run(n=2)
    feed(docs, db)
    run = db[-1]
    assert run.path.parent.parent == db.path and run.path.name == f"{run.uid}.jsonl"
    lines = run.path.read_text().splitlines()
    assert len(lines) == len(docs)
    parsed = [json.loads(line) for line in lines]  # plain json can read it
    assert [p[0] for p in parsed] == [n for n, _ in docs]
    assert parsed[0][1]["uid"] == run.uid


def test_streams_as_arrays(db):
    docs = make_run(n=5, shape=(3, 4))
    feed(docs, db)
    primary = db[-1]["primary"]
    assert len(primary) == 5
    np.testing.assert_allclose(primary["motor"], [0, 0.5, 1, 1.5, 2])
    np.testing.assert_array_equal(primary.seq_num, [1, 2, 3, 4, 5])
    img = primary["img"]
    assert img.shape == (5, 3, 4) and img.dtype == np.uint16
    np.testing.assert_array_equal(img, np.stack(frames_of(docs)))
    assert set(primary.read()) == {"motor", "det", "temperature", "img"}
    assert primary.timestamps["det"].shape == (5,)
    assert db[-1].stream_names == ["primary"]
    with pytest.raises(KeyError, match="no stream 'baseline'"):
        db[-1]["baseline"]
    with pytest.raises(KeyError, match="no field 'nope'"):
        primary["nope"]


def test_file_backed_frames_filled_on_request(db, tmp_path):
    docs = make_run(n=3, external_dir=tmp_path)
    feed(docs, db)
    run = db[-1]
    raw = [d for n, d in run.documents() if n == "event"]
    assert all(isinstance(e["data"]["img"], str) for e in raw)  # datum ids, unfilled
    filled = [d for n, d in run.documents(fill=True) if n == "event"]
    for event, frame in zip(filled, frames_of(docs)):
        np.testing.assert_array_equal(event["data"]["img"], frame)
        assert event["filled"]["img"] is True
    np.testing.assert_array_equal(run["primary"]["img"], np.stack(frames_of(docs)))


def test_lookup_by_recency_scan_id_and_uid_prefix(db):
    uids = []
    for scan_id in (1, 2, 3, 2):
        docs = make_run(n=1, md={"scan_id": scan_id})
        feed(docs, db)
        uids.append(docs[0][1]["uid"])
    assert len(db) == 4
    assert db[-1].uid == uids[3] and db[-4].uid == uids[0]
    assert db[2].uid == uids[3]  # the newest run with scan_id 2
    assert db[3].uid == uids[2]
    assert db[uids[1]].uid == uids[1]
    assert db[uids[1][:8]].uid == uids[1]
    assert [r.uid for r in db[-2:]] == uids[2:]
    assert [r.uid for r in db] == uids
    assert uids[0] in db and "nope" not in db
    with pytest.raises(RunNotFound, match=r"db\[-5\] does not exist"):
        db[-5]
    with pytest.raises(RunNotFound, match="no run with scan_id 9"):
        db[9]
    with pytest.raises(KeyError, match="no run whose uid starts with"):
        db["zzzzzz"]
    with pytest.raises(RunNotFound, match="at least 3 characters"):
        db["ab"]


def test_ambiguous_prefix_is_an_error_naming_the_matches(db):
    for uid in ("abc11111-0000", "abc22222-0000"):
        feed(make_run(n=1, md={"uid": uid}), db)
    with pytest.raises(RunNotFound, match=r"ambiguous.*abc11111.*abc22222"):
        db["abc"]
    assert db["abc1"].uid == "abc11111-0000"


def test_search_by_metadata_and_time(db):
    feed(make_run(n=1, md={"sample": {"name": "Si"}, "user": "ada"}, t0=1_000_000.0), db)
    feed(make_run(n=1, md={"sample": {"name": "Ge"}, "user": "ada"}, t0=2_000_000.0), db)
    feed(make_run(n=1, md={"user": "bob"}, t0=3_000_000.0), db)
    assert [r.start["sample"]["name"] for r in db.search(user="ada")] == ["Si", "Ge"]
    assert len(db.search({"sample.name": "Ge"})) == 1
    assert len(db.search(since=1_500_000, until=3_000_000)) == 1
    assert len(db.search(user="ada", since=1_500_000)) == 1
    assert len(db.search(scan_id=lambda s: s >= 1)) == 3
    assert db.search(user="carol") == []
    assert len(db.search(since="1970-01-13")) == 2  # ISO strings work (local time)


def test_unfinished_run_has_no_stop_and_store_reopens(tmp_path):
    db = RunStore(tmp_path / "s")
    docs = make_run(n=3, with_stop=False)
    feed(docs, db)
    run = db[-1]
    assert run.stop is None and run.exit_status is None and not run.finished
    assert "unfinished" in repr(run)
    db.close()  # the process "goes away" without a stop
    again = RunStore(tmp_path / "s")
    assert jsonable_documents(again[-1].documents()) == jsonable_documents(docs)
    assert again[-1].stop is None


def test_index_is_rebuilt_from_journals(tmp_path):
    db = RunStore(tmp_path / "s")
    docs = make_run(n=2)
    feed(docs, db)
    db.close()
    (tmp_path / "s" / "index.sqlite").unlink()
    again = RunStore(tmp_path / "s")
    assert len(again) == 1
    assert again[-1].stop == docs[-1][1]
    assert again.search(plan_name="scan")[0].uid == docs[0][1]["uid"]


def test_torn_last_line_is_skipped(db):
    docs = make_run(n=2, with_stop=False)
    feed(docs, db)
    run = db[-1]
    db.close()
    with open(run.path, "a") as f:
        f.write('["event", {"uid": "x", "da')  # a write cut short by a crash
    with pytest.warns(RuntimeWarning, match="torn last line"):
        back = list(read_journal(run.path))
    assert jsonable_documents(back) == jsonable_documents(docs)


def test_bad_documents_get_clear_errors(db):
    docs = make_run(n=1)
    with pytest.raises(StoreError, match="subscribe the RunStore before the run starts"):
        db(*docs[1])
    feed(docs, db)
    with pytest.raises(StoreError, match="already in the store"):
        db(*docs[0])


def test_default_path_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LIVESCAN_DATA_DIR", str(tmp_path / "data"))
    assert default_store_path() == tmp_path / "data" / "runs"
    monkeypatch.delenv("LIVESCAN_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_store_path() == tmp_path / "xdg" / "livescan" / "runs"
    monkeypatch.setenv("LIVESCAN_DATA_DIR", str(tmp_path / "d2"))
    db = RunStore()
    assert db.path == tmp_path / "d2" / "runs" and db.path.is_dir()
    db.close()


def test_store_path_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(StoreError, match=r"pass RunStore\(path\) a"):
        RunStore(tmp_path / "f")


def test_fsync_policy_is_checked(tmp_path):
    with pytest.raises(ValueError, match="fsync must be one of"):
        RunStore(tmp_path, fsync="sometimes")
    db = RunStore(tmp_path / "every", fsync="document")
    feed(make_run(n=1), db)
    assert db[-1].finished
    db.close()


def test_two_store_objects_on_one_folder_see_each_other(tmp_path):
    a, b = RunStore(tmp_path / "s"), RunStore(tmp_path / "s")
    docs = make_run(n=2, with_stop=False)
    feed(docs, a)
    assert b[-1].uid == docs[0][1]["uid"] and b[-1].stop is None  # visible while running
    a.close()
    b.close()
