"""Several dispatcher processes against one Redis: nobody is ever double-booked.

Four processes loop on reserve_next, then accept (call, end, back to available) or cancel the
offer, while a fifth hangs up random callers. Afterwards the event stream (appended inside the
scripts, so in the order the scripts ran) is replayed: no counsellor or caller ever has two
open offers or calls, each caller is answered at most once, everyone ends with one outcome.
"""

from __future__ import annotations

import multiprocessing
import random
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
import redis as redis_lib

from acd.model import AcceptResult, OfferFailure, WaitingCaller
from acd.store import Acd
from helpline.clock import SystemClock
from helpline.redis_server import PrivateRedis
from helpline.runtime import Runtime
from helpline.settings import Settings, parse_config

pytestmark = pytest.mark.slow

CALLERS = 300
DISPATCHERS = 4
CONFIG_DOC = {"acd": {"max_waiting": 1000, "skill_relax_after": 1, "max_misses": 1000}}
TEAM = [
    ("psy1", ["psychologist"], ["fr"]),
    ("psy2", ["psychologist"], ["fr", "en"]),
    ("psy3", ["psychologist", "digital"], ["fr"]),
    ("law1", ["lawyer"], ["fr"]),
    ("law2", ["lawyer"], ["fr", "en"]),
    ("dig1", ["digital"], ["fr"]),
    ("dig2", ["digital", "lawyer"], ["en", "fr"]),
    ("any1", ["psychologist", "lawyer", "digital"], ["fr", "en"]),
]


def make_acd(url: str) -> Acd:
    client = redis_lib.Redis.from_url(url, decode_responses=True)
    runtime = Runtime(
        settings=Settings.from_env({}, mode="test"),
        config=parse_config(CONFIG_DOC),
        redis=client,
        clock=SystemClock(),
    )
    return Acd(runtime)


def dispatcher(url: str, seed: int, results: Any) -> None:
    """reserve_next, then accept + end + available again, or cancel; until nobody waits."""
    acd = make_acd(url)
    rng = random.Random(seed)
    accepted: list[tuple[str, str, str]] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        reservation = acd.reserve_next()
        if reservation is None:
            if acd.waiting_count() == 0:
                break
            time.sleep(0.001)
            continue
        if rng.random() < 0.25:
            acd.offer_failed(reservation.id, OfferFailure.CANCELED)
            continue
        result = acd.accept(reservation.id)
        if result is AcceptResult.ACCEPTED:
            accepted.append((reservation.id, reservation.call_sid, reservation.counsellor_id))
            assert acd.accept(reservation.id) is AcceptResult.ACCEPTED  # a repeated webhook
            acd.call_ended(reservation.id)
            acd.set_state(reservation.counsellor_id, "available")  # ends wrap-up early
        else:
            assert result is AcceptResult.CALLER_GONE
    results.put(accepted)


def hang_up(url: str, seed: int) -> None:
    """Random callers give up while the dispatchers work."""
    acd = make_acd(url)
    rng = random.Random(seed)
    for _ in range(60):
        acd.caller_gone(f"CA{rng.randrange(CALLERS)}")
        time.sleep(0.002)


def test_concurrent_dispatchers_never_double_book(redis_server: PrivateRedis) -> None:
    """Lua atomicity: one caller per counsellor and one counsellor per caller at any time."""
    acd = make_acd(redis_server.url)
    acd.redis.flushall()
    for cid, skills, langs in TEAM:
        acd.add_counsellor(cid, cid, skills, langs, f"client:{cid}")
        acd.set_state(cid, "available")
    rng = random.Random(7)
    now = datetime.now(UTC)
    for i in range(CALLERS):
        caller = WaitingCaller(
            call_sid=f"CA{i}",
            platform=rng.choice(["instagram", "tiktok", "phone"]),
            caller_type="young",
            language=rng.choice(["fr", "fr", "en"]),
            skill=rng.choice(["psychologist", "lawyer", "digital"]),
            priority=rng.choice([0, 0, 60]),
            enqueued_at=now,
        )
        assert acd.enqueue(caller).queued

    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    procs = [
        ctx.Process(target=dispatcher, args=(redis_server.url, seed, results))
        for seed in range(DISPATCHERS)
    ]
    procs.append(ctx.Process(target=hang_up, args=(redis_server.url, 99)))
    for p in procs:
        p.start()
    accepted = [results.get(timeout=90) for _ in range(DISPATCHERS)]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0

    # Each caller answered at most once, by exactly one process.
    answered = [sid for batch in accepted for _, sid, _ in batch]
    assert len(answered) == len(set(answered))
    assert all(batch for batch in accepted), "every dispatcher took part"

    # Replay the stream: never two open offers/calls for one counsellor or one caller.
    open_by_counsellor: dict[str, str] = {}
    open_by_caller: dict[str, str] = {}
    parties: dict[str, tuple[str, str]] = {}
    for _, e in acd.redis.xrange(acd.keys.events):
        what, rid = e["what"], e.get("reservation")
        if what == "offered":
            assert e["counsellor"] not in open_by_counsellor, e
            assert e["call"] not in open_by_caller, e
            open_by_counsellor[e["counsellor"]] = rid
            open_by_caller[e["call"]] = rid
            parties[rid] = (e["call"], e["counsellor"])
        elif what == "accepted":
            del open_by_caller[e["call"]]  # the caller has left the queue
        elif what in ("offer_failed", "call_ended") or (what == "caller_gone" and rid):
            sid, cid = parties[rid]
            assert open_by_counsellor.pop(cid) == rid
            open_by_caller.pop(sid, None)
    assert open_by_counsellor == {} and open_by_caller == {}

    # Everyone ends with exactly one outcome, counted once.
    outcomes = Counter(acd.redis.hget(acd.keys.call(f"CA{i}"), "outcome") for i in range(CALLERS))
    assert set(outcomes) <= {"answered", "abandoned"}
    assert outcomes["answered"] == len(answered)
    assert sum(outcomes.values()) == CALLERS
    stats = acd.redis.hgetall(acd.keys.stats_calls)
    assert sum(int(v) for v in stats.values()) == CALLERS
    assert acd.waiting_count() == 0 and acd.redis.zcard(acd.keys.offers) == 0
    assert {c.state.value for c in acd.list_counsellors()} == {"available"}
