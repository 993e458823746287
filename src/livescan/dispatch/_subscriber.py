"""One subscription: a callable, the document names it wants, and a readable label."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from livescan.documents import Callback, check_callable, check_subscription_name
from livescan.protocols import PagedCallback

__all__ = ["Subscription", "is_bluesky_callback", "label_of"]


def label_of(func: Callable[..., Any]) -> str:
    """A short human name for a callback: ``LiveTable``, ``print``, ``my_func``."""
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None)
    if name is None or not isinstance(name, str):
        name = type(func).__name__
    return name


def is_bluesky_callback(func: object) -> bool:
    """Whether ``func`` is an instance of a callback class written for bluesky (its class
    derives from ``bluesky.callbacks.core.CallbackBase``), found without importing bluesky."""
    for cls in type(func).__mro__:
        if cls.__name__ == "CallbackBase" and cls.__module__ == "bluesky.callbacks.core":
            return True
    return False


class Subscription:
    """One subscribed callable: its token, the document name it wants, and how to deliver."""

    __slots__ = ("complete", "func", "label", "name", "pages", "readonly", "token")

    def __init__(
        self, token: int, func: Callback, name: str = "all", *, every_event: bool | None = None
    ) -> None:
        self.token = token
        self.func = check_callable(func)
        self.name = check_subscription_name(name)
        self.label = label_of(func)
        #: deliver events batched as event_page documents (the callback opted in)
        self.pages = isinstance(func, PagedCallback) and bool(func.accepts_event_pages)
        #: the callback declared that it never edits a document (``mutates_documents =
        #: False``: livescan's own views), so the lossy lane need not copy for it
        self.readonly = getattr(func, "mutates_documents", True) is False
        #: lossy lane: every document, in order, never dropped (possibly late); the
        #: default for callbacks written for bluesky (see ``is_bluesky_callback``)
        self.complete = is_bluesky_callback(func) if every_event is None else bool(every_event)

    def wants(self, name: str) -> bool:
        """Whether documents called ``name`` go to this subscription."""
        return self.name == "all" or self.name == name

    def __repr__(self) -> str:
        return f"<subscription {self.token}: {self.label} on {self.name!r}>"
