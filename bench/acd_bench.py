"""ACD benchmark: the full call cycle against raw Redis round trips, reserve latency by queue
length and team size, and Redis memory per waiting caller and per counsellor.

Runs on its own private redis-server (``helpline.redis_server.start_private``, Unix socket);
every ratio is measured in the same run, with the same client and connection type:

- **cycle**: enqueue → reserve → offer placed → accept → call ended → end of wrap-up (the
  sweep's ``end_wrapups`` once the wrap-up is due), per second; against the same number of
  round trips made with ``EVALSHA`` of a trivial script (``return 1``: the round-trip floor) and
  of ``lib.lua`` + ``return 1`` given the ACD's common KEYS and ARGV (the fixed cost every ACD
  script pays: sending its common arguments, decoding the settings), the three alternating in rounds
  so that load swings hit them alike; Redis's own time per script from ``INFO commandstats``.
  One client, then several processes at once (each its own connection, sharing the queue and
  the team).
- **reserve latency** with 10 / 10,000 / 100,000 waiting callers by 10 / 1,000 available
  counsellors (one database each, sampled round-robin so that machine noise hits all alike;
  each reserve is undone by a ``canceled`` offer failure, so the sizes stay put).
- **memory**: ``INFO memory`` ``used_memory`` delta while filling, divided by the count; and
  ``MEMORY USAGE`` of each structure.
"""

from __future__ import annotations

import multiprocessing
import random
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import redis as redis_lib

from acd import scripts as acd_scripts
from acd.errors import AcdError
from acd.model import OfferFailure, WaitingCaller
from acd.store import Acd
from bench.common import ratio, summary
from helpline.clock import FrozenClock, to_ms
from helpline.redis_server import redis_server_binary, start_private
from helpline.runtime import Runtime
from helpline.settings import Settings, parse_config

SIZES = (10, 10_000, 100_000)
TEAMS = (10, 1_000)
SAMPLES = 2_000  # reserve samples per (size, team)
CYCLES = 2_000  # single-client cycles
ROUNDS = 10  # the single-client cycle and its raw comparisons alternate in this many rounds
PROCESSES = 4  # clients of the multi-client cycle
CYCLES_EACH = 500  # cycles per process in the multi-client run
WRAP_UP = 60
SKILLS = ("psychologist", "lawyer", "digital")
TEAM = [  # every pool served, as on a real evening
    ("psy1", ["psychologist"], ["fr"]),
    ("psy2", ["psychologist"], ["fr", "en"]),
    ("law1", ["lawyer"], ["fr", "en"]),
    ("dig1", ["digital"], ["fr", "en"]),
    ("all1", list(SKILLS), ["fr", "en"]),
]
CONFIG = {"acd": {"max_waiting": 10_000_000, "wrap_up": WRAP_UP, "max_wait": 10_000_000}}


class CountingRedis(redis_lib.Redis):
    """A client that counts its round trips (commands sent outside pipelines)."""

    round_trips = 0

    def execute_command(self, *args: Any, **options: Any) -> Any:
        """Count, then send."""
        self.round_trips += 1
        return super().execute_command(*args, **options)


def _client(url: str, db: int = 0) -> CountingRedis:
    return CountingRedis.from_url(f"{url}?db={db}", decode_responses=True)


def _acd(client: redis_lib.Redis, clock: FrozenClock) -> Acd:
    runtime = Runtime(
        settings=Settings.from_env({}, mode="test"),
        config=parse_config(CONFIG),
        redis=client,
        clock=clock,
    )
    return Acd(runtime)


def _caller(i: int, when: datetime) -> WaitingCaller:
    return WaitingCaller(
        call_sid=f"CA{i:08d}",
        platform=("instagram", "tiktok", "phone")[i % 3],
        caller_type="young",
        language="en" if i % 5 == 0 else "fr",
        skill=SKILLS[i % 3],
        priority=60 if i % 4 == 0 else 0,
        enqueued_at=when,
    )


