"""A recording fake comm: every widget message counted, sized, and replayable into state.

``CommRecorder.install(monkeypatch)`` makes ipywidgets open :class:`RecordingComm`
objects instead of talking to a kernel. The recorder keeps every message
(``comm_open``, ``comm_msg``, ``comm_close``) with its JSON size and binary buffers, and
reconstructs what the frontend would hold: :meth:`CommRecorder.state` applies the
open state and every ``update`` in order, putting binary buffers back at their paths.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import comm
import numpy as np
from comm.base_comm import BaseComm


@dataclass
class Message:
    comm_id: str
    msg_type: str  # comm_open | comm_msg | comm_close
    data: dict[str, Any]
    buffers: list[bytes]
    t: float

    @property
    def size(self) -> int:
        """Bytes on the wire: the JSON content plus every binary buffer."""
        return len(json.dumps(self.data, default=str)) + sum(len(b) for b in self.buffers)

    @property
    def method(self) -> str | None:
        return (self.data or {}).get("method")


class RecordingComm(BaseComm):
    recorder: CommRecorder

    def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
        bufs = [bytes(memoryview(b).cast("B")) for b in (buffers or [])]
        self.recorder.messages.append(
            Message(
                self.comm_id,
                msg_type,
                json.loads(json.dumps(data or {}, default=str)),
                bufs,
                time.monotonic(),
            )
        )

    def simulate(self, content: dict[str, Any]) -> None:
        """Deliver a message from the browser (e.g. a button click) to the widget."""
        self.handle_msg({"content": {"comm_id": self.comm_id, "data": content}, "buffers": []})


@dataclass
class CommRecorder:
    messages: list[Message] = field(default_factory=list)
    comms: dict[str, RecordingComm] = field(default_factory=dict)

    def install(self, monkeypatch) -> CommRecorder:
        recorder = self

        def create_comm(*args, **kwargs):
            c = _Recording(*args, **kwargs)
            return c

        class _Recording(RecordingComm):
            def __init__(self, *args, **kwargs):
                self.recorder = recorder
                super().__init__(*args, **kwargs)
                recorder.comms[self.comm_id] = self

        monkeypatch.setattr(comm, "create_comm", create_comm)
        return self

    # -- queries -----------------------------------------------------------------------
    def clear(self) -> None:
        self.messages.clear()

    def for_widget(self, widget, *, method: str | None = "update") -> list[Message]:
        mid = widget.model_id
        return [
            m for m in self.messages
            if m.comm_id == mid and (method is None or m.method == method)
        ]  # fmt: skip

    def total_bytes(self, messages: list[Message] | None = None) -> int:
        return sum(m.size for m in (self.messages if messages is None else messages))

    def updates(self) -> list[Message]:
        return [m for m in self.messages if m.msg_type == "comm_msg" and m.method == "update"]

    def state(self, widget_or_id) -> dict[str, Any]:
        """The state the frontend holds for one model after every message so far."""
        history = self.history(widget_or_id)
        return history[-1] if history else {}

    def replay(self):
        """Walk the messages in order as the frontend receives them: yields
        ``(message, states)`` after each one, ``states`` mapping every comm id to the state
        its model holds at that moment (closed models are removed)."""
        states: dict[str, dict[str, Any]] = {}
        for m in self.messages:
            if m.msg_type == "comm_close":
                states.pop(m.comm_id, None)
            elif m.msg_type == "comm_open" or m.method == "update":
                part = json.loads(json.dumps(m.data.get("state", {})))
                for path, buf in zip(m.data.get("buffer_paths", []), m.buffers):
                    _put(part, path, buf)
                states.setdefault(m.comm_id, {}).update(part)
            yield m, states

    def history(self, widget_or_id) -> list[dict[str, Any]]:
        """Every state one model went through, from its comm_open on (copies)."""
        mid = widget_or_id if isinstance(widget_or_id, str) else widget_or_id.model_id
        return [dict(states[mid]) for m, states in self.replay() if m.comm_id == mid
                and mid in states]  # fmt: skip

    def array(self, widget, name: str) -> np.ndarray:
        """A bqplot array trait (``{'value': buffer, 'dtype', 'shape'}``) as the browser has it."""
        v = self.state(widget)[name]
        return np.frombuffer(v["value"], dtype=v["dtype"]).reshape(v["shape"])


def _put(obj: Any, path: list, value: Any) -> None:
    for key in path[:-1]:
        obj = obj[key]
    obj[path[-1]] = value
