"""Abuse limits: sliding windows on the injected clock, the cap on calls in progress."""

from __future__ import annotations

import threading

import redis as redis_lib

from helpline.clock import FrozenClock
from helpline.redis_server import PrivateRedis
from helpline.runtime import Runtime
from partners.limits import Window, active_calls, call_ended, call_started, hit
from tests.partners.conftest import config_with, use_config

IDENTITY = "p.tiktok.0123456789abcdef0123"


def test_a_sliding_window_refuses_past_its_limit_until_time_moves(
    runtime: Runtime, clock: FrozenClock
) -> None:
    """Three per minute: the fourth waits for the first to leave the window."""
    window = [Window("tokens:tiktok", 3)]
    assert [hit(runtime, window).allowed for _ in range(3)] == [True, True, True]
    clock.advance(20)
    refused = hit(runtime, window)
    assert not refused.allowed and refused.scope == "tokens:tiktok" and refused.retry_after == 40
    clock.advance(40)
    assert hit(runtime, window).allowed


def test_windows_are_all_or_nothing(runtime: Runtime) -> None:
    """An event refused by one window is counted in none of them."""
    client, platform = Window("client:a", 1), Window("tokens:x", 2)
    assert hit(runtime, [client, platform]).allowed
    assert hit(runtime, [client, platform]).scope == "client:a"
    assert hit(runtime, [Window("client:b", 1), platform]).allowed  # platform had room: 2nd
    assert hit(runtime, [Window("client:c", 1), platform]).scope == "tokens:x"


def test_a_zero_limit_is_off(runtime: Runtime) -> None:
    """0 means no limit, and nothing is stored for it."""
    assert all(hit(runtime, [Window("tokens:x", 0)]).allowed for _ in range(50))
    assert runtime.redis.exists(runtime.keys.partner_rate("tokens:x")) == 0


def test_rate_windows_expire_from_redis(runtime: Runtime) -> None:
    """A window's key lives no longer than the window."""
    hit(runtime, [Window("tokens:x", 5)])
    ttl = runtime.redis.pttl(runtime.keys.partner_rate("tokens:x"))
    assert 0 < ttl <= 60_000


def test_concurrent_calls_are_capped_per_platform(runtime: Runtime) -> None:
    """Over max_concurrent_calls a call is refused and counted; an ended call frees its place."""
    use_config(runtime, config_with(max_concurrent_calls=2))
    assert call_started(runtime, "tiktok", "CA1")
    assert call_started(runtime, "tiktok", "CA2")
    assert not call_started(runtime, "tiktok", "CA3")
    assert call_started(runtime, "instagram", "CA4")  # another platform's calls do not count
    assert active_calls(runtime, "tiktok") == 2
    assert runtime.redis.hget(runtime.keys.partner_refused, "tiktok:concurrent") == "1"
    assert call_ended(runtime, "tiktok", "CA1")
    assert not call_ended(runtime, "tiktok", "CA1")  # twice is harmless
    assert call_started(runtime, "tiktok", "CA3")


def test_call_started_is_idempotent(runtime: Runtime) -> None:
    """Twilio retrying the webhook does not take a second place nor get refused."""
    use_config(runtime, config_with(max_concurrent_calls=1))
    assert call_started(runtime, "tiktok", "CA1")
    assert call_started(runtime, "tiktok", "CA1")
    assert active_calls(runtime, "tiktok") == 1


def test_a_call_never_reported_ended_stops_counting(runtime: Runtime, clock: FrozenClock) -> None:
    """After stale_call seconds a lost call no longer blocks the platform."""
    use_config(runtime, config_with(max_concurrent_calls=1, stale_call=3600))
    assert call_started(runtime, "tiktok", "CA1")
    assert not call_started(runtime, "tiktok", "CA2")
    clock.advance(3601)
    assert active_calls(runtime, "tiktok") == 0
    assert call_started(runtime, "tiktok", "CA2")


def test_calls_per_minute_and_per_token(runtime: Runtime, clock: FrozenClock) -> None:
    """A platform's calls per minute, and one token's calls, are limited."""
    use_config(runtime, config_with(calls_per_minute=3, calls_per_token=2))
    assert call_started(runtime, "tiktok", "CA1", identity=IDENTITY)
    assert call_started(runtime, "tiktok", "CA2", identity=IDENTITY)
    assert not call_started(runtime, "tiktok", "CA3", identity=IDENTITY)
    assert call_started(runtime, "tiktok", "CA4", identity="p.tiktok.ffffffffffffffffffff")
    assert not call_started(runtime, "tiktok", "CA5")
    refused = runtime.redis.hgetall(runtime.keys.partner_refused)
    assert refused == {"tiktok:token": "1", "tiktok:rate": "1"}
    clock.advance(60)
    assert call_started(runtime, "tiktok", "CA5")
    assert not call_started(runtime, "tiktok", "CA6", identity=IDENTITY)  # still that token


def test_the_cap_holds_under_parallel_calls(runtime: Runtime, redis_server: PrivateRedis) -> None:
    """Twenty calls arriving at once on separate connections: exactly the cap gets in."""
    use_config(runtime, config_with(max_concurrent_calls=5, calls_per_minute=0))
    results: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(20)

    def one(n: int) -> None:
        own = redis_lib.Redis.from_url(redis_server.url, decode_responses=True)
        mine = Runtime(runtime.settings, runtime.config, redis=own, clock=runtime.clock)
        start.wait()
        admitted = call_started(mine, "tiktok", f"CA{n}")
        own.close()
        with lock:
            results.append(admitted)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(results) == [False] * 15 + [True] * 5
    assert active_calls(runtime, "tiktok") == 5
