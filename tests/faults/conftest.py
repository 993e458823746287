"""Fixtures of the fault-injection layer.

``full_disk`` mounts a small tmpfs (needs root or CAP_SYS_ADMIN — CI runs as root). If
it cannot be mounted the test FAILS saying so: these tests must run, not skip.
"""

from __future__ import annotations

import subprocess

import pytest

SIZE_MB = 48


@pytest.fixture
def full_disk(tmp_path):
    mount = tmp_path / "small-disk"
    mount.mkdir()
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE_MB}m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if res.returncode != 0:
        pytest.fail(
            f"the disk-full tests need to mount a {SIZE_MB} MB tmpfs at {mount} (run them as "
            f"root or with CAP_SYS_ADMIN, as CI does): mount said {res.stderr.strip()!r}"
        )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)
