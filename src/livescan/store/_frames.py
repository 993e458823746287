"""Array data of a stored run in binary files beside its journal.

An array of at least ``min_bytes`` inside an event is not written into the JSON journal:
its bytes are appended to ``<uid>/<n>.bin`` (one file per stream field, frames back to
back, C order; ``<n>.resource.json`` beside it holds a copy of its resource document) and
the journal records, as bluesky's detectors do, a ``resource``
(``spec='LIVESCAN_FRAMES'``, ``resource_path`` relative to the journal's folder, ``root``
that folder, ``resource_kwargs`` ``dtype``, ``shape``, ``descriptor``, ``key``) once, a
``datum`` (``datum_kwargs={'index': i}``) per frame, and the event with the datum id in
place of the array and ``filled[key] = False``; the journal's descriptor marks such a
key ``external='FILESTORE:LIVESCAN'`` (when its declared shape and dtype make it large
enough). The frame's bytes reach the operating
system before the journal line that points to them, so a killed process never leaves a
datum without its frame.

Reading a run back hides these resources and datums and puts the arrays back: the
documents equal the live ones. Other readers (databroker's ``BlueskyJSONLCatalog``,
event-model's ``Filler``) fill the frames with :class:`FramesHandler`, registered for
``LIVESCAN_FRAMES`` (also as a ``databroker.handlers`` entry point); a store moved
elsewhere needs their ``root_map`` from the old folder to the new one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from livescan.documents import new_uid

__all__ = ["SPEC", "FrameReader", "FrameWriter", "FramesHandler"]

SPEC = "LIVESCAN_FRAMES"
#: the ``external`` the journal's descriptor gives a key the store keeps in binary files
MARK = "FILESTORE:LIVESCAN"


def _read_frame(path: Path | str, dtype: np.dtype[Any], shape: tuple[int, ...], index: int) -> Any:
    count = int(np.prod(shape, dtype=np.int64))
    with open(path, "rb") as f:
        arr = np.fromfile(f, dtype=dtype, count=count, offset=index * count * dtype.itemsize)
    if arr.size != count:
        raise OSError(f"{path} ends before frame {index} (a run cut short?)")
    return arr.reshape(shape)


class FramesHandler:
    """A handler of spec ``LIVESCAN_FRAMES`` for databroker or event-model's ``Filler``:
    ``FramesHandler(path, dtype=..., shape=...)(index=i)`` is frame ``i`` of the file."""

    def __init__(self, path: str, dtype: str, shape: list[int], **_: Any) -> None:
        self.path = path
        self.dtype = np.dtype(dtype)
        self.shape = tuple(int(n) for n in shape)

    def __call__(self, index: int, **_: Any) -> Any:
        return _read_frame(self.path, self.dtype, self.shape, int(index))


class _File:
    __slots__ = ("count", "dtype", "fd", "resource", "shape")

    def __init__(self, fd: int, resource: str, dtype: np.dtype[Any], shape: tuple[int, ...]):
        self.fd = fd
        self.resource = resource
        self.dtype = dtype
        self.shape = shape
        self.count = 0


class FrameWriter:
    """Writes one run's large arrays to binary files; used by the store only."""

    def __init__(self, folder: Path, run_uid: str, *, min_bytes: int, fsync: str) -> None:
        self.folder = folder  # the journal's folder
        self.run_uid = run_uid
        self.min_bytes = min_bytes
        self.fsync = fsync
        self._files: dict[tuple[str, str], _File | None] = {}  # None: stays in JSON

    def mark_descriptor(self, doc: dict[str, Any]) -> dict[str, Any]:
        """The descriptor as journaled: keys whose declared arrays are large enough to go
        to binary files marked ``external`` (so other readers fill them)."""
        keys = doc.get("data_keys") or {}
        marked: dict[str, Any] = {}
        for key, dk in keys.items():
            try:
                dtype = np.dtype(dk["dtype_numpy"])
                nbytes = int(np.prod(dk["shape"], dtype=np.int64)) * dtype.itemsize
            except (KeyError, TypeError, ValueError):
                continue
            if (
                dk.get("dtype") == "array"
                and not dk.get("external")
                and dtype.kind in "biufc"
                and len(dk["shape"]) > 0
                and nbytes >= self.min_bytes
            ):
                marked[key] = {**dk, "external": MARK}
        return {**doc, "data_keys": {**keys, **marked}} if marked else doc

    def encode(self, name: str, doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """The journal lines for one event or event_page (resource, datums, the event)."""
        data = doc["data"]
        descriptor = doc["descriptor"]
        out: list[tuple[str, dict[str, Any]]] = []
        new_data: dict[str, Any] | None = None
        moved: list[str] = []  # keys whose arrays went to a file
        for key, value in data.items():
            if name == "event":
                ff = self._file(descriptor, key, value, out)
                if ff is None or not _fits(ff, value):
                    continue
                if new_data is None:
                    new_data = dict(data)
                new_data[key] = self._append(ff, value, out)
            else:  # event_page: a column of values
                if not value:
                    continue
                ff = self._file(descriptor, key, value[0], out)
                if ff is None or not all(_fits(ff, v) for v in value):
                    continue
                if new_data is None:
                    new_data = dict(data)
                new_data[key] = [self._append(ff, v, out) for v in value]
            moved.append(key)
        if new_data is None:
            out.append((name, doc))
            return out
        # other readers fill a key whose `filled` is False (a key the live document
        # marks already is left as it is; reading back drops the marks added here)
        filled = dict(doc.get("filled") or {})
        n = len(doc["seq_num"]) if name == "event_page" else None
        for key in moved:
            if key not in filled:
                filled[key] = False if n is None else [False] * n
        out.append((name, {**doc, "data": new_data, "filled": filled}))
        return out

    def _file(
        self, descriptor: str, key: str, value: Any, out: list[tuple[str, dict[str, Any]]]
    ) -> _File | None:
        slot = (descriptor, key)
        if slot in self._files:
            return self._files[slot]
        ff = None
        if (
            isinstance(value, np.ndarray)
            and value.dtype.kind in "biufc"
            and value.nbytes >= self.min_bytes
        ):
            n = len(self._files)
            rel = f"{self.run_uid}/{n}.bin"
            path = self.folder / rel
            path.parent.mkdir(exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0))
            dtype = value.dtype
            ff = _File(fd, new_uid(), dtype, value.shape)
            resource = {
                "uid": ff.resource,
                "spec": SPEC,
                "root": str(self.folder.absolute()),
                "resource_path": rel,
                "resource_kwargs": {
                    "dtype": dtype.str,
                    "shape": list(value.shape),
                    "descriptor": descriptor,
                    "key": key,
                },
                "path_semantics": "posix",
                "run_start": self.run_uid,
            }
            # a copy beside the frames: they stay readable if the journal line is damaged
            path.with_suffix(".resource.json").write_text(json.dumps(resource))
            out.append(("resource", resource))
        self._files[slot] = ff
        return ff

    def _append(self, ff: _File, value: np.ndarray, out: list[tuple[str, dict[str, Any]]]) -> str:
        buf = np.ascontiguousarray(value, dtype=ff.dtype).data.cast("B")
        while buf:
            buf = buf[os.write(ff.fd, buf) :]
        if self.fsync == "document":
            os.fsync(ff.fd)
        datum_id = f"{ff.resource}/{ff.count}"
        out.append(
            (
                "datum",
                {
                    "datum_id": datum_id,
                    "resource": ff.resource,
                    "datum_kwargs": {"index": ff.count},
                },
            )
        )
        ff.count += 1
        return datum_id

    def close(self) -> None:
        for ff in self._files.values():
            if ff is None:
                continue
            try:
                if self.fsync != "never":
                    os.fsync(ff.fd)
            finally:
                os.close(ff.fd)
        self._files.clear()


