"""Plan stubs: small generators that yield a few messages each."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Generator, Iterable, Sequence
from typing import Any

from livescan.plans._msg import Msg

__all__ = [
    "checkpoint",
    "close_run",
    "create",
    "drop",
    "move_per_step",
    "mv",
    "mvr",
    "null",
    "one_nd_step",
    "open_run",
    "pause",
    "read",
    "rel_set",
    "save",
    "shot_messages",
    "sleep",
    "stage",
    "stage_all",
    "steps_messages",
    "subscribe",
    "trigger",
    "trigger_and_read",
    "unstage",
    "unstage_all",
    "unsubscribe",
    "wait",
    "where",
]

Plan = Generator[Msg, Any, Any]
_group_ids = itertools.count(1)


def _new_group(prefix: str) -> str:
    return f"{prefix}-{next(_group_ids)}"


def open_run(md: dict[str, Any] | None = None) -> Plan:
    """Emit a start document; returns the run's uid."""
    return (yield Msg("open_run", **(md or {})))


def close_run(exit_status: str | None = None, reason: str | None = None) -> Plan:
    """Emit the stop document; returns the run's uid."""
    return (yield Msg("close_run", exit_status=exit_status, reason=reason))


def create(name: str = "primary") -> Plan:
    """Begin bundling readings into one event of stream ``name``."""
    return (yield Msg("create", name=name))


def save() -> Plan:
    """Emit the bundled readings as an event (and its descriptor, the first time)."""
    return (yield Msg("save"))


def drop() -> Plan:
    """Discard the bundled readings."""
    return (yield Msg("drop"))


def read(obj: Any) -> Plan:
    """Read a device; inside create/save the reading joins the event."""
    return (yield Msg("read", obj))


def trigger(obj: Any, *, group: str | None = None, wait: bool = False) -> Plan:
    """Trigger a device; with ``wait`` also wait for it."""
    ret = yield Msg("trigger", obj, group=group)
    if wait:
        yield Msg("wait", None, group=group)
    return ret


def wait(group: str | None = None) -> Plan:
    """Wait for every status of ``group``."""
    return (yield Msg("wait", None, group=group))


def sleep(seconds: float) -> Plan:
    """Sleep without blocking the event loop."""
    return (yield Msg("sleep", None, seconds))


def checkpoint() -> Plan:
    """A safe place to pause."""
    return (yield Msg("checkpoint"))


def pause() -> Plan:
    """Pause the run here; the user resumes it."""
    return (yield Msg("pause"))


def null() -> Plan:
    """Do nothing (a message the engine accepts and ignores)."""
    return (yield Msg("null"))


def stage(obj: Any) -> Plan:
    """Stage ``obj`` (e.g. open a camera's file) before it is read."""
    return (yield Msg("stage", obj))


def unstage(obj: Any) -> Plan:
    """Unstage ``obj`` (undo ``stage``)."""
    return (yield Msg("unstage", obj))


def stage_all(*objs: Any) -> Plan:
    """Stage each of ``objs`` in order."""
    for obj in objs:
        yield from stage(obj)


def unstage_all(*objs: Any) -> Plan:
    """Unstage each of ``objs`` in reverse order."""
    for obj in reversed(objs):
        yield from unstage(obj)


def subscribe(name: str, func: Callable[[str, dict[str, Any]], Any]) -> Plan:
    """Subscribe ``func`` (lossy) for the rest of the plan; returns a token."""
    return (yield Msg("subscribe", None, func, name))


def unsubscribe(token: int) -> Plan:
    """Remove a subscription that ``subscribe`` made, by its token."""
    return (yield Msg("unsubscribe", None, token=token))


def mv(*args: Any, group: str | None = None) -> Plan:
    """``mv(motor1, 1, motor2, 2)``: move motors together and wait for all of them."""
    if len(args) % 2:
        raise ValueError("mv takes pairs: mv(motor1, position1, motor2, position2, ...)")
    group = group or _new_group("mv")
    for obj, value in zip(args[::2], args[1::2], strict=True):
        yield Msg("set", obj, value, group=group)
    yield Msg("wait", None, group=group)


def where(obj: Any) -> Plan:
    """Where ``obj`` is: its ``position``, or the setpoint its ``locate()`` gives
    (ophyd-async motors), asked through ``Msg('locate')``."""
    if hasattr(obj, "position"):
        return obj.position
    location = yield Msg("locate", obj)
    return location["setpoint"]


