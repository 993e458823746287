"""Events taken as rows of readings: page subscribers alone get no event documents made.

When every subscriber that takes events takes them as pages (livescan's widgets and
tables) and no lossless subscriber is there, the engine hands each event's readings to
the lossy lane, which writes them straight into the page's columns. What the page
subscribers get must be exactly what the event documents would have made.
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np

from livescan.dispatch import Dispatcher
from livescan.documents import RunComposer
from livescan.plans import count, scan
from livescan.sim import det, det1, motor
from livescan.testing import validate_documents


class Pages:
    """A page subscriber that only reads (as livescan's widgets)."""

    accepts_event_pages = True
    mutates_documents = False

    def __init__(self) -> None:
        self.docs: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        self.docs.append((name, doc))

    def pages(self) -> list[dict[str, Any]]:
        return [d for n, d in self.docs if n == "event_page"]


def _rows(pages: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """(seq_num, data, timestamps, filled) of every event, from pages."""
    out = []
    for p in pages:
        for i, seq in enumerate(p["seq_num"]):
            out.append(
                (
                    p["descriptor"],
                    seq,
                    {k: v[i] for k, v in p["data"].items()},
                    {k: v[i] for k, v in p["timestamps"].items()},
                    {k: v[i] for k, v in p["filled"].items()},
                )
            )
    return out


def test_rows_make_the_same_pages_as_event_documents(RE) -> None:
    # with a plain subscriber beside it, the page subscriber's pages are folded from event
    # documents; alone, from rows: the same fields, keys, order and values either way
    def plain(name, doc):
        pass

    alone, beside = Pages(), Pages()
    RE(scan([det, det1], motor, -1, 1, num=300), alone)
    assert RE.dispatcher.lossy.row_sink is None  # (per-run subscriptions are gone)
    RE(scan([det, det1], motor, -1, 1, num=300), [beside, plain])
    validate_documents(alone.docs)
    a, b = alone.pages(), beside.pages()
    assert {tuple(p) for p in a} == {tuple(p) for p in b}, "same keys, in the same order"
    ra, rb = _rows(a), _rows(b)
    assert len(ra) == len(rb) == 300
    assert [r[1] for r in ra] == list(range(1, 301))
    for x, y in zip(ra, rb):
        assert x[1] == y[1] and x[2].keys() == y[2].keys() and x[3].keys() == y[3].keys()
        assert x[2] == y[2], "simulated readings are deterministic"
        assert x[4] == y[4] == {}
    uids = [u for p in a for u in p["uid"]]
    assert len(set(uids)) == 300
    assert all(uuid.UUID(u).version == 4 for u in uids)
    times = [t for p in a for t in p["time"]]
    assert times == sorted(times)


def test_a_lossless_subscriber_turns_the_rows_off(RE) -> None:
    # the lossless lane needs each event as a document: then pages are folded from them
    events: list[dict[str, Any]] = []
    token = RE.subscribe_lossless(lambda n, d: events.append(d) if n == "event" else None)
    pages = Pages()
    try:
        RE(count([det], num=50), pages)
    finally:
        RE.unsubscribe(token)
    got = _rows(pages.pages())
    assert [r[1] for r in got] == list(range(1, 51))
    assert [p for p in pages.pages() for p in p["uid"]] == [e["uid"] for e in events]


def test_rows_and_event_documents_of_one_stream_stay_in_order() -> None:
    # an event document (a slow path of the engine) between rows of the same stream:
    # one page, in the order taken
    disp = Dispatcher()
    sub = Pages()
    disp.subscribe(sub)
    lane = disp.lossy
    assert lane.row_sink is not None
    comp = RunComposer({})
    desc = comp.descriptor("primary", {"x": {"dtype": "number", "shape": [], "source": "s"}})

    def reading(v: float) -> dict[str, Any]:
        return {"x": {"value": v, "timestamp": 100.0 + v}}

    lane.row_sink(desc, comp.next_seq(desc), reading(1))
    lane.row_sink(desc, comp.next_seq(desc), reading(2))
    ev = comp.event(desc, {"x": 3}, {"x": 103.0})
    lane.emit_event(dict(ev))
    lane.row_sink(desc, comp.next_seq(desc), reading(4))
    lane.drain(force=True)
    (page,) = sub.pages()
    assert page["seq_num"] == [1, 2, 3, 4]
    assert page["data"] == {"x": [1, 2, 3, 4]}
    assert page["timestamps"] == {"x": [101.0, 102.0, 103.0, 104.0]}
    assert page["uid"][2] == ev["uid"] and len(set(page["uid"])) == 4
    assert page["filled"] == {}


def test_rows_with_other_keys_start_a_new_page() -> None:
    disp = Dispatcher()
    sub = Pages()
    disp.subscribe(sub)
    comp = RunComposer({})
    dk = {"dtype": "number", "shape": [], "source": "s"}
    desc = comp.descriptor("primary", {"x": dk, "y": dk})
    sink = disp.lossy.row_sink
    sink(desc, comp.next_seq(desc), {"x": {"value": 1, "timestamp": 1.0}})
    two = {"x": {"value": 2, "timestamp": 2.0}, "y": {"value": 0, "timestamp": 2.0}}
    sink(desc, comp.next_seq(desc), two)
    disp.lossy.drain(force=True)
    assert [p["data"] for p in sub.pages()] == [{"x": [1]}, {"x": [2], "y": [0]}]


def test_rows_of_arrays_reach_editing_subscribers_read_only(RE) -> None:
    # a page subscriber that may edit (no mutates_documents = False) gets arrays as
    # read-only views, as from event documents
    frame = np.zeros(3)

    class Arr:
        name = "arr"
        parent = None

        def read(self):
            return {"arr": {"value": frame, "timestamp": 1.0}}

        def describe(self):
            return {"arr": {"dtype": "array", "shape": [3], "source": "sim"}}

    got = []

    class Editor:
        accepts_event_pages = True

        def __call__(self, name, doc):
            if name == "event_page":
                got.extend(doc["data"]["arr"])

    RE(count([Arr()], num=3), Editor())
    assert len(got) == 3
    assert all(not a.flags.writeable for a in got)
    assert frame.flags.writeable
