"""The append-only journal of one run: ``[name, doc]`` JSON, one document a line.

This is the suitcase-jsonl convention, so other tools can read the files.

Durability: every document is written with a single ``write`` and flushed to the
operating system before the call returns, so a process killed with SIGKILL (or crashing)
leaves every document it has handed over readable: the kernel owns the bytes. A power
loss or an OS crash can lose what the OS has not yet put on disk; the journal is
``fsync``-ed at the stop document (``fsync='stop'``, the default), after every document
(``fsync='document'``, safest, slowest) or never (``fsync='never'``).
A torn last line (a write cut short) is skipped with a warning when reading.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from livescan.documents import dumps, loads

__all__ = ["FsyncPolicy", "JournalWriter", "read_journal", "read_last_document"]

FsyncPolicy = Literal["stop", "document", "never"]
_FSYNC = ("stop", "document", "never")


def check_fsync(policy: str) -> str:
    if policy not in _FSYNC:
        raise ValueError(f"fsync must be one of {_FSYNC}, not {policy!r}")
    return policy


class JournalWriter:
    """Appends documents to one journal file; thread-safe."""

    def __init__(self, path: Path, *, fsync: str = "stop") -> None:
        self.path = path
        self.fsync = check_fsync(fsync)
        path.parent.mkdir(parents=True, exist_ok=True)
        # "x": a journal is never reopened or overwritten by a second writer.
        self._file = open(path, "x", encoding="utf-8", newline="\n")  # noqa: SIM115
        self._lock = threading.Lock()
        self.count = 0
        if self.fsync != "never":
            _fsync_dir(path.parent)

    def write(self, name: str, doc: dict[str, Any]) -> None:
        line = dumps([name, doc], separators=(",", ":")) + "\n"
        with self._lock:
            if self._file.closed:
                raise ValueError(f"journal {self.path} is closed")
            self._file.write(line)
            self._file.flush()
            if self.fsync == "document" or (self.fsync == "stop" and name == "stop"):
                os.fsync(self._file.fileno())
            self.count += 1

    def close(self) -> None:
        with self._lock:
            if self._file.closed:
                return
            try:
                self._file.flush()
                if self.fsync != "never":
                    os.fsync(self._file.fileno())
            finally:
                self._file.close()

    @property
    def closed(self) -> bool:
        return self._file.closed


def _fsync_dir(path: Path) -> None:
    if os.name == "nt":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_journal(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(name, doc)`` from a journal, skipping a torn last line."""
    with open(path, "rb") as f:
        for raw in f:
            if not raw.endswith(b"\n"):
                # Only the last line can lack its newline: a write cut short.
                try:
                    name, doc = loads(raw)
                except ValueError:
                    warnings.warn(
                        f"{path}: skipped a torn last line ({len(raw)} bytes)",
                        RuntimeWarning,
                        stacklevel=2,
                    )
                    return
                yield name, doc
                return
            if raw.strip():
                name, doc = loads(raw)
                yield name, doc


def read_last_document(path: Path, tail: int = 1 << 16) -> tuple[str, dict[str, Any]] | None:
    """The last complete document of a journal (reads only its tail), or None."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    with open(path, "rb") as f:
        f.seek(max(0, size - tail))
        chunk = f.read()
    lines = chunk.split(b"\n")
    # The last element is b"" after a final newline, or a torn fragment: drop it.
    for raw in reversed(lines[:-1]):
        if raw.strip():
            try:
                name, doc = loads(raw)
            except ValueError:  # the first line of the chunk may be cut
                return None
            return name, doc
    return None
