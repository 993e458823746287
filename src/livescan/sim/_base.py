"""Shared bits of the simulated devices."""

from __future__ import annotations

import time
from typing import Any

__all__ = ["SimDevice", "number_key"]


def number_key(source: str, precision: int = 3, units: str | None = None) -> dict[str, Any]:
    key: dict[str, Any] = {
        "source": source,
        "dtype": "number",
        "shape": [],
        "dtype_numpy": "<f8",
        "precision": precision,
    }
    if units:
        key["units"] = units
    return key


class SimDevice:
    """Base of the simulated devices: a name, hints and configuration readings."""

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name or "." in name or "/" in name:
            raise ValueError(f"device name must be a non-empty string without '.' or '/': {name!r}")
        self.name = name
        self.parent = None

    @property
    def hints(self) -> dict[str, list[str]]:
        """The fields a plot or table should show by default (``{"fields": [...]}``)."""
        return {"fields": [self.name]}

    def _config(self) -> dict[str, tuple[Any, dict[str, Any]]]:
        """``{key: (value, data_key)}`` for the configuration readings."""
        return {}

    def read_configuration(self) -> dict[str, dict[str, Any]]:
        """The configuration readings, ``{key: {"value", "timestamp"}}``, as ophyd returns them."""
        now = time.time()
        return {k: {"value": v, "timestamp": now} for k, (v, _) in self._config().items()}

    def describe_configuration(self) -> dict[str, dict[str, Any]]:
        """The data keys describing ``read_configuration()``."""
        return {k: dk for k, (_, dk) in self._config().items()}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
