"""Fault runs: the whole product under a steady stream of simulated calls while something
breaks, then the invariants (docs/reliability.md).

One run: start the product (`faults.product`), seed a team, start a Poisson stream of callers;
after a warm-up, play the scenario's fault for its window (kill the worker again and again,
kill web workers, crash Redis, make Twilio's REST API fail or slow, disturb status callbacks,
have counsellors not answer), heal it, let the stream go on for a recovery period, let every
call end, let the sweep run, then measure (`faults.measure`). While it runs, the runner plays
the duty manager (counsellors set aside after a missed offer are put back after two minutes,
as `helpline demo` does) and samples the queue to see callers left unoffered while a
counsellor is free.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faults import measure
from faults.product import FaultProduct, start_product

SPEED = 10.0  # simulated seconds per real second
COUNSELLORS = 8
RATE = 3.0  # calls per simulated minute (about 60 % occupancy for 8 counsellors)
HANDLE_TIME = 60.0  # mean talk time, simulated seconds (lognormal)
PATIENCE = 600.0  # mean patience in queue, simulated seconds (exponential)
WRAP_UP = 20  # simulated seconds
OFFER_TIMEOUT = 60  # simulated seconds: x10 turns real latencies into long simulated ones
SAMPLE_EVERY_S = 0.25  # real seconds between two looks at the queue
SETTLE_TIMEOUT_S = 60.0  # real seconds for live calls to end once arrivals stopped


@dataclass(frozen=True)
class Timing:
    """Real seconds of each phase of a run, and the clock's speed-up."""

    warmup: float = 20.0
    fault: float = 60.0
    recovery: float = 30.0
    speed: float = SPEED

    def scaled(self, factor: float) -> Timing:
        """The same phases, ``factor`` times as long."""
        return dataclasses.replace(
            self,
            warmup=self.warmup * factor,
            fault=self.fault * factor,
            recovery=self.recovery * factor,
        )


FULL = Timing()
#: The CI size: twice the speed-up, short phases (a few calls in the fault window).
QUICK = Timing(warmup=3.0, fault=7.0, recovery=3.0, speed=2 * SPEED)


@dataclass
class FaultContext:
    """What a scenario's fault sees: the product, the end of its window, its counters."""

    product: FaultProduct
    until: float  # time.monotonic() at which the fault window closes
    counters: dict[str, int] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def over(self) -> bool:
        """The window has closed (or the run is stopping)."""
        return self.stop.is_set() or time.monotonic() >= self.until

    def sleep(self, seconds: float) -> bool:
        """Sleep up to ``seconds`` within the window; False once it has closed."""
        left = self.until - time.monotonic()
        self.stop.wait(max(0.0, min(seconds, left)))
        return not self.over()

    def count(self, what: str, n: int = 1) -> None:
        """Count ``n`` more of ``what``."""
        self.counters[what] = self.counters.get(what, 0) + n


# -- the faults -------------------------------------------------------------------------------

WORKER_KILL_SPACING_S = 2.0  # real seconds between two kills: restart, then work a little
WEB_KILL_EVERY_S = 1.0
REDIS_DOWN_S = 1.5
REDIS_CRASH_EVERY_S = 8.0


def worker_sigkill(ctx: FaultContext) -> None:
    """SIGKILL an RQ worker (with its scheduler) while it runs a job, again and again; the
    supervisor restarts it each time."""
    p = ctx.product
    while not ctx.over():
        busy = None
        while not ctx.over() and busy is None:
            busy = p.busy_worker()
            if busy is None:
                time.sleep(0.005)
        if busy is None:
            return
        p.kill(busy)
        ctx.count("worker_kills")
        ctx.sleep(WORKER_KILL_SPACING_S)


def web_kill(ctx: FaultContext) -> None:
    """SIGKILL a gunicorn worker every second (its master starts another), and once in the
    middle reload every worker gracefully (SIGHUP), as a deploy does."""
    p = ctx.product
    n, reloaded = 0, False
    half = ctx.until - (ctx.until - time.monotonic()) / 2
    while ctx.sleep(WEB_KILL_EVERY_S):
        if not reloaded and time.monotonic() >= half:
            p.reload_web()
            ctx.count("web_reloads")
            reloaded = True
            continue
        if p.kill_web_worker(n):
            ctx.count("web_worker_kills")
        n += 1


