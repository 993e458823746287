"""RunStore: an embedded, serverless store of runs, and a lossless subscriber."""

from __future__ import annotations

import datetime as _dt
import threading
import warnings
import weakref
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from livescan.errors import RunNotFound, StoreError
from livescan.store._frames import FrameWriter
from livescan.store._index import Index, IndexRow, row_start
from livescan.store._journal import JournalWriter, check_fsync, read_journal, read_last_document
from livescan.store._paths import default_store_path
from livescan.store._run import Run

__all__ = ["RunStore", "active_store"]

_ACTIVE: weakref.ref[RunStore] | None = None


def active_store() -> RunStore:
    """The store that most recently recorded a run in this process, else the default one."""
    store = _ACTIVE() if _ACTIVE is not None else None
    return store if store is not None else RunStore()


class _Open:
    """Book-keeping for a run being recorded."""

    __slots__ = ("frames", "journal", "typed")

    def __init__(self, journal: JournalWriter, frames: FrameWriter) -> None:
        self.journal = journal
        self.frames = frames
        self.typed: set[str] = set()  # descriptors whose array dtypes are recorded

    def close(self) -> None:
        try:
            self.frames.close()
        finally:
            self.journal.close()


class RunStore:
    """A folder of runs: one append-only journal per run plus an SQLite index.

    Subscribe it lossless to record every run::

        db = RunStore()                 # or RunStore("/data/runs")
        RE.subscribe_lossless(db)
        RE(count([det], 5))
        run = db[-1]                    # newest; db[3] is scan_id 3; db["3edaae5b"] a uid prefix
        run.start, run.stop, run["primary"]["det"], list(run.documents())

    Layout: ``<path>/<YYYY-MM-DD>/<uid>.jsonl`` (``[name, doc]`` per line, the suitcase-jsonl
    convention) and ``<path>/index.sqlite``; arrays of ``binary_min_bytes`` or more inside
    events go to ``<path>/<YYYY-MM-DD>/<uid>/<n>.bin`` (see :mod:`livescan.store._frames`).
    ``fsync`` is ``'stop'`` (default), ``'document'`` or ``'never'``; see
    :mod:`livescan.store._journal`. Several processes may record into one store at once.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        fsync: str = "stop",
        binary_min_bytes: int = 1024,
    ) -> None:
        self.path = Path(path).expanduser() if path is not None else default_store_path()
        self.fsync = check_fsync(fsync)
        self.binary_min_bytes = int(binary_min_bytes)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the run store folder {self.path}: {exc}; "
                "pass RunStore(path) a writable folder"
            ) from exc
        if not self.path.is_dir():
            raise StoreError(f"{self.path} is not a folder; pass RunStore(path) a folder")
        self._index = Index(self.path / "index.sqlite")
        self._lock = threading.RLock()
        self._open: dict[str, _Open] = {}  # run uid -> journal
        self._run_of: dict[str, str] = {}  # descriptor / resource uid -> run uid
        self._dtype_cache: dict[str, dict[str, str]] = {}
        self._reconcile()

    # -- the subscriber ------------------------------------------------------------------
    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        """Record one document. Lossless: errors propagate (and so end the run)."""
        global _ACTIVE
        with self._lock:
            if name == "start":
                self._begin(doc)
                _ACTIVE = weakref.ref(self)
                return
            run_uid = self._owner(name, doc)
            entry = self._open[run_uid]
            try:
                if name in ("event", "event_page"):
                    if doc["descriptor"] not in entry.typed:
                        self._record_dtypes(entry, name, doc)
                    entry.journal.write_many(entry.frames.encode(name, doc))
                elif name == "descriptor":
                    entry.journal.write(name, entry.frames.mark_descriptor(doc))
                else:
                    entry.journal.write(name, doc)
            except BaseException as exc:
                self._abandon(run_uid)
                if isinstance(exc, OSError):
                    raise StoreError(
                        f"the run store at {self.path} could not record a {name!r} document "
                        f"of run {run_uid[:8]}: {exc}; the run is kept up to its last "
                        "recorded document"
                    ) from exc
                raise
            if name in ("descriptor", "resource"):
                self._run_of[doc["uid"]] = run_uid
            elif name == "stop":
                self._finish(run_uid, doc)

    def _begin(self, start: dict[str, Any]) -> None:
        uid = start["uid"]
        if uid in self._open or self._index.has(uid):
            raise StoreError(
                f"run {uid} is already in the store at {self.path}; a store "
                "records each run once (replaying a stored run into it is a no-op)"
            )
        day = _dt.datetime.fromtimestamp(float(start["time"])).strftime("%Y-%m-%d")
        rel = f"{day}/{uid}.jsonl"
        try:
            journal = JournalWriter(self.path / rel, ("start", start), fsync=self.fsync)
        except FileExistsError as exc:
            raise StoreError(
                f"run {uid} is already in the store at {self.path} ({rel} exists); a store "
                "records each run once"
            ) from exc
        except OSError as exc:
            raise StoreError(
                f"cannot create the journal of run {uid[:8]} in {self.path}: {exc}"
            ) from exc
        try:
            self._index.add_run(start, rel)
        except BaseException:
            journal.close()
            raise
        frames = FrameWriter(
            journal.path.parent, uid, min_bytes=self.binary_min_bytes, fsync=self.fsync
        )
        self._open[uid] = _Open(journal, frames)

    def _owner(self, name: str, doc: dict[str, Any]) -> str:
        if name == "stop" or (
            name in ("descriptor", "resource", "stream_resource") and "run_start" in doc
        ):
            key = doc["run_start"]
            if key in self._open:
                return key
        elif name in ("event", "event_page", "stream_datum"):
            key = doc["descriptor"]
        elif name in ("datum", "datum_page"):
            key = doc["resource"]
        elif name == "resource" and len(self._open) == 1:
            return next(iter(self._open))  # resource without run_start: the only open run
        else:
            key = doc.get("run_start", doc.get("uid", "?"))
        owner = self._run_of.get(key)
        if owner is None or owner not in self._open:
            raise StoreError(
                f"the store got a {name!r} document for a run it is not "
                f"recording ({key!r}); subscribe the RunStore before the run "
                "starts so it sees the start document"
            )
        return owner

    def _record_dtypes(self, entry: _Open, name: str, doc: dict[str, Any]) -> None:
        data = doc["data"]
        dtypes = {}
        for k, v in data.items():
            if name == "event_page":
                v = v[0] if len(v) else None
            if isinstance(v, np.ndarray):
                dtypes[k] = v.dtype.str
        if dtypes:
            self._index.set_dtypes(doc["descriptor"], dtypes)
        entry.typed.add(doc["descriptor"])

    def _finish(self, run_uid: str, stop: dict[str, Any]) -> None:
        entry = self._open.pop(run_uid)
        try:
            entry.close()
        finally:
            self._forget(run_uid)
            self._index.set_stop(stop)

    def _abandon(self, run_uid: str) -> None:
        entry = self._open.pop(run_uid, None)
        self._forget(run_uid)
        if entry is not None:
            try:
                entry.close()
            except OSError:
                pass

    def _forget(self, run_uid: str) -> None:
        for k in [k for k, v in self._run_of.items() if v == run_uid]:
            del self._run_of[k]

    def close(self) -> None:
        """Close any journal still open (its run stays unfinished) and the index."""
        with self._lock:
            for uid in list(self._open):
                self._abandon(uid)
            self._index.close()

    # -- lookup ------------------------------------------------------------------------
    def __getitem__(self, key: int | str | slice) -> Any:
        """``db[-1]`` newest run, ``db[-2]`` the one before; ``db[3]`` the newest run with
        scan_id 3; ``db['3edaae5b']`` a run by uid or unique uid prefix; ``db[-3:]`` a list."""
        if isinstance(key, slice):
            rows = self._index.select()
            return [self._run(r) for r in rows[key]]
        if isinstance(key, bool):
            raise TypeError("a run is looked up by int (scan_id or -recency) or str (uid)")
        if isinstance(key, int | np.integer):
            key = int(key)
            if key < 0:
                row = self._index.nth(key)
                if row is None:
                    raise RunNotFound(
                        f"the store at {self.path} has {len(self)} runs; db[{key}] does not exist"
                    )
                return self._run(row)
            rows = self._index.by_scan_id(key)
            if not rows:
                raise RunNotFound(
                    f"no run with scan_id {key} in the store at {self.path}"
                    " (db[-1] is the newest run)"
                )
            return self._run(rows[0])
        if isinstance(key, str):
            row = self._index.get(key)
            if row is not None:
                return self._run(row)
            if len(key) < 3:
                raise RunNotFound(f"a uid prefix needs at least 3 characters, not {key!r}")
            rows = self._index.by_prefix(key)
            if not rows:
                raise RunNotFound(f"no run whose uid starts with {key!r} in {self.path}")
            if len(rows) > 1:
                shown = ", ".join(r[0][:12] for r in rows[:10])
                raise RunNotFound(
                    f"uid prefix {key!r} is ambiguous: it matches {shown}"
                    f"{', …' if len(rows) > 10 else ''}; give more characters"
                )
            return self._run(rows[0])
        raise TypeError(f"a run is looked up by int or str, not {type(key).__name__}")

    def __len__(self) -> int:
        return self._index.count()

    def __iter__(self) -> Iterator[Run]:
        return (self._run(r) for r in self._index.select())

    def __contains__(self, uid: object) -> bool:
        return isinstance(uid, str) and self._index.has(uid)

    def search(
        self,
        query: Mapping[str, Any] | None = None,
        *,
        since: Any = None,
        until: Any = None,
        **kwargs: Any,
    ) -> list[Run]:
        """Runs (oldest first) whose start matches every ``key=value`` and that started in
        ``[since, until)``. ``since``/``until`` take epoch seconds, datetimes or ISO strings.
        Nested keys: ``search({'sample.name': 'Si'})``. A callable value is a predicate."""
        wanted = {**(query or {}), **kwargs}
        out = []
        for row in self._index.select(_epoch(since), _epoch(until)):
            start = row_start(row)
            if all(_match(start, k, v) for k, v in wanted.items()):
                out.append(Run(self, row[0], self.path / row[3], start))
        return out

    def reindex(self) -> int:
        """Add journals missing from the index and fill in stops; returns how many changed."""
        return self._reconcile()

    def _run(self, row: IndexRow) -> Run:
        return Run(self, row[0], self.path / row[3], row_start(row))

    def _dtypes_of(self, descriptor: str) -> dict[str, str]:
        cached = self._dtype_cache.get(descriptor)
        if cached is None:
            cached = {k: v for (_, k), v in self._index.dtypes([descriptor]).items()}
            if cached:
                self._dtype_cache[descriptor] = cached
        return cached

    def _reconcile(self) -> int:
        changed = 0
        known = self._index.paths()
        for journal in sorted(self.path.glob("*/*.jsonl")):
            rel = journal.relative_to(self.path).as_posix()
            if rel in known:
                continue
            first = _first_document(journal)
            if first is None or self._index.has(first["uid"]):
                continue
            self._index.add_run(first, rel)
            changed += 1
        for uid, rel in self._index.unfinished():
            if uid in self._open:
                continue
            last = read_last_document(self.path / rel)
            if last is not None and last[0] == "stop":
                self._index.set_stop(last[1])
                changed += 1
        return changed

    def __repr__(self) -> str:
        return f"RunStore({str(self.path)!r}) with {len(self)} runs"


def _first_document(journal: Path) -> dict[str, Any] | None:
    """The start document a journal begins with, or None (with a warning naming the file)
    if it cannot be read or does not begin with a start."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            first = next(iter(read_journal(journal)), None)
    except OSError as exc:
        warnings.warn(f"{journal}: cannot be read ({exc}); left out", RuntimeWarning, stacklevel=4)
        return None
    for w in caught:
        warnings.warn(str(w.message), RuntimeWarning, stacklevel=4)
    if first is None or first[0] != "start" or not isinstance(first[1].get("uid"), str):
        if journal.stat().st_size:
            warnings.warn(
                f"{journal}: does not begin with a start document; left out of the index",
                RuntimeWarning,
                stacklevel=4,
            )
        return None
    try:
        float(first[1]["time"])
    except (KeyError, TypeError, ValueError):
        warnings.warn(
            f"{journal}:1: the start document has no valid time; left out of the index",
            RuntimeWarning,
            stacklevel=4,
        )
        return None
    return first[1]


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        value = _dt.datetime.fromisoformat(value)
    if isinstance(value, _dt.datetime):
        return value.timestamp()
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day).timestamp()
    raise TypeError(f"since/until take epoch seconds, a datetime or an ISO string, not {value!r}")


def _match(start: Mapping[str, Any], key: str, want: Any) -> bool:
    value: Any = start
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return False
        value = value[part]
    if callable(want):
        return bool(want(value))
    return bool(value == want)