def _fits(ff: _File, value: Any) -> bool:
    return isinstance(value, np.ndarray) and value.shape == ff.shape and value.dtype == ff.dtype


class FrameReader:
    """Reads the frames the store wrote for one run (used while decoding its journal)."""

    def __init__(self, folder: Path, run_uid: str) -> None:
        self.folder = folder
        self.run_uid = run_uid
        self._resources: dict[str, tuple[Path, np.dtype[Any], tuple[int, ...]]] = {}
        self._datums: dict[str, tuple[str, int]] = {}
        self._sidecars_read = False

    def _add(self, doc: dict[str, Any]) -> None:
        kw = doc["resource_kwargs"]
        self._resources[doc["uid"]] = (
            self.folder / doc["resource_path"],
            np.dtype(kw["dtype"]),
            tuple(kw["shape"]),
        )

    def _read_sidecars(self) -> None:
        """The resource copies beside the frames (for a damaged resource line)."""
        self._sidecars_read = True
        for path in sorted((self.folder / self.run_uid).glob("*.resource.json")):
            try:
                self._add(json.loads(path.read_text()))
            except (OSError, ValueError, KeyError, TypeError):
                continue

    def is_ours(self, name: str, doc: dict[str, Any]) -> bool:
        """True for the store's own resource and datum documents (and records them)."""
        if name == "resource" and doc.get("spec") == SPEC:
            self._add(doc)
            return True
        if (
            name == "datum"
            and doc.get("resource") not in self._resources
            and not (self._sidecars_read)
        ):
            self._read_sidecars()
        if name == "datum" and doc.get("resource") in self._resources:
            self._datums[doc["datum_id"]] = (doc["resource"], int(doc["datum_kwargs"]["index"]))
            return True
        return False

    def __bool__(self) -> bool:
        return bool(self._resources)

    @staticmethod
    def unmark_descriptor(doc: dict[str, Any]) -> None:
        """Drop the ``external`` marks :meth:`FrameWriter.mark_descriptor` added."""
        keys = doc.get("data_keys") or {}
        if any(dk.get("external") == MARK for dk in keys.values()):
            doc["data_keys"] = {
                k: {a: v for a, v in dk.items() if not (a == "external" and v == MARK)}
                for k, dk in keys.items()
            }

    def owns(self, value: Any) -> bool:
        """Whether ``value`` is the datum id of a frame the store wrote."""
        if not isinstance(value, str):
            return False
        return value in self._datums or value.rpartition("/")[0] in self._resources

    def unmark(self, name: str, doc: dict[str, Any]) -> None:
        """Drop the ``filled`` marks the store added to an event (or page) it wrote."""
        filled = doc.get("filled")
        if not filled:
            return
        marked = [
            k
            for k, v in filled.items()
            if v is False or (isinstance(v, list) and v and all(f is False for f in v))
        ]
        for key in marked:
            value = doc["data"].get(key)
            first = value[0] if name == "event_page" and isinstance(value, list) else value
            if value is not None and self.owns(first):
                doc["filled"] = filled = {k: v for k, v in filled.items() if k != key}

    def load(self, value: Any) -> Any:
        """The array a datum id of ours points to; any other value as it is."""
        if not isinstance(value, str):
            return value
        found = self._datums.get(value)
        if found is None:  # its datum line may be damaged: the id says "<resource>/<i>"
            resource, _, index = value.rpartition("/")
            if resource not in self._resources and not self._sidecars_read:
                self._read_sidecars()
            if resource not in self._resources or not index.isdigit():
                return value
            found = (resource, int(index))
        path, dtype, shape = self._resources[found[0]]
        return _read_frame(path, dtype, shape, found[1])
