"""Helpers shared by the interop tests: both LiveTables on one document list, recorders."""

from __future__ import annotations

from typing import Any

import event_model
from bluesky.callbacks import LiveTable as BlueskyLiveTable
from bluesky.callbacks.core import CallbackBase as BlueskyCallbackBase

from livescan.callbacks import CallbackBase, DocumentCollector, LiveTable

Docs = list[tuple[str, dict[str, Any]]]


def nonempty(lines: list[str]) -> list[str]:
    """The lines that are not blank (bluesky prints separator blank lines)."""
    return [line for line in lines if line.strip()]


def bluesky_table(docs: Docs, fields: list[str], **kwargs: Any) -> list[str]:
    """bluesky's own LiveTable output on ``docs``, blank lines dropped."""
    lines: list[str] = []
    table = BlueskyLiveTable(fields, out=lines.append, **kwargs)
    for name, doc in docs:
        table(name, doc)
    return nonempty(lines)


def livescan_table(docs: Docs, fields: list[str], **kwargs: Any) -> list[str]:
    """livescan's text LiveTable output on ``docs``."""
    lines: list[str] = []
    table = LiveTable(fields, view="text", out=lines.append, **kwargs)
    for name, doc in docs:
        table(name, doc)
    return nonempty(lines)


def schema_validate(docs: Docs) -> None:
    """Validate each document with event_model's JSON schema for its name."""
    for name, doc in docs:
        event_model.schema_validators[event_model.DocumentNames[name]].validate(doc)


class _Recording:
    """Methods named after documents that record ``(name, doc)`` in ``self.seen``."""

    seen: Docs

    def _record(self, name: str, doc: dict[str, Any]) -> None:
        self.seen.append((name, doc))

    def start(self, doc: dict[str, Any]) -> None:
        self._record("start", doc)

    def descriptor(self, doc: dict[str, Any]) -> None:
        self._record("descriptor", doc)

    def resource(self, doc: dict[str, Any]) -> None:
        self._record("resource", doc)

    def datum(self, doc: dict[str, Any]) -> None:
        self._record("datum", doc)

    def event(self, doc: dict[str, Any]) -> None:
        self._record("event", doc)

    def stop(self, doc: dict[str, Any]) -> None:
        self._record("stop", doc)


class Recorder(_Recording, CallbackBase):
    """A livescan CallbackBase that records which method got which document."""

    def __init__(self) -> None:
        self.seen: Docs = []


class BlueskyRecorder(_Recording, BlueskyCallbackBase):
    """bluesky's CallbackBase, recording the same way."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: Docs = []


def run_lossless(RE: Any, plan: Any, *callbacks: Any) -> DocumentCollector:
    """Run ``plan`` on livescan's ``RE`` with ``callbacks`` on the lossless lane (every
    document, in order); returns all the documents. The run must succeed."""
    docs = DocumentCollector()
    tokens = [RE.subscribe_lossless(cb) for cb in (docs, *callbacks)]
    try:
        result = RE(plan)
    finally:
        for token in tokens:
            RE.unsubscribe_lossless(token)
    assert result.exit_status == "success", result.reason
    assert len(result) == 1 and result[0] == docs.start["uid"]
    return docs


def same_documents(got: Docs, expected: Docs) -> bool:
    """True if ``got`` is ``expected``: same names, the very same document objects."""
    return len(got) == len(expected) and all(
        gn == en and gd is ed for (gn, gd), (en, ed) in zip(got, expected)
    )