def _fill(acd: Acd, start: int, stop: int, when: datetime) -> None:
    """Enqueue callers start..stop-1 through the real script, pipelined in batches."""
    enqueue = acd_scripts.script("enqueue", acd.redis)
    now = to_ms(when)
    for batch in range(start, stop, 1000):
        pipe = acd.redis.pipeline(transaction=False)
        for i in range(batch, min(batch + 1000, stop)):
            c = _caller(i, when)
            keys = [
                *acd.scripts.common_keys,
                acd.keys.caller(c.call_sid),
                acd.keys.call(c.call_sid),
            ]
            pool = f"{c.skill}:{c.language}"
            args = [now, acd.scripts.settings, c.call_sid, c.platform, c.caller_type,
                    c.language, c.skill, pool, c.priority, now]  # fmt: skip
            enqueue(keys=keys, args=args, client=pipe)
        pipe.execute()


def _team(acd: Acd, clock: FrozenClock, size: int) -> None:
    """``size`` available counsellors: the five of TEAM, then generalists and specialists."""
    members = list(TEAM)
    for i in range(len(members), size):
        skills = list(SKILLS) if i % 2 else [SKILLS[i % 3]]
        members.append((f"c{i:05d}", skills, ["fr", "en"] if i % 3 else ["fr"]))
    for cid, skills, langs in members[:size]:
        acd.add_counsellor(cid, cid, skills, langs, f"client:{cid}")
        acd.set_state(cid, "available")
        clock.advance(0.001)  # distinct idle-since; no caller relaxes meanwhile


# -- the call cycle -------------------------------------------------------------------------------


def one_cycle(acd: Acd, clock: FrozenClock, caller: int) -> bool:
    """One call through the ACD: enqueue, reserve, offer placed, accept, end, end of wrap-up.
    False when nobody could be reserved (another client holds every counsellor)."""
    acd.enqueue(_caller(caller, clock.now()))
    reservation = acd.reserve_next()
    if reservation is None:
        clock.advance(WRAP_UP)
        acd.end_wrapups()
        return False
    rid = reservation.id
    acd.offer_placed(rid, f"CL{int(rid):032d}")
    acd.accept(rid)
    acd.call_ended(rid)
    clock.advance(WRAP_UP)  # the wrap-up is due: the sweep ends it
    acd.end_wrapups()
    return True


def _trivial(client: redis_lib.Redis, payload: bool) -> Any:
    """A registered trivial script; with ``payload``, lib.lua's setup and the common KEYS/ARGV."""
    if not payload:
        script = client.register_script("return 1")
        return lambda: script(keys=[], args=[], client=client)
    acd = _acd(client, FrozenClock())
    script = client.register_script((acd_scripts.LUA_DIR / "lib.lua").read_text() + "\nreturn 1")
    keys = [*acd.scripts.common_keys, acd.keys.caller("CA0")]
    args = [to_ms(FrozenClock().now()), acd.scripts.settings, "CA0"]
    return lambda: script(keys=keys, args=args, client=client)


def _rate(func: Any, n: int) -> float:
    """Calls of ``func`` per second over ``n`` calls."""
    func()
    start = time.perf_counter()
    for _ in range(n):
        func()
    return n / (time.perf_counter() - start)


def _cycle_process(url: str, index: int, cycles: int, barrier: Any, out: Any) -> None:
    """One client of the multi-client cycle (a separate process)."""
    try:
        client = _client(url, 1)
        clock = FrozenClock()
        acd = _acd(client, clock)
        caller = 10_000_000 * (index + 1)
        barrier.wait()
        start = time.perf_counter()
        done = gave_up = 0
        while done < cycles:
            caller += 1
            try:
                done += one_cycle(acd, clock, caller)
            except AcdError:  # MAX_ATTEMPTS reserves in a row lost the pair to other clients
                gave_up += 1
        out.put(("cycle", time.perf_counter() - start, client.round_trips, gave_up))
    except Exception as exc:  # noqa: BLE001 - the parent must not wait for a result never sent
        out.put(("error", 0.0, 0, repr(exc)))


def _raw_process(url: str, calls: int, payload: bool, barrier: Any, out: Any) -> None:
    """One client of the multi-client raw round trips."""
    client = _client(url, 2)
    call = _trivial(client, payload)
    call()
    barrier.wait()
    start = time.perf_counter()
    for _ in range(calls):
        call()
    out.put(("raw", time.perf_counter() - start, calls, 0))


