"""The blocklist: stored by keyed hash, audited, expiring on the injected clock, enforced at
the voice webhook with a neutral message."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from click.testing import CliRunner
from flask import Flask

from helpline.clock import FrozenClock
from helpline.privacy import pseudonymise
from helpline.runtime import Runtime
from incall import blocklist
from incall.cli import blocklist as blocklist_cli
from tests.conftest import TwilioClient
from tests.incall.conftest import CALLER_NUMBER, Session

LINE = "+33185083018"


def call_form(n: int, number: str = CALLER_NUMBER) -> dict[str, str]:
    """What Twilio posts to the Voice URL for an inbound phone call."""
    return {
        "CallSid": f"CA{n:032x}",
        "AccountSid": "AC" + "0" * 32,
        "From": number,
        "Caller": number,
        "To": LINE,
        "Called": LINE,
        "Direction": "inbound",
        "CallStatus": "ringing",
    }


def twiml(response) -> ET.Element:
    assert response.status_code == 200, response.get_data(as_text=True)
    return ET.fromstring(response.get_data())  # noqa: S314 - our own output


def caller_hash(runtime: Runtime, number: str = CALLER_NUMBER) -> str:
    return pseudonymise(runtime.settings.secret_key, number)


def everything_in_redis(runtime: Runtime) -> str:
    """Every key and value of the database, as text (streams and hashes included)."""
    r = runtime.redis
    out = []
    for key in r.scan_iter():
        kind = r.type(key)
        out.append(key)
        if kind == "hash":
            out.append(json.dumps(r.hgetall(key)))
        elif kind == "zset":
            out.append(json.dumps(r.zrange(key, 0, -1, withscores=True)))
        elif kind == "stream":
            out.append(json.dumps(r.xrange(key)))
        elif kind == "string":
            out.append(str(r.get(key)))
        elif kind == "list":
            out.append(json.dumps(r.lrange(key, 0, -1)))
        elif kind == "set":
            out.append(json.dumps(sorted(r.smembers(key))))
    return "\n".join(out)


def audit_entries(runtime: Runtime, action: str | None = None) -> list[dict[str, str]]:
    rows = [fields for _, fields in runtime.redis.xrange(runtime.keys.audit)]
    return [row for row in rows if action is None or row["action"] == action]


def test_blocked_callers_next_call_hears_busy_message_and_hangs_up(
    runtime: Runtime, twilio: TwilioClient, clock: FrozenClock
) -> None:
    """After a block, the caller's next call gets the neutral busy message, the alternatives
    and <Hangup>; the outcome is ``overflowed`` with reason ``blocked``; nobody is queued."""
    first = twiml(twilio.post("/voice/incoming", call_form(1)))
    assert first.find(".//Gather") is not None  # a normal call: the first menu
    blocklist.block(
        runtime, caller_hash(runtime), clock.now() + timedelta(hours=2), "claire", "insults"
    )
    root = twiml(twilio.post("/voice/incoming", call_form(2)))
    assert [child.tag for child in root][-1] == "Hangup"
    assert root.find(".//Gather") is None and root.find(".//Enqueue") is None
    spoken = " ".join(el.text or "" for el in root.iter("Say"))
    assert "17" in spoken and "bloqu" not in spoken.lower()  # safe and neutral
    record = runtime.redis.hgetall(runtime.keys.call(f"CA{2:032x}"))
    assert record["outcome"] == "overflowed" and record["reason"] == "blocked"
    assert runtime.redis.zcard(runtime.keys.waiting) == 0
    # Another caller is not affected.
    other = twiml(twilio.post("/voice/incoming", call_form(3, "+33699999999")))
    assert other.find(".//Gather") is not None


def test_block_expires_with_the_clock(
    runtime: Runtime, twilio: TwilioClient, clock: FrozenClock
) -> None:
    """A block ends at its time on the injected clock; the list prunes it."""
    who = caller_hash(runtime)
    blocklist.block(runtime, who, clock.now() + timedelta(hours=1), "claire", "threats")
    assert blocklist.is_blocked(runtime, who)
    clock.advance(3599)
    assert blocklist.is_blocked(runtime, who)
    clock.advance(2)
    assert not blocklist.is_blocked(runtime, who)
    assert blocklist.list(runtime) == []
    assert runtime.redis.hlen(runtime.keys.incall_blocks) == 0
    root = twiml(twilio.post("/voice/incoming", call_form(4)))
    assert root.find(".//Gather") is not None


def test_block_and_unblock_are_audited(runtime: Runtime, clock: FrozenClock) -> None:
    """Who, when, why and until are in the audit stream; lifting is audited too."""
    who = caller_hash(runtime)
    until = clock.now() + timedelta(hours=24)
    assert blocklist.block(runtime, who, until, "claire", "  repeated   abuse ")
    [added] = audit_entries(runtime, "blocklist.add")
    assert added["who"] == "claire" and added["target"] == who
    after = json.loads(added["after"])
    assert after["reason"] == "repeated abuse" and after["until"] == int(until.timestamp() * 1000)
    assert added["at"] == str(int(clock.now().timestamp() * 1000))
    [entry] = blocklist.list(runtime)
    assert (entry.caller, entry.by, entry.until) == (who, "claire", until)
    assert blocklist.unblock(runtime, who, "marc", "mistake")
    assert not blocklist.is_blocked(runtime, who)
    [lifted] = audit_entries(runtime, "blocklist.remove")
    assert lifted["who"] == "marc" and json.loads(lifted["before"])["by"] == "claire"
    assert not blocklist.unblock(runtime, who, "marc")  # nothing left: not audited again
    assert len(audit_entries(runtime, "blocklist.remove")) == 1


@pytest.mark.parametrize("bad", [CALLER_NUMBER, "33612345678", "anonymous", "h:xyz", ""])
def test_only_a_keyed_hash_can_be_blocked(runtime: Runtime, clock: FrozenClock, bad: str) -> None:
    """A number (or the shared ``anonymous``) is refused: blocking works on hashes only."""
    with pytest.raises(blocklist.BlocklistError):
        blocklist.block(runtime, bad, clock.now() + timedelta(hours=1), "claire", "x")
    assert not runtime.redis.exists(runtime.keys.incall_blocked)


def test_block_needs_a_reason_and_a_sensible_end(runtime: Runtime, clock: FrozenClock) -> None:
    """No reason, an end in the past or beyond max_block_hours: refused."""
    who = caller_hash(runtime)
    for until, reason in [
        (clock.now() + timedelta(hours=1), "  "),
        (clock.now() - timedelta(seconds=1), "x"),
        (clock.now() + timedelta(days=91), "x"),
    ]:
        with pytest.raises(blocklist.BlocklistError):
            blocklist.block(runtime, who, until, "claire", reason)


def test_manager_blocks_from_a_call_sid_without_any_number_stored(
    runtime: Runtime, twilio: TwilioClient, manager: Session
) -> None:
    """The form takes a CallSid, looks up its record's hash; no raw number anywhere."""
    twilio.post("/voice/incoming", call_form(5))
    page = manager.client.get("/incall/blocklist")
    assert page.status_code == 200
    response = manager.client.post(
        "/incall/blocklist",
        data={
            "call_sid": f"CA{5:032x}",
            "hours": "6",
            "reason": "abuse",
            "csrf_token": manager.csrf,
        },
    )
    assert response.status_code == 303
    assert blocklist.is_blocked(runtime, caller_hash(runtime))
    listing = manager.client.get("/incall/blocklist").get_data(as_text=True)
    assert caller_hash(runtime) in listing and "abuse" in listing
    assert CALLER_NUMBER not in listing
    dump = everything_in_redis(runtime)
    assert CALLER_NUMBER not in dump and CALLER_NUMBER[1:] not in dump
    removed = manager.client.post(
        "/incall/blocklist/remove",
        data={"caller": caller_hash(runtime), "reason": "ok", "csrf_token": manager.csrf},
    )
    assert removed.status_code == 303 and not blocklist.is_blocked(runtime, caller_hash(runtime))


