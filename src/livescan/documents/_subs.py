"""Checking and normalising subscription arguments: a callable, a list, or a dict."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from livescan.errors import NotCallableError, UnknownDocumentName

__all__ = [
    "SUBSCRIPTION_KEYS",
    "Callback",
    "check_callable",
    "check_subscription_name",
    "normalize_subs",
]

Callback = Callable[[str, dict[str, Any]], Any]

#: The keys a subscription may name: every document plus ``'all'``.
SUBSCRIPTION_KEYS = ("all", "start", "descriptor", "event", "stop", "resource", "datum")


def check_subscription_name(name: object) -> str:
    """Return ``name`` if callbacks may subscribe to it, else raise ``UnknownDocumentName``."""
    if not isinstance(name, str) or name not in SUBSCRIPTION_KEYS:
        raise UnknownDocumentName(
            f"{name!r} is not a document name to subscribe to; use one of "
            f"{', '.join(map(repr, SUBSCRIPTION_KEYS))}"
        )
    return name


def check_callable(func: object, where: str = "subscription") -> Callback:
    """Return ``func`` if it is callable, else raise ``NotCallableError`` naming ``where``."""
    if not callable(func):
        raise NotCallableError(
            f"{where}: {func!r} is not callable; subscribe a function f(name, doc) or a "
            "callback object such as LiveTable(...)"
        )
    return func


def normalize_subs(subs: Any) -> dict[str, list[Callback]]:
    """Turn ``None``, a callable, a list of callables or a dict keyed by document name
    into ``{name: [callables]}``, raising a clear error for anything else."""
    out: dict[str, list[Callback]] = {}
    if subs is None:
        return out
    if callable(subs) and not isinstance(subs, Mapping):
        return {"all": [subs]}
    if isinstance(subs, Mapping):
        for name, funcs in subs.items():
            check_subscription_name(name)
            items = [funcs] if callable(funcs) else funcs
            if not isinstance(items, Iterable) or isinstance(items, str | bytes):
                raise NotCallableError(
                    f"subscription {name!r}: {funcs!r} is neither a callable "
                    "nor a list of callables"
                )
            out.setdefault(name, []).extend(
                check_callable(f, f"subscription {name!r}") for f in items
            )
        return out
    if isinstance(subs, Iterable) and not isinstance(subs, str | bytes):
        for item in subs:
            if isinstance(item, Mapping) or (
                isinstance(item, list | tuple) and item and not callable(item)
            ):
                for name, funcs in normalize_subs(item).items():
                    out.setdefault(name, []).extend(funcs)
            else:
                out.setdefault("all", []).append(check_callable(item))
        return out
    raise NotCallableError(
        f"subscriptions must be a callable, a list of callables or a dict keyed by "
        f"{', '.join(map(repr, SUBSCRIPTION_KEYS))}; got {subs!r}"
    )
