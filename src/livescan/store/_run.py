"""A run read back from the store: its documents, start/stop and streams as arrays."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from livescan.documents import Filler
from livescan.store._frames import FrameReader
from livescan.store._header import RunFacts
from livescan.store._journal import read_journal, read_last_document

if TYPE_CHECKING:
    from livescan.store._store import RunStore

__all__ = ["Run", "Stream"]


class Run(RunFacts):
    """One run in a :class:`RunStore`.

    ``run.start`` and ``run.stop`` are the documents (``stop`` is ``None`` while the run is
    going on or if its process died); ``run.documents()`` yields every ``(name, doc)`` in
    order; ``run['primary']`` (or ``run.primary``) gives a stream's data as numpy arrays.
    """

    def __init__(self, store: RunStore, uid: str, path: Path, start: dict[str, Any]) -> None:
        self.store = store
        self.uid = uid
        self.path = path
        self.start = start
        self._stop: dict[str, Any] | None = None

    # -- metadata ----------------------------------------------------------------------
    @property
    def stop(self) -> dict[str, Any] | None:
        """The stop document, or ``None`` if the run has none (yet)."""
        if self._stop is None:
            last = read_last_document(self.path)
            if last is not None and last[0] == "stop":
                self._stop = last[1]
        return self._stop

    # -- documents ---------------------------------------------------------------------
    def documents(self, fill: bool = False) -> Iterator[tuple[str, dict[str, Any]]]:
        """Yield ``(name, doc)`` in the order they were recorded.

        Arrays come back as numpy arrays of the recorded dtype. With ``fill=True`` events
        carry the file-backed data (frames) instead of datum ids.
        """
        decoder = _Decoder(self.store, FrameReader(self.path.parent, self.uid))
        filler = Filler() if fill else None
        for name, recorded in read_journal(self.path):
            doc = decoder(name, recorded)
            if doc is None:
                continue  # the store's own resource/datum for binary frames
            if filler is not None:
                name, doc = filler(name, doc)
            yield name, doc

    @property
    def descriptors(self) -> list[dict[str, Any]]:
        """Every descriptor document of the run, in order."""
        return [doc for name, doc in self.documents() if name == "descriptor"]

    @property
    def stream_names(self) -> list[str]:
        """The run's stream names, in the order their first descriptor came."""
        names: list[str] = []
        for d in self.descriptors:
            if d.get("name", "primary") not in names:
                names.append(d.get("name", "primary"))
        return names

    def __getitem__(self, stream_name: str) -> Stream:
        return Stream(self, stream_name)

    @property
    def primary(self) -> Stream:
        """The ``primary`` stream (``run["primary"]``)."""
        return Stream(self, "primary")

    def __repr__(self) -> str:
        status = self.exit_status or "unfinished"
        return (
            f"<Run {self.uid[:8]} scan_id={self.scan_id} "
            f"plan={self.start.get('plan_name')!r} {status}>"
        )


