"""The product as real processes that a fault run can kill and restart.

The same building blocks as `helpline.demo.start_local` (a private Redis, the web app under
gunicorn, an RQ worker, the phone-network simulator), with what a fault run needs on top:

* Redis with the persistence the production guide recommends (``appendonly yes``,
  ``appendfsync everysec``), on a socket that survives a restart;
* the web app on a fixed port, so that it can be restarted where Twilio expects it;
* two RQ workers (the deployment guide's shape), and a supervisor thread that restarts a
  worker whenever it dies, as systemd's ``Restart=always`` or a container orchestrator would.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from helpline.processes import Child, Stack, free_port, product_env
from helpline.redis_server import redis_server_binary
from helpline.runtime import Runtime, build_runtime
from helpline.settings import Settings

SUPERVISOR_EVERY_S = 0.2  # how often the supervisor looks at the worker
RESTART_DELAY_S = 0.5  # a supervisor waits a little before restarting a dead process
WORKERS = 2  # as the deployment guide runs them (docs/deployment.md)
#: The app's Twilio client timeout in a fault run, in simulated seconds: the production
#: default (TWILIO_HTTP_TIMEOUT, 10 s) on the run's clock, so that a hung request stalls a
#: worker as long, for the simulated callers, as it would for real ones.
HTTP_TIMEOUT_SIMULATED_S = 10.0
#: ... but never under this many real seconds: the simulator shares the machine with the run.
HTTP_TIMEOUT_FLOOR_S = 1.0


def http_timeout(speed: float) -> float:
    """The real seconds of TWILIO_HTTP_TIMEOUT for a run whose clock goes ``speed`` times
    faster than real time."""
    return max(HTTP_TIMEOUT_FLOOR_S, HTTP_TIMEOUT_SIMULATED_S / speed)


class AofRedis:
    """redis-server with AOF persistence (everysec) on a private Unix socket; restartable."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.socket_path = self.directory / "redis.sock"
        self.url = f"unix://{self.socket_path}"
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self.start()

    def start(self) -> None:
        """Start the server (loading its append-only file) and wait until it answers."""
        args = [
            redis_server_binary(),
            "--port", "0",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(self.directory),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
        ]  # fmt: skip
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while not self.ping():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server (AOF) did not start")
            time.sleep(0.02)

    def ping(self) -> bool:
        """True when the server answers (and has loaded its data)."""
        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=1).ping())
        except (redis.RedisError, OSError):
            return False

    def kill(self) -> None:
        """Crash the server (SIGKILL): what was written in the last second may be lost."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def restart(self, down_s: float, crash: bool = True) -> None:
        """Kill (or stop cleanly), stay down ``down_s`` real seconds, start again."""
        if crash:
            self.kill()
        else:
            self.stop()
        time.sleep(down_s)
        self.start()
        self.restarts += 1

    def stop(self) -> None:
        """Stop cleanly (SIGTERM: the server flushes its append-only file)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover
                self.process.kill()
                self.process.wait()


