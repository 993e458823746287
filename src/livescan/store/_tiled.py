"""TiledStore: runs written live into a tiled server, read back with the RunStore API.

The layout is the one bluesky's ``TiledWriter`` uses (``BlueskyRun`` version 3.0), so tools
that read bluesky runs from tiled read these unchanged:

* one container per run, key = the start uid, spec ``BlueskyRun``; metadata ``{"start":
  start}`` and, once the run ends, ``"stop": stop``;
* one container per stream inside it, key = the stream name, specs ``BlueskyEventStream``
  and ``composite``; metadata = the descriptor (less ``name``, ``object_keys``,
  ``run_start``), further descriptors of the stream under ``_config_updates``;
* in each stream an appendable table ``internal``: ``seq_num``, ``time``, one column per
  scalar data key and ``ts_<key>`` per data key;
* one tiled array per array data key, key = the data key, events along axis 0: written
  for arrays inside events, registered as an external asset (the detector's HDF5 file,
  ``application/x-hdf5``, never copied) for file-backed frames of spec ``AD_HDF5``: that
  array is the file's frames, ``(frames, rows, columns)``, one datum's
  ``frame_per_point`` frames after the other (a datum's data key says
  ``[frame_per_point, rows, columns]``). The server must be allowed to read that folder
  (``tiled serve ... -r FOLDER``). Frames in files of other specs are read here (their
  registered handler) and written as arrays.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from livescan.dispatch import Offload, OffloadError
from livescan.documents import Filler, dumps, loads, resource_path, unpack_event_page
from livescan.errors import RunNotFound, StoreError
from livescan.store._header import RunFacts

__all__ = ["TiledRun", "TiledStore", "TiledStream"]

_DESC_DROP = ("name", "object_keys", "run_start")
_ARROW = {"number": "float64", "integer": "int64", "boolean": "bool_", "string": "string"}
_FRAMES_PER_CHUNK = 100


def _json(obj: Any) -> Any:
    """JSON-safe metadata (numpy values as plain ones, NaN as null)."""
    return loads(dumps(obj))


def _transient(exc: BaseException) -> bool:
    import httpx

    return isinstance(exc, httpx.TransportError)


def _describe(exc: BaseException, uri: str) -> str:
    import httpx

    if isinstance(exc, httpx.TransportError):
        return (
            f"cannot reach the tiled server at {uri} ({type(exc).__name__}: {exc}); start "
            "it, or fix the address"
        )
    return f"tiled at {uri} refused a write: {type(exc).__name__}: {str(exc)[:300]}"


class TiledStore:
    """Write every run into a tiled server, live, and look runs up like a RunStore.

    ::

        db = TiledStore("http://127.0.0.1:8000", api_key="secret")   # or a tiled client
        RE.subscribe_lossless(db)
        RE(count([det, img], 10))
        db[-1].start, db[-1]["primary"]["det"], replay(db[-1], LiveTable(["det"]))

    Writing happens on a background thread, in order. If the server goes away, up to
    ``buffer`` documents wait for ``timeout`` seconds; then the subscriber (or its
    ``flush()`` before the stop) raises and the run ends with ``exit_status='fail'``.
    """

    def __init__(
        self,
        client_or_uri: Any,
        api_key: str | None = None,
        *,
        buffer: int = 100_000,
        timeout: float = 10.0,
        batch: int = 500,
    ) -> None:
        self.client = _connect(client_or_uri, api_key)
        self.uri = str(getattr(self.client, "uri", client_or_uri))
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self._writer = _RunWriter(self.client)
        self._offload = Offload(
            self._writer.send,
            label=f"TiledStore({self.uri})",
            capacity=buffer,
            timeout=timeout,
            batch=batch,
            retryable=_transient,
            describe=lambda exc: _describe(exc, self.uri),
        )

    # -- the subscriber ------------------------------------------------------------------
    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        """Queue one document for the server (lossless: a failure ends the run)."""
        with self._lock:
            if name == "start" and self._offload.fatal is not None:
                self._offload.reset()
            try:
                self._offload.put((next(self._seq), name, doc))
            except OffloadError as exc:
                raise StoreError(str(exc)) from exc.__cause__
        if name == "stop":
            try:
                self._offload.flush()
            except OffloadError:
                pass  # the run is over; flush() or the next run reports it

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every queued document is in tiled; raise if it cannot be written."""
        try:
            self._offload.flush(timeout)
        except OffloadError as exc:
            raise StoreError(str(exc)) from exc.__cause__

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (at most ``timeout`` seconds) and stop the writer thread."""
        self._offload.close(timeout)

    @property
    def pending(self) -> int:
        """How many documents wait to be written to the server."""
        return len(self._offload)

    # -- lookup --------------------------------------------------------------------------
    def __getitem__(self, key: int | str | slice) -> Any:
        """``db[-1]`` newest run; ``db[3]`` the newest with scan_id 3; ``db[uid]`` or a uid
        prefix of at least 3 characters; ``db[-3:]`` a list of runs (oldest first)."""
        from tiled.queries import Key, Like

        runs = self.client.values()
        if isinstance(key, slice):
            keys = list(self.client.keys())
            return [self._run(k) for k in keys[key]]
        if isinstance(key, bool):
            raise TypeError("a run is looked up by int (scan_id or -recency) or str (uid)")
        if isinstance(key, int | np.integer):
            key = int(key)
            if key < 0:
                n = len(self.client)
                if -key > n:
                    raise RunNotFound(f"tiled at {self.uri} has {n} runs; db[{key}] does not exist")
                return self._wrap(runs[key])
            found = self.client.search(Key("start.scan_id") == key)
            if len(found) == 0:
                raise RunNotFound(f"no run with scan_id {key} in tiled at {self.uri}")
            return self._wrap(found.values()[-1])
        if isinstance(key, str):
            if key in self.client:
                return self._run(key)
            if len(key) < 3:
                raise RunNotFound(f"a uid prefix needs at least 3 characters, not {key!r}")
            try:  # a LIKE prefix query where the catalog has it, else a scan of the keys
                found = list(self.client.search(Like("start.uid", f"{key}%")).keys())
            except Exception:
                found = [k for k in self.client if k.startswith(key)]
            if not found:
                raise RunNotFound(f"no run whose uid starts with {key!r} in tiled at {self.uri}")
            if len(found) > 1:
                raise RunNotFound(f"uid prefix {key!r} is ambiguous: it matches {found[:5]}")
            return self._run(found[0])
        raise TypeError(f"a run is looked up by int or str, not {type(key).__name__}")

    def __len__(self) -> int:
        return len(self.client)

    def __iter__(self) -> Iterator[TiledRun]:
        return (self._run(k) for k in list(self.client.keys()))

    def __contains__(self, uid: object) -> bool:
        return isinstance(uid, str) and uid in self.client

    def search(self, query: Mapping[str, Any] | None = None, **kwargs: Any) -> list[TiledRun]:
        """Runs (oldest first) whose start has every ``key=value`` (nested: ``'sample.name'``);
        the server does the matching."""
        from tiled.queries import Key

        node = self.client
        for k, v in {**(query or {}), **kwargs}.items():
            node = node.search(Key(f"start.{k}") == v)
        return [self._run(k) for k in list(node.keys())]

    def _run(self, uid: str) -> TiledRun:
        return self._wrap(self.client[uid])

    def _wrap(self, node: Any) -> TiledRun:
        return TiledRun(self, node)

    def __repr__(self) -> str:
        return f"TiledStore({self.uri!r}) with {len(self)} runs"


def _connect(client_or_uri: Any, api_key: str | None) -> Any:
    if not isinstance(client_or_uri, str):
        return client_or_uri
    import httpx
    from tiled.client import from_uri

    try:  # one quick look first: tiled's client retries an unreachable server for ~45 s
        httpx.get(client_or_uri.rstrip("/") + "/api/v1/", timeout=3.0)
    except httpx.TransportError as exc:
        raise StoreError(
            f"cannot reach the tiled server at {client_or_uri} ({type(exc).__name__}: {exc}); "
            "start it (tiled serve catalog ...) or fix the address"
        ) from None
    try:
        return from_uri(client_or_uri, api_key=api_key)
    except Exception as exc:
        text = str(exc).split("\n")[0][:200]
        if "401" in text or "403" in text or "Unauthorized" in text or "api_key" in text:
            raise StoreError(
                f"tiled at {client_or_uri} refused the API key ({text}); give "
                "TiledStore(uri, api_key=...) the server's key"
            ) from None
        raise StoreError(
            f"cannot reach the tiled server at {client_or_uri} ({type(exc).__name__}: {text}); "
            "start it (tiled serve catalog ...) or fix the address"
        ) from None


class _External:
    """A file-backed data key registered as an external HDF5 asset."""

    __slots__ = ("dtype", "files", "frames", "node", "per_point", "shape")

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype, per_point: int) -> None:
        self.shape = shape
        self.dtype = dtype
        self.per_point = per_point
        self.files: list[str] = []
        self.frames = 0
        self.node: Any = None


class _Stream:
    """What the writer knows about one stream of the run being written."""

    def __init__(self, node: Any, descriptor: dict[str, Any]) -> None:
        self.node = node
        self.data_keys: dict[str, Any] = descriptor["data_keys"]
        self.table: Any = None
        #: keys a detector writes to its own file (stream_datum rows): copied in as arrays
        self.streamed = {k for k, dk in self.data_keys.items() if dk.get("external") == "STREAM:"}
        self.scalars = [
            k
            for k, dk in self.data_keys.items()
            if dk.get("dtype") != "array" and k not in self.streamed
        ]  # columns of the internal table
        self.arrays: dict[str, Any] = {}  # inline array key -> array client
        self.external: dict[str, _External] = {}
        self.rows = 0


class _RunWriter:
    """Runs on the offload thread: turns documents into tiled calls, in order."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.done = 0  # sequence number of the last document written
        self.run: Any = None
        self.streams: dict[str, _Stream] = {}  # descriptor uid -> stream
        self.by_name: dict[str, _Stream] = {}
        self.resources: dict[str, dict[str, Any]] = {}
        self.datums: dict[str, dict[str, Any]] = {}
        self.filler = Filler()

    def send(self, batch: list[tuple[int, str, dict[str, Any]]]) -> None:
        todo = [item for item in batch if item[0] > self.done]
        i = 0
        while i < len(todo):
            seq, name, doc = todo[i]
            if name in ("event", "event_page"):
                j = i
                events: list[dict[str, Any]] = []
                while j < len(todo) and todo[j][1] in ("event", "event_page"):
                    d = todo[j][2]
                    if d["descriptor"] != doc["descriptor"]:
                        break
                    events.extend([d] if todo[j][1] == "event" else unpack_event_page(d))
                    j += 1
                self._events(self.streams[doc["descriptor"]], events)
                self.done = todo[j - 1][0]
                i = j
                continue
            getattr(self, f"_{name}", _ignore)(doc)
            self.done = seq
            i += 1

    # -- documents -----------------------------------------------------------------------
    def _start(self, doc: dict[str, Any]) -> None:
        from tiled.structures.core import Spec

        self.streams.clear()
        self.by_name.clear()
        self.resources.clear()
        self.datums.clear()
        self.filler = Filler()
        self.run = self.client.create_container(
            key=doc["uid"],
            metadata={"start": _json(doc)},
            specs=[Spec("BlueskyRun", version="3.0")],
        )

    def _stop(self, doc: dict[str, Any]) -> None:
        meta = dict(self.run.metadata)
        meta["stop"] = _json(doc)
        self.run.update_metadata(metadata=meta, drop_revision=True)
        self.run = None

    def _descriptor(self, doc: dict[str, Any]) -> None:
        from tiled.structures.core import Spec

        self.filler("descriptor", doc)  # the shapes of streamed rows
        name = doc.get("name", "primary")
        stream = self.by_name.get(name)
        if stream is None:
            meta = _json({k: v for k, v in doc.items() if k not in _DESC_DROP})
            node = self.run.create_container(
                key=name,
                metadata=meta,
                specs=[Spec("BlueskyEventStream", version="3.0"), Spec("composite")],
            )
            stream = _Stream(getattr(node, "base", node), doc)
            self.by_name[name] = stream
        else:  # a later descriptor of the same stream: keep what changed
            meta = dict(stream.node.metadata)
            update = {"uid": doc["uid"], "time": doc["time"]}
            if doc.get("configuration"):
                update["configuration"] = doc["configuration"]
            meta["_config_updates"] = [*meta.get("_config_updates", []), _json(update)]
            stream.node.update_metadata(metadata=meta, drop_revision=True)
        self.streams[doc["uid"]] = stream

    def _resource(self, doc: dict[str, Any]) -> None:
        self.resources[doc["uid"]] = doc
        self.filler("resource", doc)

    def _datum(self, doc: dict[str, Any]) -> None:
        self.datums[doc["datum_id"]] = doc
        self.filler("datum", doc)

    def _stream_resource(self, doc: dict[str, Any]) -> None:
        self.filler("stream_resource", doc)

    def _stream_datum(self, doc: dict[str, Any]) -> None:
        self.filler("stream_datum", doc)

    def _registrable(self, datum_id: str) -> bool:
        """Frames in an area detector's HDF5 file are registered; others are copied."""
        resource = self.resources[self.datums[datum_id]["resource"]]
        return bool(resource.get("spec") == "AD_HDF5")

    def _datum_page(self, doc: dict[str, Any]) -> None:
        for i, datum_id in enumerate(doc["datum_id"]):
            kwargs = {k: v[i] for k, v in doc["datum_kwargs"].items()}
            self.datums[datum_id] = {"resource": doc["resource"], "datum_kwargs": kwargs}
        self.filler("datum_page", doc)

    # -- events --------------------------------------------------------------------------
    def _events(self, stream: _Stream, events: list[dict[str, Any]]) -> None:
        import pyarrow as pa

        columns: dict[str, list[Any]] = {"seq_num": [], "time": []}
        for k in stream.scalars:
            columns[k] = []
        for k in stream.data_keys:
            columns[f"ts_{k}"] = []
        inline: dict[str, list[np.ndarray]] = {}
        for ev in events:
            columns["seq_num"].append(int(ev["seq_num"]))
            columns["time"].append(float(ev["time"]))
            filled = ev.get("filled") or {}
            rows = self.filler.stream_rows.get((ev["descriptor"], ev["seq_num"]), {})
            for k, dk in stream.data_keys.items():
                columns[f"ts_{k}"].append(float(ev["timestamps"].get(k, np.nan)))
                if k in stream.streamed:
                    if k in rows:  # the detector's row for this event, read from its file
                        inline.setdefault(k, []).append(np.asarray(self.filler.load(rows[k])))
                    continue
                v = ev["data"][k]
                if k in columns:
                    columns[k].append(v.item() if isinstance(v, np.generic) else v)
                elif dk.get("external") and isinstance(v, str) and not filled.get(k):
                    if self._registrable(v):
                        self._frame(stream, k, v)
                    else:  # a file format tiled is not told about here: copy the data in
                        inline.setdefault(k, []).append(np.asarray(self.filler.load(v)))
                else:
                    inline.setdefault(k, []).append(np.asarray(v, dtype=dk.get("dtype_numpy")))
        schema = pa.schema(
            [("seq_num", pa.int64()), ("time", pa.float64())]
            + [(k, _arrow_type(stream.data_keys[k])) for k in stream.scalars]
            + [(f"ts_{k}", pa.float64()) for k in stream.data_keys]
        )
        table = pa.Table.from_pydict(columns, schema=schema)
        if stream.table is None:
            meta = _json({k: stream.data_keys[k] for k in stream.scalars})
            stream.table = stream.node.create_appendable_table(
                schema=schema, key="internal", metadata=meta
            )
        stream.table.append_partition(0, table)
        for k, frames in inline.items():
            if k in stream.streamed and len(frames) != len(events):
                continue  # rows missing for some events: they would not line up
            self._append_array(stream, k, np.stack(frames))
        for k, ext in stream.external.items():
            self._register(stream, k, ext)
        stream.rows += len(events)

    def _append_array(self, stream: _Stream, key: str, block: np.ndarray) -> None:
        node = stream.arrays.get(key)
        if node is None:
            stream.arrays[key] = stream.node.write_array(
                block, key=key, metadata=_json(stream.data_keys[key])
            )
        else:
            node.patch(block, offset=(stream.rows,), extend=True)

    def _frame(self, stream: _Stream, key: str, datum_id: str) -> None:
        datum = self.datums[datum_id]
        resource = self.resources[datum["resource"]]
        per_point = int(resource.get("resource_kwargs", {}).get("frame_per_point", 1))
        ext = stream.external.get(key)
        if ext is None:
            dk = stream.data_keys[key]
            shape = tuple(int(n) for n in dk.get("shape", []))[-2:]
            dtype = np.dtype(dk.get("dtype_numpy") or _file_dtype(resource))
            ext = stream.external[key] = _External(shape, dtype, per_point)
        path = resource_path(resource)
        if path not in ext.files:
            ext.files.append(path)
        ext.frames += per_point

    def _register(self, stream: _Stream, key: str, ext: _External) -> None:
        from tiled.structures.core import StructureFamily

        source = _data_source(ext)
        if ext.node is None:
            ext.node = stream.node.new(
                key=key,
                structure_family=StructureFamily.array,
                data_sources=[source],
                metadata=_json(stream.data_keys[key]),
                specs=[],
            )
            return
        from tiled.client.utils import handle_error
        from tiled.utils import safe_json_dump

        source.id = ext.node.data_sources()[0].id
        http = ext.node.context.http_client
        url = ext.node.uri.replace("/metadata/", "/data_source/", 1)
        handle_error(http.put(url, content=safe_json_dump({"data_source": source})))