def _parallel(target: Any, args_of: Any) -> list[tuple[str, float, int, Any]]:
    """Run PROCESSES copies of ``target`` started together; their (kind, seconds, count)."""
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(PROCESSES)
    out = ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args_of(i), barrier, out)) for i in range(PROCESSES)]
    for p in procs:
        p.start()
    results = [out.get(timeout=300) for _ in procs]
    for p in procs:
        p.join()
    errors = [r[3] for r in results if r[0] == "error"]
    if errors:
        raise RuntimeError(f"a benchmark client failed: {errors[0]}")
    return results


def _server_us(client: redis_lib.Redis) -> dict[str, float]:
    """Redis's time in EVALSHA since the last CONFIG RESETSTAT (nested commands included):
    per call and in all (µs)."""
    evalsha = client.info("commandstats").get("cmdstat_evalsha", {})
    return {
        "evalsha": float(evalsha.get("usec_per_call", 0.0)),
        "total": float(evalsha.get("usec", 0.0)),
    }


def cycle_figures(url: str) -> dict[str, Any]:
    """Cycles per second against raw EVALSHA round trips, one client then several."""
    client = _client(url, 1)
    clock = FrozenClock()
    acd = _acd(client, clock)
    _team(acd, clock, 10)
    _fill(acd, 0, 1_000, clock.now())  # a queue that never empties
    for i in range(50):  # warm-up: scripts loaded, connections open
        one_cycle(acd, clock, 1_000 + i)
    before = client.round_trips
    for i in range(20):
        one_cycle(acd, clock, 1_100 + i)
    trips = (client.round_trips - before) / 20
    raw = _client(url, 2)
    kinds: dict[str, Any] = {
        "cycle": None,
        "return 1": _trivial(raw, payload=False),
        "lib.lua + return 1, ACD KEYS/ARGV": _trivial(raw, payload=True),
    }
    seconds = dict.fromkeys(kinds, 0.0)
    server = {kind: {"evalsha": 0.0, "total": 0.0} for kind in kinds}
    # Interleaved rounds, so that the machine's load swings hit the three kinds alike.
    per_round = CYCLES // ROUNDS
    caller = 2_000
    for _ in range(ROUNDS):
        for kind, call in kinds.items():
            client.config_resetstat()
            start = time.perf_counter()
            if call is None:
                for _ in range(per_round):
                    caller += 1
                    assert one_cycle(acd, clock, caller)
            else:
                for _ in range(int(per_round * trips)):
                    call()
            seconds[kind] += time.perf_counter() - start
            got = _server_us(client)
            server[kind]["total"] += got["total"]
            server[kind]["evalsha"] += got["evalsha"] / ROUNDS
    rate = {kind: per_round * ROUNDS / seconds[kind] for kind in kinds}
    floor, fixed = rate["return 1"], rate["lib.lua + return 1, ACD KEYS/ARGV"]
    single = {
        "cycles_per_s": rate["cycle"],
        "round_trips_per_cycle": trips,
        "raw_cycles_per_s": floor,
        "raw_with_acd_args_cycles_per_s": fixed,
        # Redis's own time in scripts (INFO commandstats): per cycle, per EVALSHA of each kind
        "server_us_per_cycle": server["cycle"]["total"] / (per_round * ROUNDS),
        "server_us_per_evalsha": {
            "acd scripts": server["cycle"]["evalsha"],
            "return 1": server["return 1"]["evalsha"],
            "lib.lua + return 1, ACD KEYS/ARGV": server["lib.lua + return 1, ACD KEYS/ARGV"][
                "evalsha"
            ],
        },
        "ratio_raw_over_cycle": ratio(floor, rate["cycle"]),
        "ratio_raw_with_args_over_cycle": ratio(fixed, rate["cycle"]),
    }
    # several clients: each a process with its own connection, one shared queue and team
    for i in range(PROCESSES * 2):
        cid = f"m{i}"
        acd.add_counsellor(cid, cid, list(SKILLS), ["fr", "en"], f"client:{cid}")
        acd.set_state(cid, "available")
    results = _parallel(_cycle_process, lambda i: (url, i, CYCLES_EACH))
    wall = max(r[1] for r in results)
    multi_rate = PROCESSES * CYCLES_EACH / wall
    calls_each = int(CYCLES_EACH * trips)
    raw_results = _parallel(_raw_process, lambda i: (url, calls_each, False))
    raw_multi = PROCESSES * calls_each / max(r[1] for r in raw_results) / trips
    multi = {
        "processes": PROCESSES,
        "cycles_per_s": multi_rate,
        # more than one client's: a reserve retried because another client took the pair
        "round_trips_per_cycle": sum(r[2] for r in results) / (PROCESSES * CYCLES_EACH),
        # reserve_next giving up after MAX_ATTEMPTS lost races (AcdError), over all clients
        "reserves_given_up": sum(r[3] for r in results),
        "raw_cycles_per_s": raw_multi,
        "ratio_raw_over_cycle": ratio(raw_multi, multi_rate),
    }
    return {"single": single, "multi": multi}