def redis_crash(ctx: FaultContext) -> None:
    """Crash Redis (SIGKILL: up to a second of writes lost under ``appendfsync everysec``),
    keep it down for 1.5 s, start it again from its append-only file; every 8 s."""
    p = ctx.product
    while ctx.sleep(1.0):
        p.redis_server.restart(REDIS_DOWN_S, crash=True)
        ctx.count("redis_crashes")
        if not ctx.sleep(REDIS_CRASH_EVERY_S - 1.0):
            return


@dataclass(frozen=True)
class TimesTimeout:
    """A duration of ``factor`` times the app's Twilio client timeout (TWILIO_HTTP_TIMEOUT)."""

    factor: float


def _faults_for_window(**settings: float | TimesTimeout) -> Callable[[FaultContext], None]:
    def play(ctx: FaultContext) -> None:
        cfg = ctx.product.sim.config.faults
        timeout = ctx.product.http_timeout
        for name, value in settings.items():
            seconds = value.factor * timeout if isinstance(value, TimesTimeout) else value
            setattr(cfg, name, seconds)
        try:
            while ctx.sleep(0.5):
                pass
        finally:
            cfg.clear()

    return play


def counsellors_not_answering(ctx: FaultContext) -> None:
    """Four offers in five ring out unanswered."""
    cfg = ctx.product.sim.config
    cfg.no_answer_probability = 0.8
    try:
        while ctx.sleep(0.5):
            pass
    finally:
        cfg.no_answer_probability = 0.0


@dataclass(frozen=True)
class Scenario:
    """A named fault."""

    name: str
    title: str
    fault: Callable[[FaultContext], None]


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("worker-kill", "RQ worker SIGKILLed mid-job, again and again", worker_sigkill),
        Scenario("web-kill", "gunicorn workers SIGKILLed during webhooks; one reload", web_kill),
        Scenario("redis-restart", "Redis crashed and restarted (AOF everysec)", redis_crash),
        Scenario(
            "rest-5xx",
            "Twilio REST: half the requests answer 503",
            _faults_for_window(rest_error_rate=0.5, rest_error_status=503),
        ),
        Scenario(
            "rest-timeout",
            "Twilio REST: a quarter of requests served but never answered in time",
            _faults_for_window(rest_timeout_rate=0.25, rest_timeout_s=TimesTimeout(1.2)),
        ),
        Scenario(
            "rest-slow",
            "Twilio REST: every answer half the client timeout late (5 s on the run's clock)",
            _faults_for_window(rest_delay_s=TimesTimeout(0.5)),
        ),
        Scenario(
            "callbacks",
            "status callbacks: 30 % twice, all up to 3 s late, 30 % overtaken",
            _faults_for_window(
                callback_duplicate_rate=0.3, callback_delay_s=3.0, callback_reorder_rate=0.3
            ),
        ),
        Scenario(
            "no-answer", "counsellors not answering (80 % of offers)", counsellors_not_answering
        ),
    )
}


# -- one run ----------------------------------------------------------------------------------


def fault_config() -> str:
    """The demo configuration (open around the clock) for fault runs: short wrap-up, offers
    long enough that the x10 clock does not turn real latencies into missed offers."""
    from helpline.demo import demo_config_text

    text = demo_config_text()
    for key, value in (("wrap_up", WRAP_UP), ("offer_timeout", OFFER_TIMEOUT)):
        text, n = re.subn(rf"^{key} = \d+", f"{key} = {value}", text, flags=re.M)
        assert n == 1, key
    return text


def seed_team(product: FaultProduct) -> list[str]:
    """Counsellors with every skill and language: one pool, so that a caller left waiting
    while someone is free is the dispatcher's doing, not routing's."""
    from acd.model import CounsellorState
    from acd.store import Acd

    runtime = product.runtime
    acd = Acd(runtime)
    skills = list(runtime.config.acd.skills)
    languages = list(runtime.config.helpline.languages)
    ids = [f"c{i}" for i in range(1, COUNSELLORS + 1)]
    for cid in ids:
        acd.add_counsellor(cid, cid.upper(), skills, languages, f"client:{cid}")
        acd.set_state(cid, CounsellorState.AVAILABLE)
    return ids


