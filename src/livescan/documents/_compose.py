"""RunComposer: builds the documents of one run (uids, seq_num, num_events).

It is deliberately small and fast (no schema validation per event); the test suite
validates every document it produces with ``event_model``.
"""

from __future__ import annotations

import os
import re
import time as ttime
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np

from livescan.documents._types import (
    DataKey,
    Datum,
    Event,
    EventDescriptor,
    EventPage,
    ExitStatus,
    Resource,
    RunStart,
    RunStop,
)
from livescan.errors import MetadataError

__all__ = ["RunComposer", "check_metadata_keys", "new_uid", "new_uids"]

_KEY = re.compile(r"^[^./]+$")


def new_uid() -> str:
    """A fresh uid: a random (version 4) UUID as a string, like ``str(uuid.uuid4())``.

    uids are made ``_BATCH`` at a time from one ``os.urandom`` call, formatted by numpy,
    and handed out with ``list.pop`` (atomic, so two threads never get the same one; a
    child process after fork starts a pool of its own): a tenth of ``uuid.uuid4()``."""
    try:
        return _pool.pop()
    except IndexError:
        _pool.extend(_uids(os.urandom(16 * _BATCH)))
        return _pool.pop()


def new_uids(n: int) -> list[str]:
    """``n`` fresh uids, as ``n`` calls of :func:`new_uid` (one ``list.pop`` each: safe
    across threads), the pool refilled in one go when it runs short."""
    pop = _pool.pop
    out: list[str] = []
    append = out.append
    try:
        for _ in range(n):
            append(pop())
    except IndexError:
        out.extend(_uids(os.urandom(16 * (n - len(out)))))
    return out


