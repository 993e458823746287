"""Callbacks: CallbackBase, LiveTable, DocumentCollector, post_run — and the live widgets.

``LivePlot``, ``LiveRaster`` and ``LiveImage`` live in :mod:`livescan.widgets` and are
loaded on first use, so importing this module never imports a widget library.
"""

import importlib
from typing import Any

from livescan.callbacks._base import CallbackBase, DocumentCollector
from livescan.callbacks._post_run import post_run
from livescan.callbacks._table import LiveTable, TableView, in_kernel

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
]

_WIDGETS = ("LivePlot", "LiveRaster", "LiveImage")


def __getattr__(name: str) -> Any:
    if name in _WIDGETS:
        return getattr(importlib.import_module("livescan.widgets"), name)
    raise AttributeError(f"module 'livescan.callbacks' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
