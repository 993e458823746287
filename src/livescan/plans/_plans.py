"""The built-in plans: count, scans, grid scans. Each is a generator of messages."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from livescan.plans._msg import Msg
from livescan.plans._stubs import (
    CHECKPOINT,
    Plan,
    mv,
    shot_messages,
    stage_all,
    steps_messages,
    trigger_and_read,
    unstage_all,
    where,
)

__all__ = [
    "count",
    "grid_scan",
    "list_grid_scan",
    "list_scan",
    "log_scan",
    "rel_grid_scan",
    "rel_list_scan",
    "rel_scan",
    "scan",
    "scan_nd",
]

PerStep = Callable[[Sequence[Any], dict[Any, float], dict[Any, float]], Plan]


def _names(objs: Iterable[Any]) -> list[str]:
    return [getattr(o, "name", repr(o)) for o in objs]


def _check_detectors(detectors: Any, plan: str) -> list[Any]:
    if isinstance(detectors, str) or not isinstance(detectors, Iterable):
        raise TypeError(
            f"{plan}() takes a list of detectors first, e.g. {plan}([det], ...); got {detectors!r}"
        )
    found = list(detectors)
    for d in found:
        if not hasattr(d, "read") or not hasattr(d, "describe"):
            raise TypeError(f"{plan}(): {d!r} is not a readable device (needs read and describe)")
    return found


def _check_motor(m: Any, plan: str) -> Any:
    if not hasattr(m, "set") or not hasattr(m, "read"):
        raise TypeError(f"{plan}(): {m!r} is not a movable device (needs set and read)")
    return m


def _dimensions(motors: Sequence[Any]) -> list[tuple[list[str], str]]:
    dims = []
    for m in motors:
        fields = (getattr(m, "hints", None) or {}).get("fields") or [m.name]
        dims.append((list(fields), "primary"))
    return dims


def _merge_md(defaults: dict[str, Any], md: dict[str, Any] | None) -> dict[str, Any]:
    merged = dict(defaults)
    md = dict(md or {})
    if "hints" in md:
        merged["hints"] = {**merged.get("hints", {}), **md.pop("hints")}
    merged.update(md)
    return merged


def _steps_plan(
    detectors: Sequence[Any],
    motors: Sequence[Any],
    steps: Iterable[dict[Any, float]],
    md: dict[str, Any],
    per_step: PerStep | None,
) -> Plan:
    """Stage, open a run, do every step, close the run, unstage."""
    devices = [*detectors, *motors]
    yield from stage_all(*devices)
    uid = yield Msg("open_run", **md)
    if per_step is None:  # one_nd_step, flattened (the same messages)
        yield from steps_messages(detectors, motors, steps)
    else:
        pos_cache: dict[Any, float] = {}
        for step in steps:
            yield from per_step(detectors, step, pos_cache)
    yield Msg("close_run")
    yield from unstage_all(*devices)
    return uid


def count(
    detectors: Sequence[Any],
    num: int | None = 1,
    delay: float | Sequence[float] | None = None,
    *,
    per_shot: Callable[[Sequence[Any]], Plan] | None = None,
    md: dict[str, Any] | None = None,
) -> Plan:
    """Take ``num`` readings of ``detectors`` (``num=None``: until stopped).

    ``delay`` is the time between readings, one number or one per interval.
    """
    detectors = _check_detectors(detectors, "count")
    if num is not None and (not isinstance(num, int | np.integer) or num < 1):
        raise ValueError(f"count(num=...) must be a positive integer or None, not {num!r}")
    if delay is not None and not isinstance(delay, int | float):
        delay = list(delay)
        if num is not None and len(delay) != num - 1:
            raise ValueError(
                f"count() got {len(delay)} delays for {num} readings; "
                f"give one number or {num - 1} delays"
            )
    defaults: dict[str, Any] = {
        "detectors": _names(detectors),
        "plan_name": "count",
        "plan_args": {"detectors": list(map(repr, detectors)), "num": num, "delay": delay},
        "hints": {"dimensions": [(["time"], "primary")]},
    }
    if num is not None:
        defaults["num_points"] = int(num)
        defaults["num_intervals"] = int(num) - 1
    md = _merge_md(defaults, md)
    shot = per_shot or trigger_and_read

    def inner() -> Plan:
        yield from stage_all(*detectors)
        uid = yield Msg("open_run", **md)
        indices = itertools.count() if num is None else range(num)
        prebuilt = shot_messages(detectors) if per_shot is None else None
        for i in indices:
            yield CHECKPOINT
            if prebuilt is not None:  # trigger_and_read's messages, built once
                for msg in prebuilt:  # noqa: UP028 (yield from would .send() to a list)
                    yield msg
            else:
                yield from shot(detectors)
            last = num is not None and i == num - 1
            if delay is not None and not last:
                d = delay if isinstance(delay, int | float) else delay[i]
                if d:
                    yield Msg("sleep", None, d)
        yield Msg("close_run")
        yield from unstage_all(*detectors)
        return uid

    return (yield from inner())


def _parse_inner(args: Sequence[Any], plan: str) -> list[tuple[Any, float, float]]:
    if len(args) % 3 or not args:
        raise ValueError(
            f"{plan}() takes motor, start, stop triplets after the detectors, e.g. "
            f"{plan}([det], motor, -1, 1, num=11)"
        )
    return [
        (_check_motor(m, plan), float(a), float(b))
        for m, a, b in zip(args[::3], args[1::3], args[2::3], strict=True)
    ]


def scan(
    detectors: Sequence[Any],
    *args: Any,
    num: int | None = None,
    per_step: PerStep | None = None,
    md: dict[str, Any] | None = None,
) -> Plan:
    """``scan([det], motor, start, stop, num=11)``: move motors together in ``num`` steps.

    bluesky's positional form ``scan([det], motor, -1, 1, 11)`` works too."""
    detectors = _check_detectors(detectors, "scan")
    triplets, num = _positional_num(args, num, "scan")
    axes = _parse_inner(triplets, "scan")
    if not isinstance(num, int | np.integer) or num < 1:
        raise ValueError(f"scan() needs num=<number of points>, a positive integer; got {num!r}")
    num = int(num)
    motors = [m for m, _, _ in axes]

    def steps() -> Iterable[dict[Any, float]]:  # lazily: a long scan holds no table
        # the very values of np.linspace(a, b, num), one point at a time
        span = max(num - 1, 1)
        ends = [(m, a, b, (b - a) / span) for m, a, b in axes]
        last = num - 1
        if len(ends) == 1:  # one motor: no comprehension per point
            ((m, a, b, step),) = ends
            for i in range(last):
                yield {m: i * step + a}
            yield {m: b if num > 1 else last * step + a}
            return
        for i in range(num):
            yield {m: (b if i == last and num > 1 else i * step + a) for m, a, b, step in ends}

    defaults = {
        "detectors": _names(detectors),
        "motors": _names(motors),
        "num_points": num,
        "num_intervals": num - 1,
        "plan_name": "scan",
        "plan_args": {
            "detectors": list(map(repr, detectors)),
            "num": num,
            "args": [repr(a) if hasattr(a, "read") else a for a in triplets],
            "per_step": repr(per_step),
        },
        "plan_pattern": "inner_product",
        "plan_pattern_args": {
            "num": num,
            "args": [repr(a) if hasattr(a, "read") else a for a in triplets],
        },
        "hints": {"dimensions": _dimensions(motors)},
    }
    return (yield from _steps_plan(detectors, motors, steps(), _merge_md(defaults, md), per_step))