_BATCH = 1024
_pool: list[str] = []
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _uids(random: bytes) -> list[str]:
    """One version-4 uid string per 16 bytes of ``random``."""
    raw = np.frombuffer(random, dtype=np.uint8).reshape(-1, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # the RFC 4122 variant
    digits = np.empty((len(raw), 16, 2), dtype=np.uint8)
    digits[:, :, 0] = _HEX.take(raw >> 4)
    digits[:, :, 1] = _HEX.take(raw & 0x0F)
    hexes = digits.reshape(-1, 32)
    text = np.full((len(raw), 37), ord("-"), dtype=np.uint8)  # 8-4-4-4-12 and a space
    for a, b, at in ((0, 8, 0), (8, 12, 9), (12, 16, 14), (16, 20, 19), (20, 32, 24)):
        text[:, at : at + b - a] = hexes[:, a:b]
    text[:, 36] = ord(" ")
    return text.tobytes().decode("ascii").split()


os.register_at_fork(after_in_child=_pool.clear)


def check_metadata_keys(md: Mapping[str, Any], where: str = "metadata") -> None:
    """Raise :class:`MetadataError` for keys the start document cannot carry."""
    for key in md:
        if not isinstance(key, str) or not _KEY.match(key):
            raise MetadataError(
                f"{where} key {key!r} is not allowed: start-document keys must be "
                "non-empty strings without '.' or '/' (use e.g. 'sample_name')"
            )


class RunComposer:
    """Compose the documents of one run, in order.

    >>> run = RunComposer({"plan_name": "count", "scan_id": 1})
    >>> key = {"dtype": "number", "shape": [], "source": "SIM:det"}
    >>> desc = run.descriptor("primary", {"det": key})
    >>> ev = run.event(desc, {"det": 1.0}, {"det": 0.0})
    >>> stop = run.stop("success")
    """

    def __init__(
        self, metadata: Mapping[str, Any], *, uid: str | None = None, time: float | None = None
    ) -> None:
        doc = {k: v for k, v in metadata.items() if k not in ("uid", "time")}
        doc["uid"] = uid or new_uid()
        doc["time"] = ttime.time() if time is None else time
        # The metadata is the user's: any keys, checked by the engine before this.
        self.start_doc = cast(RunStart, {"uid": doc.pop("uid"), "time": doc.pop("time"), **doc})
        self.uid: str = self.start_doc["uid"]
        self._seq: dict[str, int] = {}  # stream name -> last seq_num
        self._stream_of: dict[str, str] = {}  # descriptor uid -> stream name
        self.num_events: dict[str, int] = {}
        self.descriptors: dict[str, EventDescriptor] = {}  # stream name -> descriptor
        self._datum_counters: dict[str, int] = {}
        self.stopped = False

    def start(self) -> RunStart:
        """The run's start document (made when the composer was created)."""
        return self.start_doc

    def descriptor(
        self,
        name: str,
        data_keys: Mapping[str, Mapping[str, Any]],
        *,
        object_keys: Mapping[str, list[str]] | None = None,
        configuration: Mapping[str, Any] | None = None,
        hints: Mapping[str, Any] | None = None,
        time: float | None = None,
    ) -> EventDescriptor:
        """A descriptor document opening the event stream ``name`` with these data keys."""
        doc: EventDescriptor = {
            "uid": new_uid(),
            "time": ttime.time() if time is None else time,
            "run_start": self.uid,
            "name": name,
            "data_keys": {k: cast(DataKey, dict(v)) for k, v in data_keys.items()},
            "object_keys": dict(object_keys or {}),
            "configuration": dict(configuration or {}),
            "hints": dict(hints or {}),
            "object_classes": {},  # bluesky sends it (empty) too
        }
        self._seq.setdefault(name, 0)  # a new descriptor of a stream goes on counting
        self._stream_of[doc["uid"]] = name
        self.num_events.setdefault(name, 0)
        self.descriptors[name] = doc
        return doc

    def event(
        self,
        descriptor: Mapping[str, Any],
        data: dict[str, Any],
        timestamps: dict[str, float],
        *,
        filled: dict[str, bool | str] | None = None,
        time: float | None = None,
    ) -> Event:
        """The next event of the stream ``descriptor`` opened (seq_num counts from 1)."""
        duid = descriptor["uid"]
        stream = self._stream_of[duid]
        seq = self._seq[stream] + 1
        self._seq[stream] = seq
        self.num_events[stream] += 1
        doc: Event = {
            "uid": new_uid(),
            "time": ttime.time() if time is None else time,
            "descriptor": duid,
            "seq_num": seq,
            "data": data,
            "timestamps": timestamps,
            "filled": filled if filled is not None else {},  # bluesky always sends it
        }
        return doc

    def next_seq(self, descriptor: Mapping[str, Any]) -> int:
        """Count one more event of the stream ``descriptor`` opened, as :meth:`event`
        does, without making its document; return its seq_num (for events gathered
        straight into event_page columns)."""
        stream = self._stream_of[descriptor["uid"]]
        seq = self._seq[stream] + 1
        self._seq[stream] = seq
        self.num_events[stream] += 1
        return seq

    def event_page(
        self,
        descriptor: Mapping[str, Any],
        events: Sequence[Mapping[str, Any]],
        *,
        filled: dict[str, list[bool]] | None = None,
    ) -> EventPage:
        """One event_page of ``events`` (each with ``data``, ``timestamps`` and maybe
        ``time``), columns per key, seq_nums going on from the stream's last one."""
        duid = descriptor["uid"]
        stream = self._stream_of[duid]
        first = self._seq[stream] + 1
        n = len(events)
        self._seq[stream] += n
        self.num_events[stream] += n
        keys = list(events[0]["data"]) if events else []
        now = ttime.time()
        return {
            "uid": [new_uid() for _ in range(n)],
            "time": [e.get("time", now) for e in events],
            "descriptor": duid,
            "seq_num": list(range(first, first + n)),
            "data": {k: [e["data"][k] for e in events] for k in keys},
            "timestamps": {k: [e["timestamps"][k] for e in events] for k in keys},
            "filled": dict(filled or {}),
        }

    def seq_counters(self) -> dict[str, int]:
        """The last seq_num of every stream (a checkpoint keeps it to rewind to)."""
        return dict(self._seq)

    def skip_seq(self, stream: str, rows: int) -> None:
        """Count ``rows`` of ``stream`` delivered by stream_datum documents (no events)."""
        self._seq[stream] = self._seq.get(stream, 0) + rows
        self.num_events[stream] = self.num_events.get(stream, 0) + rows

    def restore_seq(self, counters: dict[str, int]) -> None:
        """Go back to ``counters`` (events retaken after a rewind reuse their seq_num, and
        are not counted twice in the stop's ``num_events``, as bluesky)."""
        for stream in self._seq:
            self._seq[stream] = self.num_events[stream] = counters.get(stream, 0)

    def resource(
        self,
        spec: str,
        root: str,
        resource_path: str,
        resource_kwargs: Mapping[str, Any] | None = None,
        *,
        uid: str | None = None,
        path_semantics: str = "posix",
    ) -> Resource:
        """A resource document: a file (``root``/``resource_path``) that datums point into."""
        return {
            "uid": uid or new_uid(),
            "spec": spec,
            "root": root,
            "resource_path": resource_path,
            "resource_kwargs": dict(resource_kwargs or {}),
            "path_semantics": path_semantics,
            "run_start": self.uid,
        }

    def datum(self, resource: Mapping[str, Any], datum_kwargs: Mapping[str, Any]) -> Datum:
        """The next datum document in ``resource``: how to find one piece of data in it."""
        ruid = resource["uid"]
        i = self._datum_counters.get(ruid, 0)
        self._datum_counters[ruid] = i + 1
        return {"datum_id": f"{ruid}/{i}", "resource": ruid, "datum_kwargs": dict(datum_kwargs)}

    def stop(
        self, exit_status: ExitStatus = "success", reason: str = "", *, time: float | None = None
    ) -> RunStop:
        """The stop document: how the run ended and the number of events per stream."""
        if exit_status not in ("success", "abort", "fail"):
            raise ValueError(
                f"exit_status must be 'success', 'abort' or 'fail', not {exit_status!r}"
            )
        self.stopped = True
        return {
            "uid": new_uid(),
            "time": ttime.time() if time is None else time,
            "run_start": self.uid,
            "exit_status": exit_status,
            "reason": reason,
            "num_events": dict(self.num_events),
        }
