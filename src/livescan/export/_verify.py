"""verify_files_saved: is the run in the store, and does every external file load?"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from livescan.documents import Filler, resource_path

__all__ = ["VerifyReport", "verify_files_saved", "verify_run"]


@dataclass
class VerifyReport:
    """The checks made on one run: ``(passed, message)`` each, and the verdict."""

    uid: str
    checks: list[tuple[bool, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when there were checks and every one passed."""
        return bool(self.checks) and all(ok for ok, _ in self.checks)

    @property
    def verdict(self) -> str:
        """One line saying whether the run's data is saved, and which checks failed."""
        failed = sum(not ok for ok, _ in self.checks)
        if self.ok:
            return (
                f"verify_files_saved: run {self.uid[:8]} OK, all {len(self.checks)} checks passed"
            )
        return (
            f"verify_files_saved: run {self.uid[:8]} FAILED, {failed} of "
            f"{len(self.checks)} checks failed"
        )

    def __str__(self) -> str:
        lines = [f"  {'ok  ' if ok else 'FAIL'}  {msg}" for ok, msg in self.checks]
        return "\n".join([*lines, self.verdict])


def verify_run(
    run: Any,
    db: Any = None,
    *,
    root_map: dict[str, str] | None = None,
    echo: Callable[[str], Any] | None = print,
) -> VerifyReport:
    """Check the run ``run`` (a uid, a stored Run) in ``db`` (default: the active store).

    Prints one line per check and a final verdict (``echo=None`` prints nothing) and
    returns a :class:`VerifyReport`.
    """
    from livescan.store import active_store

    db = active_store() if db is None else db
    uid = run if isinstance(run, str) else run.uid
    report = VerifyReport(uid)

    def check(ok: bool, msg: str) -> bool:
        report.checks.append((ok, msg))
        if echo is not None:
            echo(f"  {'ok  ' if ok else 'FAIL'}  {msg}")
        return ok

    try:
        stored = db[uid]
    except KeyError as exc:
        check(False, f"run {uid[:8]} is not in the store {getattr(db, 'path', db)}: {exc}")
        return _done(report, echo)
    check(
        True, f"run {uid[:8]} (scan_id {stored.scan_id}) is in the store {getattr(db, 'path', db)}"
    )
    stop = stored.stop
    if not check(
        stop is not None,
        "stop document saved"
        + (
            f" (exit_status {stop.get('exit_status')!r})"
            if stop
            else ": missing, the run is unfinished"
        ),
    ):
        stop = {}
    filler = Filler(root_map=root_map)
    counts: dict[str, int] = {}
    stream_of: dict[str, str] = {}
    datum_ids: dict[str, list[str]] = {}
    try:
        for name, doc in stored.documents():
            if name in ("resource", "datum", "datum_page", "descriptor"):
                filler(name, doc)  # remembers them; events are loaded below, per datum
            if name == "descriptor":
                stream_of[doc["uid"]] = doc.get("name", "primary")
            elif name == "event":
                s = stream_of.get(doc["descriptor"], "?")
                counts[s] = counts.get(s, 0) + 1
            elif name == "event_page":
                s = stream_of.get(doc["descriptor"], "?")
                counts[s] = counts.get(s, 0) + len(doc["seq_num"])
            elif name == "datum":
                datum_ids.setdefault(doc["resource"], []).append(doc["datum_id"])
            elif name == "datum_page":
                datum_ids.setdefault(doc["resource"], []).extend(doc["datum_id"])
    except (OSError, ValueError) as exc:
        check(False, f"the run's journal {stored.path} reads back: {exc}")
        return _done(report, echo)
    expected = (stop or {}).get("num_events")
    if expected is not None:
        expected = {k: v for k, v in expected.items() if v}
        check(counts == expected, f"events saved {counts} match the stop's num_events {expected}")
    for ruid, resource in filler.resources.items():
        path = resource_path(resource, filler.root_map)
        if not check(
            os.path.exists(path),
            f"file {path} exists (resource {ruid[:8]}, spec {resource.get('spec')})",
        ):
            continue
        ids = datum_ids.get(ruid, [])
        failures = []
        for datum_id in ids:
            try:
                filler.load(datum_id)
            except Exception as exc:
                failures.append(f"{datum_id}: {type(exc).__name__}: {exc}")
        check(
            not failures,
            f"{len(ids) - len(failures)} of {len(ids)} datums of resource "
            f"{ruid[:8]} load" + (f"; first failure {failures[0]}" if failures else ""),
        )
    return _done(report, echo)


def _done(report: VerifyReport, echo: Callable[[str], Any] | None) -> VerifyReport:
    if echo is not None:
        echo(report.verdict)
    return report


def verify_files_saved(name: str, doc: dict[str, Any], db: Any = None) -> VerifyReport | None:
    """A callback that, at each stop document, checks that the run is in the store, that
    every document and external file was saved and that every datum loads; prints one line
    per check and a verdict. Use ``RE.subscribe(post_run(verify_files_saved))`` or call it
    directly with a stop document."""
    if name != "stop":
        return None
    return verify_run(doc["run_start"], db)
