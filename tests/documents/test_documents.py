"""The documents layer: composer, JSON encoding, router, filler, subscription parsing."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from livescan.documents import (
    DocumentRouter,
    Filler,
    RunComposer,
    check_metadata_keys,
    dumps,
    normalize_subs,
    pack_event_page,
    unpack_event_page,
)
from livescan.errors import MetadataError, NotCallableError, UnknownDocumentName
from livescan.testing import validate_documents

KEY = {"dtype": "number", "shape": [], "source": "SIM:x"}


def compose_run(n: int = 3) -> list[tuple[str, dict]]:
    run = RunComposer({"plan_name": "test", "scan_id": 7})
    docs: list[tuple[str, dict]] = [("start", run.start())]
    desc = run.descriptor("primary", {"x": KEY})
    docs.append(("descriptor", desc))
    for i in range(n):
        docs.append(("event", run.event(desc, {"x": float(i)}, {"x": 0.0})))
    docs.append(("stop", run.stop("success")))
    return docs


def test_composer_counts_seq_num_and_num_events() -> None:
    docs = compose_run(4)
    events = [d for n, d in docs if n == "event"]
    assert [e["seq_num"] for e in events] == [1, 2, 3, 4]
    stop = docs[-1][1]
    assert stop["num_events"] == {"primary": 4}
    assert stop["run_start"] == docs[0][1]["uid"]
    assert validate_documents(docs).count == len(docs)


def test_composer_rejects_bad_exit_status() -> None:
    with pytest.raises(ValueError, match="exit_status"):
        RunComposer({}).stop("maybe")


def test_metadata_keys_are_checked() -> None:
    check_metadata_keys({"sample_name": 1})
    with pytest.raises(MetadataError, match=r"'a\.b'"):
        check_metadata_keys({"a.b": 1})
    with pytest.raises(MetadataError, match="'x/y'"):
        check_metadata_keys({"x/y": 1})


def test_dumps_handles_numpy_and_nan() -> None:
    doc = {
        "a": np.float32(1.5),
        "b": np.arange(3),
        "c": np.int64(4),
        "d": (1, 2),
        "e": float("nan"),
        "f": np.bool_(True),
    }
    assert json.loads(dumps(doc)) == {
        "a": 1.5,
        "b": [0, 1, 2],
        "c": 4,
        "d": [1, 2],
        "e": None,
        "f": True,
    }


def test_event_page_round_trip() -> None:
    events = [d for n, d in compose_run(3) if n == "event"]
    page = pack_event_page(*events)
    assert page["seq_num"] == [1, 2, 3]
    assert unpack_event_page(page) == events


def test_router_unpacks_pages_when_only_event_is_defined() -> None:
    seen: list[int] = []

    class OnlyEvent(DocumentRouter):
        def event(self, doc):
            seen.append(doc["seq_num"])

    events = [d for n, d in compose_run(3) if n == "event"]
    OnlyEvent()("event_page", pack_event_page(*events))
    assert seen == [1, 2, 3]

    pages: list[dict] = []

    class OnlyPage(DocumentRouter):
        def event_page(self, doc):
            pages.append(doc)

    OnlyPage()("event", events[0])
    assert pages[0]["seq_num"] == [1]
    with pytest.raises(KeyError, match="not a document name"):
        OnlyEvent()("bogus", {})


def test_filler_reads_ad_hdf5_frames(tmp_path) -> None:
    frames = np.arange(3 * 4 * 5, dtype=np.uint16).reshape(3, 4, 5)
    with h5py.File(tmp_path / "f.h5", "w") as f:
        f.create_dataset("/entry/data/data", data=frames)
    run = RunComposer({})
    res = run.resource("AD_HDF5", str(tmp_path), "f.h5", {"frame_per_point": 1})
    desc = run.descriptor(
        "primary",
        {"img": {"dtype": "array", "shape": [1, 4, 5], "source": "x", "external": "FILESTORE:"}},
    )
    filler = Filler()
    filler("resource", res)
    filler("descriptor", desc)
    for i in range(3):
        datum = run.datum(res, {"point_number": i})
        filler("datum", datum)
        ev = run.event(desc, {"img": datum["datum_id"]}, {"img": 0.0}, filled={"img": False})
        _, filled = filler("event", ev)
        # one datum is a (frame_per_point, rows, columns) stack, as the AD_HDF5 handler
        # of area-detector-handlers gives it and the data key declares
        np.testing.assert_array_equal(filled["data"]["img"], frames[i : i + 1])
        assert filled["filled"] == {"img": True}
        assert ev["data"]["img"] == datum["datum_id"]  # the original is untouched
    with pytest.raises(KeyError, match="no datum"):
        filler.load("nope/0")
    datum = run.datum(res, {"point_number": 3})
    filler("datum", datum)
    with pytest.raises(IndexError, match=r"frames 3\.\.3 .* which holds 3: the file is short"):
        filler.load(datum["datum_id"])


def test_normalize_subs_forms() -> None:
    def f(name, doc):
        pass

    assert normalize_subs(None) == {}
    assert normalize_subs(f) == {"all": [f]}
    assert normalize_subs([f, f]) == {"all": [f, f]}
    assert normalize_subs({"start": f, "all": [f]}) == {"start": [f], "all": [f]}
    with pytest.raises(UnknownDocumentName, match="'events' is not a document name"):
        normalize_subs({"events": f})
    with pytest.raises(NotCallableError, match="not callable"):
        normalize_subs([f, 3])
    with pytest.raises(NotCallableError):
        normalize_subs({"start": "print"})
    with pytest.raises(NotCallableError):
        normalize_subs(42)


def test_new_uid_gives_distinct_version4_uuids_across_threads_and_fork() -> None:
    import os
    import threading
    import uuid

    from livescan.documents import new_uid

    new_uid()  # the parent's pool holds uids now: a child must not hand out the same
    got: list[list[str]] = [[] for _ in range(4)]

    def take(out: list[str]) -> None:
        out.extend(new_uid() for _ in range(3000))

    threads = [threading.Thread(target=take, args=(out,)) for out in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    uids = [u for out in got for u in out]
    assert len(set(uids)) == len(uids) == 12000
    for u in uids[:500]:
        parsed = uuid.UUID(u)
        assert str(parsed) == u and parsed.version == 4 and parsed.variant == uuid.RFC_4122
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report a few uids, then leave at once
        os.write(write_end, " ".join(new_uid() for _ in range(300)).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        child = pipe.read().split()
    os.waitpid(pid, 0)
    parent = [new_uid() for _ in range(300)]
    assert len(child) == 300 and not set(child) & set(parent)
