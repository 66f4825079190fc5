"""The hand-off to the real ACD, and privacy across a whole call."""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterator

import pytest
import redis as redis_lib

from acd.model import CounsellorState
from acd.store import Acd
from helpline.privacy import pseudonymise
from helpline.runtime import Runtime
from tests.conftest import SECRET_KEY
from tests.ivr.conftest import CALLER_NUMBER, call_form, said, sid, twiml, verbs

DIGITS = CALLER_NUMBER.removeprefix("+33")  # 612345678: in any format the number would show


def log_in(runtime: Runtime, counsellor: str = "amina", skills=("psychologist",)) -> None:
    acd = Acd(runtime)
    acd.add_counsellor(counsellor, counsellor.title(), skills, ("fr", "en"), f"client:{counsellor}")
    acd.set_state(counsellor, CounsellorState.AVAILABLE)


def full_call(twilio, n: int = 1, digits=(None, "1", "1")) -> list:
    roots = [twiml(twilio.post("/voice/incoming", call_form(n)))]
    for step, pressed in zip(("language", "consent", "caller_type"), digits, strict=True):
        form = call_form(n, **({"Digits": pressed} if pressed else {}))
        roots.append(twiml(twilio.post(f"/voice/menu/{step}", form)))
    return roots


def test_a_caller_is_queued_in_the_acd_with_its_routing(twilio, runtime: Runtime) -> None:
    """With a counsellor logged in, the ACD queues the caller and Twilio gets <Enqueue>."""
    log_in(runtime, "amina", ("lawyer",))
    last = full_call(twilio, digits=(None, None, "3"))[-1]
    assert verbs(last) == ["Say", "Enqueue"]
    waiting = Acd(runtime).waiting_callers()
    assert [w["call_sid"] for w in waiting] == [sid()]
    assert runtime.redis.hget(runtime.keys.caller(sid()), "skill") == "lawyer"


def test_nobody_logged_in_overflows_with_the_acds_outcome(twilio, runtime: Runtime) -> None:
    """No counsellor: "no counsellor available right now", alternatives, hang up, overflowed."""
    last = full_call(twilio)[-1]
    assert verbs(last)[-1] == "Hangup"
    assert "Aucun écoutant n'est disponible" in said(last)
    assert runtime.redis.hget(runtime.keys.call(sid()), "outcome") == "overflowed"


def test_closed_line_records_the_closed_outcome(twilio, runtime: Runtime, clock) -> None:
    """Closed: the ACD records outcome closed, counted per platform."""
    clock.advance(11 * 3600)  # 23:00 in Paris
    twiml(twilio.post("/voice/incoming", call_form()))
    assert runtime.redis.hget(runtime.keys.call(sid()), "outcome") == "closed"
    assert runtime.redis.hget(runtime.keys.stats_calls, "phone:closed") == "1"


def test_hanging_up_in_the_queue_is_an_abandoned_call(twilio, runtime: Runtime) -> None:
    """completed while waiting: the ACD removes the caller and records abandoned."""
    log_in(runtime)
    Acd(runtime).set_state("amina", CounsellorState.BREAK, reason="lunch")  # nobody free
    full_call(twilio)
    assert Acd(runtime).position(sid()) == 1
    form = {
        "CallSid": sid(),
        "CallStatus": "completed",
        "SequenceNumber": "5",
        "CallDuration": "61",
    }
    assert twilio.post("/voice/status", form).status_code == 200
    assert Acd(runtime).position(sid()) is None
    assert runtime.redis.hget(runtime.keys.call(sid()), "outcome") == "abandoned"


def _every_value(client: redis_lib.Redis) -> Iterator[bytes]:
    """Every key name and every byte stored under it (compressed RQ payloads unpacked)."""
    for key in client.scan_iter(count=1000):
        yield key
        kind = client.type(key).decode()
        if kind == "string":
            blobs = [client.get(key)]
        elif kind == "hash":
            blobs = [b for pair in client.hgetall(key).items() for b in pair]
        elif kind == "list":
            blobs = client.lrange(key, 0, -1)
        elif kind == "set":
            blobs = list(client.smembers(key))
        elif kind == "zset":
            blobs = [m for m, _ in client.zrange(key, 0, -1, withscores=True)]
        elif kind == "stream":
            blobs = [b for _, fields in client.xrange(key) for pair in fields.items() for b in pair]
        else:
            pytest.fail(f"unexpected key type {kind} at {key!r}")
        for blob in blobs:
            if blob is None:
                continue
            yield blob
            try:
                unpacked = zlib.decompress(blob)
            except zlib.error:
                unpacked = b""
            yield unpacked


def test_no_raw_number_reaches_redis_or_the_logs_during_a_whole_call(
    twilio, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    """Incoming, menus, queue, offer, hang-up: the number is nowhere, only its keyed hash."""
    caplog.set_level(logging.DEBUG)
    log_in(runtime)
    roots = full_call(twilio)
    status = {"CallSid": sid(), "From": CALLER_NUMBER, "To": "+33185083018"}
    for seq, call_status in enumerate(("in-progress", "completed")):
        form = {**status, "CallStatus": call_status, "SequenceNumber": str(seq)}
        assert twilio.post("/voice/status", {**form, "CallDuration": "30"}).status_code == 200
    record = runtime.redis.hgetall(runtime.keys.call(sid()))
    assert record["caller"] == pseudonymise(SECRET_KEY, CALLER_NUMBER)
    assert runtime.redis.xlen(runtime.keys.events) > 3  # the call left a trail of events
    binary = redis_lib.Redis(connection_pool=runtime.rq_redis.connection_pool)
    leaks = [blob for blob in _every_value(binary) if DIGITS.encode() in blob]
    assert leaks == []
    assert DIGITS not in caplog.text
    assert all(DIGITS not in said(root) for root in roots)


def test_hanging_up_while_a_counsellor_rings_stops_the_ringing(
    twilio, runtime: Runtime, twilio_http
) -> None:
    """The caller's final status ends the pending offer and hangs up the counsellor's leg."""
    log_in(runtime)
    full_call(twilio)
    (offer,) = twilio_http.calls_created()  # the dispatcher rang amina at once
    assert offer.data["To"] == "client:amina"
    leg = runtime.redis.hget(runtime.keys.reservation("1"), "counsellor_call_sid")
    assert leg and leg.startswith("CA")
    form = {"CallSid": sid(), "CallStatus": "completed", "SequenceNumber": "4"}
    assert twilio.post("/voice/status", form).status_code == 200
    ended = [r for r in twilio_http.requests if r.path.endswith(f"/Calls/{leg}.json")]
    assert ended and ended[-1].data.get("Status") == "completed"
    assert Acd(runtime).get_counsellor("amina").state is CounsellorState.AVAILABLE
