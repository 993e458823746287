"""Reducing camera frames on a Dask cluster while the scan runs, as a new stream of runs."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from livescan.documents import Filler, RunComposer, unpack_event_page

__all__ = ["FrameReducer", "radial_profile"]

Callback = Callable[[str, dict[str, Any]], Any]


def radial_profile(frame: np.ndarray, bins: int = 32) -> dict[str, Any]:
    """The frame's centre of mass (``com_x``, ``com_y`` in pixels), its ``total`` and the
    mean intensity in ``bins`` rings around the centre of mass (``profile``)."""
    img = np.asarray(frame, dtype=np.float64)
    if img.ndim == 3:  # a stack of frames per point: their sum
        img = img.sum(axis=0)
    total = float(img.sum())
    rows, cols = np.indices(img.shape)
    if total > 0:
        cy, cx = float((rows * img).sum() / total), float((cols * img).sum() / total)
    else:
        cy, cx = (img.shape[0] - 1) / 2, (img.shape[1] - 1) / 2
    r = np.hypot(rows - cy, cols - cx)
    edges = np.linspace(0.0, float(r.max()) + 1e-9, bins + 1)
    ring = np.clip(np.digitize(r.ravel(), edges) - 1, 0, bins - 1)
    sums = np.bincount(ring, weights=img.ravel(), minlength=bins)
    counts = np.bincount(ring, minlength=bins)
    profile = np.divide(sums, counts, out=np.zeros(bins), where=counts > 0)
    return {"com_x": cx, "com_y": cy, "total": total, "profile": profile}


class FrameReducer:
    """A callback that sends each frame of ``field`` to a Dask cluster and emits the
    results as a new run (``plan_name='reduce'``, ``parent_uid`` and ``parent_scan_id`` name
    the source run; the derived run has no scan_id of its own) to
    ``out`` — a :class:`RedisPublisher` (a new stream others watch), a LivePlot, any
    callback or a list of them.

    ::

        from dask.distributed import Client
        client = Client("tcp://scheduler:8786")       # or Client(LocalCluster(...))
        d = RemoteDispatcher(url, start="run-start")
        d.subscribe(FrameReducer(client, "img", RedisPublisher(url, "livescan-reduced")))
        d.start()

    ``func(frame) -> dict`` (default :func:`radial_profile`) runs on the workers; its
    numbers and arrays become the data keys, beside the source event's scalar fields (the
    motor positions, for plotting against them). Results go out in event order as they
    complete; at the source's stop the reducer waits for the rest, then stops its run.
    File-backed frames are read here (``root_map`` maps their folders) and shipped.
    """

    def __init__(
        self,
        client: Any,
        field: str,
        out: Callback | Iterable[Callback],
        *,
        func: Callable[[np.ndarray], dict[str, Any]] = radial_profile,
        stream_name: str = "primary",
        root_map: dict[str, str] | None = None,
    ) -> None:
        self.client = client
        self.field = field
        self.out = [out] if callable(out) else list(out)
        self.func = func
        self.stream_name = stream_name
        self.root_map = root_map
        self._filler = Filler(root_map=root_map)
        self._pending: deque[tuple[dict[str, Any], Any]] = deque()
        self._run: RunComposer | None = None
        self._descriptor: Mapping[str, Any] | None = None
        self._stream_of: dict[str, str] = {}
        self.submitted = 0
        self.emitted = 0

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        if name == "start":
            self._filler = Filler(root_map=self.root_map)
            self._run = RunComposer(
                {
                    "plan_name": "reduce",
                    "parent_uid": doc["uid"],
                    "parent_scan_id": doc.get("scan_id"),
                    "reduced_field": self.field,
                    "reduction": getattr(self.func, "__name__", repr(self.func)),
                }
            )
            self._descriptor = None
            self._emit("start", self._run.start())
            return
        name, doc = self._filler(name, doc)
        if name == "descriptor":
            self._stream_of[doc["uid"]] = doc.get("name", "primary")
        elif name in ("event", "event_page") and self._run is not None:
            events = [doc] if name == "event" else unpack_event_page(doc)
            for ev in events:
                if self._stream_of.get(ev["descriptor"]) != self.stream_name:
                    continue
                if self.field not in ev["data"]:
                    continue
                ev = self._filler.fill_event(ev)
                future = self.client.submit(self.func, ev["data"][self.field], pure=False)
                self._pending.append((ev, future))
                self.submitted += 1
        elif name == "stop" and self._run is not None:
            self.drain(wait=True)
            self._emit("stop", self._run.stop(doc.get("exit_status", "success")))
            self._run = None
            return
        self.drain(wait=False)

    def drain(self, wait: bool = False) -> int:
        """Emit the results that are done, in order (all of them with ``wait``)."""
        n = 0
        while self._pending and (wait or self._pending[0][1].done()):
            ev, future = self._pending.popleft()
            self._result(ev, future.result())
            n += 1
        return n

    def _result(self, ev: dict[str, Any], result: dict[str, Any]) -> None:
        assert self._run is not None
        scalars = {
            k: v
            for k, v in ev["data"].items()
            if k != self.field and isinstance(v, int | float | np.number)
        }
        data = {**scalars, **result}
        descriptor = self._descriptor
        if descriptor is None:
            descriptor = self._descriptor = self._run.descriptor(
                "primary", {k: _data_key(k, v) for k, v in data.items()}
            )
            self._emit("descriptor", descriptor)
        now = time.time()
        out = self._run.event(descriptor, data, dict.fromkeys(data, now), time=now)
        self._emit("event", out)
        self.emitted += 1

    def _emit(self, name: str, doc: Mapping[str, Any]) -> None:
        for cb in self.out:
            cb(name, dict(doc))


def _data_key(key: str, value: Any) -> dict[str, Any]:
    arr = np.asarray(value)
    if arr.ndim:
        return {
            "dtype": "array",
            "shape": list(arr.shape),
            "dtype_numpy": arr.dtype.str,
            "source": f"reduce:{key}",
        }
    kind = "integer" if arr.dtype.kind in "iu" else "number"
    return {"dtype": kind, "shape": [], "dtype_numpy": arr.dtype.str, "source": f"reduce:{key}"}
