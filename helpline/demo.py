"""``helpline demo``: the whole product on this machine, with simulated calls.

One command starts a private Redis server, the web app under gunicorn, an RQ worker and the
phone-network simulator (standing in for Twilio), seeds a team of counsellors, and plays a
stream of calls from several platforms on a clock running ``--speed`` times faster than real
time. Ctrl-C (or the end of ``--duration``) stops everything, leaving no process behind.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from helpline.processes import Stack, free_port, product_env
from helpline.redis_server import PrivateRedis, start_private
from helpline.runtime import Runtime, build_runtime
from helpline.settings import DEFAULT_CONFIG, Settings

TEAM = (  # id, name, skills, languages
    ("amina", "Amina", ("psychologist",), ("fr", "en")),
    ("bruno", "Bruno", ("psychologist",), ("fr",)),
    ("chloe", "Chloé", ("psychologist", "digital"), ("fr",)),
    ("david", "David", ("lawyer",), ("fr", "en")),
    ("elise", "Élise", ("lawyer", "psychologist"), ("fr",)),
    ("farid", "Farid", ("digital",), ("fr", "en")),
    ("gaelle", "Gaëlle", ("digital", "psychologist"), ("fr",)),
    ("hugo", "Hugo", ("psychologist",), ("fr",)),
    ("ines", "Inès", ("psychologist", "lawyer"), ("fr", "en")),
    ("jules", "Jules", ("digital",), ("fr",)),
    ("karima", "Karima", ("psychologist",), ("fr",)),
    ("lucas", "Lucas", ("lawyer", "digital"), ("fr",)),
)
DEMO_PASSWORD_ENV = "HELPLINE_DEMO_PASSWORD"  # noqa: S105 - the name of a variable


@dataclass(frozen=True)
class DemoOptions:
    """What a demo run plays."""

    duration: float | None  # simulated seconds of arrivals; None: until Ctrl-C
    speed: float
    rate: float  # calls per simulated minute
    counsellors: int
    handle_time: float
    patience: float
    no_answer: float
    port: int
    seed: int | None
    data_dir: Path


def demo_config_text() -> str:
    """The packaged configuration, open around the clock (the demo clock runs fast)."""
    text = DEFAULT_CONFIG.read_text()
    return re.sub(r'^(\w+day) = \["[^"]*"\]$', r'\1 = ["00:00-24:00"]', text, flags=re.M)


def _seed(runtime: Runtime, count: int, password: str) -> list[str]:
    from acd.model import CounsellorState
    from acd.store import Acd
    from console.users import Role, Users

    acd, users = Acd(runtime), Users(runtime)
    users.add("manager", Role.MANAGER, password)
    ids = []
    for cid, name, skills, languages in TEAM[: max(1, min(count, len(TEAM)))]:
        acd.add_counsellor(cid, name, list(skills), list(languages), f"client:{cid}")
        acd.set_state(cid, CounsellorState.AVAILABLE)
        users.add(cid, Role.COUNSELLOR, password)
        ids.append(cid)
    return ids


MISSED_BACK_AFTER_S = 120  # simulated seconds before the demo's duty manager steps in


def duty_manager(runtime: Runtime) -> list[str]:
    """What a duty manager does on a real evening, played by the demo: a counsellor set aside
    after a missed offer is put back on duty after a couple of minutes. Returns their ids."""
    from acd.jobs import request_dispatch
    from acd.model import CounsellorState
    from acd.store import Acd

    acd, now, back = Acd(runtime), runtime.clock.now(), []
    for c in acd.list_counsellors():
        missed = c.state == CounsellorState.BREAK and c.reason == "missed"
        if missed and (now - c.state_since).total_seconds() >= MISSED_BACK_AFTER_S:
            acd.set_state(c.id, CounsellorState.AVAILABLE)
            back.append(c.id)
    if back:
        request_dispatch(runtime)
    return back


def _status_line(runtime: Runtime, sim: Any) -> str:
    from acd.store import Acd

    states = Counter(c.state.value for c in Acd(runtime).list_counsellors())
    waiting = runtime.redis.zcard(runtime.keys.waiting)
    outcomes: Counter[str] = Counter()
    for field, value in runtime.redis.hgetall(runtime.keys.stats_calls).items():
        outcomes[field.partition(":")[2]] += int(value)
    now = runtime.clock.now().astimezone(runtime.config.zone).strftime("%H:%M")
    return (
        f"{now} calls {len(sim.callers):>4} | waiting {waiting:>3} | "
        f"counsellors free {states['available']:>2} offered {states['reserved']:>2} "
        f"talking {states['on_call']:>2} wrap-up {states['wrap_up']:>2} "
        f"break {states['break']:>2} | answered {outcomes['answered']:>4} "
        f"abandoned {outcomes['abandoned']:>3} overflowed {outcomes['overflowed']:>3}"
    )


def merge_report(runtime: Runtime, sim_report: dict[str, Any], sids: list[str]) -> dict[str, Any]:
    """The demo's report: outcomes as the application recorded them for every simulated caller,
    waits as callers lived them (the simulator's view), and callers left without an outcome."""
    pipe = runtime.redis.pipeline(transaction=False)
    for sid in sids:
        pipe.hmget(runtime.keys.call(sid), "outcome", "platform")
    rows = pipe.execute()
    totals: Counter[str] = Counter()
    by_platform: dict[str, Counter[str]] = {}
    for outcome, platform in rows:
        key = outcome or "no_outcome"
        totals[key] += 1
        by_platform.setdefault(platform or "unknown", Counter())[key] += 1
    caller_side = sim_report
    still_live = int(caller_side.get("no_outcome", 0) or 0)
    platforms: dict[str, Any] = {}
    for name, counts in sorted(by_platform.items()):
        sim_platform = sim_report.get("per_platform", {}).get(name, {})
        platforms[name] = {
            "offered": sum(counts.values()),
            **{k: counts[k] for k in ("answered", "abandoned", "overflowed", "closed", "error")},
            "no_outcome": counts["no_outcome"],
            "service_level": sim_platform.get("service_level"),
            "asa": sim_platform.get("asa_seconds"),
        }
    return {
        "offered": len(sids),
        "answered": totals["answered"],
        "abandoned": totals["abandoned"],
        "overflowed": totals["overflowed"],
        "closed": totals["closed"],
        "error": totals["error"],
        "no_outcome": max(totals["no_outcome"], still_live),
        "service_level": caller_side.get("service_level"),
        "service_level_seconds": sim_report.get("service_level_threshold_seconds"),
        "asa": caller_side.get("asa_seconds"),
        "aht": caller_side.get("aht_seconds"),
        "application_errors": caller_side.get("application_errors", 0),
        "by_platform": platforms,
        "simulator": sim_report,
    }


@dataclass
class LocalProduct:
    """The product running on this machine against the simulator: what the demo and the
    end-to-end tests start. `stop()` leaves no process behind."""

    sim: Any
    runtime: Runtime
    stack: Stack
    redis_server: PrivateRedis
    public: str

    def stop(self) -> None:
        """Stop the simulator, the web app and worker, then Redis."""
        try:
            self.sim.stop()
        finally:
            try:
                self.stack.stop()
            finally:
                self.redis_server.stop()


def start_local(
    data_dir: Path,
    config_text: str,
    port: int = 0,
    web_workers: int = 2,
    **sim_options: Any,
) -> LocalProduct:
    """Start Redis, the simulator, the web app and a worker; ``sim_options`` go to SimConfig."""
    from simulator.config import SimConfig
    from simulator.core import Simulator

    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    config_path = data_dir / "helpline.toml"
    config_path.write_text(config_text)
    port = port or free_port()
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
    redis_server = start_private(data_dir / "redis")
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
            **sim.app_environment(),
        )
        runtime = build_runtime(Settings.from_env(env))
        stack = Stack(env, data_dir / "logs")
        stack.start_web(port, workers=web_workers)
        stack.start_worker()
    except BaseException:
        sim.stop()
        if stack is not None:
            stack.stop()
        redis_server.stop()
        raise
    return LocalProduct(sim, runtime, stack, redis_server, public)


