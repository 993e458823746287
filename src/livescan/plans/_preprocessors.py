"""Plan wrappers and decorators: subscriptions for the length of a plan, baseline readings."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from livescan.documents import normalize_subs
from livescan.plans._msg import Msg
from livescan.plans._stubs import Plan, trigger_and_read

__all__ = ["baseline_decorator", "baseline_wrapper", "subs_decorator", "subs_wrapper"]


def subs_wrapper(plan: Any, subs: Any) -> Plan:
    """Subscribe ``subs`` (lossy; callable, list or dict) while ``plan`` runs."""
    normalized = normalize_subs(subs)
    tokens = []
    for name, funcs in normalized.items():
        for func in funcs:
            tokens.append((yield Msg("subscribe", None, func, name)))
    try:
        return (yield from plan)
    finally:
        for token in tokens:
            yield Msg("unsubscribe", None, token=token)


def subs_decorator(subs: Any) -> Callable[[Callable[..., Plan]], Callable[..., Plan]]:
    """Decorate a plan function so every run of it gets ``subs``."""
    normalize_subs(subs)  # fail now, not at run time

    def decorator(func: Callable[..., Plan]) -> Callable[..., Plan]:
        @functools.wraps(func)
        def wrapped(*args: Any, **kwargs: Any) -> Plan:
            return (yield from subs_wrapper(func(*args, **kwargs), subs))

        return wrapped

    return decorator


def baseline_wrapper(plan: Any, devices: Sequence[Any], name: str = "baseline") -> Plan:
    """Read ``devices`` into stream ``name`` right after each run opens and before it closes."""
    devices = list(devices)
    gen = iter(plan)
    response: Any = None
    exc: BaseException | None = None
    while True:
        try:
            msg = gen.throw(exc) if exc is not None else gen.send(response)
        except StopIteration as stop:
            return stop.value
        exc = None
        if msg.command == "close_run" and devices:
            yield from trigger_and_read(devices, name=name)
        try:
            response = yield msg
        except BaseException as e:
            exc, response = e, None
            continue
        if msg.command == "open_run" and devices:
            yield from trigger_and_read(devices, name=name)


def baseline_decorator(
    devices: Sequence[Any], name: str = "baseline"
) -> Callable[[Callable[..., Plan]], Callable[..., Plan]]:
    """``baseline_wrapper`` as a decorator: the plan reads ``devices`` at its start and end."""

    def decorator(func: Callable[..., Plan]) -> Callable[..., Plan]:
        @functools.wraps(func)
        def wrapped(*args: Any, **kwargs: Any) -> Plan:
            return (yield from baseline_wrapper(func(*args, **kwargs), devices, name))

        return wrapped

    return decorator