def _ignore(doc: dict[str, Any]) -> None:
    return None


def _arrow_type(data_key: Mapping[str, Any]) -> Any:
    import pyarrow as pa

    kind = _ARROW.get(data_key.get("dtype", "number"), "float64")
    if data_key.get("dtype") == "number" and str(data_key.get("dtype_numpy", "")).lstrip(
        "<>|="
    ).startswith(("i", "u")):
        kind = "int64"
    return getattr(pa, kind)()


def _file_dtype(resource: Mapping[str, Any]) -> str:
    import h5py

    from livescan.documents import HDF5FrameHandler

    with h5py.File(resource_path(resource), "r") as f:
        return f[HDF5FrameHandler.dataset].dtype.str


def _data_source(ext: _External) -> Any:
    from tiled.structures.array import ArrayStructure, BuiltinDtype
    from tiled.structures.core import StructureFamily
    from tiled.structures.data_source import Asset, DataSource, Management

    from livescan.documents import HDF5FrameHandler

    n = ext.frames
    full, rest = divmod(n, _FRAMES_PER_CHUNK)
    first = (_FRAMES_PER_CHUNK,) * full + ((rest,) if rest else ())
    structure = ArrayStructure(
        data_type=BuiltinDtype.from_numpy_dtype(ext.dtype),
        shape=(n, *ext.shape),
        chunks=(first or (0,), *((s,) for s in ext.shape)),
    )
    return DataSource(
        management=Management.external,
        mimetype="application/x-hdf5",
        structure_family=StructureFamily.array,
        structure=structure,
        parameters={"dataset": HDF5FrameHandler.dataset, "swmr": True, "slice": f":{n}"},
        assets=[
            Asset(data_uri=f"file://localhost{p}", is_directory=False, parameter="data_uris", num=i)
            for i, p in enumerate(ext.files)
        ],
    )