def run_demo(opts: DemoOptions, as_json: bool, echo: Any = click.echo) -> dict[str, Any]:
    """Start everything, play the calls, stop everything; return the report."""
    password = os.environ.get(DEMO_PASSWORD_ENV) or secrets.token_urlsafe(9)
    local = start_local(
        opts.data_dir,
        demo_config_text(),
        port=opts.port,
        helpline_number="+33185083018",
        speed=opts.speed,
        seed=opts.seed,
        patience_mean=opts.patience,
        handle_time_mean=opts.handle_time,
        no_answer_probability=opts.no_answer,
    )
    sim, runtime, public = local.sim, local.runtime, local.public
    try:
        team = _seed(runtime, opts.counsellors, password)
        if not as_json:
            echo(f"3018 demo running at {public} (speed x{opts.speed:g}, {len(team)} counsellors)")
            echo(f"  counsellor console: {public}/console  (logins {', '.join(team[:3])}, …)")
            echo(f"  dashboard:          {public}/dashboard  (login manager)")
            echo(f"  password for every demo login: {password}")
            echo(f"  health: {public}/healthz   metrics: {public}/metrics")
            echo("Ctrl-C stops everything.")
        duration = opts.duration if opts.duration is not None else 7 * 24 * 3600.0
        drain = max(30.0, 4 * opts.handle_time / opts.speed)
        future = sim.start_load(opts.rate, duration, drain)
        interactive = sys.stdout.isatty() and not as_json
        last = 0.0
        while not future.done():
            time.sleep(0.25)
            if time.monotonic() - last >= 1:
                last = time.monotonic()
                back = duty_manager(runtime)
                if back and not as_json:
                    echo(f"\nduty manager: {', '.join(back)} back on duty after a missed offer")
                if as_json or (not interactive and int(last) % 5):
                    continue
                line = _status_line(runtime, sim)
                echo(f"\r{line}" if interactive else line, nl=not interactive)
        sim_report = future.result()
        time.sleep(1.0)  # the last status callbacks
        report = merge_report(runtime, sim_report, [leg.sid for leg in sim.callers])
    except KeyboardInterrupt:
        report = merge_report(runtime, sim.report(), [leg.sid for leg in sim.callers])
        report["interrupted"] = True
    finally:
        local.stop()
    return report


