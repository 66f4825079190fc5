"""Erlang benchmark: the whole product under Poisson load, measured against Erlang C / Erlang A.

``python -m bench erlang`` starts the product the way ``helpline demo`` and the end-to-end tests
do (`helpline.demo.start_local`: a private Redis, the web app under gunicorn, an RQ worker and
the phone-network simulator), with a configuration that makes the team the single pool Erlang
assumes (every counsellor has every skill and language, no skill relaxation needed, no priority
head starts, so first come first served), no wrap-up and no overflow, and offers that may take
long and never send a counsellor to break (see `bench_config`: with the defaults, the clock
running 30-50 times faster turns the worker's real latency into simulated minutes and the team
goes to break('missed') one by one). Calls arrive as a Poisson stream, handle times are
exponential, nobody fails to answer; the menus are kept (they come before the queue).

For each scenario it reports, over the calls that arrived after a warm-up:

- the caller's view (the simulator: wait from the first <Enqueue> to the connection), which is
  what the product's service level and ASA mean;
- the queue's view (the ACD's event stream: ``enqueued`` to ``offered``), which is Erlang's wait
  (a counsellor starts "serving" a call the moment they are reserved for it);
- Erlang's prediction twice: from the nominal inputs (the simulator's arrival rate and talk
  time) and from the measured ones (arrival rate into the queue, and the mean time a counsellor
  is held per call, ``offered`` to ``call_ended``: ringing, the whisper, the key press, the
  dequeue and bridge, the talk, the hang-up's status callback);
- the predicted caller-side figures add the measured offer-to-connection delay D of each call
  to Erlang's queue wait: SL = mean over calls of P(Wq <= 60 - D), ASA = ASA_q + mean(D);
- the dispatch lag: how long a reserved pair took to be formed once it was possible
  (``offered`` minus the later of the caller's enqueue and the counsellor's becoming free);
  with an ideal (work-conserving) dispatcher it is zero.

Confidence intervals are batch means (the calls in arrival order cut into 8 batches, Student
t at 95 %): waits in a queue are correlated, so the usual binomial interval would be too narrow.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import re
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from staffing.erlang import average_speed_of_answer, erlang_a, erlang_c, service_level

SPEED = 30.0  # simulated seconds per real second
COUNSELLORS = 6
THRESHOLD = 60.0  # service level: answered within 60 s of entering the queue
TALK = 60.0  # mean talk time (exponential), simulated seconds
# What a counsellor is held per call on top of the talk, measured (offered -> accepted: placing
# the leg, ringing, the whisper, the key press; plus the hang-up's callback): about 21 s. The
# arrival rate is set so that the *real* traffic is the scenario's Erlangs.
OVERHEAD = 21.0
ANSWER_DELAY = 4.0  # a counsellor's phone rings for uniform [2, 6] s before they pick up
BATCHES = 8
IDEAL_REPS = 400  # replications of the textbook queue per scenario
T95 = {7: 2.365}  # Student t, 97.5 % quantile, BATCHES - 1 degrees of freedom


@dataclass(frozen=True)
class Scenario:
    """One run: the offered load and the callers' patience."""

    name: str
    erlangs: float  # intended traffic: rate x (TALK + OVERHEAD)
    duration: float  # simulated seconds of arrivals
    patience: float | None  # mean patience (exponential); None: nobody hangs up (Erlang C)
    seed: int


SCENARIOS = (
    Scenario("C  A=4.5 N=6", 4.5, 4800.0, None, 11),
    Scenario("C  A=5.2 N=6", 5.2, 4800.0, None, 12),
    Scenario("A  A=5.5 N=6 pat=120", 5.5, 4200.0, 120.0, 13),
)