# -- reading -------------------------------------------------------------------------------
class TiledRun(RunFacts):
    """One run in a :class:`TiledStore`: ``start``, ``stop`` (``None`` while running or if
    the writer died), ``run['primary']`` as arrays, ``documents()`` for :func:`replay`."""

    def __init__(self, store: TiledStore, node: Any) -> None:
        self.store = store
        self.node = node
        self.start: dict[str, Any] = dict(node.metadata["start"])
        self.uid: str = self.start["uid"]

    @property
    def stop(self) -> dict[str, Any] | None:
        """The stop document, or ``None`` if the run has none (yet)."""
        self.node.refresh()
        stop = self.node.metadata.get("stop")
        return dict(stop) if stop is not None else None

    @property
    def stream_names(self) -> list[str]:
        """The names of the run's streams in tiled."""
        return list(self.node.keys())

    def __getitem__(self, stream_name: str) -> TiledStream:
        if stream_name not in self.node:
            raise KeyError(
                f"run {self.uid[:8]} has no stream {stream_name!r}; its streams are "
                f"{self.stream_names}"
            )
        return TiledStream(self, stream_name)

    @property
    def primary(self) -> TiledStream:
        """The ``primary`` stream (``run["primary"]``)."""
        return self["primary"]

    def documents(self, fill: bool = True) -> Iterator[tuple[str, dict[str, Any]]]:
        """Documents rebuilt from tiled: start, descriptors, events (file-backed frames
        filled in, ``filled`` true), stop if there is one. Events of different streams
        come in time order."""
        yield "start", dict(self.start)
        events: list[tuple[float, int, dict[str, Any]]] = []
        for order, name in enumerate(self.stream_names):
            stream = self[name]
            desc = stream.descriptor
            yield "descriptor", desc
            data = stream.read()
            external = [k for k, dk in stream.data_keys.items() if dk.get("external")]
            for i in range(len(stream)):
                ev = {
                    "uid": f"{desc['uid']}/{int(stream.seq_num[i])}",
                    "descriptor": desc["uid"],
                    "seq_num": int(stream.seq_num[i]),
                    "time": float(stream.time[i]),
                    "data": {k: _item(v[i]) for k, v in data.items()},
                    "timestamps": {k: float(v[i]) for k, v in stream.timestamps.items()},
                }
                if external:
                    ev["filled"] = dict.fromkeys(external, True)
                events.append((ev["time"], order, ev))
        for _t, _o, ev in sorted(events, key=lambda e: (e[0], e[1], e[2]["seq_num"])):
            yield "event", ev
        stop = self.stop
        if stop is not None:
            yield "stop", stop

    def __repr__(self) -> str:
        status = self.exit_status or "unfinished"
        return (
            f"<TiledRun {self.uid[:8]} scan_id={self.scan_id} "
            f"plan={self.start.get('plan_name')!r} {status}>"
        )


