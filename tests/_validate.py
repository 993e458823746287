"""Validate documents against event-model's JSON schemas and their ordering rules."""

from __future__ import annotations

from typing import Any

import event_model
import numpy as np


def _jsonish(doc: dict[str, Any]) -> dict[str, Any]:
    """Replace numpy arrays in event data by a tiny list (the schemas only type the
    containers; big frames would make validation slow)."""
    if "data" in doc and isinstance(doc["data"], dict):
        data = {k: ([0] if isinstance(v, np.ndarray) else v) for k, v in doc["data"].items()}
        return {**doc, "data": data}
    return doc


class DocumentValidator:
    """A lossless subscriber that checks every document it gets.

    Schema: ``event_model.schema_validators``. Order: start first; descriptor before its
    events; resource before its datums; datum before the event that names it; seq_num
    counting from 1 per descriptor; stop last with ``num_events`` equal to the counts.
    """

    def __init__(self) -> None:
        self.count = 0
        self.runs = 0
        self._reset()

    def _reset(self) -> None:
        self.start: dict[str, Any] | None = None
        self.descriptors: dict[str, dict[str, Any]] = {}
        self.seq: dict[str, int] = {}
        self.per_stream: dict[str, int] = {}
        self.resources: set[str] = set()
        self.datums: set[str] = set()

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        validator = event_model.schema_validators[event_model.DocumentNames[name]]
        validator.validate(_jsonish(doc))
        self.count += 1
        getattr(self, f"_{name}")(doc)

    def _start(self, doc: dict[str, Any]) -> None:
        assert self.start is None, "a start document arrived while a run was open"
        self.start = doc
        self.runs += 1

    def _descriptor(self, doc: dict[str, Any]) -> None:
        assert self.start is not None and doc["run_start"] == self.start["uid"]
        self.descriptors[doc["uid"]] = doc
        self.seq[doc["uid"]] = 0
        self.per_stream.setdefault(doc.get("name", "primary"), 0)

    def _resource(self, doc: dict[str, Any]) -> None:
        assert self.start is not None and doc["run_start"] == self.start["uid"]
        self.resources.add(doc["uid"])

    def _datum(self, doc: dict[str, Any]) -> None:
        assert doc["resource"] in self.resources, "datum before its resource"
        self.datums.add(doc["datum_id"])

    def _event(self, doc: dict[str, Any]) -> None:
        desc = self.descriptors[doc["descriptor"]]
        assert set(doc["data"]) == set(desc["data_keys"]), "event keys differ from data_keys"
        assert set(doc["timestamps"]) == set(desc["data_keys"])
        self.seq[doc["descriptor"]] += 1
        assert doc["seq_num"] == self.seq[doc["descriptor"]], "seq_num out of order"
        self.per_stream[desc.get("name", "primary")] += 1
        for key, filled in (doc.get("filled") or {}).items():
            if not filled:
                assert doc["data"][key] in self.datums, f"event names unknown datum for {key}"

    def _stop(self, doc: dict[str, Any]) -> None:
        assert self.start is not None and doc["run_start"] == self.start["uid"]
        assert doc["num_events"] == self.per_stream, (doc["num_events"], self.per_stream)
        self._reset()


def validate(documents: list[tuple[str, dict[str, Any]]]) -> DocumentValidator:
    """Validate a whole list of ``(name, doc)``; returns the validator for its counts."""
    v = DocumentValidator()
    for name, doc in documents:
        v(name, doc)
    return v
