"""Bad input and failures: a voice route always answers safe TwiML, never an error."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib
from flask import Blueprint
from redis.backoff import NoBackoff
from redis.retry import Retry

import acd.service
from helpline.app import create_app
from helpline.runtime import Runtime
from helpline.signature import twilio_signed
from ivr import safety
from ivr.safety import register_voice_error_handler
from tests.conftest import TwilioClient
from tests.ivr.conftest import CALLER_NUMBER, PUBLIC, FakeAcd, call_form, said, sid, twiml, verbs

ROUTES = ["/voice/incoming", "/voice/menu/consent", "/voice/rejoin", "/voice/fallback"]
HUGE = "9" * 300_000  # over the 256 KiB body limit (MAX_CONTENT_LENGTH)
ODD = "\u202e\u0000\U0001f4a5\ufeffi\u0307nstagram\u0301" * 50  # RTL, NUL, emoji, BOM…

BAD_FORMS = {
    "empty": {},
    "no CallSid": {"From": CALLER_NUMBER},
    "short CallSid": {"CallSid": "CA123"},
    "path in CallSid": {"CallSid": "../../hl:{3018}:acd:waiting"},
    "non-hex CallSid": {"CallSid": "CA" + "z" * 32},
    "garbage digits": {"CallSid": sid(5), "Digits": "💥" * 500},
    "odd unicode everywhere": {
        "CallSid": sid(5),
        "From": ODD,
        "To": ODD,
        "Called": ODD,
        "platform": ODD,
        "Digits": ODD,
        "Direction": ODD,
        "SequenceNumber": ODD,
    },
    "huge values": {
        "CallSid": sid(5),
        "From": "+" + "3" * 50_000,
        "platform": "x" * 50_000,
        "Digits": "1" * 50_000,
        "SipHeader_X-Platform": "y" * 50_000,
    },
    "negative and huge numbers": {
        "CallSid": sid(5),
        "CallStatus": "completed",
        "SequenceNumber": "-1",
        "CallDuration": "9" * 40,
    },
}


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("form", BAD_FORMS.values(), ids=BAD_FORMS.keys())
def test_bad_input_gets_safe_twiml_never_an_error(twilio, fake_acd, route: str, form) -> None:
    """Missing, malformed, huge or odd values: a 200 TwiML answer, whatever they are."""
    root = twiml(twilio.post(route, form))
    assert verbs(root)[-1] in ("Hangup", "Enqueue", "Redirect")


@pytest.mark.parametrize("form", BAD_FORMS.values(), ids=BAD_FORMS.keys())
def test_bad_status_callbacks_are_accepted(twilio, fake_acd, form) -> None:
    """Status callbacks answer 2xx whatever they carry."""
    assert twilio.post("/voice/status", form).status_code == 200


def test_without_a_callsid_the_caller_hears_the_alternatives(twilio, runtime, fake_acd) -> None:
    """No CallSid to tie state to: apology, alternatives, hang up; nothing stored."""
    root = twiml(twilio.post("/voice/incoming", call_form(CallSid="not-a-sid")))
    assert verbs(root)[-1] == "Hangup"
    assert "112" in said(root) and "119" in said(root)
    assert runtime.redis.dbsize() == 0
    assert fake_acd.enqueued == []


def test_a_menu_answer_for_an_unknown_call_starts_the_call_properly(
    twilio, runtime, fake_acd
) -> None:
    """A record that vanished (expired, flushed): the caller gets the welcome, not an error."""
    root = twiml(twilio.post("/voice/menu/caller_type", call_form(9, Digits="1")))
    assert "Bonjour" in said(root)
    assert runtime.redis.hget(runtime.keys.call(sid(9)), "step") == "language"


def test_an_unknown_menu_name_re_asks_the_current_menu(twilio, runtime, fake_acd) -> None:
    """A made-up step in the URL changes nothing."""
    twiml(twilio.post("/voice/incoming", call_form()))
    root = twiml(twilio.post("/voice/menu/astrology", {"CallSid": sid(), "Digits": "2"}))
    gather = root.find("Gather")
    assert gather is not None and gather.get("action") == f"{PUBLIC}/voice/menu/language"
    assert runtime.redis.hget(runtime.keys.call(sid()), "language") == "fr"


def test_a_body_over_the_size_limit_is_not_an_error(twilio, fake_acd) -> None:
    """Flask refuses bodies over 256 KiB; the voice route still answers TwiML."""
    response = twilio.post("/voice/incoming", call_form(From=HUGE))
    assert response.status_code == 200
    assert verbs(twiml(response))[-1] == "Hangup"


@pytest.fixture
def redis_down(runtime: Runtime, tmp_path: Path) -> Iterator[None]:
    """Redis unreachable for the rest of the test."""
    working = runtime.redis
    runtime.redis = redis_lib.Redis(
        unix_socket_path=str(tmp_path / "no-redis.sock"),
        decode_responses=True,
        retry=Retry(NoBackoff(), 0),  # fail at once (the default retries with backoff)
    )
    yield
    runtime.redis.close()
    runtime.redis = working


def test_redis_outage_during_incoming_still_answers_safe_twiml(
    twilio, fake_acd, redis_down, caplog: pytest.LogCaptureFixture
) -> None:
    """200 with an apology, the alternatives and a redirect back to the queue; logged."""
    caplog.set_level(logging.INFO)
    root = twiml(twilio.post("/voice/incoming", call_form()))
    assert verbs(root) == ["Say", "Say", "Redirect"]
    assert "problème technique" in said(root) and "119" in said(root)
    assert root[-1].text == f"{PUBLIC}/voice/rejoin"
    errors = [r for r in caplog.records if "voice_error" in r.getMessage()]
    assert (
        errors and sid() in errors[0].getMessage() and "ConnectionError" in errors[0].getMessage()
    )
    assert CALLER_NUMBER not in caplog.text and CALLER_NUMBER[1:] not in caplog.text


def test_redis_outage_at_rejoin_holds_the_caller_then_ends_kindly(
    twilio, fake_acd, redis_down
) -> None:
    """The redirect target failing too: "stay on the line", a pause, and /voice/rejoin again
    (counted, about a minute in all: a Redis restart or failover), then the alternatives and
    goodbye; never a loop."""
    path, seen = "/voice/rejoin", []
    for _ in range(safety.MAX_REJOIN_ATTEMPTS + 2):
        root = twiml(twilio.post(path, call_form()))
        seen.append(verbs(root))
        if root.find("Redirect") is None:
            break
        path = root.find("Redirect").text.removeprefix(PUBLIC)
        assert root.find("Pause").get("length") == str(safety.HOLD_PAUSE_S)
    assert seen[:-1] == [["Say", "Pause", "Redirect"]] * safety.MAX_REJOIN_ATTEMPTS
    assert seen[-1][-1] == "Hangup" and len(seen[-1]) >= 3  # apology, alternatives, goodbye
    assert path == f"/voice/rejoin?attempt={safety.MAX_REJOIN_ATTEMPTS}"


def test_a_failing_fallback_holds_the_caller_too(twilio, fake_acd, redis_down) -> None:
    """Twilio's fallback failing (Redis down) sends the caller to the retried /voice/rejoin."""
    root = twiml(twilio.post("/voice/fallback", call_form()))
    assert verbs(root) == ["Say", "Pause", "Redirect"]
    assert root.find("Redirect").text.endswith("/voice/rejoin?attempt=1")


