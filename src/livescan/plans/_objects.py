"""Plan objects: reusable, editable plans that carry their own subscriptions.

``plan.subs`` holds callbacks used every time the plan runs; ``plan.sub_factories``
holds functions ``factory(plan) -> callback or list`` called afresh at each run, so the
callbacks can follow edits such as ``plan.detectors.remove(det3)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from livescan.plans._msg import Msg
from livescan.plans._plans import count, grid_scan, list_scan, rel_scan, scan

__all__ = ["Count", "GridScan", "ListScan", "PlanBase", "RelativeScan", "Scan"]

_KEYS = ("all", "descriptor", "event", "start", "stop")


class PlanBase:
    """Base of the plan objects: iterable (each iteration is a fresh run), with
    ``detectors`` (a mutable list), ``subs`` and ``sub_factories``."""

    def __init__(self, detectors: Sequence[Any], *, md: dict[str, Any] | None = None) -> None:
        self.detectors = list(detectors)
        self.md = dict(md or {})
        self.subs: dict[str, list[Callable[..., Any]]] = {k: [] for k in _KEYS}
        self.sub_factories: dict[str, list[Callable[[Any], Any]]] = {k: [] for k in _KEYS}

    def _gen(self) -> Iterator[Msg]:
        raise NotImplementedError

    def __iter__(self) -> Iterator[Msg]:
        return self._gen()

    def _args(self) -> str:
        return f"detectors={self.detectors!r}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._args()})"


class Count(PlanBase):
    """``Count(detectors, num=1, delay=None)``: the object form of :func:`count`."""

    def __init__(
        self,
        detectors: Sequence[Any],
        num: int | None = 1,
        delay: float | None = None,
        *,
        md: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detectors, md=md)
        self.num, self.delay = num, delay

    def _gen(self) -> Iterator[Msg]:
        return count(self.detectors, self.num, self.delay, md=self.md)

    def _args(self) -> str:
        return f"{super()._args()}, num={self.num!r}"


class Scan(PlanBase):
    """``Scan(detectors, motor, start, stop, num)``: the object form of :func:`scan`."""

    def __init__(
        self,
        detectors: Sequence[Any],
        motor: Any,
        start: float,
        stop: float,
        num: int,
        *,
        md: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detectors, md=md)
        self.motor, self.start, self.stop, self.num = motor, start, stop, num

    def _gen(self) -> Iterator[Msg]:
        return scan(self.detectors, self.motor, self.start, self.stop, num=self.num, md=self.md)

    def _args(self) -> str:
        return (
            f"{super()._args()}, motor={self.motor!r}, start={self.start!r}, "
            f"stop={self.stop!r}, num={self.num!r}"
        )


class RelativeScan(Scan):
    """The object form of :func:`rel_scan`."""

    def _gen(self) -> Iterator[Msg]:
        return rel_scan(self.detectors, self.motor, self.start, self.stop, num=self.num, md=self.md)


class ListScan(PlanBase):
    """``ListScan(detectors, motor, positions)``: the object form of :func:`list_scan`."""

    def __init__(
        self,
        detectors: Sequence[Any],
        motor: Any,
        positions: Sequence[float],
        *,
        md: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detectors, md=md)
        self.motor, self.positions = motor, list(positions)

    def _gen(self) -> Iterator[Msg]:
        return list_scan(self.detectors, self.motor, self.positions, md=self.md)


class GridScan(PlanBase):
    """``GridScan(detectors, motor1, start1, stop1, num1, motor2, ..., snake_axes=None)``."""

    def __init__(
        self,
        detectors: Sequence[Any],
        *args: Any,
        snake_axes: Any = None,
        md: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detectors, md=md)
        self.args, self.snake_axes = list(args), snake_axes

    def _gen(self) -> Iterator[Msg]:
        return grid_scan(self.detectors, *self.args, snake_axes=self.snake_axes, md=self.md)

    def _args(self) -> str:
        return f"{super()._args()}, args={self.args!r}, snake_axes={self.snake_axes!r}"