@click.command("demo")
@click.option(
    "--duration",
    type=click.FloatRange(min=1),
    default=None,
    help="Simulated seconds of incoming calls (default: until Ctrl-C).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the final report as one JSON object.")
@click.option("--speed", type=click.FloatRange(min=1, max=200), default=20, show_default=True)
@click.option(
    "--rate",
    type=click.FloatRange(min=0.1),
    default=1.0,
    show_default=True,
    help="Calls per simulated minute.",
)
@click.option("--counsellors", type=click.IntRange(1, len(TEAM)), default=10, show_default=True)
@click.option(
    "--handle-time",
    type=click.FloatRange(min=10),
    default=240,
    show_default=True,
    help="Mean talk time, simulated seconds.",
)
@click.option(
    "--patience",
    type=click.FloatRange(min=5),
    default=300,
    show_default=True,
    help="Mean time a caller waits before hanging up, simulated seconds.",
)
@click.option(
    "--no-answer",
    type=click.FloatRange(0, 1),
    default=0.05,
    show_default=True,
    help="Probability that a counsellor does not answer an offer.",
)
@click.option("--port", type=int, default=0, help="Web port (default: a free one).")
@click.option("--seed", type=int, default=None)
@click.option(
    "--data-dir", type=click.Path(path_type=Path), default=Path("var/demo"), show_default=True
)
def demo(as_json: bool, **kwargs: Any) -> None:  # fmt: skip
    """Run the product locally with simulated calls; Ctrl-C stops everything."""
    opts = DemoOptions(**kwargs)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the simulator's access log

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    # Explicitly: a process started in the background of a non-interactive shell inherits
    # SIGINT ignored, and Ctrl-C (or kill -INT) must stop the demo wherever it was started.
    signal.signal(signal.SIGINT, on_term)
    signal.signal(signal.SIGTERM, on_term)
    report = run_demo(opts, as_json)
    if as_json:
        click.echo(json.dumps(report, default=str))
    else:
        click.echo("")
        summary = {k: v for k, v in report.items() if k not in ("simulator", "by_platform")}
        click.echo(json.dumps(summary, indent=2, default=str))