def test_blocklist_json_refuses_a_raw_number(runtime: Runtime, manager: Session) -> None:
    """The JSON form of the endpoint answers a problem for a number instead of a hash."""
    response = manager.post_json(
        "/incall/blocklist", {"caller": CALLER_NUMBER, "hours": 2, "reason": "x"}
    )
    assert response.status_code == 400
    assert not runtime.redis.exists(runtime.keys.incall_blocked)


def test_blocklist_is_for_managers_only_and_needs_csrf(
    app: Flask, runtime: Runtime, counsellor: Session, manager: Session
) -> None:
    """Anonymous: redirect (page) or 401 (POST); counsellor: 403; no CSRF token: 403."""
    anonymous = app.test_client()
    assert anonymous.get("/incall/blocklist").status_code == 302
    assert anonymous.post("/incall/blocklist", data={}).status_code == 401
    assert counsellor.client.get("/incall/blocklist").status_code == 403
    body = {"caller": caller_hash(runtime), "hours": "1", "reason": "x"}
    assert counsellor.client.post("/incall/blocklist", data=body).status_code == 403
    assert manager.client.post("/incall/blocklist", data=body).status_code == 403  # no CSRF
    assert manager.post_json("/incall/blocklist", body, token="wrong").status_code == 403
    assert not runtime.redis.exists(runtime.keys.incall_blocked)


def test_cli_adds_lists_and_removes(
    runtime: Runtime, twilio: TwilioClient, clock: FrozenClock
) -> None:
    """``helpline blocklist add --call … --hours N --reason …``, ``list``, ``remove``."""
    twilio.post("/voice/incoming", call_form(6))
    runner = CliRunner()
    added = runner.invoke(
        blocklist_cli, ["add", "--call", f"CA{6:032x}", "--hours", "3", "--reason", "abuse"]
    )
    assert added.exit_code == 0, added.output
    who = caller_hash(runtime)
    assert who in added.output and CALLER_NUMBER not in added.output
    [entry] = blocklist.list(runtime)
    assert entry.until == clock.now() + timedelta(hours=3) and entry.by.startswith("cli:")
    listed = runner.invoke(blocklist_cli, ["list"])
    assert who in listed.output and "abuse" in listed.output
    refused = runner.invoke(blocklist_cli, ["add", "--caller", CALLER_NUMBER, "--reason", "x"])
    assert refused.exit_code != 0
    both = runner.invoke(
        blocklist_cli, ["add", "--caller", who, "--call", f"CA{6:032x}", "--reason", "x"]
    )
    assert both.exit_code != 0
    removed = runner.invoke(blocklist_cli, ["remove", "--caller", who])
    assert removed.exit_code == 0 and "lifted" in removed.output
    assert not blocklist.is_blocked(runtime, who)
