#!/usr/bin/env python3
"""The project's two quick-start commands (standard library only).

    python3 dev.py lab  [jupyter lab args]   set up .venv, open the getting-started notebook
    python3 dev.py test [pytest args]        set up .venv, make sure Chromium is there, run pytest

Set-up means: create ``.venv`` if it is missing and ``pip install -e .[test]`` into it. The
install is skipped while ``pyproject.toml`` is unchanged since the last successful install
(its SHA-256 is kept in ``.venv/.livescan-install-stamp``). With ``CI=true`` nothing asks
questions. The browser tests drive the system Chromium (``/usr/bin/chromium``, or the path in
``LIVESCAN_CHROMIUM``) and the scale-out tests start ``redis-server``; as root on Debian/Ubuntu
``dev.py test`` apt-installs each when missing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".livescan-install-stamp"
PYPROJECT = ROOT / "pyproject.toml"
GETTING_STARTED = ROOT / "notebooks" / "01_getting_started.ipynb"
CHROMIUM = Path(os.environ.get("LIVESCAN_CHROMIUM", "/usr/bin/chromium"))
MIN_PYTHON = (3, 11)

USAGE = """\
usage: python3 dev.py lab  [jupyter lab args]
       python3 dev.py test [pytest args]

  lab   create/update .venv, then open notebooks/01_getting_started.ipynb in JupyterLab
  test  create/update .venv, make sure Chromium is installed, then run pytest
"""


class DevError(Exception):
    """A set-up step failed; the message says what to do."""


def say(message: str) -> None:
    print(f"[dev.py] {message}", flush=True)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def venv_python() -> Path:
    if os.name == "nt":
        return VENV / "Scripts" / "python.exe"
    return VENV / "bin" / "python"


def run(cmd: list[str], **kwargs) -> None:
    say("$ " + " ".join(str(c) for c in cmd))
    result = subprocess.run([str(c) for c in cmd], check=False, **kwargs)
    if result.returncode != 0:
        shown = " ".join(str(c) for c in cmd)
        raise DevError(f"command failed with exit code {result.returncode}: {shown}")


def pyproject_hash() -> str:
    return hashlib.sha256(PYPROJECT.read_bytes()).hexdigest()


def venv_works() -> bool:
    python = venv_python()
    if not python.exists():
        return False
    probe = subprocess.run([str(python), "-c", "import sys"], check=False, capture_output=True)
    return probe.returncode == 0


def ensure_venv() -> Path:
    """Create .venv if needed and install ``-e .[test]`` unless pyproject.toml is unchanged."""
    if sys.version_info < MIN_PYTHON:
        need = ".".join(map(str, MIN_PYTHON))
        raise DevError(
            f"livescan needs Python {need} or newer; this is {sys.version.split()[0]}. "
            "Run dev.py with a newer python3."
        )
    if not venv_works():
        if VENV.exists():
            say(f"{VENV} exists but its python does not run: recreating it")
        else:
            say(f"creating {VENV}")
        try:
            run([sys.executable, "-m", "venv", "--clear", VENV])
        except DevError as exc:
            raise DevError(
                f"{exc}\nCould not create a virtual environment. On Debian/Ubuntu install the "
                f"venv module first: apt-get install python3-venv"
            ) from None
        STAMP.unlink(missing_ok=True)

    wanted = pyproject_hash()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        say(".venv is up to date (pyproject.toml unchanged since the last install)")
        return venv_python()

    say("installing livescan with its test dependencies into .venv")
    pip = [venv_python(), "-m", "pip"]
    quiet = ["--progress-bar", "off"] if in_ci() else []
    env = dict(
        os.environ,
        PIP_NO_INPUT="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_ROOT_USER_ACTION="ignore",
    )
    run([*pip, "install", *quiet, "-e", ".[test]"], cwd=ROOT, env=env)
    STAMP.write_text(wanted + "\n")
    return venv_python()


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def ensure_chromium() -> None:
    """The browser tests launch the system Chromium; install it with apt when we may."""
    if CHROMIUM.exists():
        return
    hint = (
        f"The browser tests need Chromium at {CHROMIUM} (or set LIVESCAN_CHROMIUM to its path).\n"
        "  Debian/Ubuntu:  sudo apt-get update && sudo apt-get install -y chromium\n"
        "  macOS:          brew install --cask chromium, then set\n"
        "                  LIVESCAN_CHROMIUM=/Applications/Chromium.app/Contents/MacOS/Chromium\n"
        "Do not run `playwright install`: the tests use the system browser."
    )
    apt_install("chromium", CHROMIUM, hint, may=str(CHROMIUM) == "/usr/bin/chromium")


def ensure_redis() -> None:
    """The scale-out tests start the system redis-server; install it with apt when we may."""
    if shutil.which("redis-server"):
        return
    hint = (
        "The scale-out tests start redis-server (Redis 7).\n"
        "  Debian/Ubuntu:  sudo apt-get update && sudo apt-get install -y redis-server\n"
        "  macOS:          brew install redis"
    )
    apt_install("redis-server", Path("/usr/bin/redis-server"), hint)


def apt_install(package: str, path: Path, hint: str, *, may: bool = True) -> None:
    """As root on Debian/Ubuntu, ``apt-get install`` ``package`` (which provides ``path``)."""
    apt_get = shutil.which("apt-get")
    if not is_root() or apt_get is None or not may:
        raise DevError(hint)
    say(f"{package} is missing: installing it with apt-get (running as root)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run([apt_get, "update"], env=env)
    run([apt_get, "install", "-y", package], env=env)
    if not path.exists():
        raise DevError(f"apt-get installed {package} but {path} is still missing.\n{hint}")


def cmd_lab(args: list[str]) -> int:
    python = ensure_venv()
    os.chdir(ROOT)
    lab_args = list(args)
    if is_root() and "--allow-root" not in lab_args:
        lab_args.append("--allow-root")  # as root, jupyter lab refuses to start without it
    cmd = [str(python), "-m", "jupyter", "lab", str(GETTING_STARTED.relative_to(ROOT)), *lab_args]
    say("$ " + " ".join(cmd))
    sys.stdout.flush()
    if os.name == "nt":
        return subprocess.call(cmd)
    os.execv(cmd[0], cmd)  # hand the terminal (and Ctrl-C) over to jupyter lab
    return 0  # not reached


def cmd_test(args: list[str]) -> int:
    python = ensure_venv()
    ensure_chromium()
    ensure_redis()
    cmd = [str(python), "-m", "pytest", *args]
    say("$ " + " ".join(cmd))
    env = dict(os.environ, LIVESCAN_CHROMIUM=str(CHROMIUM))
    return subprocess.call(cmd, cwd=ROOT, env=env)


COMMANDS = {"lab": cmd_lab, "test": cmd_test}


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(USAGE, end="")
        return 0 if argv else 2
    command = COMMANDS.get(argv[0])
    if command is None:
        print(f"dev.py: unknown command {argv[0]!r}\n\n{USAGE}", end="", file=sys.stderr)
        return 2
    try:
        return command(argv[1:])
    except DevError as exc:
        print(f"[dev.py] error: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
