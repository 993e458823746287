"""stream() and replay(): a saved run fed to callbacks as if it were live."""

from __future__ import annotations

import time

import numpy as np
import pytest

from livescan.documents import DocumentRouter
from livescan.store import RunStore, documents_of, replay, stream
from livescan.testing import feed, jsonable_documents, make_run


class Collector:
    def __init__(self):
        self.docs = []

    def __call__(self, name, doc):
        self.docs.append((name, doc))


def test_replayed_documents_equal_the_live_ones(db):
    live = Collector()
    docs = make_run(n=4, shape=(2, 3, 4))
    feed(docs, db, live)
    replayed = Collector()
    assert replay(db[-1], replayed) == len(docs)
    assert jsonable_documents(replayed.docs) == jsonable_documents(live.docs)
    for (n1, a), (n2, b) in zip(live.docs, replayed.docs):
        assert n1 == n2
        if n1 == "event":
            assert b["data"]["img"].dtype == a["data"]["img"].dtype
            assert b["data"]["img"].shape == a["data"]["img"].shape


def test_stream_is_the_spec_name_and_takes_several_callbacks(db):
    docs = make_run(n=2)
    feed(docs, db)
    a, b = Collector(), Collector()
    stream(db[-1], [a, b])
    assert jsonable_documents(a.docs) == jsonable_documents(b.docs) == jsonable_documents(docs)


def test_replay_drives_a_document_router(db):
    class Sum(DocumentRouter):
        total = 0.0
        stopped = None

        def event(self, doc):
            self.total += doc["data"]["det"]

        def stop(self, doc):
            self.stopped = doc["exit_status"]

    docs = make_run(n=5)
    feed(docs, db)
    cb = Sum()
    replay(db[-1], cb)
    expected = sum(d["data"]["det"] for n, d in docs if n == "event")
    assert cb.total == pytest.approx(expected) and cb.stopped == "success"


def test_realtime_replay_keeps_the_timing(db):
    docs = make_run(n=4, t0=time.time())  # events 50 ms apart, stop 50 ms after
    feed(docs, db)
    times = []
    t0 = time.monotonic()
    replay(db[-1], lambda n, d: times.append(time.monotonic() - t0), realtime=True)
    assert times[-1] >= 0.2  # 5 x 50 ms after the start document, give or take
    fast = time.monotonic()
    replay(db[-1], lambda n, d: None, realtime=True, speed=100)
    assert time.monotonic() - fast < 0.15
    with pytest.raises(ValueError, match="speed must be positive"):
        replay(db[-1], print, speed=0)


def test_replay_fill_and_lookup_by_uid_in_the_active_store(tmp_path):
    db = RunStore(tmp_path / "s")
    docs = make_run(n=2, external_dir=tmp_path)
    feed(docs, db)  # recording a run makes this the active store
    got = Collector()
    replay(docs[0][1]["uid"][:8], got, fill=True)
    frames = [d["data"]["img"] for n, d in got.docs if n == "event"]
    assert all(isinstance(f, np.ndarray) and f.shape == (1, 4, 5) for f in frames)
    assert len(list(documents_of(docs))) == len(docs)  # an iterable of pairs works too
    with pytest.raises(TypeError, match="not callable"):
        replay(db[-1], [object()])
    db.close()
