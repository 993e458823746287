"""Simulated point detectors: Gaussian responses to motor positions."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from livescan.sim._base import SimDevice, number_key
from livescan.sim._motor import SimMotor
from livescan.sim._status import SimStatus

__all__ = ["SynGauss", "SynGauss2D"]

_NOISE = ("none", "poisson", "uniform")


class SynGauss(SimDevice):
    """``Imax * exp(-(m - center)**2 / (2 sigma**2))`` of a motor's readback, plus noise.

    ``noise`` is ``'none'``, ``'poisson'`` or ``'uniform'`` (± ``noise_multiplier``/2).
    The value is computed at ``trigger()`` (or at the first ``read()``).
    """

    def __init__(
        self,
        name: str,
        motor: SimMotor,
        *,
        center: float = 0.0,
        Imax: float = 1.0,
        sigma: float = 1.0,
        noise: str = "none",
        noise_multiplier: float = 1.0,
        precision: int = 3,
        seed: int | None = None,
    ) -> None:
        super().__init__(name)
        if noise not in _NOISE:
            raise ValueError(f"noise must be one of {_NOISE}, not {noise!r}")
        if sigma <= 0:
            raise ValueError(f"sigma must be positive, not {sigma!r}")
        self.motor = motor
        self.center, self.Imax, self.sigma = float(center), float(Imax), float(sigma)
        self.noise, self.noise_multiplier = noise, float(noise_multiplier)
        self.precision = precision
        self._rng = np.random.default_rng(seed)
        self._value: float | None = None
        self._t = 0.0

    def _compute(self) -> float:
        m = self.motor.readback
        v = self.Imax * math.exp(-((m - self.center) ** 2) / (2 * self.sigma**2))
        if self.noise == "poisson":
            v = float(self._rng.poisson(v * 1000) / 1000)
        elif self.noise == "uniform":
            v += float(self._rng.uniform(-0.5, 0.5)) * self.noise_multiplier
        return v

    def trigger(self) -> SimStatus:
        """Compute a new value from the motor's current readback."""
        self._value, self._t = self._compute(), time.time()
        return SimStatus.finished()

    def read(self) -> dict[str, dict[str, Any]]:
        """The last computed value, ophyd-style (computed now if never triggered)."""
        if self._value is None:
            self.trigger()
        return {self.name: {"value": self._value, "timestamp": self._t}}

    def describe(self) -> dict[str, dict[str, Any]]:
        """The data key of ``read()``."""
        return {self.name: number_key(f"SIM:{self.name}", self.precision)}

    def _config(self) -> dict[str, tuple[Any, dict[str, Any]]]:
        n = self.name
        return {
            f"{n}_Imax": (self.Imax, number_key(f"SIM:{n}_Imax")),
            f"{n}_center": (self.center, number_key(f"SIM:{n}_center")),
            f"{n}_sigma": (self.sigma, number_key(f"SIM:{n}_sigma")),
            f"{n}_noise": (
                self.noise,
                {
                    "source": f"SIM:{n}_noise",
                    "dtype": "string",
                    "shape": [],
                    "choices": list(_NOISE),
                },
            ),
            f"{n}_noise_multiplier": (
                self.noise_multiplier,
                number_key(f"SIM:{n}_noise_multiplier"),
            ),
        }

    def __repr__(self) -> str:
        return (
            f"SynGauss(name={self.name!r}, motor={self.motor.name!r}, center={self.center:g}, "
            f"Imax={self.Imax:g}, sigma={self.sigma:g})"
        )


class SynGauss2D(SynGauss):
    """A 2-D Gaussian over two motors' readbacks (``center`` is an (x, y) pair)."""

    def __init__(
        self,
        name: str,
        motor_x: SimMotor,
        motor_y: SimMotor,
        *,
        center: tuple[float, float] = (0.0, 0.0),
        Imax: float = 1.0,
        sigma: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, motor_x, Imax=Imax, sigma=sigma, **kwargs)
        self.motor_y = motor_y
        self.center2 = (float(center[0]), float(center[1]))

    def _compute(self) -> float:
        dx = self.motor.readback - self.center2[0]
        dy = self.motor_y.readback - self.center2[1]
        v = self.Imax * math.exp(-(dx * dx + dy * dy) / (2 * self.sigma**2))
        if self.noise == "uniform":
            v += float(self._rng.uniform(-0.5, 0.5)) * self.noise_multiplier
        elif self.noise == "poisson":
            v = float(self._rng.poisson(v * 1000) / 1000)
        return v

    def _config(self) -> dict[str, tuple[Any, dict[str, Any]]]:
        cfg = super()._config()
        cfg[f"{self.name}_center"] = (
            list(self.center2),
            {"source": f"SIM:{self.name}_center", "dtype": "array", "shape": [2]},
        )
        return cfg

    def __repr__(self) -> str:
        return (
            f"SynGauss2D(name={self.name!r}, motors=({self.motor.name!r}, "
            f"{self.motor_y.name!r}), Imax={self.Imax:g}, sigma={self.sigma:g})"
        )