def rel_set(obj: Any, delta: float, *, group: str | None = None, wait: bool = False) -> Plan:
    """Move ``obj`` by ``delta`` from where it is; with ``wait``, wait until it gets there."""
    position = yield from where(obj)
    ret = yield Msg("set", obj, position + delta, group=group)
    if wait:
        yield Msg("wait", None, group=group)
    return ret


def mvr(*args: Any, group: str | None = None) -> Plan:
    """``mvr(motor, delta, ...)``: move motors relative to where they are."""
    if len(args) % 2:
        raise ValueError("mvr takes pairs: mvr(motor1, delta1, motor2, delta2, ...)")
    absolute: list[Any] = []
    for obj, delta in zip(args[::2], args[1::2], strict=True):
        absolute += [obj, (yield from where(obj)) + delta]
    yield from mv(*absolute, group=group)


def shot_messages(devices: Sequence[Any], name: str = "primary") -> list[Msg]:
    """The messages of one :func:`trigger_and_read` of ``devices``, built once so a plan
    that repeats the same shot yields the same objects every step (no Msg per message)."""
    devices = list(dict.fromkeys(devices))  # keep order, drop repeats
    group = _new_group("trigger")
    msgs = [Msg("trigger", obj, group=group) for obj in devices if hasattr(obj, "trigger")]
    if msgs:
        msgs.append(Msg("wait", None, group=group))
    msgs.append(Msg("create", name=name))
    msgs += [Msg("read", obj) for obj in devices]
    msgs.append(Msg("save"))
    return msgs


CHECKPOINT = Msg("checkpoint")


def trigger_and_read(devices: Sequence[Any], name: str = "primary") -> Plan:
    """Trigger every device that can be, wait, then read them all into one event."""
    devices = list(dict.fromkeys(devices))  # keep order, drop repeats
    group = _new_group("trigger")
    triggered = False
    for obj in devices:
        if hasattr(obj, "trigger"):
            yield Msg("trigger", obj, group=group)
            triggered = True
    if triggered:
        yield Msg("wait", None, group=group)
    yield Msg("create", name=name)
    readings: dict[str, Any] = {}
    for obj in devices:
        readings.update((yield Msg("read", obj)) or {})
    yield Msg("save")
    return readings


def move_per_step(step: dict[Any, float], pos_cache: dict[Any, float]) -> Plan:
    """Move the motors of ``step`` whose position changed since the last step."""
    group = _new_group("step")
    moved = False
    for motor, pos in step.items():
        if pos_cache.get(motor) == pos:
            continue
        yield Msg("set", motor, pos, group=group)
        pos_cache[motor] = pos
        moved = True
    if moved:
        yield Msg("wait", None, group=group)


def steps_messages(
    detectors: Sequence[Any], motors: Sequence[Any], steps: Iterable[dict[Any, float]]
) -> Plan:
    """:func:`one_nd_step` over every step, flat: a checkpoint, the moves that change
    something, then one prebuilt shot of detectors and motors (same order as
    ``[*detectors, *step]``)."""
    group = _new_group("step")
    wait = Msg("wait", None, group=group)
    shots: dict[tuple[int, ...], list[Msg]] = {}
    pos_cache: dict[Any, float] = {}
    moving: tuple[Any, ...] = ()  # the motors of the last step
    shot: list[Msg] = []
    for step in steps:
        yield CHECKPOINT
        moved = False
        for motor, pos in step.items():
            if pos_cache.get(motor) == pos:
                continue
            # Msg("set", motor, pos, group=group), without Msg()'s argument parsing
            yield _tuple_new(Msg, ("set", motor, (pos,), {"group": group}, None))
            pos_cache[motor] = pos
            moved = True
        if moved:
            yield wait
        if len(step) != len(moving) or not _same_keys(step, moving):
            moving = tuple(step)
            key = tuple(map(id, moving))
            found = shots.get(key)
            if found is None:
                found = shots[key] = shot_messages([*detectors, *moving])
            shot = found
        for msg in shot:  # noqa: UP028 (yield from would .send() to a list)
            yield msg


_tuple_new = tuple.__new__


def _same_keys(step: dict[Any, float], moving: tuple[Any, ...]) -> bool:
    """Whether ``step`` moves the motors ``moving``, in that order (by identity)."""
    for a, b in zip(step, moving):  # noqa: SIM110 (no generator per step)
        if a is not b:
            return False
    return True


def one_nd_step(
    detectors: Sequence[Any], step: dict[Any, float], pos_cache: dict[Any, float]
) -> Plan:
    """A checkpoint, the moves of ``step``, then trigger and read detectors and motors."""
    yield Msg("checkpoint")
    yield from move_per_step(step, pos_cache)
    return (yield from trigger_and_read([*detectors, *step]))
