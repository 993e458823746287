"""Helpers for tests that kill a child process mid-run."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

__all__ = ["reaped", "run_and_kill"]


def run_and_kill(script: str, store: Path, n: int) -> list[list[str]]:
    """Run ``script`` (``python -c``, with ``store`` as its argument), SIGKILL it once it
    has printed ``n`` lines, and return every line it printed, split into words."""
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(store)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    reported = []
    try:
        assert child.stdout is not None
        for line in child.stdout:
            reported.append(line.split())
            if len(reported) >= n:
                break
        os.kill(child.pid, signal.SIGKILL)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL, err
    return reported + [line.split() for line in out.splitlines()]


@contextlib.contextmanager
def reaped(child: subprocess.Popen) -> Iterator[subprocess.Popen]:
    """Kill ``child`` on the way out if it is still running (a failed test leaves none)."""
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