class Stream:
    """The events of one stream of a run, column-wise.

    ``stream[field]`` is a numpy array with one row per event (file-backed data is read
    from its files when asked for); ``stream.seq_num``, ``stream.time`` and
    ``stream.timestamps[field]`` come along; ``stream.read()`` gives every field.
    """

    def __init__(self, run: Run, name: str) -> None:
        self.run = run
        self.name = name
        self.descriptors: list[dict[str, Any]] = []
        self._filler = Filler()
        rows: list[dict[str, Any]] = []
        for doc_name, doc in run.documents():
            self._filler(doc_name, doc)
            if doc_name == "descriptor" and doc.get("name", "primary") == name:
                self.descriptors.append(doc)
            elif doc_name in ("event", "event_page") and doc["descriptor"] in self._uids:
                rows.extend(_events(doc_name, doc))
        if not self.descriptors:
            raise KeyError(
                f"run {run.uid[:8]} has no stream {name!r}; its streams are {run.stream_names}"
            )
        self._rows = rows
        self.seq_num = np.array([e["seq_num"] for e in rows], dtype=np.int64)
        self.time = np.array([e["time"] for e in rows], dtype=np.float64)
        self.timestamps = {
            k: np.array([e["timestamps"].get(k, np.nan) for e in rows], dtype=np.float64)
            for k in self.fields
        }

    @property
    def _uids(self) -> set[str]:
        return {d["uid"] for d in self.descriptors}

    @property
    def data_keys(self) -> dict[str, Any]:
        """The stream's data keys (from its first descriptor)."""
        return dict(self.descriptors[0]["data_keys"])

    @property
    def fields(self) -> list[str]:
        """The names of the stream's fields."""
        return list(self.descriptors[0]["data_keys"])

    def external(self, field: str) -> bool:
        """Whether ``field`` is stored in external files (read through a handler)."""
        return bool(self.data_keys[field].get("external"))

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, field: str) -> np.ndarray:
        if field not in self.data_keys:
            raise KeyError(
                f"stream {self.name!r} has no field {field!r}; its fields are {self.fields}"
            )
        if self.data_keys[field].get("external") == "STREAM:":
            values = self._streamed(field)
        else:
            values = [e["data"][field] for e in self._rows]
        if self.external(field):
            values = [self._filler.load(v) if isinstance(v, str) else v for v in values]
        if not values:
            return np.empty((0,))
        if isinstance(values[0], np.ndarray):
            return np.stack(values)
        return np.asarray(values)

    def _streamed(self, field: str) -> list[Any]:
        """The rows a detector wrote to its own file (stream_datum), by seq_num: one per
        event of the stream, or every row if the stream has no events (a fly scan)."""
        rows = {
            seq: ids[field]
            for (desc, seq), ids in self._filler.stream_rows.items()
            if desc in self._uids and field in ids
        }
        seqs = [int(s) for s in self.seq_num] if len(self._rows) else sorted(rows)
        missing = [s for s in seqs if s not in rows]
        if missing:
            raise KeyError(
                f"no stream_datum gave {field!r} for seq_num {missing[:5]} of stream {self.name!r}"
            )
        return [rows[s] for s in seqs]

    def read(self) -> dict[str, np.ndarray]:
        """Every field as an array (file-backed ones filled)."""
        return {k: self[k] for k in self.fields}

    def __repr__(self) -> str:
        return f"<Stream {self.name!r} of run {self.run.uid[:8]}: {len(self)} events>"


def _events(name: str, doc: dict[str, Any]) -> list[dict[str, Any]]:
    if name == "event":
        return [doc]
    from livescan.documents import unpack_event_page

    return unpack_event_page(doc)


class _Decoder:
    """Turns JSON lists back into numpy arrays of the dtype each data key had."""

    def __init__(self, store: RunStore, frames: FrameReader) -> None:
        self.store = store
        self.frames = frames
        self._array_keys: dict[str, dict[str, str | None]] = {}

    def __call__(self, name: str, doc: dict[str, Any]) -> dict[str, Any] | None:
        if name in ("resource", "datum") and self.frames.is_ours(name, doc):
            return None
        if name == "descriptor":
            self.frames.unmark_descriptor(doc)
            recorded = self.store._dtypes_of(doc["uid"])
            keys: dict[str, str | None] = {}
            for k, dk in doc.get("data_keys", {}).items():
                if dk.get("external") or dk.get("dtype") != "array":
                    continue
                keys[k] = dk.get("dtype_numpy") or recorded.get(k)
            self._array_keys[doc["uid"]] = keys
        if name in ("event", "event_page") and self.frames:
            self.frames.unmark(name, doc)
        if name == "event":
            arrays = self._array_keys.get(doc["descriptor"])
            if arrays:
                doc["data"] = _decode_row(doc["data"], arrays, doc.get("filled"), self.frames)
            elif arrays is None and self.frames:  # its descriptor line is damaged
                doc["data"] = {k: self.frames.load(v) for k, v in doc["data"].items()}
        elif name == "event_page":
            keys = self._array_keys.get(doc["descriptor"], {})
            load = self.frames.load if self.frames else None
            for k, dt in keys.items():
                if k in doc["data"]:
                    doc["data"][k] = [_as_array(v, dt, load) for v in doc["data"][k]]
        return doc


def _decode_row(
    data: Mapping[str, Any],
    keys: Mapping[str, str | None],
    filled: Mapping[str, Any] | None,
    frames: FrameReader,
) -> dict[str, Any]:
    out = dict(data)
    load = frames.load if frames else None
    for k, dt in keys.items():
        if k in out and not (filled and filled.get(k) is False):
            out[k] = _as_array(out[k], dt, load)
    return out


def _as_array(value: Any, dtype: str | None, load: Any = None) -> Any:
    if isinstance(value, list):
        return np.asarray(value, dtype=dtype)
    if load is not None and isinstance(value, str):
        return load(value)
    return value
