"""The foundation: settings, keys, embedded Redis, health and metrics."""

from __future__ import annotations

import pytest

from helpline.keys import Keys
from helpline.privacy import pseudonymise
from helpline.settings import ConfigError, Settings, parse_config


def test_key_names_are_pinned_and_share_the_helpline_hash_tag() -> None:
    """Every key of one helpline carries the {3018} hash tag (Redis Cluster)."""
    k = Keys("3018")
    assert k.call("CA1") == "hl:{3018}:call:CA1"
    assert k.hours_exceptions == "hl:{3018}:hours:exceptions"
    assert k.queue("lawyer") == "hl:{3018}:acd:queue:lawyer"
    assert k.counsellor("amina") == "hl:{3018}:acd:counsellor:amina"
    assert k.idle("digital") == "hl:{3018}:acd:idle:digital"
    assert k.reservation("7") == "hl:{3018}:acd:reservation:7"
    assert k.events == "hl:{3018}:events"
    assert k.stats_calls == "hl:{3018}:stats:calls"
    assert k.worker_heartbeat == "hl:{3018}:worker:heartbeat"
    assert k.queue("lawyer", "en") == "hl:{3018}:acd:queue:lawyer:en"
    assert k.queue("any") == "hl:{3018}:acd:queue:any"
    assert k.idle("digital", "fr") == "hl:{3018}:acd:idle:digital:fr"
    assert k.idle("any") == "hl:{3018}:acd:idle:any"
    assert k.order == "hl:{3018}:acd:order"
    assert k.states == "hl:{3018}:acd:states"
    assert k.relax == "hl:{3018}:acd:relax"
    assert k.waiting == "hl:{3018}:acd:waiting"
    assert k.offers == "hl:{3018}:acd:offers"
    assert k.wrapups == "hl:{3018}:acd:wrapups"
    assert k.seq == "hl:{3018}:acd:seq"
    assert k.handle_times == "hl:{3018}:acd:handle_times"
    assert k.caller("CA1") == "hl:{3018}:acd:caller:CA1"
    assert k.counsellors == "hl:{3018}:acd:counsellors"
    assert k.transfer_entry("7") == "hl:{3018}:acd:caller:xfer-7"
    assert k.transfers == "hl:{3018}:acd:transfers"
    assert k.callback_number("CA1") == "hl:{3018}:acd:callback:CA1"
    assert k.callbacks == "hl:{3018}:acd:callbacks"
    assert k.callback_retry == "hl:{3018}:acd:callback_retry"
    assert k.callbacks_missed == "hl:{3018}:acd:callbacks_missed"


def test_production_refuses_to_start_without_secrets() -> None:
    """Outside test and demo, missing TWILIO_AUTH_TOKEN or SECRET_KEY stops the start."""
    with pytest.raises(ConfigError, match="TWILIO_AUTH_TOKEN and SECRET_KEY"):
        Settings.from_env({"PUBLIC_BASE_URL": "https://x.example"})
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
        Settings.from_env({"TWILIO_AUTH_TOKEN": "t" * 32, "SECRET_KEY": "s" * 32})
    ok = Settings.from_env(
        {"TWILIO_AUTH_TOKEN": "t" * 32, "SECRET_KEY": "s" * 32, "PUBLIC_BASE_URL": "https://x.fr"}
    )
    assert ok.mode == "production"


def test_demo_mode_runs_without_secrets() -> None:
    """The demo and tests get built-in, clearly non-production secrets."""
    s = Settings.from_env({}, mode="demo")
    assert s.secret_key and s.twilio_auth_token and "not-for-production" in s.secret_key


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"surprise": {}}, "unknown sections"),
        ({"helpline": {"colour": "red"}}, "unknown keys"),
        ({"helpline": {"time_zone": "Mars/Olympus"}}, "time_zone"),
        ({"hours": {"monday": ["23:00-09:00"]}}, "not a range"),
        ({"hours": {"caturday": []}}, "unknown days"),
        ({"acd": {"offer_timeout": -1}}, "whole number"),
        ({"acd": {"skill_for": {"young": "astrologer"}}}, "not one of skills"),
    ],
)
def test_config_is_parsed_strictly(doc: dict, message: str) -> None:
    """A wrong TOML config is refused with a message naming the problem."""
    with pytest.raises(ConfigError, match=message):
        parse_config(doc)


def test_pseudonym_is_keyed_and_never_the_number() -> None:
    """The same number gives the same pseudonym under one key and a different one under another."""
    a = pseudonymise("key-one", "+33 6 12 34 56 78")
    assert a == pseudonymise("key-one", "+33612345678")
    assert a != pseudonymise("key-two", "+33612345678")
    assert "612345678" not in a
    assert pseudonymise("key-one", "") == "anonymous"


def test_healthz_reports_redis_and_a_stale_worker(client, runtime, clock) -> None:
    """/healthz is 200 with Redis up; the worker is stale until it beats."""
    body = client.get("/healthz").get_json()
    assert body["redis"] == "ok" and body["worker"] == "stale"
    runtime.redis.set(runtime.keys.worker_heartbeat, int(clock.now().timestamp() * 1000) - 5000)
    body = client.get("/healthz").get_json()
    assert body["worker"] == "ok" and body["worker_heartbeat_age"] == pytest.approx(5.0)


def test_metrics_expose_calls_per_platform_and_outcome(client, runtime) -> None:
    """/metrics speaks Prometheus and carries the shared per-platform outcome counters."""
    runtime.redis.hincrby(runtime.keys.stats_calls, "instagram:answered", 3)
    client.get("/healthz")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'helpline_calls_total{outcome="answered",platform="instagram"} 3.0' in text
    assert 'helpline_webhook_requests_total{route="/healthz",status="200"}' in text


def test_scaled_clock_is_refused_in_production_and_shared_by_origin() -> None:
    """A sped-up clock exists for the demo only; two processes with one origin agree."""
    env = {"TWILIO_AUTH_TOKEN": "t" * 32, "SECRET_KEY": "s" * 32, "PUBLIC_BASE_URL": "https://x.fr"}
    with pytest.raises(ConfigError, match="demo and tests only"):
        Settings.from_env({**env, "HELPLINE_CLOCK_SPEED": "10"})
    s = Settings.from_env({"HELPLINE_CLOCK_SPEED": "10", "HELPLINE_CLOCK_ORIGIN": "1000"}, "demo")
    assert (s.clock_speed, s.clock_origin) == (10.0, 1000.0)
    from helpline.clock import ScaledClock

    a, b = ScaledClock(10, 1000.0).now(), ScaledClock(10, 1000.0).now()
    assert abs((b - a).total_seconds()) < 1.0
    # Far from its origin the scaled clock runs ahead of real time.
    from datetime import UTC, datetime

    assert a > datetime.now(UTC)