class Watcher:
    """Plays the duty manager and samples the queue, every `SAMPLE_EVERY_S`, in a thread."""

    def __init__(self, product: FaultProduct) -> None:
        self.product = product
        self.idle: dict[str, float] = {}  # caller → simulated seconds unoffered while free
        self.put_back = 0
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watcher", daemon=True)

    def start(self) -> None:
        """Start watching."""
        self._thread.start()

    def stop(self) -> None:
        """Stop watching."""
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        from acd.store import Acd
        from helpline.demo import duty_manager

        runtime, sim = self.product.runtime, self.product.sim
        acd = Acd(runtime)
        last = sim.clock.now()
        while not self._stop.wait(SAMPLE_EVERY_S):
            now = sim.clock.now()
            step, last = now - last, now
            try:
                self.put_back += len(duty_manager(runtime))
                free = sum(1 for s in runtime.redis.hvals(runtime.keys.states) if s == "available")
                if free:
                    for row in acd.waiting_callers():
                        if row["state"] == "waiting":
                            sid = row["call_sid"]
                            self.idle[sid] = self.idle.get(sid, 0.0) + step
            except Exception:  # noqa: BLE001 - Redis may be down: that is the point
                self.errors += 1


def _events(product: FaultProduct) -> tuple[set[str], dict[str, int]]:
    """Callers offered at least once, and counts of the ACD's notable events."""
    runtime = product.runtime
    offered: set[str] = set()
    counts: dict[str, int] = {}
    last = "-"
    while True:
        batch = runtime.redis.xrange(runtime.keys.events, min=last, max="+", count=5000)
        if last != "-":
            batch = batch[1:]
        if not batch:
            return offered, counts
        for _id, fields in batch:
            what = fields.get("what")
            if what == "offered":
                offered.add(fields.get("call", ""))
                name = "offers"
            elif what == "offer_failed":
                name = f"offer_failed:{fields.get('reason')}"
            elif what == "counsellor_state" and fields.get("state") == "break":
                name = f"to_break:{fields.get('reason')}"
            else:
                continue
            counts[name] = counts.get(name, 0) + 1
        last = batch[-1][0]


def _settle(product: FaultProduct) -> None:
    """Wait until no leg is live, the callbacks are sent, and the sweep has ended wrap-ups."""
    sim = product.sim
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while time.monotonic() < deadline:
        with sim.net.lock:
            live = any(leg.live for leg in sim.net.calls.values())
        if not live:
            break
        time.sleep(0.2)
    sim.dispatcher.drain(15)
    # Every counsellor free again (or on break), or time for the sweep to find calls whose end
    # was lost (one check period) and to end wrap-ups.
    from acd.jobs import CALL_CHECK_EVERY_S

    runtime = product.runtime
    deadline = time.monotonic() + (CALL_CHECK_EVERY_S + WRAP_UP) / sim.clock.speed + 5.0
    busy = ("reserved", "on_call", "wrap_up")
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if not any(s in busy for s in runtime.redis.hvals(runtime.keys.states)):
                return
        time.sleep(0.2)


def snapshot(product: FaultProduct, idle: dict[str, float]) -> dict[str, Any]:
    """Callers, counsellor legs and counsellors, as `faults.measure` wants them."""
    from acd.store import Acd
    from simulator import report as reports

    sim, runtime = product.sim, product.runtime
    offered, acd_events = _events(product)
    pipe = runtime.redis.pipeline(transaction=False)
    for leg in sim.callers:
        pipe.hget(runtime.keys.call(leg.sid), "outcome")
    app_outcomes = pipe.execute()
    callers = []
    for leg, app_outcome in zip(sim.callers, app_outcomes, strict=True):
        rec = sim.record(leg)
        with sim.net.lock:
            callers.append(
                measure.Caller(
                    sid=leg.sid,
                    outcome=reports.outcome(rec),
                    app_outcome=app_outcome,
                    enqueued_at=leg.enqueued_at,
                    connected_at=leg.connected_at,
                    ended_at=leg.ended_at,
                    connected_to=leg.connected_to,
                    offered=leg.sid in offered,
                    idle_while_free_s=idle.get(leg.sid, 0.0),
                )
            )
    with sim.net.lock:
        legs = [
            measure.CounsellorLeg(leg.identity, leg.connected_at, leg.ended_at)
            for leg in sim.net.calls.values()
            if leg.role == "counsellor"
        ]
    now = runtime.clock.now()
    counsellors = [
        measure.CounsellorNow(c.id, c.state.value, (now - c.state_since).total_seconds())
        for c in Acd(runtime).list_counsellors()
    ]
    return {"callers": callers, "legs": legs, "counsellors": counsellors, "events": acd_events}


