"""The documents' shapes as TypedDicts, for type checkers and readers (event-model's schema).

At run time every document is a plain ``dict``; these say which keys it always has
(required) and which it may have. A start document also carries the user's metadata, any
key: read those with ``doc.get(...)`` on a ``dict[str, Any]``-typed view.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict, cast

__all__ = [
    "DataKey",
    "Datum",
    "Document",
    "Event",
    "EventDescriptor",
    "EventPage",
    "ExitStatus",
    "Resource",
    "RunStart",
    "RunStop",
    "as_dict",
]

ExitStatus = Literal["success", "abort", "fail"]


class DataKey(TypedDict):
    """What one field of an event stream holds: type, shape, where it comes from."""

    dtype: str  # "number" | "integer" | "string" | "boolean" | "array"
    shape: list[int]
    source: str
    dtype_numpy: NotRequired[str]
    external: NotRequired[str]  # e.g. "FILESTORE:": the event holds a datum id
    precision: NotRequired[int]
    units: NotRequired[str]
    dims: NotRequired[list[str]]
    object_name: NotRequired[str]
    limits: NotRequired[dict[str, Any]]


class RunStart(TypedDict):
    """The first document of a run: its uid, time and metadata."""

    uid: str
    time: float
    scan_id: NotRequired[int]
    plan_name: NotRequired[str]
    plan_type: NotRequired[str]
    plan_args: NotRequired[dict[str, Any]]
    detectors: NotRequired[list[str]]
    motors: NotRequired[list[str]]
    num_points: NotRequired[int]
    num_intervals: NotRequired[int]
    hints: NotRequired[dict[str, Any]]


class EventDescriptor(TypedDict):
    """Opens an event stream (``name``, e.g. ``primary``) and describes its fields."""

    uid: str
    time: float
    run_start: str
    data_keys: dict[str, DataKey]
    name: NotRequired[str]
    object_keys: NotRequired[dict[str, list[str]]]
    configuration: NotRequired[dict[str, Any]]
    hints: NotRequired[dict[str, Any]]
    object_classes: NotRequired[dict[str, Any]]


class Event(TypedDict):
    """One reading of every field of a stream (``seq_num`` counts from 1)."""

    uid: str
    time: float
    descriptor: str
    seq_num: int
    data: dict[str, Any]
    timestamps: dict[str, float]
    filled: NotRequired[dict[str, bool | str]]


class EventPage(TypedDict):
    """Several events of one stream, column-wise (each key holds a list)."""

    uid: list[str]
    time: list[float]
    descriptor: str
    seq_num: list[int]
    data: dict[str, list[Any]]
    timestamps: dict[str, list[float]]
    filled: NotRequired[dict[str, list[bool]]]


class Resource(TypedDict):
    """A file (``root``/``resource_path``) that datums point into, read with ``spec``."""

    uid: str
    spec: str
    root: str
    resource_path: str
    resource_kwargs: dict[str, Any]
    path_semantics: NotRequired[str]
    run_start: NotRequired[str]


class Datum(TypedDict):
    """Where one piece of data lives inside a resource."""

    datum_id: str
    resource: str
    datum_kwargs: dict[str, Any]


class RunStop(TypedDict):
    """The last document of a run: how it ended and how many events each stream got."""

    uid: str
    time: float
    run_start: str
    exit_status: ExitStatus
    reason: NotRequired[str]
    num_events: NotRequired[dict[str, int]]


#: Any one document, as the composer makes it.
Document = RunStart | EventDescriptor | Event | EventPage | Resource | Datum | RunStop


def as_dict(doc: Document | dict[str, Any]) -> dict[str, Any]:
    """A document as the plain ``dict`` it is at run time (no copy), for callbacks.

    Type checkers treat a TypedDict as a read-only ``Mapping``; callbacks take
    ``dict[str, Any]``. This is the one place the engine crosses from one to the other.
    """
    return cast("dict[str, Any]", doc)