def _positional_num(
    args: tuple[Any, ...], num: int | None, plan: str
) -> tuple[tuple[Any, ...], Any]:
    """bluesky accepts ``num`` as the last positional argument after the triplets."""
    if len(args) % 3 == 1:
        if num is not None:
            raise ValueError(f"{plan}() got num twice: positionally and as num={num!r}")
        return args[:-1], args[-1]
    return args, num


def _relative(plan_factory: Callable[[dict[Any, float]], Plan], motors: Sequence[Any]) -> Plan:
    """Run a plan built from the motors' current positions, then move them back."""
    origin: dict[Any, float] = {}
    for m in motors:
        origin[m] = yield from where(m)
    try:
        return (yield from plan_factory(origin))
    finally:
        yield from mv(*itertools.chain.from_iterable(origin.items()))


def rel_scan(
    detectors: Sequence[Any],
    *args: Any,
    num: int | None = None,
    per_step: PerStep | None = None,
    md: dict[str, Any] | None = None,
) -> Plan:
    """Like :func:`scan`, relative to the motors' positions; they return there afterwards."""
    triplets, num = _positional_num(args, num, "rel_scan")
    axes = _parse_inner(triplets, "rel_scan")

    def build(origin: dict[Any, float]) -> Plan:
        shifted: list[Any] = []
        for m, a, b in axes:
            shifted += [m, origin[m] + a, origin[m] + b]
        return scan(
            detectors,
            *shifted,
            num=num,
            per_step=per_step,
            md=_merge_md({"plan_name": "rel_scan"}, md),
        )

    return (yield from _relative(build, [m for m, _, _ in axes]))


