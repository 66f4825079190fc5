"""Status callbacks (idempotent, order-tolerant) and Twilio's fallback URL."""

from __future__ import annotations

from helpline.runtime import Runtime
from tests.ivr.conftest import FakeAcd, call_form, said, sid, twiml, verbs


def status(twilio, n: int, call_status: str, seq: int | None, **extra):
    form = {"CallSid": sid(n), "CallStatus": call_status, "Direction": "inbound", **extra}
    if seq is not None:
        form["SequenceNumber"] = seq
    return twilio.post("/voice/status", form)


def queued_call(twilio, n: int = 1) -> None:
    twiml(twilio.post("/voice/incoming", call_form(n)))
    for step in ("language", "consent", "caller_type"):
        twiml(twilio.post(f"/voice/menu/{step}", {"CallSid": sid(n)}))


def test_status_for_an_unknown_call_is_an_empty_200(twilio, runtime: Runtime, fake_acd) -> None:
    """Unknown CallSid: 200 with an empty <Response/>, nothing stored, the ACD not bothered."""
    response = status(twilio, 7, "completed", 3, CallDuration="12")
    assert len(twiml(response)) == 0
    assert runtime.redis.exists(runtime.keys.call(sid(7))) == 0
    assert fake_acd.gone == []


def test_final_status_tells_the_acd_and_stores_the_duration(
    twilio, runtime: Runtime, fake_acd: FakeAcd
) -> None:
    """completed ends the caller's call in the ACD; the duration is kept with the record."""
    queued_call(twilio)
    assert status(twilio, 1, "in-progress", 1).status_code == 200
    assert fake_acd.gone == []
    assert status(twilio, 1, "completed", 2, CallDuration="95").status_code == 200
    assert fake_acd.gone == [sid()]
    record = runtime.redis.hgetall(runtime.keys.call(sid()))
    assert record["status"] == "completed" and record["duration"] == "95"
    assert "at_ended" in record


def test_late_and_repeated_callbacks_keep_the_latest_status(
    twilio, runtime: Runtime, fake_acd: FakeAcd
) -> None:
    """Out of order by SequenceNumber: the highest wins; duplicates are harmless."""
    queued_call(twilio)
    for call_status, seq in [
        ("completed", 3),
        ("ringing", 1),
        ("completed", 3),
        ("in-progress", 2),
    ]:
        assert status(twilio, 1, call_status, seq, CallDuration="40").status_code == 200
    record = runtime.redis.hgetall(runtime.keys.call(sid()))
    assert (record["status"], record["status_seq"]) == ("completed", "3")
    assert set(fake_acd.gone) == {sid()}  # the ACD is idempotent; it may hear it twice


def test_every_final_status_ends_the_call(twilio, fake_acd: FakeAcd) -> None:
    """busy, failed, no-answer, canceled end the caller's call too; ringing does not."""
    for n, final in enumerate(("busy", "failed", "no-answer", "canceled"), start=1):
        twiml(twilio.post("/voice/incoming", call_form(n)))
        status(twilio, n, "ringing", 0)
        status(twilio, n, final, 1)
    assert fake_acd.gone == [sid(1), sid(2), sid(3), sid(4)]


def test_fallback_puts_a_live_caller_back_in_the_queue(twilio, fake_acd: FakeAcd) -> None:
    """Known and still waiting: apology, then <Enqueue> again (the ACD keeps their place)."""
    queued_call(twilio)
    root = twiml(twilio.post("/voice/fallback", call_form(ErrorCode="11200")))
    assert verbs(root) == ["Say", "Say", "Enqueue"]
    assert "problème technique" in said(root)
    assert len(fake_acd.enqueued) == 2 and fake_acd.enqueued[1].call_sid == sid()


def test_fallback_mid_menu_skips_the_remaining_menus(twilio, runtime, fake_acd) -> None:
    """Back to the queue when possible: the remaining questions take their defaults."""
    twiml(twilio.post("/voice/incoming", call_form()))
    root = twiml(twilio.post("/voice/fallback", call_form(ErrorCode="11205")))
    assert verbs(root)[-1] == "Enqueue"
    assert runtime.redis.hget(runtime.keys.call(sid()), "step") == "queued"


def test_fallback_for_a_finished_call_gives_the_alternatives(
    twilio, runtime: Runtime, fake_acd
) -> None:
    """A call that already has an outcome is not queued again."""
    queued_call(twilio)
    runtime.redis.hset(runtime.keys.call(sid()), "outcome", "overflowed")
    root = twiml(twilio.post("/voice/fallback", call_form()))
    assert verbs(root)[-1] == "Hangup" and "119" in said(root)
    assert len(fake_acd.enqueued) == 1


def test_fallback_for_an_unknown_caller_starts_the_call(twilio, runtime, fake_acd) -> None:
    """The first request failed before any record: the fallback welcomes the caller."""
    root = twiml(twilio.post("/voice/fallback", call_form(4)))
    text = said(root)
    assert text.index("problème technique") < text.index("Bonjour")
    assert root.find("Gather") is not None


def test_fallback_never_queues_a_leg_we_placed(twilio, runtime, fake_acd) -> None:
    """An outbound leg (a counsellor's) with no call record is not put in the callers' queue."""
    root = twiml(twilio.post("/voice/fallback", call_form(5, Direction="outbound-api")))
    assert verbs(root)[-1] == "Hangup"
    assert fake_acd.enqueued == [] and runtime.redis.exists(runtime.keys.call(sid(5))) == 0
