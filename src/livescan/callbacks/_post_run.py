"""post_run: hand a whole run to a callback once it has finished."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from livescan.documents import Filler

__all__ = ["post_run"]


class _PostRun:
    def __init__(self, callback: Callable[[str, dict[str, Any]], Any], db: Any, fill: bool) -> None:
        self.callback = callback
        self.db = db
        self.fill = fill
        self._docs: list[tuple[str, dict[str, Any]]] = []
        self.__name__ = f"post_run({getattr(callback, '__name__', type(callback).__name__)})"
        self.__qualname__ = self.__name__

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        if name == "start":
            self._docs = []
        if self.db is None:
            self._docs.append((name, doc))
        if name == "stop":
            docs, self._docs = self._docs, []
            self._replay(doc["run_start"], docs)

    def _replay(self, uid: str, docs: list[tuple[str, dict[str, Any]]]) -> None:
        source: Iterable[tuple[str, dict[str, Any]]]
        if self.db is not None:
            run = self.db[uid]
            documents = run.documents
            try:
                source = documents(fill=self.fill)
            except TypeError:
                source = documents()
        else:
            source = docs
            if self.fill:
                filler = Filler()
                source = (filler(n, d) for n, d in docs)
        for name, doc in source:
            self.callback(name, doc)


def post_run(
    callback: Callable[[str, dict[str, Any]], Any], db: Any = None, fill: bool = False
) -> Callable[[str, dict[str, Any]], None]:
    """Wrap ``callback`` so it gets a run's documents all at once, after its stop.

    Without ``db`` the documents come from memory (this subscription's own copy); with a
    store ``db`` (``db[uid].documents(fill=...)``) they are read back from it, which
    also proves they were saved. ``fill=True`` loads file-backed data into the events.
    ``RE.subscribe(post_run(exporter))`` runs an exporter after each run.
    """
    if not callable(callback):
        raise TypeError(f"post_run needs a callable, not {callback!r}")
    return _PostRun(callback, db, fill)
