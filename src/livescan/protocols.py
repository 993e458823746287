"""What the engine expects of devices and statuses (structural typing, no base classes).

Devices answer synchronously or with awaitables / status objects; see ``Status``.
ophyd devices satisfy these protocols too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol, runtime_checkable

__all__ = ["Movable", "Readable", "Stageable", "Status", "Triggerable", "WritesExternalAssets"]

Reading = dict[str, dict[str, Any]]  # key -> {'value': ..., 'timestamp': ...}
DataKeys = dict[str, dict[str, Any]]  # key -> {'dtype', 'shape', 'source', ...}


@runtime_checkable
class Status(Protocol):
    """A completion report: ``done``, ``success`` and ``add_callback(cb)`` (ophyd style).

    Awaitables (coroutines, futures, tasks) are accepted wherever a Status is.
    """

    @property
    def done(self) -> bool: ...

    @property
    def success(self) -> bool: ...

    def add_callback(self, callback: Callable[[Any], None]) -> None: ...


@runtime_checkable
class Readable(Protocol):
    name: str

    def read(self) -> Reading: ...

    def describe(self) -> DataKeys: ...


@runtime_checkable
class Triggerable(Protocol):
    def trigger(self) -> Any: ...


@runtime_checkable
class Movable(Protocol):
    def set(self, value: Any) -> Any: ...


@runtime_checkable
class Stageable(Protocol):
    def stage(self) -> Any: ...

    def unstage(self) -> Any: ...


@runtime_checkable
class WritesExternalAssets(Protocol):
    def collect_asset_docs(self) -> Iterator[tuple[str, dict[str, Any]]]: ...