def bench_config() -> str:
    """The demo configuration as one FIFO pool: no wrap-up, no overflow, no head starts."""
    from helpline.demo import demo_config_text

    text = demo_config_text()
    for key, value in (
        ("wrap_up", 0),
        ("max_waiting", 100000),
        ("max_wait", 86400),
        ("skill_relax_after", 0),
        # Offers expire offer_timeout + 5 simulated seconds after the reservation; at x30-x50
        # the one RQ worker's 0.1-1.5 real s per placed offer (machine load) is 3-75 simulated
        # s, and with max_misses = 1 each late acceptance sends a counsellor to
        # break('missed'): the default team collapses within the hour (docs/performance.md).
        # Here a late offer only goes back to the queue (counted), the team stays whole.
        ("offer_timeout", 120),
        ("max_misses", 1000),
    ):
        text, n = re.subn(rf"^{key} = \d+", f"{key} = {value}", text, flags=re.M)
        assert n == 1, key
    text, n = re.subn(
        r"^caller_type = \{ young = \d+", "caller_type = { young = 0", text, flags=re.M
    )
    assert n == 1, "priority"
    return text


def _team(runtime: Any) -> list[str]:
    from acd.model import CounsellorState
    from acd.store import Acd

    acd = Acd(runtime)
    skills = list(runtime.config.acd.skills)
    languages = list(runtime.config.helpline.languages)
    ids = [f"c{i}" for i in range(1, COUNSELLORS + 1)]
    for cid in ids:
        acd.add_counsellor(cid, cid.upper(), skills, languages, f"client:{cid}")
        acd.set_state(cid, CounsellorState.AVAILABLE)
    return ids


def _events(runtime: Any) -> list[dict[str, str]]:
    """The whole ACD event stream, oldest first."""
    out: list[dict[str, str]] = []
    last = "-"
    while True:
        batch = runtime.redis.xrange(runtime.keys.events, min=last, max="+", count=10000)
        if last != "-":
            batch = batch[1:]
        if not batch:
            return out
        for _id, fields in batch:
            out.append({_s(k): _s(v) for k, v in fields.items()})
        last = _s(batch[-1][0])


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def _ci(values: list[float]) -> float:
    """Half-width of a 95 % batch-means interval for the mean of ``values`` (in order)."""
    size = len(values) // BATCHES
    if size < 2:
        return math.nan
    means = [_mean(values[i * size : (i + 1) * size]) for i in range(BATCHES)]
    return T95[BATCHES - 1] * statistics.stdev(means) / math.sqrt(BATCHES)


