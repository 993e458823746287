"""The structural contracts between livescan's parts (no base classes to inherit).

Devices: what the engine expects of devices and statuses. Devices answer synchronously
or with awaitables / status objects; see ``Status``. ophyd devices satisfy these too.

Callbacks: the optional abilities a subscriber can declare — ``PagedCallback`` (take
events batched as event pages; read by the lossy lane), ``Flushable`` (a lossless
subscriber flushed before each stop; called by the lossless lane), and the static
fallbacks a live view leaves behind in an executed notebook (``TextFallback``,
``FigureFallback``; either one is a ``StaticFallback``; asked by ``livescan.jupyter``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = [
    "FigureFallback",
    "Flushable",
    "Movable",
    "PagedCallback",
    "Readable",
    "Stageable",
    "StaticFallback",
    "Status",
    "TextFallback",
    "Triggerable",
    "WritesExternalAssets",
]

_Reading = dict[str, dict[str, Any]]  # key -> {'value': ..., 'timestamp': ...}
_DataKeys = dict[str, dict[str, Any]]  # key -> {'dtype', 'shape', 'source', ...}


# -- devices ------------------------------------------------------------------------------
@runtime_checkable
class Status(Protocol):
    """A completion report: ``done``, ``success`` and ``add_callback(cb)`` (ophyd style).

    Awaitables (coroutines, futures, tasks) are accepted wherever a Status is.
    """

    @property
    def done(self) -> bool:
        """True once the action finished (successfully or not)."""

    @property
    def success(self) -> bool:
        """True if it finished without error."""

    def add_callback(self, callback: Callable[[Any], None]) -> None:
        """Call ``callback(status)`` when done (at once if done already), on any thread."""


@runtime_checkable
class Readable(Protocol):
    """A device that can be read: ``read()`` values and ``describe()`` their data keys."""

    name: str

    def read(self) -> _Reading:
        """The current values: ``{key: {'value': ..., 'timestamp': ...}}``."""

    def describe(self) -> _DataKeys:
        """The data keys of ``read()``: ``{key: {'dtype', 'shape', 'source', ...}}``."""


@runtime_checkable
class Triggerable(Protocol):
    """A device that acquires on ``trigger()`` (returns a Status or an awaitable)."""

    def trigger(self) -> Any:
        """Start an acquisition; returns a Status, an awaitable or None (done)."""


@runtime_checkable
class Movable(Protocol):
    """A device that moves on ``set(value)`` (returns a Status or an awaitable)."""

    def set(self, value: Any) -> Any:
        """Start moving to ``value``; returns a Status, an awaitable or None (done)."""


@runtime_checkable
class Stageable(Protocol):
    """A device prepared before a run (``stage``) and released after it (``unstage``)."""

    def stage(self) -> Any:
        """Prepare for a run (once per run, before the first reading)."""

    def unstage(self) -> Any:
        """Undo ``stage`` (always called at the end of a run)."""


@runtime_checkable
class WritesExternalAssets(Protocol):
    """A device whose data live in files: it yields resource and datum documents."""

    def collect_asset_docs(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """The ``('resource' | 'datum', doc)`` pairs new since the last call."""


# -- callbacks ----------------------------------------------------------------------------
@runtime_checkable
class PagedCallback(Protocol):
    """A lossy subscriber that takes events batched as ``event_page`` documents when its
    ``accepts_event_pages`` is true (every event, in order; see ``livescan.dispatch``)."""

    accepts_event_pages: bool

    def __call__(self, name: str, doc: dict[str, Any]) -> Any:
        """Take one document (``'event_page'`` instead of ``'event'`` when paged)."""


@runtime_checkable
class Flushable(Protocol):
    """A lossless subscriber with ``flush()``: called (awaited if it returns an awaitable)
    before each stop document is composed; raising there ends the run with 'fail'."""

    def flush(self) -> Any:
        """Finish pending work (e.g. a writer thread's queue); raise if it failed."""


@runtime_checkable
class TextFallback(Protocol):
    """A live view that leaves text behind when its run ends (e.g. a grid table as a text
    table), for notebook viewers that cannot run widgets; None when it has none."""

    def fallback_text(self) -> str | None:
        """The view's final state as text, or None when it leaves none."""


@runtime_checkable
class FigureFallback(Protocol):
    """A live view that draws its final state on a matplotlib ``ax`` of ``fig`` (plots,
    rasters, frames): one panel of the PNG an executed notebook keeps."""

    def draw_fallback(self, fig: Any, ax: Any) -> None:
        """Draw the view's final state on ``ax`` (``fig`` for colour bars)."""


#: a live view with a static fallback of either kind
StaticFallback = TextFallback | FigureFallback
