"""Check documents against event-model's JSON schemas and the order a run must keep."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from livescan.documents import to_jsonable, unpack_event_page


def check_schema(name: str, doc: dict[str, Any]) -> None:
    """Validate one document with event-model's JSON schema for ``name``.

    Arrays in event data are replaced by a one-item list first: the schemas only type the
    containers, and validating big frames item by item would be slow.
    """
    try:
        import event_model
    except ImportError as exc:  # pragma: no cover - event-model is a test dependency
        raise ImportError(
            "livescan.testing validates documents with event-model: "
            "pip install event-model (or livescan[test])"
        ) from exc
    validator = event_model.schema_validators[event_model.DocumentNames[name]]
    validator.validate(to_jsonable(_small(doc)))


def _small(doc: dict[str, Any]) -> dict[str, Any]:
    if "data" in doc and isinstance(doc["data"], dict):
        data = {k: ([0] if isinstance(v, np.ndarray) else v) for k, v in doc["data"].items()}
        return {**doc, "data": data}
    return doc


def _require(condition: bool, message: str) -> None:
    if not condition:  # an explicit raise: python -O must not turn the checks off
        raise AssertionError(message)


class DocumentValidator:
    """A subscriber that checks every document it gets; raises ``AssertionError`` if not.

    Schema: :func:`check_schema`. Order: start first; descriptor before its events;
    resource before its datums; datum before the event that names it; ``seq_num`` counting
    from 1 per stream (back after a rewind: a retaken point); stream_datum ``seq_nums``
    going on from the stream's rows; stop last with ``num_events`` equal to each stream's
    last seq_num (or the rows its stream_datum documents cover; at most that for the
    ``interruptions`` stream, whose count a rewind takes back).
    Subscribe it lossless (``RE.subscribe_lossless(validator)``) so a bad document fails
    the run.
    """

    def __init__(self) -> None:
        self.count = 0  # documents checked
        self.runs = 0  # start documents seen
        self._open: dict[str, dict[str, Any]] = {}  # run uid -> its checks' state
        self._run_of: dict[str, str] = {}  # descriptor / resource uid -> run uid
        self._reset()

    def _reset(self) -> None:
        self.start: dict[str, Any] | None = None
        self.descriptors: dict[str, dict[str, Any]] = {}
        self.seq: dict[str, int] = {}
        self.per_stream: dict[str, int] = {}
        self.rows: dict[str, int] = {}  # rows covered by stream_datum, per stream
        self.resources: set[str] = set()
        self.datums: set[str] = set()

    _STATE = ("start", "descriptors", "seq", "per_stream", "rows", "resources", "datums")

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        """Check one ``(name, doc)``."""
        check_schema(name, doc)
        self.count += 1
        if name != "start":
            self._use(self._run_uid(name, doc))
        getattr(self, f"_{name}")(doc)

    def _run_uid(self, name: str, doc: dict[str, Any]) -> str | None:
        """The run a document belongs to (several runs may be open: bluesky's run keys)."""
        if "run_start" in doc:
            return doc["run_start"]
        key = {"datum": "resource", "stream_datum": "stream_resource"}.get(name, "descriptor")
        return self._run_of.get(doc.get(key) or "")

    def _use(self, uid: str | None) -> None:
        current = self.start["uid"] if self.start is not None else None
        if uid == current or uid not in self._open:
            return  # (a document of no open run fails its own check)
        if current is not None:
            self._open[current] = {f: getattr(self, f) for f in self._STATE}
        for f, value in self._open.pop(uid).items():
            setattr(self, f, value)

    def _start(self, doc: dict[str, Any]) -> None:
        current = self.start["uid"] if self.start is not None else None
        _require(doc["uid"] not in self._open and doc["uid"] != current, "a start arrived twice")
        if self.start is not None:  # another run is open too (bluesky's run keys)
            self._open[self.start["uid"]] = {f: getattr(self, f) for f in self._STATE}
            self._reset()
        self.start = doc
        self.runs += 1

    def _in_run(self, doc: dict[str, Any], name: str) -> None:
        _require(
            self.start is not None and doc["run_start"] == self.start["uid"],
            f"a {name} document that belongs to no open run",
        )
        if name != "stop":
            self._run_of[doc["uid"]] = doc["run_start"]

    def _descriptor(self, doc: dict[str, Any]) -> None:
        self._in_run(doc, "descriptor")
        self.descriptors[doc["uid"]] = doc
        self.per_stream.setdefault(doc.get("name", "primary"), 0)

    def _resource(self, doc: dict[str, Any]) -> None:
        self._in_run(doc, "resource")
        self.resources.add(doc["uid"])

    def _datum(self, doc: dict[str, Any]) -> None:
        _require(doc["resource"] in self.resources, "datum before its resource")
        self.datums.add(doc["datum_id"])

    def _stream_resource(self, doc: dict[str, Any]) -> None:
        self._in_run(doc, "stream_resource")
        self.resources.add(doc["uid"])

    def _stream_datum(self, doc: dict[str, Any]) -> None:
        _require(doc["stream_resource"] in self.resources, "stream_datum before its resource")
        _require(doc["descriptor"] in self.descriptors, "stream_datum names no descriptor")
        stream = self.descriptors[doc["descriptor"]].get("name", "primary")
        start, stop = doc["seq_nums"]["start"], doc["seq_nums"]["stop"]
        width = doc["indices"]["stop"] - doc["indices"]["start"]
        _require(stop - start == width, "stream_datum seq_nums and indices differ in width")
        done = max(self.rows.get(stream, 0), self.seq.get(stream, 0))
        _require(1 <= start <= done + 1, "stream_datum seq_nums out of order")
        self.rows[stream] = max(self.rows.get(stream, 0), stop - 1)

    def _event(self, doc: dict[str, Any]) -> None:
        _require(doc["descriptor"] in self.descriptors, "event before its descriptor")
        desc = self.descriptors[doc["descriptor"]]
        # keys whose data come in stream_datum documents are not in events
        keys = {k for k, dk in desc["data_keys"].items() if dk.get("external") != "STREAM:"}
        _require(set(doc["data"]) == keys, "event data keys differ from data_keys")
        _require(set(doc["timestamps"]) == keys, "event timestamps differ from data_keys")
        # seq_num counts per stream: a new descriptor (after `configure`) goes on counting
        # (a pause that rewinds to the last checkpoint retakes points: their seq_num again)
        stream = desc.get("name", "primary")
        expected = self.seq.get(stream, 0) + 1
        _require(1 <= doc["seq_num"] <= expected, "seq_num out of order")
        self.seq[stream] = doc["seq_num"]
        # num_events is the stream's last seq_num (a retaken point is not counted twice)
        self.per_stream[stream] = max(self.per_stream[stream], doc["seq_num"])
        for key, filled in (doc.get("filled") or {}).items():
            if not filled:
                _require(doc["data"][key] in self.datums, f"event names unknown datum for {key}")

    def _event_page(self, doc: dict[str, Any]) -> None:
        for event in unpack_event_page(doc):
            self._event(event)

    def _stop(self, doc: dict[str, Any]) -> None:
        self._in_run(doc, "stop")
        counts = {s: max(n, self.rows.get(s, 0)) for s, n in self.per_stream.items()}
        if "interruptions" in counts:  # as bluesky, a rewind rewinds its count too
            counts["interruptions"] = min(
                counts["interruptions"], doc["num_events"].get("interruptions", 0)
            )
        _require(
            doc["num_events"] == counts,
            f"stop's num_events {doc['num_events']} != events seen {counts}",
        )
        self._reset()
        if self._open:  # back to a run still open
            for f, value in self._open.popitem()[1].items():
                setattr(self, f, value)


def validate_documents(documents: Iterable[tuple[str, dict[str, Any]]]) -> DocumentValidator:
    """Validate a whole sequence of ``(name, doc)``; returns the validator for its counts."""
    validator = DocumentValidator()
    for name, doc in documents:
        validator(name, doc)
    return validator