@dataclass
class FaultProduct:
    """The product under test, with handles to hurt it."""

    sim: Any
    runtime: Runtime
    stack: Stack
    redis_server: AofRedis
    port: int
    web: Child
    workers: list[Child]
    http_timeout: float  # TWILIO_HTTP_TIMEOUT of the app's processes, real seconds
    worker_restarts: int = 0
    _stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _supervisor: threading.Thread | None = None

    @property
    def public(self) -> str:
        """The web app's base URL."""
        return f"http://127.0.0.1:{self.port}"

    # -- the workers and their supervisor -----------------------------------------------------

    def supervise(self) -> None:
        """Restart any worker that dies (in a background thread)."""
        self._supervisor = threading.Thread(target=self._watch, name="supervisor", daemon=True)
        self._supervisor.start()

    def _watch(self) -> None:
        while not self._stopping.wait(SUPERVISOR_EVERY_S):
            for i, worker in enumerate(list(self.workers)):
                if worker.process.poll() is None:
                    continue
                time.sleep(RESTART_DELAY_S)
                with self._lock:
                    if self._stopping.is_set():
                        return
                    self.worker_restarts += 1
                    name = f"worker-{i}-{self.worker_restarts}"
                    self.workers[i] = self.stack.start_worker(name)

    def busy_worker(self) -> Child | None:
        """The worker process running a job right now (RQ's started-job registry), if any."""
        from rq.job import Job
        from rq.registry import StartedJobRegistry
        from rq.worker import Worker

        conn = self.runtime.rq_redis
        try:
            for job_id in StartedJobRegistry(queue=self.runtime.queue).get_job_ids():
                job = Job.fetch(job_id, connection=conn)
                if not job.worker_name:
                    continue
                key = Worker.redis_worker_namespace_prefix + job.worker_name
                worker = Worker.find_by_key(key, connection=conn)
                for child in self.workers:
                    if worker is not None and child.process.pid == worker.pid:
                        return child
        except Exception:  # noqa: BLE001 - a job that just finished, Redis busy: not now
            return None
        return None

    def kill(self, child: Child) -> None:
        """SIGKILL a worker's process group: the worker (running the job) and its scheduler."""
        with self._lock, contextlib.suppress(ProcessLookupError):
            os.killpg(child.process.pid, signal.SIGKILL)

    # -- the web app ------------------------------------------------------------------------

    def web_workers(self) -> list[int]:
        """PIDs of gunicorn's worker processes (children of its master)."""
        pid = self.web.process.pid
        try:
            text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        except OSError:
            return []
        return [int(x) for x in text.split()]

    def kill_web_worker(self, index: int = 0) -> bool:
        """SIGKILL one gunicorn worker (its master starts another); False if none was found."""
        pids = self.web_workers()
        if not pids:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(pids[index % len(pids)], signal.SIGKILL)
        return True

    def reload_web(self) -> None:
        """Gracefully replace every gunicorn worker (SIGHUP to the master), as a deploy does."""
        os.kill(self.web.process.pid, signal.SIGHUP)

    def stop(self) -> None:
        """Stop the simulator, the web app and worker, then Redis; no process is left."""
        self._stopping.set()
        with self._lock:
            try:
                self.sim.stop()
            finally:
                try:
                    self.stack.stop()
                finally:
                    self.redis_server.stop()


def start_product(data_dir: Path, config_text: str, **sim_options: Any) -> FaultProduct:
    """Start Redis (AOF), the simulator, the web app and a supervised worker."""
    from simulator.config import SimConfig
    from simulator.core import Simulator

    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    config_path = data_dir / "helpline.toml"
    config_path.write_text(config_text)
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    sim = Simulator(
        SimConfig(
            voice_url=f"{public}/voice/incoming",
            status_callback_url=f"{public}/voice/status",
            fallback_url=f"{public}/voice/fallback",
            auth_token="local-" + secrets.token_hex(16),
            **sim_options,
        )
    )
    redis_server = AofRedis(data_dir / "redis")
    stack: Stack | None = None
    try:
        sim.start()
        env = product_env(
            os.environ,
            REDIS_URL=redis_server.url,
            HELPLINE_MODE="demo",
            HELPLINE_CONFIG=str(config_path),
            HELPLINE_DATA_DIR=str(data_dir),
            PUBLIC_BASE_URL=public,
            SECRET_KEY=secrets.token_hex(32),
            TWILIO_HTTP_TIMEOUT=f"{http_timeout(sim.config.speed):g}",
            **sim.app_environment(),
        )
        runtime = build_runtime(Settings.from_env(env))
        stack = Stack(env, data_dir / "logs")
        web = stack.start_web(port, workers=2)
        workers = [stack.start_worker(f"worker-{i}-0") for i in range(WORKERS)]
    except BaseException:
        sim.stop()
        if stack is not None:
            stack.stop()
        redis_server.stop()
        raise
    product = FaultProduct(
        sim, runtime, stack, redis_server, port, web, workers, runtime.settings.twilio_http_timeout
    )
    product.supervise()
    return product