def test_after_an_acd_failure_the_caller_is_put_back_in_the_queue(
    twilio, runtime, fake_acd: FakeAcd, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception at the hand-off: safe TwiML redirects to /voice/rejoin, which enqueues."""
    twiml(twilio.post("/voice/incoming", call_form()))
    twiml(twilio.post("/voice/menu/language", {"CallSid": sid()}))
    twiml(twilio.post("/voice/menu/consent", {"CallSid": sid()}))

    def broken(runtime, caller):
        raise RuntimeError("ACD down")

    monkeypatch.setattr(acd.service, "enqueue", broken)
    failed = twiml(twilio.post("/voice/menu/caller_type", {"CallSid": sid(), "Digits": "2"}))
    assert verbs(failed)[-1] == "Redirect"
    monkeypatch.setattr(acd.service, "enqueue", fake_acd.enqueue)
    back = twiml(twilio.post("/voice/rejoin", call_form()))
    assert verbs(back) == ["Say", "Enqueue"]
    assert fake_acd.enqueued[0].caller_type == "unknown"  # the failed answer was not kept


def test_the_error_handler_serves_any_blueprint(runtime: Runtime, fake_acd) -> None:
    """Another area's blueprint gets the same safe TwiML for any exception."""
    bp = Blueprint("other", __name__)
    register_voice_error_handler(bp)

    @bp.post("/voice/other")
    @twilio_signed
    def other():
        raise KeyError("boom")

    app = create_app({"RUNTIME": runtime, "TESTING": True})
    app.register_blueprint(bp)
    client = TwilioClient(app.test_client())
    caller = twiml(client.post("/voice/other", call_form()))
    assert verbs(caller) == ["Say", "Say", "Redirect"]
    counsellor = twiml(client.post("/voice/other", call_form(Direction="outbound-api")))
    assert verbs(counsellor) == ["Say", "Hangup"]
    assert "119" not in said(counsellor)


def test_a_corrupt_hours_exception_is_skipped_not_fatal(twilio, runtime, fake_acd) -> None:
    """A hand-edited, unreadable exception in Redis does not stop calls; the others apply."""
    runtime.redis.hset(runtime.keys.hours_exceptions, "1", "{not json")
    runtime.redis.hset(runtime.keys.hours_exceptions, "2", '{"kind": "closed"}')
    assert twiml(twilio.post("/voice/incoming", call_form(1))).find("Gather") is not None
    closing = json.dumps(
        {"kind": "closed", "start": "2026-11-23T00:00Z", "end": "2026-11-24T00:00Z"}
    )
    runtime.redis.hset(runtime.keys.hours_exceptions, "3", closing)
    assert verbs(twiml(twilio.post("/voice/incoming", call_form(2))))[-1] == "Hangup"
