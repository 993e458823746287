"""Callbacks: CallbackBase, LiveTable, DocumentCollector, post_run — and the live widgets.

``LivePlot``, ``LiveRaster`` and ``LiveImage`` live in :mod:`livescan.widgets`, a higher
layer. This module offers a slot for them, :func:`set_widget_provider`, and never imports
a widget library itself; ``livescan/__init__.py`` fills the slot with a function that loads
``livescan.widgets`` on first use, so ``from livescan.callbacks import LivePlot`` works.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from livescan.callbacks._base import CallbackBase, DocumentCollector
from livescan.callbacks._post_run import post_run
from livescan.callbacks._table import LiveTable, TableView, in_kernel

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "CallbackBase",
    "DocumentCollector",
    "LiveImage",
    "LivePlot",
    "LiveRaster",
    "LiveTable",
    "TableView",
    "in_kernel",
    "post_run",
    "set_widget_provider",
]

_WIDGETS = ("LivePlot", "LiveRaster", "LiveImage")
_provider: Callable[[str], Any] | None = None


def set_widget_provider(provider: Callable[[str], Any] | None) -> Callable[[str], Any] | None:
    """Install ``provider(name) -> class`` for ``LivePlot``, ``LiveRaster`` and
    ``LiveImage`` (it may raise ImportError); returns the previous provider."""
    global _provider
    previous, _provider = _provider, provider
    return previous


def __getattr__(name: str) -> Any:
    if name in _WIDGETS:
        if _provider is None:
            raise ImportError(f"livescan.callbacks.{name}: no widget provider is installed")
        return _provider(name)
    raise AttributeError(f"module 'livescan.callbacks' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
