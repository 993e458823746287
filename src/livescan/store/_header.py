"""What every stored run answers from its start and stop documents."""

from __future__ import annotations

from typing import Any

__all__ = ["RunFacts"]


class RunFacts:
    """``finished``, ``scan_id``, ``exit_status`` and ``metadata`` from ``start``/``stop``."""

    start: dict[str, Any]

    @property
    def stop(self) -> dict[str, Any] | None:  # pragma: no cover - every store overrides it
        raise NotImplementedError

    @property
    def finished(self) -> bool:
        """Whether the run has a stop document."""
        return self.stop is not None

    @property
    def scan_id(self) -> Any:
        """The scan id from the start document (None if it has none)."""
        return self.start.get("scan_id")

    @property
    def exit_status(self) -> str | None:
        """``'success'``, ``'abort'``, ``'fail'``, or ``None`` while there is no stop."""
        stop = self.stop
        return None if stop is None else stop.get("exit_status")

    @property
    def metadata(self) -> dict[str, Any]:
        """The start and stop documents, ``{"start": ..., "stop": ...}``."""
        return {"start": self.start, "stop": self.stop}