def ideal_queue(
    rate: float,
    service: float,
    duration: float,
    warmup: float,
    patience: float | None,
    delays: list[float],
    seed: int,
    reps: int = IDEAL_REPS,
) -> dict[str, tuple[float, float, float]]:
    """The textbook queue (Poisson arrivals, exponential service, N servers, FIFO, exponential
    patience) played from empty for the same simulated length and warm-up as the run, ``reps``
    times: the 5th, 50th and 95th percentiles of the run's SL, ASA and abandonment. Each answered
    caller's wait gets a delay D drawn from the measured ones, as in the product, and a caller's
    patience runs until then (a hang-up during the offer frees the counsellor). Long runs
    tend to Erlang's figures; at 90 % occupancy a run of an hour or two has not got there yet
    (it starts empty, and the queue's relaxation time is of the order of the run)."""
    rng = random.Random(seed)
    sls, asas, abandons = [], [], []
    for _ in range(reps):
        free_at = [0.0] * COUNSELLORS  # when each counsellor is next free
        t, within, answered_waits, n, gave_up = 0.0, 0, [], 0, 0
        while True:
            t += rng.expovariate(rate)
            if t > duration:
                break
            i = min(range(COUNSELLORS), key=free_at.__getitem__)
            start = max(t, free_at[i])
            counted = t >= warmup
            d = rng.choice(delays) if delays else 0.0
            give_up = math.inf if patience is None else rng.expovariate(1 / patience)
            if give_up < start - t:  # while waiting: FIFO, nobody else's turn changes
                gave_up += counted
                n += counted
                continue
            if give_up < start - t + d:  # during the offer: the counsellor is freed then
                free_at[i] = t + give_up
                gave_up += counted
                n += counted
                continue
            free_at[i] = start + rng.expovariate(1 / service)
            if counted:
                n += 1
                answered_waits.append(start - t + d)
                within += start - t + d <= THRESHOLD
        if n:
            sls.append(within / n)
            asas.append(_mean(answered_waits))
            abandons.append(gave_up / n)

    def pct(values: list[float]) -> tuple[float, float, float]:
        v = sorted(values)
        return (v[int(0.05 * len(v))], v[len(v) // 2], v[int(0.95 * len(v))])

    return {"sl": pct(sls), "asa": pct(asas), "abandon": pct(abandons)}


def analyse(
    events: list[dict[str, str]],
    sim_calls: dict[str, dict[str, Any]],
    warmup_ms: float,
    scenario: Scenario,
    rate_nominal: float,
) -> dict[str, Any]:
    """Measured figures and Erlang's predictions for one run."""
    enq: dict[str, float] = {}
    offered: dict[str, dict[str, Any]] = {}  # rid → {call, counsellor, at}
    first_offer: dict[str, float] = {}  # call → first offered at
    accepted: dict[str, float] = {}
    ended: dict[str, float] = {}
    freed: dict[str, float] = {}  # counsellor → last time they became available
    lags: list[tuple[float, float]] = []  # (enqueued at, lag)
    failed = breaks = 0
    gone_in_offer: set[str] = set()  # hung up while a counsellor was being offered the call
    for e in events:
        what, at = e.get("what"), float(e.get("at", 0))
        if what == "enqueued":
            enq.setdefault(e["call"], at)
        elif what == "offered":
            call, cid = e["call"], e["counsellor"]
            offered[e["reservation"]] = {"call": call, "counsellor": cid, "at": at}
            first_offer.setdefault(call, at)
            ready = max(enq.get(call, at), freed.get(cid, at))
            lags.append((enq.get(call, at), at - ready))
        elif what == "accepted":
            accepted[e["reservation"]] = at
        elif what == "call_ended" and "reservation" in e:  # not the voice flow's own
            ended[e["reservation"]] = at
        elif what == "offer_failed":
            failed += 1
        elif what == "caller_gone" and e.get("reservation"):
            gone_in_offer.add(e["call"])
        elif what == "counsellor_state" and e.get("state") == "available":
            freed[e["counsellor"]] = at
        elif what == "counsellor_state" and e.get("state") == "break":
            breaks += 1

    # Calls of the steady state: enqueued after the warm-up.
    t0 = min(enq.values()) if enq else 0.0
    steady = sorted((at, call) for call, at in enq.items() if at >= t0 + warmup_ms)
    last_enq = max(enq.values()) if enq else 0.0
    span_s = (last_enq - (t0 + warmup_ms)) / 1000
    rate_measured = (len(steady) - 1) / span_s if span_s > 0 else math.nan

    busy = [(ended[r] - o["at"]) / 1000 for r, o in offered.items() if r in ended]
    ring = [(accepted[r] - o["at"]) / 1000 for r, o in offered.items() if r in accepted]
    talk_app = [(ended[r] - accepted[r]) / 1000 for r in ended if r in accepted]
    service_measured = _mean(busy)

    # Per steady call: caller-side wait (simulator), queue wait (ACD), offer-to-connect delay.
    waits, qwaits, delays, within, abandoned, answered_flags = [], [], [], [], [], []
    for _at, call in steady:
        sc = sim_calls.get(call)
        if sc is None:
            continue
        outcome = sc["outcome"]
        abandoned.append(1.0 if outcome == "abandoned" else 0.0)
        ok = outcome == "answered" and sc["wait"] is not None
        answered_flags.append(1.0 if ok else 0.0)
        within.append(1.0 if ok and sc["wait"] <= THRESHOLD else 0.0)
        if ok:
            waits.append(sc["wait"])
            if call in first_offer:
                q = (first_offer[call] - enq[call]) / 1000
                qwaits.append(q)
                delays.append(max(0.0, sc["wait"] - q))
    n_calls = len(within)

    def predict(rate: float, service: float) -> dict[str, float]:
        traffic = rate * service
        out: dict[str, float] = {"traffic": traffic}
        if scenario.patience is None:
            if traffic >= COUNSELLORS:
                return out | {"sl_q": 0.0, "asa_q": math.inf, "sl": 0.0, "asa": math.inf}
            c = erlang_c(COUNSELLORS, traffic)
            sl_q = service_level(COUNSELLORS, traffic, service, THRESHOLD)
            asa_q = average_speed_of_answer(COUNSELLORS, traffic, service)
            # The caller hears a person D seconds after the counsellor is reserved.
            sl = _mean(
                [
                    service_level(COUNSELLORS, traffic, service, max(0.0, THRESHOLD - d))
                    for d in delays
                ]
            )
            return out | {
                "p_wait": c,
                "sl_q": sl_q,
                "asa_q": asa_q,
                "sl": sl,
                "asa": asa_q + _mean(delays),
                "abandon": 0.0,
            }
        ea = erlang_a(COUNSELLORS, traffic, service, scenario.patience, THRESHOLD)
        d = _mean(delays)
        eb = erlang_a(COUNSELLORS, traffic, service, scenario.patience, max(0.0, THRESHOLD - d))
        # The caller's patience runs until they are connected, D after the reservation:
        # callers Erlang A counts as served may still hang up during the offer.
        late = _mean([1 - math.exp(-x / scenario.patience) for x in delays])
        return out | {
            "p_wait": ea.probability_of_waiting,
            "sl_q": ea.service_level,
            "asa_q": ea.asa,
            "sl": eb.service_level,
            "asa": ea.asa + d,
            "abandon": ea.abandonment,
            "abandon_with_d": ea.abandonment + (1 - ea.abandonment) * late,
        }

    qwithin = [1.0 if q <= THRESHOLD else 0.0 for q in qwaits]
    steady_lags = [lag / 1000 for at, lag in lags if at >= t0 + warmup_ms]
    return {
        "scenario": scenario.name,
        "calls": n_calls,
        "sl": _mean(within),
        "sl_ci": _ci(within),
        "asa": _mean(waits),
        "asa_ci": _ci(waits),
        "abandon": _mean(abandoned),
        "abandon_ci": _ci(abandoned),
        "abandon_during_offer": (
            sum(1 for _at, c in steady if c in gone_in_offer) / n_calls if n_calls else math.nan
        ),
        "sl_q_answered": _mean(qwithin),  # queue-side, over answered calls
        "asa_q": _mean(qwaits),
        "delay_offer_to_connect": _mean(delays),
        "ring_offer_to_accept": _mean(ring),
        "talk_accept_to_end": _mean(talk_app),
        "busy_per_call": service_measured,
        "rate_nominal_per_s": rate_nominal,
        "rate_measured_per_s": rate_measured,
        "dispatch_lag_mean": _mean(steady_lags),
        "dispatch_lag_p95": (
            sorted(steady_lags)[int(0.95 * len(steady_lags))] if steady_lags else math.nan
        ),
        "dispatch_lag_max": max(steady_lags) if steady_lags else math.nan,
        "offer_failures": failed,
        "breaks": breaks,
        "nominal": predict(rate_nominal, TALK),
        "measured": predict(rate_measured, service_measured),
        "ideal": ideal_queue(
            rate_measured,
            service_measured,
            (last_enq - t0) / 1000,
            warmup_ms / 1000,
            scenario.patience,
            delays,
            scenario.seed,
        ),
    }


def _dump_path(directory: str, scenario: Scenario) -> Path:
    return Path(directory) / f"{scenario.name.split()[0]}-{scenario.seed}.json"


def replay_scenario(scenario: Scenario, directory: str) -> dict[str, Any]:
    """The analysis of a run saved by ``ERLANG_BENCH_DUMP`` (no product started)."""
    data = json.loads(_dump_path(directory, scenario).read_text())
    rate_per_s = scenario.erlangs / (TALK + OVERHEAD)
    result = analyse(data["events"], data["calls"], 3 * TALK * 1000, scenario, rate_per_s)
    for key in ("wall_s", "no_outcome", "application_errors", "offered_total"):
        result[key] = data.get(key, math.nan if key == "wall_s" else 0)
    return result


def run_scenario(scenario: Scenario, workdir: Path) -> dict[str, Any]:
    """Start the product, play the load, stop; the analysis."""
    from helpline.demo import start_local

    rate_per_s = scenario.erlangs / (TALK + OVERHEAD)
    local = start_local(
        workdir / scenario.name.split()[0],
        bench_config(),
        web_workers=2,
        speed=SPEED,
        seed=scenario.seed,
        answer_delay=ANSWER_DELAY,
        handle_time_mean=TALK,
        handle_time_distribution="exponential",
        no_answer_probability=0.0,
        patience_mean=scenario.patience,
    )
    try:
        _team(local.runtime)
        started = time.monotonic()
        report = local.sim.run_load(rate_per_s * 60, scenario.duration, drain=120.0)
        wall = time.monotonic() - started
        time.sleep(1.0)  # the last status callbacks
        from simulator import report as sim_report

        sim_calls = {}
        for leg in local.sim.callers:
            rec = local.sim.record(leg)
            sim_calls[leg.sid] = {"outcome": sim_report.outcome(rec), "wait": sim_report.wait(rec)}
        events = _events(local.runtime)
    finally:
        local.stop()
    counters = {
        "wall_s": wall,
        "no_outcome": report["no_outcome"],
        "application_errors": report["application_errors"],
        "offered_total": report["offered"],
    }
    dump = os.environ.get("ERLANG_BENCH_DUMP")  # a directory: keep the raw data
    if dump:
        Path(dump).mkdir(parents=True, exist_ok=True)
        data = {"events": events, "calls": sim_calls, **counters}
        _dump_path(dump, scenario).write_text(json.dumps(data))
    result = analyse(events, sim_calls, 3 * TALK * 1000, scenario, rate_per_s)
    return result | counters


def _pct(x: float) -> str:
    return "-" if math.isnan(x) else f"{100 * x:.1f}%"


def _sec(x: float) -> str:
    return "-" if math.isnan(x) else ("inf" if math.isinf(x) else f"{x:.1f}")


def render(results: list[dict[str, Any]]) -> str:
    """The comparison table and the decomposition of a counsellor's time per call."""
    head = (
        f"{'scenario':<22}{'calls':>6}{'SL60 meas':>16}{'pred nom':>9}{'pred meas':>10}"
        f"{'ASA meas':>15}{'pred nom':>9}{'pred meas':>10}"
        f"{'aband meas':>16}{'pred nom':>9}{'pred meas':>10}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        nom, mea = r["nominal"], r["measured"]
        lines.append(
            f"{r['scenario']:<22}{r['calls']:>6}"
            f"{_pct(r['sl']) + ' ±' + _pct(r['sl_ci']):>16}"
            f"{_pct(nom['sl']):>9}{_pct(mea['sl']):>10}"
            f"{_sec(r['asa']) + ' ±' + _sec(r['asa_ci']):>15}{_sec(nom['asa']):>9}"
            f"{_sec(mea['asa']):>10}"
            f"{_pct(r['abandon']) + ' ±' + _pct(r['abandon_ci']):>16}"
            f"{_pct(nom.get('abandon', 0.0)):>9}{_pct(mea.get('abandon', 0.0)):>10}"
        )
    lines.append("")
    head2 = (
        f"{'scenario':<22}{'rate nom/meas (/min)':>22}{'busy/call':>10}{'ring':>7}"
        f"{'talk+end':>9}{'D':>6}{'A nom/meas':>13}{'Wq meas':>9}{'Wq pred':>9}"
        f"{'lag mean/p95/max':>20}{'ab offer':>9}{'ab pred+D':>10}{'wall':>7}"
    )
    lines += [head2, "-" * len(head2)]
    for r in results:
        nom, mea = r["nominal"], r["measured"]
        lines.append(
            f"{r['scenario']:<22}"
            f"{60 * r['rate_nominal_per_s']:>11.3f}/{60 * r['rate_measured_per_s']:<10.3f}"
            f"{r['busy_per_call']:>10.1f}{r['ring_offer_to_accept']:>7.1f}"
            f"{r['talk_accept_to_end']:>9.1f}{r['delay_offer_to_connect']:>6.1f}"
            f"{nom['traffic']:>7.2f}/{mea['traffic']:<5.2f}{r['asa_q']:>9.1f}"
            f"{_sec(mea.get('asa_q', math.nan)):>9}"
            f"{r['dispatch_lag_mean']:>8.2f}/{r['dispatch_lag_p95']:.2f}/{r['dispatch_lag_max']:<6.2f}"
            f"{_pct(r['abandon_during_offer']):>9}{_pct(mea.get('abandon_with_d', math.nan)):>10}"
            f"{r['wall_s']:>6.0f}s"
        )
    lines.append("")
    head3 = (
        f"{'scenario':<22}{'SL60 meas':>10}{'ideal run 5-50-95 %':>24}"
        f"{'ASA meas':>9}{'ideal run 5-50-95 %':>24}{'aband meas':>11}{'ideal 5-50-95 %':>22}"
    )
    lines += [head3, "-" * len(head3)]
    for r in results:
        ideal = r["ideal"]
        lines.append(
            f"{r['scenario']:<22}{_pct(r['sl']):>10}"
            f"{' / '.join(_pct(x) for x in ideal['sl']):>24}{_sec(r['asa']):>9}"
            f"{' / '.join(_sec(x) for x in ideal['asa']):>24}{_pct(r['abandon']):>11}"
            f"{' / '.join(_pct(x) for x in ideal['abandon']):>22}"
        )
    lines.append("")
    lines.append(
        "ideal run = the textbook M/M/N(+M) FIFO queue with the measured rate and busy time, "
        f"played {IDEAL_REPS} times from empty over the same length and warm-up, D added "
        "to each wait: where this run's figures should fall if the product adds nothing."
    )
    lines.append(
        "SL60 = answered within 60 s of entering the queue / offered (caller's view, simulator); "
        "± = 95 % batch-means half-width. pred nom = Erlang from the simulator's rate and mean "
        "talk time; pred meas = Erlang from the measured rate into the queue and the measured "
        "time a counsellor is held per call (busy/call = offered -> call_ended), plus the "
        "measured offer-to-connection delay D. Wq = enqueued -> offered (Erlang's wait). "
        "lag = offered - max(enqueued, counsellor free): dispatch latency. ab offer = callers who "
        "hung up while a counsellor was being offered their call; ab pred+D = Erlang A's "
        "abandonment plus hang-ups during D (patience runs until connection). Times in simulated s."
    )
    for r in results:
        if r["no_outcome"] or r["application_errors"] or r["offer_failures"] or r["breaks"]:
            lines.append(
                f"WARNING {r['scenario']}: no_outcome {r['no_outcome']}, application "
                f"errors {r['application_errors']}, offer failures {r['offer_failures']}, "
                f"counsellors sent to break {r['breaks']}"
            )
    return "\n".join(lines)


def main() -> None:
    """Run every scenario and print the tables. Environment: ``ERLANG_BENCH_SCENARIOS=0,2``
    picks some, ``ERLANG_BENCH_SCALE=0.2`` shortens them, ``ERLANG_BENCH_SEED_OFFSET=100``
    changes their seeds, ``ERLANG_BENCH_DUMP=DIR`` keeps each
    run's event stream and callers, ``ERLANG_BENCH_REPLAY=DIR`` re-analyses kept runs."""
    picked = os.environ.get("ERLANG_BENCH_SCENARIOS")
    chosen = [SCENARIOS[int(i)] for i in picked.split(",")] if picked else list(SCENARIOS)
    replay = os.environ.get("ERLANG_BENCH_REPLAY")  # a ERLANG_BENCH_DUMP directory: re-analyse
    scale = float(os.environ.get("ERLANG_BENCH_SCALE", "1"))  # < 1: a quicker, noisier run
    offset = int(os.environ.get("ERLANG_BENCH_SEED_OFFSET", "0"))  # another seed per scenario
    chosen = [
        dataclasses.replace(s, duration=s.duration * scale, seed=s.seed + offset) for s in chosen
    ]
    print(
        f"Erlang benchmark: {COUNSELLORS} counsellors, talk {TALK:g} s (exponential), "
        f"answer delay {ANSWER_DELAY:g} s, speed x{SPEED:g}, python {sys.version.split()[0]}"
    )

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # stop the product's processes on the way out

    signal.signal(signal.SIGTERM, on_term)
    results = []
    with tempfile.TemporaryDirectory(prefix="erlang-bench-") as tmp:
        for scenario in chosen:
            if replay:
                results.append(replay_scenario(scenario, replay))
                continue
            print(f"  running {scenario.name} ({scenario.duration:g} simulated s)…", flush=True)
            results.append(run_scenario(scenario, Path(tmp)))
    print(render(results))
