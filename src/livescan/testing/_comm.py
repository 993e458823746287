"""A recording fake comm: every widget message counted, sized, and replayable into state.

:class:`CommRecorder` makes ipywidgets open :class:`RecordingComm` objects instead of
talking to a kernel. The recorder keeps every message (``comm_open``, ``comm_msg``,
``comm_close``) with its JSON size and binary buffers, and rebuilds what the frontend would
hold: :meth:`CommRecorder.state` applies the open state and every ``update`` in order,
putting binary buffers back at their paths.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import comm
import numpy as np
from comm.base_comm import BaseComm


class _MonkeyPatch(Protocol):
    """What :meth:`CommRecorder.install` needs of pytest's ``monkeypatch`` fixture."""

    def setattr(self, target: Any, name: str, value: Any) -> None: ...


class _HasModelId(Protocol):
    model_id: str


@dataclass
class CommMessage:
    """One message a widget sent to the browser, as recorded."""

    comm_id: str
    msg_type: str  # comm_open | comm_msg | comm_close
    data: dict[str, Any]
    buffers: list[bytes]
    t: float  # time.monotonic() when it was sent

    @property
    def size(self) -> int:
        """Bytes on the wire: the JSON content plus every binary buffer."""
        return len(json.dumps(self.data, default=str)) + sum(len(b) for b in self.buffers)

    @property
    def method(self) -> str | None:
        """The ``method`` of a ``comm_msg`` (``update``, ``custom``, …), else ``None``."""
        return (self.data or {}).get("method")


class RecordingComm(BaseComm):
    """A comm that records what it would publish in its :class:`CommRecorder`."""

    recorder: CommRecorder

    def publish_msg(
        self,
        msg_type: str,
        data: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        buffers: list[Any] | None = None,
        **keys: Any,
    ) -> None:
        """Record the message instead of sending it."""
        bufs = [bytes(memoryview(b).cast("B")) for b in (buffers or [])]
        content = json.loads(json.dumps(data or {}, default=str))
        message = CommMessage(self.comm_id, msg_type, content, bufs, time.monotonic())
        self.recorder.messages.append(message)

    def simulate(self, content: dict[str, Any]) -> None:
        """Deliver a message from the browser (e.g. a button click) to the widget."""
        self.handle_msg({"content": {"comm_id": self.comm_id, "data": content}, "buffers": []})


@dataclass
class CommRecorder:
    """Records every widget message sent while installed; rebuilds the browser's state.

    In pytest: ``recorder = CommRecorder().install(monkeypatch)`` (undone with the test).
    Elsewhere: ``with CommRecorder() as recorder: ...``.
    """

    messages: list[CommMessage] = field(default_factory=list)
    comms: dict[str, RecordingComm] = field(default_factory=dict)
    _saved: Any = field(default=None, repr=False)

    def install(self, monkeypatch: _MonkeyPatch | None = None) -> CommRecorder:
        """Make every comm opened from now on a recording one (``monkeypatch`` undoes it)."""
        recorder = self

        class _Recording(RecordingComm):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                self.recorder = recorder
                super().__init__(*args, **kwargs)
                recorder.comms[self.comm_id] = self

        def create_comm(*args: Any, **kwargs: Any) -> RecordingComm:
            return _Recording(*args, **kwargs)

        if monkeypatch is not None:
            monkeypatch.setattr(comm, "create_comm", create_comm)
        else:
            if self._saved is None:
                self._saved = comm.create_comm
            comm.create_comm = create_comm
        return self

    def uninstall(self) -> None:
        """Put back the comm factory that :meth:`install` replaced (without monkeypatch)."""
        if self._saved is not None:
            comm.create_comm, self._saved = self._saved, None

    def __enter__(self) -> CommRecorder:
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    # -- queries -----------------------------------------------------------------------
    def clear(self) -> None:
        """Forget the messages recorded so far (the comms stay)."""
        self.messages.clear()

    def for_widget(
        self, widget: _HasModelId, *, method: str | None = "update"
    ) -> list[CommMessage]:
        """The messages of one widget, only those with ``method`` unless it is ``None``."""
        mid = widget.model_id
        return [
            m for m in self.messages
            if m.comm_id == mid and (method is None or m.method == method)
        ]  # fmt: skip

    def total_bytes(self, messages: list[CommMessage] | None = None) -> int:
        """Bytes on the wire of ``messages`` (default: every message recorded)."""
        return sum(m.size for m in (self.messages if messages is None else messages))

    def updates(self) -> list[CommMessage]:
        """Every state ``update`` message, all widgets together."""
        return [m for m in self.messages if m.msg_type == "comm_msg" and m.method == "update"]

    def state(self, widget_or_id: _HasModelId | str) -> dict[str, Any]:
        """The state the frontend holds for one model after every message so far."""
        history = self.history(widget_or_id)
        return history[-1] if history else {}

    def replay(self) -> Iterator[tuple[CommMessage, dict[str, dict[str, Any]]]]:
        """Walk the messages in order as the frontend receives them.

        Yields ``(message, states)`` after each one, ``states`` mapping every comm id to the
        state its model holds at that moment (closed models are removed).
        """
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

    def history(self, widget_or_id: _HasModelId | str) -> list[dict[str, Any]]:
        """Every state one model went through, from its comm_open on (copies)."""
        mid = widget_or_id if isinstance(widget_or_id, str) else widget_or_id.model_id
        return [dict(states[mid]) for m, states in self.replay() if m.comm_id == mid
                and mid in states]  # fmt: skip

    def array(self, widget: _HasModelId | str, name: str) -> np.ndarray:
        """A bqplot array trait (``{'value': buffer, 'dtype', 'shape'}``) as the browser has it."""
        v = self.state(widget)[name]
        return np.frombuffer(v["value"], dtype=v["dtype"]).reshape(v["shape"])


def _put(obj: Any, path: list[Any], value: Any) -> None:
    for key in path[:-1]:
        obj = obj[key]
    obj[path[-1]] = value
