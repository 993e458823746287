"""The append-only journal of one run: ``[name, doc]`` JSON, one document a line.

This is the suitcase-jsonl convention, so other tools can read the files. NaN and the
infinities are written as Python's ``json`` writes them (``NaN``, ``Infinity``), so they
come back as they went in.

Creation is atomic: the start line is written to ``<uid>.jsonl.part`` and the file is
then linked to its final name (which must not exist yet), so a journal is never empty
and never half-created, and two writers can never share one.

Durability: every document is written with a single ``write`` and flushed to the
operating system before the call returns, so a process killed with SIGKILL (or crashing)
leaves every document it has handed over readable: the kernel owns the bytes. A power
loss or an OS crash can lose what the OS has not yet put on disk; the journal is
``fsync``-ed at the stop document (``fsync='stop'``, the default), after every document
(``fsync='document'``, safest, slowest) or never (``fsync='never'``).

Reading is forgiving: a torn last line (a write cut short) is skipped with a warning, and
so is a damaged line anywhere else; the warning names the file and the line number.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

from livescan.documents import NumpyEncoder

__all__ = [
    "FsyncPolicy",
    "JournalWriter",
    "encode",
    "read_journal",
    "read_last_document",
]

FsyncPolicy = Literal["stop", "document", "never"]
_FSYNC = ("stop", "document", "never")
_ENCODER = NumpyEncoder(separators=(",", ":"), allow_nan=True)


def encode(obj: Any) -> str:
    """JSON text of ``obj``; numpy values become plain JSON, NaN/inf are kept."""
    return _ENCODER.encode(obj)


def check_fsync(policy: str) -> str:
    if policy not in _FSYNC:
        raise ValueError(f"fsync must be one of {_FSYNC}, not {policy!r}")
    return policy


class JournalWriter:
    """Appends documents to one journal file; thread-safe.

    The journal is created holding its first document (``first``), atomically: a
    journal with that name must not exist (``FileExistsError`` otherwise).
    """

    def __init__(
        self, path: Path, first: tuple[str, dict[str, Any]], *, fsync: str = "stop"
    ) -> None:
        self.path = path
        self.fsync = check_fsync(fsync)
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(path.name + ".part")
        line = (encode(list(first)) + "\n").encode()
        fd = os.open(
            part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o644
        )
        try:
            os.write(fd, line)
            if self.fsync != "never":
                os.fsync(fd)
            os.link(part, path)  # fails if the journal exists: never two writers
        except BaseException:
            os.close(fd)
            part.unlink(missing_ok=True)
            raise
        part.unlink(missing_ok=True)
        self._fd: int | None = fd
        self._lock = threading.Lock()
        self.count = 1
        if self.fsync != "never":
            _fsync_dir(path.parent)

    def write(self, name: str, doc: dict[str, Any]) -> None:
        self.write_many(((name, doc),))

    def write_many(self, docs: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Append several documents with one ``write`` (all or, if cut short, a torn tail)."""
        docs = list(docs)
        data = "".join(encode([n, d]) + "\n" for n, d in docs).encode()
        with self._lock:
            if self._fd is None:
                raise ValueError(f"journal {self.path} is closed")
            _write_all(self._fd, data)
            if self.fsync == "document" or (
                self.fsync == "stop" and any(n == "stop" for n, _ in docs)
            ):
                os.fsync(self._fd)
            self.count += len(docs)

    def close(self) -> None:
        with self._lock:
            fd, self._fd = self._fd, None
            if fd is None:
                return
            try:
                if self.fsync != "never":
                    os.fsync(fd)
            finally:
                os.close(fd)

    @property
    def closed(self) -> bool:
        return self._fd is None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _fsync_dir(path: Path) -> None:
    if os.name == "nt":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _parse(raw: bytes) -> tuple[str, dict[str, Any]]:
    pair = json.loads(raw)
    if (
        not isinstance(pair, list)
        or len(pair) != 2
        or not isinstance(pair[0], str)
        or not isinstance(pair[1], dict)
    ):
        raise ValueError("not a [name, document] pair")
    return pair[0], pair[1]


def read_journal(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(name, doc)`` from a journal; damaged lines are skipped with a warning
    that names the file and the line (a torn last line is the usual one)."""
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                name, doc = _parse(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                what = "a torn last line" if not raw.endswith(b"\n") else "a damaged line"
                warnings.warn(
                    f"{path}:{lineno}: skipped {what} ({len(raw)} bytes: {exc})",
                    RuntimeWarning,
                    stacklevel=2,
                )
                continue
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
                return _parse(raw)
            except (ValueError, UnicodeDecodeError):  # cut or damaged: no stop known
                return None
    return None
