"""The store's index: one SQLite table of runs for lookup and search.

The journals are the truth; the index is rebuilt from them when it is missing, damaged
(moved aside to ``index.sqlite.damaged-<time>``) or when a journal is not in it
(``RunStore.reindex``). SQLite commits are atomic, so a process killed mid-run leaves the
index consistent (the run simply has no stop yet).

Several processes may share one store: the index runs in WAL mode with a busy timeout,
and adding a run is idempotent (``INSERT OR IGNORE``), so a process indexing another's
fresh journal and that process indexing its own run never collide.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from livescan.documents import loads
from livescan.store._journal import encode

__all__ = ["Index", "IndexRow"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    uid TEXT PRIMARY KEY,
    scan_id INTEGER,
    time REAL NOT NULL,
    path TEXT NOT NULL,
    start TEXT NOT NULL,
    stop_time REAL,
    exit_status TEXT
);
CREATE INDEX IF NOT EXISTS runs_time ON runs(time);
CREATE INDEX IF NOT EXISTS runs_scan_id ON runs(scan_id);
CREATE TABLE IF NOT EXISTS dtypes (
    descriptor TEXT NOT NULL,
    key TEXT NOT NULL,
    dtype TEXT NOT NULL,
    PRIMARY KEY (descriptor, key)
);
"""

IndexRow = tuple[str, int | None, float, str, str, float | None, str | None]
_COLUMNS = "uid, scan_id, time, path, start, stop_time, exit_status"


class Index:
    """A thin, thread-safe wrapper over the SQLite index file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        #: True when the index file was missing or damaged and was made anew
        self.fresh = not path.exists() or path.stat().st_size == 0
        try:
            self._conn = self._open()
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and (
                "locked" in str(exc) or "busy" in str(exc)
            ):
                raise
            damaged = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%dT%H%M%S')}")
            warnings.warn(
                f"{path} is damaged ({exc}); moved it to {damaged.name} and rebuilding "
                "the index from the journals",
                RuntimeWarning,
                stacklevel=3,
            )
            try:
                path.replace(damaged)
            except FileNotFoundError:  # another process moved it first
                pass
            for extra in ("-wal", "-shm"):
                path.with_name(path.name + extra).unlink(missing_ok=True)
            self.fresh = True
            self._conn = self._open()

    def _open(self) -> sqlite3.Connection:
        # Switching to WAL and WAL recovery can report "database is locked" at once,
        # without waiting on the busy timeout, while another process opens the same
        # new store; such a clash passes, so it is retried for up to 30 s.
        deadline = time.monotonic() + 30
        delay = 0.01
        while True:
            try:
                return self._open_once()
            except sqlite3.OperationalError as exc:
                transient = "locked" in str(exc) or "busy" in str(exc)
                if not transient or time.monotonic() > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.25)

    def _open_once(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout = 30000")
            mode = conn.execute("PRAGMA journal_mode").fetchone()
            if mode is None or str(mode[0]).lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(_SCHEMA)
            conn.execute("SELECT uid, scan_id, time, path, start FROM runs LIMIT 1").fetchall()
            bad = conn.execute("PRAGMA quick_check").fetchone()
            if bad is None or bad[0] != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {bad}")
        except BaseException:
            conn.close()
            raise
        return conn

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _execute(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, tuple(args)).fetchall()

    def add_run(self, start: dict[str, Any], path: str) -> None:
        scan_id = start.get("scan_id")
        if not isinstance(scan_id, int) or isinstance(scan_id, bool):
            scan_id = None
        self._execute(
            "INSERT OR IGNORE INTO runs (uid, scan_id, time, path, start) VALUES (?, ?, ?, ?, ?)",
            (start["uid"], scan_id, float(start["time"]), path, encode(start)),
        )

    def set_stop(self, stop: dict[str, Any]) -> None:
        self._execute(
            "UPDATE runs SET stop_time = ?, exit_status = ? WHERE uid = ?",
            (float(stop["time"]), stop.get("exit_status"), stop["run_start"]),
        )

    def set_dtypes(self, descriptor: str, dtypes: dict[str, str]) -> None:
        with self._lock:
            self._conn.executemany(
                "INSERT OR REPLACE INTO dtypes (descriptor, key, dtype) VALUES (?, ?, ?)",
                [(descriptor, k, v) for k, v in dtypes.items()],
            )

    def dtypes(self, descriptors: Iterable[str]) -> dict[tuple[str, str], str]:
        uids = list(descriptors)
        if not uids:
            return {}
        marks = ",".join("?" * len(uids))
        rows = self._execute(
            f"SELECT descriptor, key, dtype FROM dtypes WHERE descriptor IN ({marks})", uids
        )
        return {(d, k): t for d, k, t in rows}

    def has(self, uid: str) -> bool:
        return bool(self._execute("SELECT 1 FROM runs WHERE uid = ?", (uid,)))

    def paths(self) -> set[str]:
        return {r[0] for r in self._execute("SELECT path FROM runs")}

    def unfinished(self) -> list[tuple[str, str]]:
        return [
            (u, p) for u, p in self._execute("SELECT uid, path FROM runs WHERE stop_time IS NULL")
        ]

    def get(self, uid: str) -> IndexRow | None:
        rows = self._execute(f"SELECT {_COLUMNS} FROM runs WHERE uid = ?", (uid,))
        return rows[0] if rows else None

    def by_prefix(self, prefix: str, limit: int = 11) -> list[IndexRow]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return self._execute(
            f"SELECT {_COLUMNS} FROM runs WHERE uid LIKE ? ESCAPE '\\' ORDER BY time LIMIT ?",
            (escaped + "%", limit),
        )

    def by_scan_id(self, scan_id: int) -> list[IndexRow]:
        return self._execute(
            f"SELECT {_COLUMNS} FROM runs WHERE scan_id = ? ORDER BY time DESC, rowid DESC",
            (scan_id,),
        )

    def nth(self, i: int) -> IndexRow | None:
        """The i-th run by start time: 0 is the oldest, -1 the newest."""
        order, offset = ("ASC", i) if i >= 0 else ("DESC", -i - 1)
        rows = self._execute(
            f"SELECT {_COLUMNS} FROM runs ORDER BY time {order}, rowid {order} LIMIT 1 OFFSET ?",
            (offset,),
        )
        return rows[0] if rows else None

    def count(self) -> int:
        return int(self._execute("SELECT COUNT(*) FROM runs")[0][0])

    def select(self, since: float | None = None, until: float | None = None) -> list[IndexRow]:
        sql, args = f"SELECT {_COLUMNS} FROM runs WHERE 1=1", []
        if since is not None:
            sql += " AND time >= ?"
            args.append(since)
        if until is not None:
            sql += " AND time < ?"
            args.append(until)
        return self._execute(sql + " ORDER BY time, rowid", args)


def row_start(row: IndexRow) -> dict[str, Any]:
    return loads(row[4])
