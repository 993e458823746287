"""PersistentDict: run metadata (``RE.md``) kept in a JSON file, saved on every change.

Nested edits (``RE.md['sample']['temp'] = 300``) are saved at once too: values that are
dicts or lists come back wrapped in proxies that save the whole file when changed.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterator, MutableMapping, MutableSequence
from pathlib import Path
from typing import Any

from livescan.documents import dumps, to_jsonable

__all__ = ["PersistentDict"]


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
        return json.loads(json.dumps(self._data))

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
        self._data[i] = to_jsonable(value)
        self._root.save()

    def __delitem__(self, i: Any) -> None:
        del self._data[i]
        self._root.save()

    def __len__(self) -> int:
        return len(self._data)

    def insert(self, i: int, value: Any) -> None:
        self._data.insert(i, to_jsonable(value))
        self._root.save()

    def __eq__(self, other: object) -> bool:
        return self._data == (other._data if isinstance(other, _NestedList) else other)

    def __repr__(self) -> str:
        return repr(self._data)
