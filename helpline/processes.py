"""Start and stop the product's processes (web under gunicorn, RQ worker) as children.

Used by `helpline demo` and by the end-to-end tests; each child runs in its own process group so
that stopping it also stops what it started (gunicorn's workers), leaving nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import requests


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Child:
    """A child process in its own process group, its output in a log file."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the group, then SIGKILL what is left after ``timeout``."""
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def log_tail(self, lines: int = 40) -> str:
        """The end of the child's output, for error messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


@dataclass
class Stack:
    """Web and worker children sharing one environment."""

    env: dict[str, str]
    log_dir: Path
    children: list[Child] = field(default_factory=list)

    def spawn(self, name: str, *args: str) -> Child:
        """Run ``python -m helpline <args>`` as a child."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "helpline", *args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        child = Child(name, process, log_path)
        self.children.append(child)
        return child

    def start_web(self, port: int, workers: int = 2) -> Child:
        """Gunicorn on ``port``; returns once /healthz answers."""
        child = self.spawn("web", "serve", "--host", "127.0.0.1", "--port", str(port),
                           "--workers", str(workers))  # fmt: skip
        wait_http(f"http://127.0.0.1:{port}/healthz", child)
        return child

    def start_worker(self, name: str = "worker") -> Child:
        """An RQ worker with its scheduler."""
        return self.spawn(name, "worker")

    def stop(self) -> None:
        """Stop every child, newest first."""
        for child in reversed(self.children):
            child.stop()
        self.children.clear()


def wait_http(url: str, child: Child | None = None, timeout: float = 30.0) -> None:
    """Wait until ``url`` answers 2xx; fail early if ``child`` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child is not None and child.process.poll() is not None:
            raise RuntimeError(f"{child.name} exited early:\n{child.log_tail()}")
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    tail = child.log_tail() if child else ""
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s\n{tail}")


def product_env(base: Mapping[str, str], **overrides: str) -> dict[str, str]:
    """The environment for the product's children: ``base`` with ``overrides``."""
    env = dict(base)
    env.update(overrides)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
