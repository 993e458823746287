"""Where the run store lives by default."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["default_store_path"]


def default_store_path() -> Path:
    """The default store folder.

    ``$LIVESCAN_DATA_DIR/runs`` if that variable is set, else ``$XDG_DATA_HOME/livescan/runs``
    (``~/.local/share/livescan/runs`` on Linux), ``~/Library/Application Support/livescan/runs``
    on macOS and ``%LOCALAPPDATA%\\livescan\\runs`` on Windows.
    """
    env = os.environ.get("LIVESCAN_DATA_DIR")
    if env:
        return Path(env).expanduser() / "runs"
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif os.uname().sysname == "Darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "livescan" / "runs"
