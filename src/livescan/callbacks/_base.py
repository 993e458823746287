"""CallbackBase and DocumentCollector."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from livescan.documents import DocumentRouter

__all__ = ["CallbackBase", "DocumentCollector"]


class CallbackBase(DocumentRouter):
    """Subclass and define methods named after documents: ``start``, ``descriptor``,
    ``event``, ``resource``, ``datum``, ``stop`` (and ``event_page``). Methods you leave
    out do nothing; event pages are unpacked into events when only ``event`` exists."""


class DocumentCollector:
    """A subscriber that keeps every ``(name, doc)`` it gets, in order.

    >>> docs = DocumentCollector()
    >>> RE(count([det]), docs)  # doctest: +SKIP
    >>> docs.names()  # doctest: +SKIP
    ['start', 'descriptor', 'event', 'stop']
    """

    def __init__(self) -> None:
        self.documents: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        self.documents.append((name, doc))

    def __iter__(self) -> Iterator[tuple[str, dict[str, Any]]]:
        return iter(self.documents)

    def __len__(self) -> int:
        return len(self.documents)

    def names(self) -> list[str]:
        """The names of the documents kept, in order."""
        return [name for name, _ in self.documents]

    def __getitem__(self, name: str) -> list[dict[str, Any]]:
        """All documents called ``name`` (``'event'``, ``'start'``, …), in order."""
        return [doc for n, doc in self.documents if n == name]

    @property
    def start(self) -> dict[str, Any] | None:
        """The last start document kept, or None."""
        starts = self["start"]
        return starts[-1] if starts else None

    @property
    def stop(self) -> dict[str, Any] | None:
        """The last stop document kept, or None."""
        stops = self["stop"]
        return stops[-1] if stops else None

    def clear(self) -> None:
        """Forget every document kept."""
        self.documents.clear()

    def __repr__(self) -> str:
        return f"<DocumentCollector {len(self.documents)} documents>"
