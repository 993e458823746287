"""RunStatus: the widget a run shows in a notebook — state, progress, controls."""

from __future__ import annotations

import asyncio
import html
import inspect
import logging
import time
from typing import Any, Protocol

import ipywidgets
from ipywidgets.widgets.widget_string import HTMLStyle

from livescan.widgets import Throttle
from livescan.widgets._kept import Kept, KeptLayout

__all__ = ["RunLike", "RunStatus"]

logger = logging.getLogger("livescan.jupyter")

#: the colour of an enabled button; a disabled one is plain grey (a finished run's too)
_BUTTON_STYLES = {"resume": "success", "abort": "danger"}
_ENDING = ("stopping", "aborting", "halting")

_STATE_COLORS = {
    "queued": "#777",
    "idle": "#777",
    "running": "#1a7f37",
    "pausing": "#b08800",
    "paused": "#b08800",
    "stopping": "#0969da",
    "aborting": "#cf222e",
    "halting": "#cf222e",
    "success": "#1a7f37",
    "abort": "#cf222e",
    "fail": "#cf222e",
}


class RunLike(Protocol):
    """What RunStatus reads from a run handle (see docs/contract.md)."""

    plan_name: str
    scan_id: int | None
    num_points: int | None
    skipped: dict[str, int]
    callback_errors: list[tuple[str, str, BaseException]]

    @property
    def state(self) -> str:
        """``'queued'``, the engine's state while the run is current, or ``'finished'``."""

    @property
    def num_events(self) -> int:
        """Events in the primary stream so far."""

    @property
    def elapsed(self) -> float:
        """Seconds since the run started."""

    @property
    def exit_status(self) -> str | None:
        """``'success'``, ``'abort'`` or ``'fail'`` once the run has ended, else None."""

    @property
    def reason(self) -> str:
        """Why the run ended, if it did not succeed."""

    def done(self) -> bool:
        """Whether the run has finished."""

    def add_listener(self, fn: Any) -> None:
        """Call ``fn(handle)`` on state changes and while events arrive."""

    def pause(self) -> Any:
        """Pause the run at its next checkpoint."""

    def resume(self) -> Any:
        """Resume the paused run."""

    def stop(self) -> Any:
        """End the run cleanly (``exit_status='success'``)."""

    def abort(self, reason: str = "") -> Any:
        """End the run with ``exit_status='abort'``."""


def _button_style(name: str, enabled: bool) -> str:
    """An enabled button's colour; a disabled one is plain grey (a finished run's too)."""
    return _BUTTON_STYLES.get(name, "") if enabled else ""


def _fmt_seconds(s: float | None) -> str:
    if s is None:
        return "–"
    s = max(0.0, float(s))
    if s < 60:
        return f"{s:.1f} s"
    m, s = divmod(int(s + 0.5), 60)
    if m < 60:
        return f"{m}:{s:02d}"
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}"


class _SharedHTMLStyle(Kept, HTMLStyle):
    pass


class _SharedButtonStyle(Kept, ipywidgets.ButtonStyle):
    pass


#: a grid item's place spanning every column of its row (the run box is a grid). Not
#: ``grid_column``: ipywidgets' Layout view sets its properties in order and then removes
#: ``grid-area`` (None), a shorthand that clears ``grid-column`` with it
FULL_ROW = "auto / 1 / auto / -1"

#: widgets every run-status widget shares: each run opens six comms (info, four buttons,
#: the box), not one Layout and one Style per widget besides
_SHARED: dict[str, ipywidgets.Widget] = {}


def _shared(name: str, make: Any) -> Any:
    """The shared widget ``name``, made by ``make()`` on first use."""
    widget = _SHARED.get(name)
    if widget is None or widget.comm is None:
        widget = _SHARED[name] = make()
    return widget


def _layouts() -> dict[str, Any]:
    return {
        "box": _shared("box", lambda: KeptLayout(
            display="flex", flex_flow="row wrap", align_items="center",
            border="1px solid #ddd", padding="4px 8px", margin="2px 0",
            grid_area=FULL_ROW)),  # the whole row of a run's grid (run_layout)
        "info": _shared("info", lambda: KeptLayout(width="100%")),
        "button": _shared("button", lambda: KeptLayout(width="96px")),
        "html_style": _shared("html_style", _SharedHTMLStyle),
        "button_style": _shared("button_style", _SharedButtonStyle),
    }  # fmt: skip


#: seconds after which a run still going gets its buttons: one that ends sooner never
#: needs them, and its status stays one HTML widget in a box (2 comms instead of 6)
CONTROLS_AFTER = 0.25

