"""Simulated motors: a readback and a setpoint, optional motion time."""

from __future__ import annotations

import time
from typing import Any

from livescan.sim._base import SimDevice, number_key
from livescan.sim._status import SimStatus

__all__ = ["SimMotor"]


class SimMotor(SimDevice):
    """A motor with fields ``<name>`` (readback, hinted) and ``<name>_setpoint``.

    ``delay`` (seconds) simulates motion time: the readback reaches the setpoint
    when the returned status finishes.
    """

    def __init__(
        self,
        name: str,
        *,
        value: float = 0.0,
        delay: float = 0.0,
        precision: int = 3,
        egu: str = "mm",
    ) -> None:
        super().__init__(name)
        self.readback = float(value)
        self.setpoint = float(value)
        self.delay = float(delay)
        self.precision = precision
        self.egu = egu
        self.velocity = 1.0
        self.acceleration = 1.0
        self._t = time.time()

    @property
    def position(self) -> float:
        """The current readback."""
        return self.readback

    def set(self, value: float) -> SimStatus:
        """Move to ``value``; the returned status finishes when the readback gets there."""
        try:
            target = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"{self.name} can only move to a number, not {value!r}") from None
        self.setpoint = target
        if self.delay > 0:
            return SimStatus.after(self.delay, lambda: self._arrive(target))
        self._arrive(target)
        return SimStatus.finished()

    def _arrive(self, target: float) -> None:
        self.readback = target
        self._t = time.time()

    def read(self) -> dict[str, dict[str, Any]]:
        """The readback and setpoint readings, ophyd-style."""
        now = time.time()
        return {
            self.name: {"value": self.readback, "timestamp": self._t},
            f"{self.name}_setpoint": {"value": self.setpoint, "timestamp": now},
        }

    def describe(self) -> dict[str, dict[str, Any]]:
        """The data keys of ``read()``."""
        return {
            self.name: number_key(f"SIM:{self.name}", self.precision, self.egu),
            f"{self.name}_setpoint": number_key(
                f"SIM:{self.name}_setpoint", self.precision, self.egu
            ),
        }

    def _config(self) -> dict[str, tuple[Any, dict[str, Any]]]:
        return {
            f"{self.name}_velocity": (self.velocity, number_key(f"SIM:{self.name}_velocity")),
            f"{self.name}_acceleration": (
                self.acceleration,
                number_key(f"SIM:{self.name}_acceleration"),
            ),
        }

    def __repr__(self) -> str:
        return f"SimMotor(name={self.name!r})"
