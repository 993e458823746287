"""What every live widget shares: a document callback that owns an ipywidget and a throttle."""

from __future__ import annotations

import logging
import warnings
from typing import Any, Protocol, runtime_checkable

from livescan.callbacks import CallbackBase
from livescan.errors import FieldError
from livescan.widgets._fallback import FallbackOutputs
from livescan.widgets._throttle import DEFAULT_MAX_RATE, Throttle

__all__ = ["Displayable", "LiveWidget", "NoFrontendWarning", "frontend_available"]

logger = logging.getLogger("livescan.widgets")


class NoFrontendWarning(UserWarning):
    """A live widget was made where no Jupyter frontend can show it."""


@runtime_checkable
class Displayable(Protocol):
    """Something with an ipywidget to lay out (LivePlot, LiveRaster, LiveImage, grid views)."""

    @property
    def widget(self) -> Any:
        """The ipywidget to display."""


def field_name(value: Any, what: str, *, optional: bool = False) -> str | None:
    """The field a widget shows for ``value``: a field name, or a device's hinted field
    (``det`` -> ``'det'``, ``motor`` -> ``'motor'``, not its setpoint)."""
    if value is None and optional:
        return None
    if isinstance(value, str):
        return value
    if hasattr(value, "describe"):
        hinted = list((getattr(value, "hints", None) or {}).get("fields") or [])
        keys = list(value.describe())
        if hinted or keys:
            return (hinted or keys)[0]
        raise ValueError(f"{what}: device {getattr(value, 'name', value)!r} has no fields")
    kinds = "a field name (str), a device" + (" or None" if optional else "")
    raise TypeError(f"{what} must be {kinds}, not {value!r}")


def frontend_available() -> bool:
    """True when widget messages go somewhere: a running kernel, or a test's comm recorder.

    ipykernel installs its comm implementation into the ``comm`` package; without one
    ipywidgets talks to a ``DummyComm`` that drops everything.
    """
    try:
        import comm
    except ImportError:
        return False
    if comm.create_comm is getattr(comm, "_create_comm", None):
        return False
    try:
        from IPython import get_ipython

        ip = get_ipython()
    except ImportError:
        ip = None
    if ip is not None and getattr(ip, "kernel", None) is not None:
        return True
    module = getattr(comm.create_comm, "__module__", "") or ""
    return not module.startswith("ipykernel")


class LiveWidget(CallbackBase):
    """Base of the live widgets: callbacks append to buffers, a throttle flushes.

    Subclasses build ``self.widget`` and implement ``_flush()`` (push changed state to
    the widget models, inside ``hold_sync()``). Call ``self._throttle.poke()`` after
    appending data and ``self._throttle.flush_now()`` at stop.
    """

    widget: Any

    def __init__(self, *, max_rate: float = DEFAULT_MAX_RATE) -> None:
        self.live = frontend_available()
        if not self.live:
            warnings.warn(
                f"{type(self).__name__}: no Jupyter kernel is running here, so the widget "
                "cannot be shown; it still collects the data (and shows them if it is "
                "displayed later in a notebook). Use the text LiveTable outside Jupyter.",
                NoFrontendWarning,
                stacklevel=3,
            )
        self._throttle = Throttle(self._flush_if_live, max_rate=max_rate)
        self._fallback_outputs = FallbackOutputs()

    def __call__(self, name: str, doc: dict[str, Any]) -> Any:
        """Route the document; at a stop, leave the static fallback where the widget
        was shown on its own."""
        result = super().__call__(name, doc)
        if name == "stop":
            self._fallback_outputs.leave(self)
        return result

    @property
    def max_rate(self) -> float:
        """Upper bound on widget updates per second."""
        return self._throttle.max_rate

    @max_rate.setter
    def max_rate(self, value: float) -> None:
        if not value > 0:
            raise ValueError(f"max_rate must be > 0, not {value!r}")
        self._throttle.max_rate = float(value)

    stream_name = "primary"
    _pseudo_fields: tuple[str, ...] = ()

    def _accept_descriptor(self, doc: dict[str, Any], fields: list[str]) -> bool:
        """True for a descriptor of our stream that has ``fields``; other streams are
        ignored; missing fields raise :class:`FieldError` (and show in the widget)."""
        if doc.get("name", "primary") != self.stream_name:
            return False
        keys = doc.get("data_keys", {})
        missing = [f for f in fields if f not in keys and f not in self._pseudo_fields]
        if missing:
            msg = (
                f"{type(self).__name__}: field(s) {missing} not in stream "
                f"{self.stream_name!r}; it has {sorted(keys)}"
            )
            self._show_error(msg)
            raise FieldError(msg)
        return True

    def _show_error(self, msg: str) -> None:
        """Make a problem visible in the widget (subclasses override)."""
        logger.error(msg)

    def flush(self) -> None:
        """Push the current state to the browser now (normally the throttle does it)."""
        self._flush()

    def _flush_if_live(self) -> None:
        if self.live:
            self._flush()

    def _flush(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} live widget>"

    def _ipython_display_(self) -> None:
        """Show the widget, and below it the place for its static fallback, which each
        run it watches fills when it ends (for viewers that cannot run widgets)."""
        if not self.live:
            self.live = frontend_available()
            if self.live:
                self._flush()
        self._fallback_outputs.show(self.widget, repr(self))
