"""PersistentDict: run metadata (``RE.md``) kept in a JSON file, saved on every change.

Nested edits (``RE.md['sample']['temp'] = 300``) are saved at once too: values that are
dicts or lists come back wrapped in proxies that save the whole file when changed.

Also the checks every run's metadata passes (:func:`check_run_metadata`): no cycles, at
most 100 levels deep, ``scan_id`` an integer, and ``uid``/``time`` never given (the engine
makes them; silently dropping them would lose what the user meant to record).
"""

from __future__ import annotations

import json
import numbers
import os
import tempfile
import threading
from collections.abc import Iterator, Mapping, MutableMapping, MutableSequence
from pathlib import Path
from typing import Any

from livescan.documents import dumps, to_jsonable
from livescan.errors import MetadataError

__all__ = ["PersistentDict", "check_metadata_value", "check_run_metadata"]

MAX_DEPTH = 100
_ENGINE_KEYS = ("uid", "time")


def check_metadata_value(value: Any, where: str) -> None:
    """Raise :class:`MetadataError` if ``value`` refers to itself or nests too deeply."""
    _walk(value, where, set(), 0)


def _walk(obj: Any, where: str, on_path: set[int], depth: int) -> None:
    if isinstance(obj, str | int | float | bool) or obj is None:
        return
    if isinstance(obj, Mapping):
        children: Any = obj.values()
    elif isinstance(obj, list | tuple | MutableSequence):
        children = obj
    else:
        return
    if depth >= MAX_DEPTH:
        raise MetadataError(f"{where} is nested more than {MAX_DEPTH} levels deep; flatten it")
    if id(obj) in on_path:
        raise MetadataError(
            f"{where} contains itself (a circular reference); store plain data without "
            "the back reference"
        )
    on_path.add(id(obj))
    for child in children:
        _walk(child, where, on_path, depth + 1)
    on_path.discard(id(obj))


def check_run_metadata(engine_md: Any, plan_md: Any = None, call_md: Any = None) -> None:
    """The checks a run's metadata passes before its start document is made.

    ``RE.md``, the plan's ``md`` and ``RE(...)`` keywords may not set ``uid`` or ``time``;
    the plan and the call may not set ``scan_id`` (the engine counts it in ``RE.md``);
    nothing may be circular or too deep.
    """
    sources = (("RE.md", engine_md), ("the plan's md", plan_md), ("RE() keywords", call_md))
    for where, md in sources:
        if not md:
            continue
        for key in _ENGINE_KEYS:
            if key in md:
                raise MetadataError(
                    f"{where} sets {key!r}, but the engine gives every run its own {key}; "
                    f"store yours under another name (e.g. 'sample_{key}')"
                    + (f" and delete it: del RE.md[{key!r}]" if where == "RE.md" else "")
                )
        if where != "RE.md" and "scan_id" in md:
            raise MetadataError(
                f"{where} sets 'scan_id', but the engine counts scan_id itself; to make the "
                f"next run scan {md['scan_id']!r}, set RE.md['scan_id'] to the one before it"
            )
        for key, value in md.items():
            check_metadata_value(value, f"{where}[{key!r}]")


def check_scan_id(value: Any) -> None:
    """Raise :class:`MetadataError` unless ``RE.md['scan_id']`` can be counted up."""
    if value is None or (isinstance(value, numbers.Integral) and not isinstance(value, bool)):
        return
    raise MetadataError(
        f"RE.md['scan_id'] is {value!r}, not an integer: the engine counts runs there; set "
        "it to the last scan number (RE.md['scan_id'] = 0 to start again at 1), or "
        "del RE.md['scan_id']"
    )


class PersistentDict(MutableMapping[str, Any]):
    """A dict stored as JSON at ``path`` (created if missing); every change is written
    atomically (temporary file + rename)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self._lock = threading.RLock()
        if self.path.exists():
            try:
                self._data: dict[str, Any] = json.loads(self.path.read_text() or "{}")
            except json.JSONDecodeError as exc:
                raise ValueError(f"{self.path} is not valid JSON ({exc}); fix or move it") from exc
            if not isinstance(self._data, dict):
                raise ValueError(
                    f"{self.path} holds {type(self._data).__name__}, not a JSON object"
                )
        else:
            self._data = {}
            self.save()

    def save(self) -> None:
        """Write the contents to the JSON file now (atomically: a temporary file, then rename)."""
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".md-", suffix=".json")
            try:
                with os.fdopen(fd, "w") as f:
                    f.write(dumps(self._data, indent=1, sort_keys=True))
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise

    def __getitem__(self, key: str) -> Any:
        return _wrap(self._data[key], self)

    def __setitem__(self, key: str, value: Any) -> None:
        check_metadata_value(value, f"RE.md[{key!r}]")
        if key == "scan_id":
            check_scan_id(value)
        with self._lock:
            self._data[key] = to_jsonable(value)
            self.save()

    def __delitem__(self, key: str) -> None:
        with self._lock:
            del self._data[key]
            self.save()

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._data))

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.save()

    def to_dict(self) -> dict[str, Any]:
        """A plain, independent copy of the contents."""
        copy: dict[str, Any] = json.loads(json.dumps(self._data))
        return copy

    def __repr__(self) -> str:
        return f"PersistentDict({str(self.path)!r}, {self._data!r})"


def _wrap(value: Any, root: PersistentDict) -> Any:
    if isinstance(value, dict):
        return _NestedDict(value, root)
    if isinstance(value, list):
        return _NestedList(value, root)
    return value


class _NestedDict(MutableMapping[str, Any]):
    def __init__(self, data: dict[str, Any], root: PersistentDict) -> None:
        self._data, self._root = data, root

    def __getitem__(self, key: str) -> Any:
        return _wrap(self._data[key], self._root)

    def __setitem__(self, key: str, value: Any) -> None:
        check_metadata_value(value, f"RE.md[...][{key!r}]")
        self._data[key] = to_jsonable(value)
        self._root.save()

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        self._root.save()

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._data))

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        return self._data == (other._data if isinstance(other, _NestedDict) else other)

    def __repr__(self) -> str:
        return repr(self._data)


class _NestedList(MutableSequence[Any]):
    def __init__(self, data: list[Any], root: PersistentDict) -> None:
        self._data, self._root = data, root

    def __getitem__(self, i: Any) -> Any:
        return _wrap(self._data[i], self._root)

    def __setitem__(self, i: Any, value: Any) -> None:
        check_metadata_value(value, "RE.md[...][...]")
        self._data[i] = to_jsonable(value)
        self._root.save()

    def __delitem__(self, i: Any) -> None:
        del self._data[i]
        self._root.save()

    def __len__(self) -> int:
        return len(self._data)

    def insert(self, i: int, value: Any) -> None:
        check_metadata_value(value, "RE.md[...][...]")
        self._data.insert(i, to_jsonable(value))
        self._root.save()

    def __eq__(self, other: object) -> bool:
        return self._data == (other._data if isinstance(other, _NestedList) else other)

    def __repr__(self) -> str:
        return repr(self._data)