# -- reserve latency and memory -------------------------------------------------------------------


def _used_memory(client: redis_lib.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def _memory_usage(client: redis_lib.Redis, key: str) -> int:
    return int(client.memory_usage(key, samples=0) or 0)


def reserve_figures(url: str) -> dict[str, Any]:
    """Reserve and position latency per (waiting callers, counsellors); memory per caller."""
    clock = FrozenClock()
    grid: dict[tuple[int, int], Acd] = {}
    memory: dict[str, Any] = {}
    db = 3
    for team in TEAMS:
        for size in SIZES:
            client = _client(url, db)
            db += 1
            acd = _acd(client, clock)
            empty = _used_memory(client)
            _team(acd, clock, team)
            staffed = _used_memory(client)
            _fill(acd, 0, size, clock.now())
            filled = _used_memory(client)
            assert acd.waiting_count() == size
            acd.reserve_next()  # warm-up (and any relaxation) outside the samples
            grid[(size, team)] = acd
            if size >= 10_000:
                k = acd.keys
                structures = {
                    "caller hashes": sum(
                        _memory_usage(client, k.caller(f"CA{i:08d}")) for i in range(0, size, 97)
                    )
                    * size
                    / len(range(0, size, 97)),
                    "waiting + order zsets": _memory_usage(client, k.waiting)
                    + _memory_usage(client, k.order),
                    "pool queues + relax": sum(
                        _memory_usage(client, key)
                        for key in acd.scripts.common_keys[11 : 11 + len(acd.pools)]
                    )
                    + _memory_usage(client, k.relax)
                    + _memory_usage(client, k.queue("any")),
                    "events stream": _memory_usage(client, k.events),
                }
                memory[f"{size}x{team}"] = {
                    "bytes_per_caller": (filled - staffed) / size,
                    "bytes_per_caller_by_structure": {n: v / size for n, v in structures.items()},
                }
            if team == max(TEAMS) and size == SIZES[0]:
                memory["bytes_per_counsellor"] = (staffed - empty) / team
    reserve: dict[tuple[int, int], list[float]] = {key: [] for key in grid}
    position: dict[tuple[int, int], list[float]] = {key: [] for key in grid}
    rounds = 20
    rng = random.Random(7)
    for _ in range(rounds):
        for (size, team), acd in grid.items():
            for _ in range(SAMPLES // rounds):
                t0 = time.perf_counter_ns()
                r = acd.reserve_next()
                reserve[(size, team)].append((time.perf_counter_ns() - t0) / 1000)
                assert r is not None
                acd.offer_failed(r.id, OfferFailure.CANCELED)
                sid = f"CA{rng.randrange(size):08d}"
                t0 = time.perf_counter_ns()
                acd.position(sid)
                position[(size, team)].append((time.perf_counter_ns() - t0) / 1000)
    return {
        "latency_us": {
            f"{size}x{team}": {
                "waiting": size,
                "counsellors": team,
                "reserve": summary(reserve[(size, team)]),
                "position": summary(position[(size, team)]),
            }
            for (size, team) in grid
        },
        "memory": memory,
    }


def run() -> dict[str, Any]:
    """Measure everything on a private server; the figures."""
    with tempfile.TemporaryDirectory(prefix="acd-bench-") as tmp:
        server = start_private(Path(tmp))
        try:
            client = _client(server.url)
            pings = []
            for _ in range(SAMPLES):
                t0 = time.perf_counter_ns()
                client.ping()
                pings.append((time.perf_counter_ns() - t0) / 1000)
            figures: dict[str, Any] = {
                "redis": str(client.info("server").get("redis_version", "?")),
                "redis_binary": redis_server_binary(),
                "ping_us": summary(pings),
            }
            clock = FrozenClock()
            acd = _acd(client, clock)
            _team(acd, clock, 5)
            counter = iter(range(1, 10**9))
            figures["enqueue_per_s"] = _rate(
                lambda: acd.enqueue(_caller(next(counter), clock.now())), 5_000
            )
            figures["common_args"] = len(acd.scripts.common_keys) + 2  # + now, settings
            figures["settings_bytes"] = len(acd.scripts.settings)
            figures["cycle"] = cycle_figures(server.url)
            figures.update(reserve_figures(server.url))
        finally:
            server.stop()
    return figures


def render(figures: dict[str, Any]) -> str:
    """The printed tables."""
    single, multi = figures["cycle"]["single"], figures["cycle"]["multi"]
    lines = [
        f"redis-server {figures['redis']}, Unix socket; "
        f"PING p50 {figures['ping_us']['p50']:.0f} µs",
        f"enqueue: {figures['enqueue_per_s']:,.0f}/s (one client)",
        "",
        "full cycle (enqueue → reserve → offer placed → accept → call ended → wrap-up end), "
        f"{single['round_trips_per_cycle']:.1f} round trips each",
        f"{'clients':<12}{'cycles/s':>10}{'raw EVALSHA':>14}{'ratio':>8}"
        f"{'EVALSHA+ACD args':>19}{'ratio':>8}",
        f"{'1':<12}{single['cycles_per_s']:>10,.0f}{single['raw_cycles_per_s']:>14,.0f}"
        f"{single['ratio_raw_over_cycle']:>8.1f}"
        f"{single['raw_with_acd_args_cycles_per_s']:>19,.0f}"
        f"{single['ratio_raw_with_args_over_cycle']:>8.1f}",
        f"{multi['processes']:<12}{multi['cycles_per_s']:>10,.0f}{multi['raw_cycles_per_s']:>14,.0f}"
        f"{multi['ratio_raw_over_cycle']:>8.1f}"
        f"   ({multi['round_trips_per_cycle']:.1f} round trips per cycle, "
        f"{multi['reserves_given_up']} reserves given up)",
        "(raw: the same number of EVALSHA round trips per cycle, of `return 1`; "
        f"+ACD args: of lib.lua + `return 1` with the {figures['common_args']} common KEYS/ARGV)",
        f"Redis's time in scripts: {single['server_us_per_cycle']:,.0f} µs per cycle; "
        "per EVALSHA: "
        + ", ".join(f"{k} {v:,.1f} µs" for k, v in single["server_us_per_evalsha"].items()),
        "",
        f"{'waiting':>9}{'counsellors':>13}{'reserve p50':>13}{'p99 (µs)':>10}"
        f"{'position p50':>14}{'p99 (µs)':>10}",
    ]
    for row in figures["latency_us"].values():
        r, p = row["reserve"], row["position"]
        lines.append(
            f"{row['waiting']:>9,}{row['counsellors']:>13,}{r['p50']:>13,.0f}{r['p99']:>10,.0f}"
            f"{p['p50']:>14,.0f}{p['p99']:>10,.0f}"
        )
    lines.append("")
    mem = figures["memory"]
    lines.append(f"memory per counsellor: {mem['bytes_per_counsellor']:,.0f} bytes")
    for name, m in mem.items():
        if name == "bytes_per_counsellor":
            continue
        parts = ", ".join(f"{k} {v:,.0f}" for k, v in m["bytes_per_caller_by_structure"].items())
        lines.append(
            f"memory per waiting caller ({name}): {m['bytes_per_caller']:,.0f} bytes ({parts})"
        )
    return "\n".join(lines)


def main() -> dict[str, Any]:
    """Run, print the tables, return the figures."""
    print("ACD benchmark: private redis-server, Unix socket", flush=True)
    figures = run()
    print(render(figures))
    median_reserve = statistics.median(
        row["reserve"]["p50"] for row in figures["latency_us"].values()
    )
    figures["reserve_p50_median_us"] = median_reserve
    return figures


if __name__ == "__main__":
    main()
