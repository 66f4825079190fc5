"""ACD benchmark: operations per second, and reserve latency with 10 / 10,000 / 100,000 waiting
callers (it must stay flat: reserve_next is O(log n) in the number of waiting callers).

Runs on its own private redis-server (``helpline.redis_server.start_private``), one client, one
process: the figures are round trips + Lua time as one dispatcher sees them.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import redis as redis_lib

from acd import scripts as acd_scripts
from acd.model import OfferFailure, WaitingCaller
from acd.store import Acd
from helpline.clock import FrozenClock, to_ms
from helpline.redis_server import redis_server_binary, start_private
from helpline.runtime import Runtime
from helpline.settings import Settings, parse_config

SIZES = (10, 10_000, 100_000)
SAMPLES = 2_000
SKILLS = ("psychologist", "lawyer", "digital")
TEAM = [  # every pool served, as on a real evening
    ("psy1", ["psychologist"], ["fr"]),
    ("psy2", ["psychologist"], ["fr", "en"]),
    ("law1", ["lawyer"], ["fr", "en"]),
    ("dig1", ["digital"], ["fr", "en"]),
    ("all1", list(SKILLS), ["fr", "en"]),
]


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


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _redis_version(client: redis_lib.Redis) -> str:
    return str(client.info("server").get("redis_version", "?"))


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def run() -> dict[str, object]:
    """Measure; returns the figures (also printed as a table)."""
    with tempfile.TemporaryDirectory(prefix="acd-bench-") as tmp:
        server = start_private(Path(tmp))
        try:
            client = redis_lib.Redis.from_url(server.url, decode_responses=True)
            clock = FrozenClock()
            config = parse_config({"acd": {"max_waiting": 10_000_000, "wrap_up": 60}})
            runtime = Runtime(
                settings=Settings.from_env({}, mode="test"),
                config=config,
                redis=client,
                clock=clock,
            )
            acd = Acd(runtime)
            for cid, skills, langs in TEAM:
                acd.add_counsellor(cid, cid, skills, langs, f"client:{cid}")
                acd.set_state(cid, "available")
                clock.advance(1)
            figures: dict[str, object] = {
                "redis": _redis_version(client),
                "python": platform.python_version(),
                "cpu": _cpu(),
                "cores": os.cpu_count(),
            }

            # the floor: one round trip that does nothing
            pings: list[float] = []
            for _ in range(SAMPLES):
                t0 = time.perf_counter_ns()
                client.ping()
                pings.append((time.perf_counter_ns() - t0) / 1000)
            figures["ping_us"] = statistics.median(pings)

            # enqueue: one call = one round trip, sequential
            n = 5_000
            start = time.perf_counter()
            for i in range(n):
                acd.enqueue(_caller(i, clock.now()))
            figures["enqueue_ops"] = n / (time.perf_counter() - start)
            client.flushall()
            for cid, skills, langs in TEAM:
                acd.add_counsellor(cid, cid, skills, langs, f"client:{cid}")
                acd.set_state(cid, "available")
                clock.advance(1)

            # reserve + accept + call end + available again, a new caller keeping the queue full
            _fill(acd, 0, 1_000, clock.now())
            cycles = 2_000
            next_id = 1_000
            start = time.perf_counter()
            for _ in range(cycles):
                r = acd.reserve_next()
                assert r is not None
                acd.accept(r.id)
                acd.call_ended(r.id)
                acd.set_state(r.counsellor_id, "available")
                acd.enqueue(_caller(next_id, clock.now()))
                next_id += 1
            figures["cycle_ops"] = cycles / (time.perf_counter() - start)

            # reserve latency by queue length: one database per size on the same server,
            # sampled round-robin so that noise from the machine hits every size alike. Each
            # reserve is followed by a cancel (the caller keeps their place, the counsellor
            # their idle-since), so the queue length stays the same.
            acds: dict[int, Acd] = {}
            for db, size in enumerate(SIZES, start=1):
                url = server.url + f"?db={db}"
                db_client = redis_lib.Redis.from_url(url, decode_responses=True)
                db_runtime = Runtime(
                    settings=runtime.settings, config=config, redis=db_client, clock=clock
                )
                acds[size] = sized = Acd(db_runtime)
                for cid, skills, langs in TEAM:
                    sized.add_counsellor(cid, cid, skills, langs, f"client:{cid}")
                    sized.set_state(cid, "available")
                    clock.advance(1)
                _fill(sized, 0, size, clock.now())
                assert sized.waiting_count() == size
            samples: dict[int, list[float]] = {size: [] for size in SIZES}
            positions: dict[int, list[float]] = {size: [] for size in SIZES}
            rounds = 20
            for round_ in range(rounds):
                for size, sized in acds.items():
                    for i in range(SAMPLES // rounds):
                        t0 = time.perf_counter_ns()
                        r = sized.reserve_next()
                        samples[size].append((time.perf_counter_ns() - t0) / 1000)
                        assert r is not None
                        sized.offer_failed(r.id, OfferFailure.CANCELED)
                        sid = f"CA{(round_ * 7919 + i * 104729) % size:08d}"
                        t0 = time.perf_counter_ns()
                        sized.position(sid)
                        positions[size].append((time.perf_counter_ns() - t0) / 1000)
            latencies = {
                size: (
                    statistics.median(samples[size]),
                    _percentile(samples[size], 0.99),
                    statistics.median(positions[size]),
                )
                for size in SIZES
            }
            figures["reserve_latency_us"] = latencies
        finally:
            server.stop()
    return figures


def main() -> None:
    """Run and print the table."""
    print("ACD benchmark: one client, one process, private redis-server, Unix socket")
    load = os.getloadavg()[0]
    figures = run()
    latencies = figures["reserve_latency_us"]
    assert isinstance(latencies, dict)
    print(
        f"redis-server {figures['redis']} ({redis_server_binary()}), Python {figures['python']}, "
        f"{figures['cores']} cores, {figures['cpu']}"
    )
    print(f"PING p50 {figures['ping_us']:.0f} µs (the round-trip floor on this machine now)")
    print(f"load average before the run: {load:.2f}")
    print()
    cycle = "cycle: reserve + accept + call end + available + enqueue"
    print(f"{'operation':<58}{'ops/s':>8}")
    print(f"{'enqueue':<58}{figures['enqueue_ops']:>8,.0f}")
    print(f"{cycle:<58}{figures['cycle_ops']:>8,.0f}")
    print()
    head = ("waiting callers", "reserve p50 (µs)", "reserve p99 (µs)", "position p50 (µs)")
    print(f"{head[0]:>16}{head[1]:>19}{head[2]:>19}{head[3]:>20}")
    for size, (p50, p99, pos) in latencies.items():
        print(f"{size:>16,}{p50:>19,.0f}{p99:>19,.0f}{pos:>20,.0f}")
    git = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    print(f"\n(commit {git or '?'}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {sys.platform})")


if __name__ == "__main__":
    main()
