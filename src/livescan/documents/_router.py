"""DocumentRouter: dispatch ``(name, doc)`` to a method named after the document."""

from __future__ import annotations

from typing import Any

__all__ = ["DOCUMENT_NAMES", "DocumentRouter", "pack_event_page", "unpack_event_page"]

#: Every document name livescan emits or accepts.
DOCUMENT_NAMES = (
    "start",
    "descriptor",
    "event",
    "event_page",
    "resource",
    "datum",
    "datum_page",
    "stream_resource",
    "stream_datum",
    "stop",
)


def unpack_event_page(page: dict[str, Any]) -> list[dict[str, Any]]:
    """Split an ``event_page`` (column-wise) into event documents (row-wise)."""
    data, timestamps = page["data"], page["timestamps"]
    filled = page.get("filled")
    events = []
    for i, uid in enumerate(page["uid"]):
        event = {
            "uid": uid,
            "time": page["time"][i],
            "descriptor": page["descriptor"],
            "seq_num": page["seq_num"][i],
            "data": {k: v[i] for k, v in data.items()},
            "timestamps": {k: v[i] for k, v in timestamps.items()},
        }
        if filled is not None:  # as event_model: a page with filled gives events with it
            event["filled"] = {k: v[i] for k, v in filled.items()}
        events.append(event)
    return events


def pack_event_page(*events: dict[str, Any]) -> dict[str, Any]:
    """Join events of one descriptor into an ``event_page``."""
    if not events:
        raise ValueError("pack_event_page needs at least one event")
    keys = list(events[0]["data"])
    page: dict[str, Any] = {
        "descriptor": events[0]["descriptor"],
        "uid": [e["uid"] for e in events],
        "time": [e["time"] for e in events],
        "seq_num": [e["seq_num"] for e in events],
        "data": {k: [e["data"][k] for e in events] for k in keys},
        "timestamps": {k: [e["timestamps"][k] for e in events] for k in keys},
    }
    if any("filled" in e for e in events):
        fkeys = {k for e in events for k in e.get("filled", {})}
        page["filled"] = {k: [e.get("filled", {}).get(k, True) for e in events] for k in fkeys}
    return page


def _unpack_datum_page(page: dict[str, Any]) -> list[dict[str, Any]]:
    kwargs = page["datum_kwargs"]
    return [
        {
            "datum_id": datum_id,
            "resource": page["resource"],
            "datum_kwargs": {k: v[i] for k, v in kwargs.items()},
        }
        for i, datum_id in enumerate(page["datum_id"])
    ]


class DocumentRouter:
    """Call the method named after each document: ``start``, ``descriptor``, ``event``, …

    Subclasses override only what they need. Where a subclass defines ``event`` but not
    ``event_page``, event pages are unpacked into events (and ``datum_page`` into
    ``datum``); where it defines only ``event_page``, each event arrives as a page of one.
    Unknown document names raise ``KeyError``.
    """

    def __call__(self, name: str, doc: dict[str, Any]) -> Any:
        if name not in DOCUMENT_NAMES:
            raise KeyError(f"{name!r} is not a document name; expected one of {DOCUMENT_NAMES}")
        return getattr(self, name)(doc)

    def start(self, doc: dict[str, Any]) -> Any:
        """Handle a start document (the base class ignores it)."""
        return None

    def descriptor(self, doc: dict[str, Any]) -> Any:
        """Handle a descriptor document (the base class ignores it)."""
        return None

    def event(self, doc: dict[str, Any]) -> Any:
        """Handle an event (by default handed to ``event_page`` as a page of one, if overridden)."""
        if _overrides(self, "event_page"):
            return self.event_page(pack_event_page(doc))
        return None

    def event_page(self, doc: dict[str, Any]) -> Any:
        """Handle an event page (by default unpacked into ``event`` calls, if overridden)."""
        if _overrides(self, "event"):
            for event in unpack_event_page(doc):
                self.event(event)
        return None

    def resource(self, doc: dict[str, Any]) -> Any:
        """Handle a resource document (the base class ignores it)."""
        return None

    def datum(self, doc: dict[str, Any]) -> Any:
        """Handle a datum document (the base class ignores it)."""
        return None

    def datum_page(self, doc: dict[str, Any]) -> Any:
        """Handle a datum page (by default unpacked into ``datum`` calls, if overridden)."""
        if _overrides(self, "datum"):
            for datum in _unpack_datum_page(doc):
                self.datum(datum)
        return None

    def stream_resource(self, doc: dict[str, Any]) -> Any:
        """Handle a stream_resource document (a file a detector writes; ignored here)."""
        return None

    def stream_datum(self, doc: dict[str, Any]) -> Any:
        """Handle a stream_datum document (rows of a stream_resource; ignored here)."""
        return None

    def stop(self, doc: dict[str, Any]) -> Any:
        """Handle a stop document (the base class ignores it)."""
        return None


def _overrides(obj: object, name: str) -> bool:
    return getattr(type(obj), name) is not getattr(DocumentRouter, name)