def list_scan(
    detectors: Sequence[Any],
    *args: Any,
    per_step: PerStep | None = None,
    md: dict[str, Any] | None = None,
) -> Plan:
    """``list_scan([det], motor1, [1, 2, 3], motor2, [4, 5, 6])``: step through lists together."""
    detectors = _check_detectors(detectors, "list_scan")
    if len(args) % 2 or not args:
        raise ValueError("list_scan() takes motor, positions pairs after the detectors")
    motors = [_check_motor(m, "list_scan") for m in args[::2]]
    lists = [list(map(float, p)) for p in args[1::2]]
    lengths = {len(p) for p in lists}
    if len(lengths) != 1:
        raise ValueError(
            f"list_scan() position lists must have equal lengths, got {sorted(lengths)}"
        )
    num = lengths.pop()
    steps = [{m: p[i] for m, p in zip(motors, lists, strict=True)} for i in range(num)]
    defaults = {
        "detectors": _names(detectors),
        "motors": _names(motors),
        "num_points": num,
        "num_intervals": num - 1,
        "plan_name": "list_scan",
        "plan_args": {
            "detectors": list(map(repr, detectors)),
            "args": [repr(a) if hasattr(a, "read") else list(a) for a in args],
        },
        "plan_pattern": "inner_list_product",
        "hints": {"dimensions": _dimensions(motors)},
    }
    return (yield from _steps_plan(detectors, motors, steps, _merge_md(defaults, md), per_step))


def rel_list_scan(
    detectors: Sequence[Any],
    *args: Any,
    per_step: PerStep | None = None,
    md: dict[str, Any] | None = None,
) -> Plan:
    """Like :func:`list_scan` with positions relative to where the motors are."""
    motors = list(args[::2])

    def build(origin: dict[Any, float]) -> Plan:
        shifted: list[Any] = []
        for m, p in zip(args[::2], args[1::2], strict=True):
            shifted += [m, [origin[m] + float(x) for x in p]]
        return list_scan(
            detectors, *shifted, per_step=per_step, md=_merge_md({"plan_name": "rel_list_scan"}, md)
        )

    return (yield from _relative(build, motors))


def log_scan(
    detectors: Sequence[Any],
    motor: Any,
    start: float,
    stop: float,
    num: int,
    *,
    per_step: PerStep | None = None,
    md: dict[str, Any] | None = None,
) -> Plan:
    """Scan ``motor`` over ``num`` points spaced evenly on a log scale (start, stop > 0)."""
    if start <= 0 or stop <= 0:
        raise ValueError("log_scan() start and stop must be positive")
    positions = np.geomspace(start, stop, num)
    md = _merge_md(
        {
            "plan_name": "log_scan",
            "plan_args": {
                "detectors": list(map(repr, detectors)),
                "motor": repr(motor),
                "start": start,
                "stop": stop,
                "num": num,
            },
        },
        md,
    )
    return (yield from list_scan(detectors, motor, positions, per_step=per_step, md=md))


def _grid(
    detectors: Sequence[Any],
    axes: list[tuple[Any, np.ndarray]],
    snake_axes: bool | Sequence[Any] | None,
    per_step: PerStep | None,
    defaults: dict[str, Any],
    md: dict[str, Any] | None,
) -> Plan:
    motors = [m for m, _ in axes]
    if snake_axes is None or snake_axes is False:
        snaking = [False] * len(axes)
    elif snake_axes is True:
        snaking = [False] + [True] * (len(axes) - 1)
    else:
        chosen = list(snake_axes)
        unknown = [m for m in chosen if m not in motors]
        if unknown or motors[0] in chosen:
            raise ValueError(
                "snake_axes must name motors of the scan other than the first (slowest) one"
            )
        snaking = [m in chosen for m in motors]
    shape = [len(p) for _, p in axes]

    cols = [[float(x) for x in p] for _, p in axes]  # plain floats: no numpy per point

    def steps() -> Iterable[dict[Any, float]]:
        # the slower axes' positions once per pass of the fastest axis, then a copy per point
        *outer_motors, fast_motor = motors
        fast_col, fast_back = cols[-1], cols[-1][::-1]
        outer = itertools.product(*(range(n) for n in shape[:-1]))
        for passes, index in enumerate(outer):
            idx = list(index)
            flat = 0
            for k in range(1, len(index)):
                # a snaking axis runs backwards on every other pass of the slower axes
                flat = flat * shape[k - 1] + index[k - 1]
                if snaking[k] and flat % 2:
                    idx[k] = shape[k] - 1 - index[k]
            base = {m: col[i] for m, col, i in zip(outer_motors, cols, idx)}
            for x in fast_back if snaking[-1] and passes % 2 else fast_col:
                step = base.copy()
                step[fast_motor] = x
                yield step

    num = int(np.prod(shape))
    defaults = {
        "detectors": _names(detectors),
        "motors": _names(motors),
        "num_points": num,
        "num_intervals": num - 1,
        "shape": shape,
        "snaking": snaking,
        "plan_pattern": "outer_product",
        "hints": {"dimensions": _dimensions(motors), "gridding": "rectilinear"},
        **defaults,
    }
    return (yield from _steps_plan(detectors, motors, steps(), _merge_md(defaults, md), per_step))


