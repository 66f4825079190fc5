"""The ``helpline`` command: serve, worker, demo, simulate, hours, counsellors, staffing, redis."""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time

import click

from helpline.settings import ConfigError, Settings

#: Seconds between a worker's maintenance runs, where RQ restarts a scheduler process that
#: died (a Redis restart kills it) and cleans abandoned jobs. RQ's default is 10 minutes:
#: that long without a sweep, no wrap-up ends and no offer expires (docs/reliability.md).
WORKER_MAINTENANCE_S = 5
#: RQ's worker TTL; an idle worker wakes every TTL - 15 s, so maintenance runs at least then.
WORKER_TTL_S = 60


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
def main() -> None:
    """3018 helpline voice platform."""


@main.command()
@click.option("--port", type=int, default=None, help="Port (default $PORT, else 8000).")
@click.option("--host", default="0.0.0.0", show_default=True)  # noqa: S104 - a server's job
@click.option("--workers", type=int, default=None, help="Gunicorn workers ($WEB_CONCURRENCY, 2).")
def serve(port: int | None, host: str, workers: int | None) -> None:
    """Run the web app under gunicorn."""
    from helpline.runtime import resolve_redis_url

    settings = _settings()
    env = dict(os.environ)
    env["REDIS_URL"] = resolve_redis_url(settings)  # workers share one server
    metrics_dir = settings.data_dir / "prometheus" / str(os.getpid())
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    port = port or int(os.environ.get("PORT", "8000"))
    workers = workers or int(os.environ.get("WEB_CONCURRENCY", "2"))
    args = [
        sys.executable, "-m", "gunicorn", "helpline.wsgi:app",
        "--bind", f"{host}:{port}", "--workers", str(workers),
        "--worker-class", "gthread", "--threads", "4",
        "--timeout", "30", "--graceful-timeout", "10",
        "--access-logfile", "-",
    ]  # fmt: skip
    os.execve(sys.executable, args, env)  # noqa: S606 - replace this process by gunicorn


@main.command()
@click.option("--burst", is_flag=True, help="Quit once the queue is empty (tests).")
def worker(burst: bool) -> None:
    """Run the RQ worker with its scheduler (dispatch, offers' timeouts, the periodic sweep)."""
    from rq import SimpleWorker

    from helpline.log import configure_logging
    from helpline.periodic import release_dead_scheduler_lock
    from helpline.runtime import get_runtime

    configure_logging()
    runtime = get_runtime()
    _start_heartbeat(runtime)
    from acd import jobs as acd_jobs
    from dashboard import jobs as dashboard_jobs

    acd_jobs.start_periodic(runtime)  # offers' timeouts, wrap-ups, overflow, dispatch
    dashboard_jobs.start_periodic(runtime)  # retention
    # A worker restarted after a crash must not wait for its dead predecessor's scheduler
    # lock to expire (docs/reliability.md).
    release_dead_scheduler_lock(runtime)
    # Jobs run in this process (SimpleWorker), not in a fork per job: a fork, and the Twilio
    # client's lazy imports and connection redone in every child, made a dispatch (two jobs)
    # take 4x longer (docs/performance.md). Our jobs are short, our own and stateless.
    SimpleWorker(
        [runtime.queue],
        connection=runtime.rq_redis,
        maintenance_interval=WORKER_MAINTENANCE_S,
        worker_ttl=WORKER_TTL_S,
    ).work(with_scheduler=True, burst=burst, logging_level="INFO")


def _start_heartbeat(runtime: object) -> None:
    from helpline.clock import to_ms
    from helpline.runtime import Runtime

    assert isinstance(runtime, Runtime)

    def beat() -> None:
        while True:
            try:
                now = to_ms(runtime.clock.now())
                runtime.redis.set(runtime.keys.worker_heartbeat, now, ex=60)
            except Exception:  # noqa: BLE001, S110 - next beat retries
                pass
            time.sleep(10)

    threading.Thread(target=beat, name="heartbeat", daemon=True).start()


@main.group()
def redis() -> None:
    """The embedded Redis server (used when REDIS_URL is unset)."""


@redis.command("start")
def redis_start() -> None:
    """Start (or reuse) the embedded server and print its URL."""
    from helpline.redis_server import ensure_embedded

    click.echo(ensure_embedded(_settings().data_dir))


@redis.command("stop")
def redis_stop() -> None:
    """Stop the embedded server."""
    from helpline.redis_server import stop_embedded

    click.echo("stopped" if stop_embedded(_settings().data_dir) else "not running")


def _attach_subcommands() -> None:
    """Area commands live with their area."""
    from acd.cli import counsellors
    from console.cli import users
    from dashboard.cli import dashboard
    from helpline.demo import demo
    from incall.cli import blocklist
    from ivr.cli import hours
    from partners.cli import platforms
    from simulator.cli import simulate
    from staffing.cli import staffing

    for command in (
        hours, counsellors, users, platforms, staffing, simulate, demo, dashboard, blocklist,
    ):  # fmt: skip
        main.add_command(command)


_attach_subcommands()
