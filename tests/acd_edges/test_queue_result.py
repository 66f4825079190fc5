"""The Enqueue action: why the caller left Twilio's queue, and what they hear next. Repeated or
late, it changes nothing: each caller ends with exactly one outcome."""

from __future__ import annotations

from acd import jobs
from acd.model import CounsellorState, Outcome
from tests.acd_edges.conftest import PUBLIC, sid, twiml

AMINA_LEG = sid(1)


def result(twilio, call_sid: str, queue_result: str, path: str = "/voice/queue/result"):
    """Twilio requesting the Enqueue action."""
    return twiml(
        twilio.post(
            path,
            {
                "CallSid": call_sid,
                "QueueResult": queue_result,
                "QueueSid": "QU" + "a" * 32,
                "QueueTime": 42,
                "Direction": "inbound",
            },
        )
    )


def outcome(runtime, call_sid: str) -> str | None:
    """The call's one outcome."""
    return runtime.redis.hget(runtime.keys.call(call_sid), "outcome")


def test_hangup_in_the_queue_is_abandoned_once(runtime, acd, caller, counsellor, twilio) -> None:
    """QueueResult=hangup → caller_gone: abandoned, out of the queue; twice changes nothing."""
    counsellor("amina", state="break")
    call = caller(1)
    assert result(twilio, call, "hangup").verbs() == []
    assert outcome(runtime, call) == Outcome.ABANDONED
    assert acd.position(call) is None
    result(twilio, call, "hangup")
    acd.caller_gone(call)  # the voice flow's status callback, later
    assert runtime.redis.hgetall(runtime.keys.stats_calls) == {"instagram:abandoned": "1"}


def test_leave_after_max_wait_gives_the_alternatives(
    runtime, acd, clock, caller, counsellor, twilio
) -> None:
    """Overflowed by the sweep (outcome recorded by the ACD): apology, alternatives, goodbye."""
    counsellor("amina", state="break")
    call = caller(1)
    clock.advance(acd.settings.max_wait + 1)
    acd.overflow_waited_too_long()
    answer = result(twilio, call, "leave")
    assert answer.verbs()[-1] == "Hangup"
    assert "plus longtemps" in answer.spoken() and "119" in answer.spoken()
    assert outcome(runtime, call) == Outcome.OVERFLOWED
    result(twilio, call, "leave")
    assert runtime.redis.hgetall(runtime.keys.stats_calls) == {"instagram:overflowed": "1"}


def test_leave_of_a_caller_the_acd_never_knew_is_an_overflow(runtime, twilio) -> None:
    """Held past max_wait though unknown to the ACD: overflowed, alternatives."""
    stranger = "CA" + "e" * 32
    answer = result(twilio, stranger, "leave")
    assert answer.verbs()[-1] == "Hangup"
    assert outcome(runtime, stranger) == Outcome.OVERFLOWED


def test_a_queue_error_puts_the_caller_back_once_keeping_their_place(
    runtime, acd, caller, counsellor, twilio
) -> None:
    """error/system-error/queue-full: apology and <Enqueue> again; the second time, goodbye."""
    counsellor("amina", state="break")
    first, call = caller(1), caller(2)
    answer = result(twilio, call, "system-error")
    enqueue = answer.find("Enqueue")
    assert enqueue.text == "helpline-3018"
    assert enqueue.get("waitUrl") == f"{PUBLIC}/voice/queue/wait"
    assert enqueue.get("action") == f"{PUBLIC}/voice/queue/result?attempt=2"
    assert "Vous gardez votre place" in answer.spoken()
    assert acd.position(call) == 2 and acd.position(first) == 1

    answer = result(twilio, call, "error", path="/voice/queue/result?attempt=2")
    assert answer.verbs()[-1] == "Hangup"
    assert "119" in answer.spoken()
    assert outcome(runtime, call) == Outcome.ERROR
    assert acd.position(call) is None and acd.position(first) == 1


def test_redirected_out_of_the_queue_is_only_noted(runtime, caller, counsellor, twilio) -> None:
    """Our REST dequeue: Twilio notifies the action; the call runs the bridge TwiML."""
    counsellor("amina", state="break")
    call = caller(1)
    assert result(twilio, call, "redirected").verbs() == []
    assert outcome(runtime, call) is None


def test_bridged_ends_the_call(runtime, caller, counsellor, twilio) -> None:
    """After a bridge, the action ends the call."""
    counsellor("amina", state="break")
    assert result(twilio, caller(1), "bridged").verbs() == ["Hangup"]


def test_hanging_up_after_acceptance_before_the_bridge_frees_the_counsellor(
    runtime, acd, caller, counsellor, wait, twilio, twilio_http
) -> None:
    """Accepted, then the caller hangs up still in Twilio's queue: the counsellor's leg ends."""
    counsellor("amina")
    call = caller(1)
    wait(call)
    jobs.request_dispatch(runtime)
    twilio_http.fail_next = [503] * 8  # the dequeue never gets through
    twilio.post("/voice/offer/1/answer", {"CallSid": AMINA_LEG, "Digits": "1"})
    twilio_http.fail_next = []
    result(twilio, call, "hangup")
    hangup = twilio_http.requests[-1]
    assert hangup.path.endswith(f"/Calls/{AMINA_LEG}.json")
    assert hangup.data == {"Status": "completed"}
    assert outcome(runtime, call) == Outcome.ANSWERED  # first writer wins
    assert acd.get_counsellor("amina").state is CounsellorState.ON_CALL  # until her leg ends


def test_queue_result_without_a_call_sid_is_harmless(twilio) -> None:
    """A malformed request still gets valid TwiML."""
    answer = twiml(twilio.post("/voice/queue/result", {"QueueResult": "hangup"}))
    assert answer.verbs() == []