_BUTTONS = {
    "pause": ("Pause", "pause", "Pause at the next checkpoint"),
    "resume": ("Resume", "play", "Continue the run"),
    "stop": ("Stop", "stop", "End the run cleanly (exit_status='success')"),
    "abort": ("Abort", "times", "End the run cleanly (exit_status='abort')"),
}
#: progress bar colours (ipywidgets' info / success / danger)
_BAR_COLORS = {"success": "#4caf50", "abort": "#f44336", "fail": "#f44336"}
_BAR_RUNNING = "#2196f3"


class RunStatus:
    """Plan and scan id, state, progress from ``num_points``, events, elapsed and ETA,
    lossy skip counts and callback errors, and Pause / Resume / Stop / Abort buttons
    acting on the run. Updates at most ``max_rate`` times a second.

    ``header`` is one HTML widget with all the text and the progress bar; ``buttons``
    the four buttons; ``widget`` the box holding them (what a notebook shows).

    The buttons join the box ``controls_after`` seconds after the widget is made, if the
    run is still going (or queued) then, or at once when it pauses: a run that ends
    sooner leaves only its header (each widget is a comm opened with its full state,
    which a short run in a kernel pays for). ``controls_after=None`` (or 0, or no
    running loop) shows them at once; reading :attr:`buttons` shows them too.
    """

    def __init__(
        self,
        handle: RunLike,
        *,
        max_rate: float = 10.0,
        controls_after: float | None = CONTROLS_AFTER,
    ) -> None:
        self.handle = handle
        self.message = ""
        shared = _layouts()
        text, _enabled = self._render()
        self.header = ipywidgets.HTML(value=text, layout=shared["info"],
                                      style=shared["html_style"])  # fmt: skip
        self._buttons: dict[str, ipywidgets.Button] = {}
        self.widget = ipywidgets.Box(
            [self.header], layout=shared["box"], _dom_classes=("livescan-run-status",)
        )
        self._tasks: set[asyncio.Future[Any]] = set()
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        self._throttle = Throttle(self.refresh, max_rate=max_rate)
        self._controls_timer: asyncio.TimerHandle | None = None
        if self._loop is None or not controls_after or controls_after <= 0:
            self.show_controls()
        elif not handle.done():
            self._controls_timer = self._loop.call_later(controls_after, self._controls_due)
        handle.add_listener(self._on_change)

    # -- controls --------------------------------------------------------------------------
    @property
    def buttons(self) -> dict[str, ipywidgets.Button]:
        """The Pause / Resume / Stop / Abort buttons (made and shown now if not yet)."""
        self.show_controls()
        return self._buttons

    def show_controls(self) -> None:
        """Add the four buttons to the widget (once), in the run's current state."""
        if self._buttons:
            return
        self._cancel_controls_timer()
        shared = _layouts()
        _text, enabled = self._render()
        buttons = {}
        for name, (description, icon, tooltip) in _BUTTONS.items():
            button = ipywidgets.Button(
                description=description, icon=icon, tooltip=tooltip,
                disabled=not enabled[name], button_style=_button_style(name, enabled[name]),
                layout=shared["button"], style=shared["button_style"],
                _dom_classes=(f"livescan-{name}",),
            )  # fmt: skip
            button.on_click(lambda _b, name=name: self.press(name))
            buttons[name] = button
        self._buttons = buttons
        self.widget.children = (self.header, *buttons.values())

    def _controls_due(self) -> None:
        self._controls_timer = None
        if not self.handle.done():
            self.show_controls()

    def _cancel_controls_timer(self) -> None:
        if self._controls_timer is not None:
            self._controls_timer.cancel()
            self._controls_timer = None

    # -- handle events -------------------------------------------------------------------
    def _on_change(self, handle: Any) -> None:
        if handle.done():
            self._cancel_controls_timer()  # a run that ended never needs its buttons
        elif handle.state in ("pausing", "paused"):
            self.show_controls()  # paused from code or the interrupt button: Resume
        ended = handle.state in _ENDING and getattr(handle, "stop_doc", None) is not None
        if handle.done() or ended or handle.state in ("paused", "queued"):
            self._throttle.poke()
            self._throttle.flush_now()  # state changes show at once
        else:
            self._throttle.poke()

    def press(self, name: str) -> None:
        """What a button click does: call ``handle.<name>()`` on the run's event loop;
        errors show in the widget.

        ipykernel 7 may deliver a click on another thread than the loop the run is on.
        ``RE.pause/resume/stop/abort/halt`` are safe to call from any thread now, but
        the rest of a press is not: aborting a *queued* run takes it off the engine's
        queue (loop-only state), and the error message and the refresh set traits of
        this widget, which the run's listener also sets from the loop. So the whole
        press moves to the run's loop, as one unit, and errors still reach the widget.
        """
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                current = asyncio.get_running_loop()
            except RuntimeError:
                current = None
            if current is not loop:
                loop.call_soon_threadsafe(self._press, name)
                return
        self._press(name)

    def _press(self, name: str) -> None:
        action = getattr(self.handle, name)
        try:
            result = action("stopped from the run-status widget") if name == "abort" else action()
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            self.message = ""
        except Exception as exc:
            self.message = f"{name} failed: {exc}"
            logger.warning("run-status %s failed: %s", name, exc)
        self._throttle.poke()
        self._throttle.flush_now()

    # -- rendering -----------------------------------------------------------------------
    @property
    def state_text(self) -> str:
        """The state shown: the exit status once the run is done, else the run's state."""
        h = self.handle
        if h.done():
            return h.exit_status or "finished"
        state = str(h.state)
        stop = getattr(h, "stop_doc", None)
        if state in _ENDING and stop is not None:
            # the user ended the run and its stop is composed: show how it ended before
            # the subscribers' own end-of-run work (final flushes, fallbacks) goes out
            return str(stop.get("exit_status", state))
        return state

    def _render(self) -> tuple[str, dict[str, bool]]:
        """The info HTML (header, progress bar, stats, problems) and which buttons act."""
        h = self.handle
        state = self.state_text
        color = _STATE_COLORS.get(state, "#555")
        scan = f"scan {h.scan_id}" if h.scan_id is not None else "scan –"
        reason = f" — {html.escape(h.reason)}" if h.done() and h.reason else ""
        header = (
            f"<b>{html.escape(str(h.plan_name))}</b> · {scan} · "
            f"<span class='livescan-state' style='color:white;background:{color};"
            f"padding:1px 6px;border-radius:3px'>{state}</span>{reason}"
        )
        n, total = int(h.num_events), h.num_points
        elapsed = h.elapsed if h.scan_id is not None or h.done() else None
        eta = None
        run_s = getattr(h, "running_time", elapsed)  # paused time does not count
        if total and n and not h.done() and run_s:
            eta = run_s / n * max(0, total - n)
        count = f"<span class='livescan-events'>{n}</span>" + (f" / {total}" if total else "")
        stats = f"events {count} · elapsed {_fmt_seconds(elapsed)}"
        if not h.done():
            stats += f" · ETA {_fmt_seconds(eta)}"
        full = max(1, int(total or max(n, 1)))
        bar = (
            f"<div class='livescan-progress' style='flex:0 0 320px;height:14px;"
            f"background:#e0e0e0;border-radius:2px;overflow:hidden'><div style='height:100%;"
            f"width:{100 * min(n, full) / full:.1f}%;"
            f"background:{_BAR_COLORS.get(state, _BAR_RUNNING)}'></div></div>"
        )
        problems = []
        skipped = {k: v for k, v in (h.skipped or {}).items() if v}
        if skipped:
            items = ", ".join(f"{html.escape(str(k))}: {v}" for k, v in skipped.items())
            problems.append(f"skipped events (lossy) — {items}")
        for label, doc_name, exc in list(h.callback_errors or [])[-5:]:
            problems.append(
                f"<span style='color:#cf222e'>{html.escape(str(label))} failed on "
                f"{html.escape(str(doc_name))}: {html.escape(type(exc).__name__)}: "
                f"{html.escape(str(exc))}</span>"
            )
        if len(h.callback_errors or []) > 5:
            problems.append(f"… {len(h.callback_errors) - 5} more callback errors")
        if self.message:
            problems.append(f"<span style='color:#cf222e'>{html.escape(self.message)}</span>")
        text = (
            f"<div style='line-height:1.7'><div>{header}</div>"
            f"<div style='display:flex;align-items:center;gap:10px;flex-wrap:wrap'>{bar}"
            f"<span class='livescan-stats'>{stats}</span></div>"
        )
        if problems:
            text += f"<div class='livescan-problems'>{'<br>'.join(problems)}</div>"
        text += "</div>"
        running = state in ("running", "pausing")
        enabled = {
            "pause": running,
            "resume": state in ("paused", "pausing"),
            "stop": running or state == "paused",
            "abort": running or state in ("paused", "queued"),
        }
        return text, enabled

    def refresh(self) -> None:
        """Push the handle's current state into the widgets (only what changed)."""
        text, enabled = self._render()
        if self.header.value != text:
            self.header.value = text
        for name, button in self._buttons.items():
            style = _button_style(name, enabled[name])
            if button.disabled == enabled[name] or button.button_style != style:
                with button.hold_sync():
                    button.disabled = not enabled[name]
                    button.button_style = style

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return f"<RunStatus {self.handle!r} at {time.strftime('%H:%M:%S')}>"
