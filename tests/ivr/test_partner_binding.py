"""Calls started with a partner's voice token: the platform comes from the verified identity,
the report reference reaches the call record, and each platform's concurrent calls are capped."""

from __future__ import annotations

import tomllib

import pytest

from helpline.settings import DEFAULT_CONFIG, HelplineConfig, parse_config
from partners.identity import mint_identity
from tests.ivr.conftest import call_form, said, sid, twiml, verbs


@pytest.fixture
def config() -> HelplineConfig:
    """The default configuration with at most one Instagram call at a time."""
    data = tomllib.loads(DEFAULT_CONFIG.read_text())
    data["partners"]["platforms"]["instagram"]["max_concurrent_calls"] = 1
    return parse_config(data)


def in_app(n: int, bound: str, **extra: str) -> dict[str, str]:
    """An in-app call from a token minted for the ``bound`` platform."""
    caller = f"client:{mint_identity(bound)}"
    return call_form(n, From=caller, Caller=caller, **extra)


def test_the_token_identity_decides_the_platform_and_a_contrary_claim_is_counted(
    twilio, runtime
) -> None:
    """A custom parameter claiming tiktok on an Instagram token is ignored, and counted."""
    twiml(twilio.post("/voice/incoming", in_app(1, "instagram", platform="tiktok")))
    assert runtime.redis.hget(runtime.keys.call(sid(1)), "platform") == "instagram"
    mismatches = runtime.redis.hgetall(runtime.keys.partner_tag_mismatches)
    assert mismatches == {"instagram": "1"}


def test_a_report_reference_reaches_the_call_record_and_a_hostile_one_is_dropped(
    twilio, runtime
) -> None:
    """`ref` is kept as the opaque platform_ref; one with markup never reaches Redis."""
    twiml(twilio.post("/voice/incoming", in_app(1, "messenger", ref="RPT-2026-0042")))
    twiml(twilio.post("/voice/incoming", in_app(2, "messenger", ref="<script>x</script>")))
    assert runtime.redis.hget(runtime.keys.call(sid(1)), "platform_ref") == "RPT-2026-0042"
    assert runtime.redis.hget(runtime.keys.call(sid(2)), "platform_ref") is None


def test_a_platform_over_its_concurrent_calls_gets_the_busy_message(twilio, runtime) -> None:
    """With one Instagram call in progress, a second hears the line is busy and is
    overflowed; once the first ends, a new call is admitted again."""
    first = twiml(twilio.post("/voice/incoming", in_app(1, "instagram")))
    assert "Hangup" not in verbs(first)
    second = twiml(twilio.post("/voice/incoming", in_app(2, "instagram")))
    assert verbs(second)[-1] == "Hangup" and "119" in said(second)
    record = runtime.redis.hgetall(runtime.keys.call(sid(2)))
    assert record["outcome"] == "overflowed" and record["reason"] == "platform_limit"
    phone = twiml(twilio.post("/voice/incoming", call_form(3)))
    assert "Hangup" not in verbs(phone)  # other channels are not limited by a platform's cap
    first_caller = in_app(1, "instagram")["From"]
    ended = {**call_form(1, From=first_caller, Caller=first_caller), "CallStatus": "completed"}
    ended["SequenceNumber"] = "3"
    assert twilio.post("/voice/status", ended).status_code in (200, 204)
    third = twiml(twilio.post("/voice/incoming", in_app(4, "instagram")))
    assert "Hangup" not in verbs(third)