def grid_scan(
    detectors: Sequence[Any],
    *args: Any,
    snake_axes: bool | Sequence[Any] | None = None,
    per_step: PerStep | None = None,
    md: dict[str, Any] | None = None,
) -> Plan:
    """``grid_scan([det4], motor1, -1, 1, 5, motor2, -2, 2, 7, snake_axes=True)``.

    The first motor is the slowest. ``snake_axes=True`` reverses every fast axis on
    alternate passes; a list names the motors to snake.
    """
    detectors = _check_detectors(detectors, "grid_scan")
    if len(args) % 4 or not args:
        raise ValueError(
            "grid_scan() takes motor, start, stop, num quadruplets after the "
            "detectors, e.g. grid_scan([det4], motor1, -1, 1, 5, motor2, -1, 1, 5)"
        )
    axes = []
    for m, a, b, n in zip(args[::4], args[1::4], args[2::4], args[3::4], strict=True):
        if not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(
                f"grid_scan(): number of points for {getattr(m, 'name', m)} must be "
                f"a positive integer, not {n!r}"
            )
        axes.append((_check_motor(m, "grid_scan"), np.linspace(float(a), float(b), int(n))))
    defaults = {
        "plan_name": "grid_scan",
        "extents": [[float(a), float(b)] for a, b in zip(args[1::4], args[2::4], strict=True)],
        "plan_args": {
            "detectors": list(map(repr, detectors)),
            "args": [repr(a) if hasattr(a, "read") else a for a in args],
            "snake_axes": snake_axes
            if isinstance(snake_axes, bool | None)
            else [repr(m) for m in snake_axes],
            "per_step": repr(per_step),
        },
    }
    return (yield from _grid(detectors, axes, snake_axes, per_step, defaults, md))


def rel_grid_scan(
    detectors: Sequence[Any],
    *args: Any,
    snake_axes: bool | Sequence[Any] | None = None,
    per_step: PerStep | None = None,
    md: dict[str, Any] | None = None,
) -> Plan:
    """Like :func:`grid_scan`, relative to the motors' positions; they return afterwards."""
    motors = list(args[::4])

    def build(origin: dict[Any, float]) -> Plan:
        shifted: list[Any] = []
        for m, a, b, n in zip(args[::4], args[1::4], args[2::4], args[3::4], strict=True):
            shifted += [m, origin[m] + a, origin[m] + b, n]
        return grid_scan(
            detectors,
            *shifted,
            snake_axes=snake_axes,
            per_step=per_step,
            md=_merge_md({"plan_name": "rel_grid_scan"}, md),
        )

    return (yield from _relative(build, motors))


def list_grid_scan(
    detectors: Sequence[Any],
    *args: Any,
    snake_axes: bool = False,
    per_step: PerStep | None = None,
    md: dict[str, Any] | None = None,
) -> Plan:
    """``list_grid_scan([det4], motor1, [1, 2], motor2, [3, 4, 5])``: every combination."""
    detectors = _check_detectors(detectors, "list_grid_scan")
    if len(args) % 2 or not args:
        raise ValueError("list_grid_scan() takes motor, positions pairs after the detectors")
    axes = [
        (_check_motor(m, "list_grid_scan"), np.asarray(list(p), dtype=float))
        for m, p in zip(args[::2], args[1::2], strict=True)
    ]
    defaults = {
        "plan_name": "list_grid_scan",
        "extents": [[float(p.min()), float(p.max())] for _, p in axes],
        "plan_args": {
            "detectors": list(map(repr, detectors)),
            "args": [repr(a) if hasattr(a, "read") else list(a) for a in args],
            "snake_axes": snake_axes,
        },
    }
    return (yield from _grid(detectors, axes, snake_axes, per_step, defaults, md))


def scan_nd(
    detectors: Sequence[Any],
    steps: Iterable[dict[Any, float]],
    *,
    per_step: PerStep | None = None,
    md: dict[str, Any] | None = None,
) -> Plan:
    """Scan over any sequence of ``{motor: position}`` steps."""
    detectors = _check_detectors(detectors, "scan_nd")
    steps = [dict(s) for s in steps]
    motors = list(dict.fromkeys(m for s in steps for m in s))
    defaults = {
        "detectors": _names(detectors),
        "motors": _names(motors),
        "num_points": len(steps),
        "num_intervals": len(steps) - 1,
        "plan_name": "scan_nd",
        "plan_args": {"detectors": list(map(repr, detectors)), "steps": len(steps)},
        "hints": {"dimensions": _dimensions(motors)},
    }
    return (yield from _steps_plan(detectors, motors, steps, _merge_md(defaults, md), per_step))
