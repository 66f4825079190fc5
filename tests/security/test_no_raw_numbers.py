"""No raw caller number anywhere: a caller from +33 6 12 34 56 78 (written several ways, by
phone and by SIP) goes through the whole service, and the digits appear in no log line, no
Redis value, no event, no TwiML and no page or API answer. Extends the voice flow's own scan
(tests/ivr/test_handoff_and_privacy.py) to the ACD, the consoles, the blocklist and the exports.
"""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Iterator

import pytest
import redis as redis_lib
from flask import Flask

from acd.model import CounsellorState
from acd.store import Acd
from console.users import Role, Users
from helpline.runtime import Runtime
from tests.conftest import TwilioClient
from tests.console.conftest import PASSWORD, open_session

VARIANTS = [
    "+33612345678",
    "+33 6 12 34 56 78",
    "0033612345678",
    "06 12 34 56 78",
    "+33 (0)6 12 34 56 78",
    "sip:+33612345678@carrier.example",
    "tel:+33-6-12-34-56-78",
]
#: The subscriber digits, whatever separates them.
LEAK = re.compile(rb"6\D{0,4}12\D{0,4}34\D{0,4}56\D{0,4}78")
LINE = "+33185083018"


def call_sid(n: int) -> str:
    """A well-formed CallSid with hex letters (the fake Twilio's own are decimal)."""
    return f"CA{0xBEEF0000 + n:032x}"


def _every_blob(client: redis_lib.Redis) -> Iterator[bytes]:
    """Every key name and stored byte string (RQ's compressed payloads unpacked)."""
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
            blobs = [b for _, f in client.xrange(key) for pair in f.items() for b in pair]
        else:
            pytest.fail(f"unexpected key type {kind} at {key!r}")
        for blob in filter(None, blobs):
            yield blob
            yield _unpacked(blob)


def _unpacked(blob: bytes) -> bytes:
    """An RQ payload decompressed; b"" for anything else."""
    try:
        return zlib.decompress(blob)
    except zlib.error:
        return b""


class Recorder:
    """Every answer the app gave during the test, for the final scan."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, bytes]] = []

    def __call__(self, what: str, response):
        assert response.status_code < 500, (what, response.get_data()[:300])
        self.bodies.append((what, response.get_data()))
        return response


def _call(twilio: TwilioClient, seen: Recorder, n: int, number: str) -> str:
    sid = call_sid(n)
    form = {"CallSid": sid, "From": number, "Caller": number, "To": LINE, "Called": LINE}
    if number.startswith("sip:"):
        form["SipCallId"] = f"sip-{n}"
    seen("incoming", twilio.post("/voice/incoming", {**form, "CallStatus": "ringing"}))
    for step, digits in (("language", "1"), ("consent", "1"), ("caller_type", "1")):
        seen(step, twilio.post(f"/voice/menu/{step}", {**form, "Digits": digits}))
    wait = {"CallSid": sid, "QueueSid": "QU" + "a" * 32, "QueueTime": "50", "From": number}
    seen("wait", twilio.post("/voice/queue/wait", wait))
    return sid


def test_a_number_written_any_way_leaves_no_trace(
    app: Flask,
    runtime: Runtime,
    twilio: TwilioClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Calls from every variant, an answered call, a blocked caller, the consoles and exports:
    the digits are nowhere."""
    assert all(LEAK.search(v.encode()) for v in VARIANTS)  # the scan sees every spelling
    caplog.set_level(logging.DEBUG)
    seen = Recorder()
    acd = Acd(runtime)
    acd.add_counsellor("amina", "Amina B.", ["psychologist"], ["fr", "en"], "client:amina")
    acd.set_state("amina", CounsellorState.AVAILABLE)
    users = Users(runtime)
    users.add("claire", Role.MANAGER, PASSWORD)
    users.add("amina", Role.COUNSELLOR, PASSWORD, counsellor_id="amina")
    manager, counsellor = open_session(app, "claire"), open_session(app, "amina")

    # The first caller is offered to Amina, who accepts; they talk, then hang up.
    first = _call(twilio, seen, 0, VARIANTS[0])
    rid = runtime.redis.zrange(runtime.keys.offers, 0, -1)[0]
    reservation = acd.get_reservation(rid)
    assert reservation is not None and reservation.call_sid == first
    leg = {"CallSid": reservation.counsellor_call_sid, "To": "client:amina", "From": LINE}
    seen("offer", twilio.post(f"/voice/offer/{rid}", leg))
    seen("console", counsellor.client.get("/console/api/state"))
    seen("answer", twilio.post(f"/voice/offer/{rid}/answer", {**leg, "Digits": "1"}))
    seen("bridge", twilio.post(f"/voice/bridge/{rid}", {"CallSid": first, "From": VARIANTS[0]}))
    seen("console", counsellor.client.get("/console/api/state"))
    seen("console page", counsellor.client.get("/console/"))
    seen("dashboard", manager.client.get("/dashboard/now.json"))

    # Everyone else waits (Amina is busy), then hangs up.
    others = [_call(twilio, seen, n, v) for n, v in enumerate(VARIANTS[1:], start=1)]
    seen("dashboard", manager.client.get("/dashboard/"))
    for seq, sid in enumerate([first, *others]):
        number = VARIANTS[seq]
        for status, s in (("in-progress", 1), ("completed", 2)):
            form = {"CallSid": sid, "From": number, "CallStatus": status}
            seen("status", twilio.post("/voice/status", {**form, "SequenceNumber": str(s)}))
        result = {"CallSid": sid, "QueueResult": "hangup", "QueueTime": "60", "From": number}
        seen("queue result", twilio.post("/voice/queue/result", result))
    done = {**leg, "CallStatus": "completed", "CallDuration": "300", "SequenceNumber": "9"}
    seen("offer status", twilio.post(f"/voice/offer/{rid}/status", done))

    # The manager blocks the first caller by CallSid; they call again and are refused.
    blocked = manager.post_json("/incall/blocklist", {"call_sid": first, "reason": "abuse"})
    assert seen("block", blocked).status_code == 201
    seen("blocklist", manager.client.get("/incall/blocklist"))
    again = {"CallSid": call_sid(99), "From": VARIANTS[0], "To": LINE}
    refused = seen("blocked call", twilio.post("/voice/incoming", again)).get_data()
    assert b"<Hangup" in refused and b"<Enqueue" not in refused

    for page in ("/dashboard/audit", "/dashboard/exports/calls.csv", "/dashboard/figures"):
        seen(page, manager.client.get(page))
    seen("call page", app.test_client().get("/call?platform=tiktok"))

    binary = redis_lib.Redis(connection_pool=runtime.rq_redis.connection_pool)
    stored = [blob for blob in _every_blob(binary) if LEAK.search(blob)]
    assert stored == []
    assert runtime.redis.xlen(runtime.keys.events) > 10  # the calls left a trail to scan
    answers = [what for what, body in seen.bodies if LEAK.search(body)]
    assert answers == []
    assert not LEAK.search(caplog.text.encode())
    assert len(caplog.records) > 20  # the logs were captured, and scanned