def _item(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


class TiledStream:
    """One stream of a :class:`TiledRun`, column-wise: ``stream[field]``, ``seq_num``,
    ``time``, ``timestamps[field]``, ``read()``."""

    def __init__(self, run: TiledRun, name: str) -> None:
        self.run = run
        self.name = name
        node = run.node[name]
        self.node = getattr(node, "base", node)
        meta = dict(self.node.metadata)
        self.data_keys: dict[str, Any] = dict(meta.get("data_keys", {}))
        self.descriptor = {
            **{k: v for k, v in meta.items() if k != "_config_updates"},
            "name": name,
            "run_start": run.uid,
        }
        self._table = self.node["internal"].read() if "internal" in self.node else None
        rows = 0 if self._table is None else len(self._table)
        self.seq_num = self._column("seq_num", np.int64, rows)
        self.time = self._column("time", np.float64, rows)
        self.timestamps = {k: self._column(f"ts_{k}", np.float64, rows) for k in self.data_keys}

    def _column(self, name: str, dtype: Any, rows: int) -> np.ndarray:
        if self._table is None or name not in self._table:
            return np.full(rows, np.nan) if dtype is np.float64 else np.zeros(rows, dtype)
        return self._table[name].to_numpy(dtype=dtype)

    @property
    def fields(self) -> list[str]:
        """The names of the stream's fields."""
        return list(self.data_keys)

    def __len__(self) -> int:
        return len(self.seq_num)

    def __getitem__(self, field: str) -> np.ndarray:
        if field not in self.data_keys:
            raise KeyError(
                f"stream {self.name!r} has no field {field!r}; its fields are {self.fields}"
            )
        if self._table is not None and field in self._table:
            return self._table[field].to_numpy()
        if field not in self.node:
            return np.empty((0,))
        return np.asarray(self.node[field].read())[: len(self)]

    def read(self) -> dict[str, np.ndarray]:
        """Every field as an array (file-backed frames read through the server)."""
        return {k: self[k] for k in self.fields}

    def __repr__(self) -> str:
        return f"<TiledStream {self.name!r} of run {self.run.uid[:8]}: {len(self)} events>"
