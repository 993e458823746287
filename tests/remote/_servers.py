"""Real servers for the scale-out tests: redis-server and tiled, on 127.0.0.1, random ports."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, what: str, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on port {port} in {timeout} s")


class _Server:
    """A server process stopped by ``stop_signal``, usable as a context manager."""

    stop_signal = signal.SIGTERM
    proc: subprocess.Popen | None = None

    def start(self):  # pragma: no cover - overridden
        raise NotImplementedError

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(self.stop_signal)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class RedisServer(_Server):
    """``redis-server`` with a password, bound to 127.0.0.1, AOF on, in ``folder``.
    ``stop()`` sends SIGTERM: Redis writes its AOF and exits."""

    def __init__(self, folder: Path, port: int | None = None, password: str | None = None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.password = password or secrets.token_hex(8)
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        log = self.folder / "redis.log"
        cmd = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
               "--requirepass", self.password, "--save", "", "--appendonly", "yes",
               "--dir", str(self.folder)]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdout=log.open("ab"), stderr=subprocess.STDOUT)
        _wait_port(self.port, self.proc, "redis-server", 10, log)
        import redis

        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:  # listening is not ready: it may still be loading the AOF
            try:
                client.ping()
                break
            except redis.exceptions.BusyLoadingError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()
        return self


class TiledServer(_Server):
    """``tiled serve catalog --temp`` with an API key, reading files under ``readable``."""

    stop_signal = signal.SIGINT

    def __init__(self, folder: Path, readable: list[str] | None = None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.api_key = secrets.token_hex(8)
        self.readable = readable or []
        self.proc: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> TiledServer:
        log = self.folder / "tiled.log"
        tiled = str(Path(sys.executable).with_name("tiled"))
        cmd = [tiled, "serve", "catalog", "--temp", "--api-key", self.api_key,
               "--host", "127.0.0.1", "--port", str(self.port)]  # fmt: skip
        for r in self.readable:
            cmd += ["-r", r]
        env = {**os.environ, "TILED_API_KEY": ""}
        self.proc = subprocess.Popen(
            cmd, stdout=log.open("ab"), stderr=subprocess.STDOUT, env=env, cwd=self.folder
        )
        _wait_port(self.port, self.proc, "tiled serve", 60, log)
        return self


def child_env() -> dict[str, str]:
    """The environment for a child Python: this checkout's src and tests first."""
    repo = Path(__file__).resolve().parents[2]
    paths = [str(repo / "src"), str(repo), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