def run_scenario(
    scenario: Scenario,
    timing: Timing,
    workdir: Path,
    seed: int = 1,
    echo: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run one scenario from start to stop; its figures (see `faults.measure.summary`)."""
    from simulator.faults import FaultConfig

    say = echo or (lambda _line: None)
    product = start_product(
        workdir / scenario.name,
        fault_config(),
        speed=timing.speed,
        seed=seed,
        answer_delay=4.0,
        handle_time_mean=HANDLE_TIME,
        no_answer_probability=0.0,
        patience_mean=PATIENCE,
        faults=FaultConfig(seed=seed),
    )
    watcher = Watcher(product)
    ctx: FaultContext | None = None
    started = time.monotonic()
    try:
        seed_team(product)
        watcher.start()
        sim = product.sim
        duration = (timing.warmup + timing.fault + timing.recovery) * timing.speed
        future = sim.start_load(RATE, duration, drain=SETTLE_TIMEOUT_S)
        time.sleep(timing.warmup)
        say(f"  {scenario.name}: fault on ({timing.fault:g} s)")
        fault_start = sim.clock.now()
        ctx = FaultContext(product, until=time.monotonic() + timing.fault)
        scenario.fault(ctx)
        fault_end = sim.clock.now()
        say(f"  {scenario.name}: fault off, recovering")
        future.result()
        _settle(product)
        watcher.stop()
        data = snapshot(product, watcher.idle)
        figures = measure.summary(
            data["callers"],
            data["legs"],
            data["counsellors"],
            wrap_up_s=WRAP_UP,
            fault_start=fault_start,
            fault_end=fault_end,
            now=sim.clock.now(),
        )
        injected = dict(ctx.counters)
        injected.update(sim.config.faults.counters)
        injected["worker_restarts"] = product.worker_restarts
        figures.update(
            scenario=scenario.name,
            title=scenario.title,
            injected=injected,
            duty_manager_put_back=watcher.put_back,
            speed=timing.speed,
            wall_s=round(time.monotonic() - started, 1),
            network=sim.network_counters(),
            counsellor_legs=sim.counsellor_legs(),
            acd_events=data["events"],
        )
        figures["violations"] = measure.violations(figures)
        return figures
    finally:
        if ctx is not None:
            ctx.stop.set()
        watcher.stop()
        with contextlib.suppress(Exception):
            product.stop()


def run(
    names: list[str],
    timing: Timing,
    seed: int = 1,
    echo: Callable[[str], None] | None = None,
    workdir: Path | None = None,
) -> list[dict[str, Any]]:
    """Run the named scenarios one after the other; their figures."""
    results = []
    with tempfile.TemporaryDirectory(prefix="faults-") as tmp:
        base = workdir or Path(tmp)
        for name in names:
            if echo:
                echo(f"running {name}: {SCENARIOS[name].title}")
            results.append(run_scenario(SCENARIOS[name], timing, base, seed, echo))
    return results


def _sec(value: float | None) -> str:
    if value is None:
        return "-"
    return "never" if value == float("inf") else f"{value:.0f}"


def render(results: list[dict[str, Any]]) -> str:
    """The table of a run: one line per scenario."""
    head = (
        f"{'scenario':<14}{'calls':>6}{'in fault':>9}{'lost':>5}{'no outc.':>9}{'stuck':>6}"
        f"{'double':>7}{'normal in':>10}{'baseline':>9}  {'answered/aband/overfl':<22}injected"
    )  # fmt: skip
    lines = [head, "-" * len(head)]
    for r in results:
        o = r["outcomes"]
        mix = f"{o.get('answered', 0)}/{o.get('abandoned', 0)}/{o.get('overflowed', 0)}"
        injected = ", ".join(f"{k} {v}" for k, v in sorted(r["injected"].items()) if v)
        lines.append(
            f"{r['scenario']:<14}{r['callers']:>6}{r['during_fault']:>9}{r['lost']:>5}"
            f"{r['without_outcome']:>9}{len(r['stuck']):>6}{r['double_bookings']:>7}"
            f"{_sec(r['time_to_normal_s']):>10}{_sec(r['normal_first_connection_s']):>9}  "
            f"{mix:<22}{injected}"
        )
    lines.append("")
    lines.append(
        "normal in = simulated s from the fault's end to the first connection of a caller "
        "waiting then or later; baseline = the same wait before the fault (median)."
    )
    for r in results:
        for v in r["violations"]:
            lines.append(f"VIOLATION {r['scenario']}: {v}")
    return "\n".join(lines)
