"""Fixes found by the web-kill fault run: a webhook that dies mid-request (a gunicorn worker
killed) must not drop a caller a counsellor has already accepted."""

from __future__ import annotations

from acd import jobs
from acd import views as acd_views
from acd.model import ReservationStatus
from tests.acd_edges.conftest import offer_url, redis_down, twiml
from tests.conftest import PUBLIC


def offered(runtime, acd, caller, counsellor, wait) -> tuple[str, str, str]:
    """One caller offered to Amina, her phone ringing: (caller, reservation, her leg)."""
    counsellor("amina")
    call = caller(1)
    wait(call)  # Twilio's QueueSid is known
    assert jobs.request_dispatch(runtime)
    reservation = acd.get_reservation("1")
    return call, reservation.id, reservation.counsellor_call_sid


def test_the_offer_call_names_a_fallback_url(runtime, acd, caller, counsellor, wait, twilio_http):
    """Twilio is told where to go when a webhook of the counsellor's leg fails."""
    offered(runtime, acd, caller, counsellor, wait)
    [created] = twilio_http.calls_created()
    assert created.data["FallbackUrl"] == offer_url("1", "/fallback")
    assert created.data["FallbackMethod"] == "POST"


def test_a_failed_answer_request_accepts_through_the_fallback(
    runtime, acd, caller, counsellor, wait, twilio
) -> None:
    """The counsellor pressed 1 and the web process died: the fallback accepts, she joins."""
    call, rid, leg = offered(runtime, acd, caller, counsellor, wait)
    form = {"CallSid": leg, "Digits": "1", "ErrorCode": "11200",
            "ErrorUrl": offer_url(rid, "/answer")}  # fmt: skip
    answer = twiml(twilio.post(f"/voice/offer/{rid}/fallback", form))
    assert answer.find("Dial/Conference").text == f"res-{rid}"
    assert acd.get_reservation(rid).status is ReservationStatus.ACCEPTED
    assert acd.caller_state(call) == "answered"


def test_a_failed_whisper_request_whispers_again_through_the_fallback(
    runtime, acd, caller, counsellor, wait, twilio
) -> None:
    """The whisper's request failed: the fallback answers the whisper and its Gather."""
    _call, rid, leg = offered(runtime, acd, caller, counsellor, wait)
    form = {"CallSid": leg, "ErrorCode": "11200", "ErrorUrl": offer_url(rid)}
    answer = twiml(twilio.post(f"/voice/offer/{rid}/fallback", form))
    assert answer.find("Gather").get("action") == offer_url(rid, "/answer")


def test_an_accepted_caller_whose_bridge_request_failed_goes_to_the_conference(
    runtime, acd, caller, counsellor, wait, twilio
) -> None:
    """Dequeued towards the bridge, the request died: the voice fallback joins the conference
    (before the fix: alternatives and hang up, the counsellor alone in the conference)."""
    call, rid, leg = offered(runtime, acd, caller, counsellor, wait)
    twilio.post(f"/voice/offer/{rid}/answer", {"CallSid": leg, "Digits": "1"})
    form = {"CallSid": call, "ErrorCode": "11200", "ErrorUrl": f"{PUBLIC}/voice/bridge/{rid}"}
    answer = twiml(twilio.post("/voice/fallback", form))
    assert answer.find("Dial/Conference").text == f"res-{rid}"
    assert "Hangup" not in answer.verbs()[:1]


def test_a_counsellors_key_press_meeting_redis_down_whispers_again_then_accepts(
    runtime, acd, caller, counsellor, wait, twilio, monkeypatch
) -> None:
    """Found by the redis-restart run: the key press failed (Redis down), the counsellor heard
    the apology and was hung up on, which counted as declining and set her aside. Now she hears
    the apology, a pause and the whisper again, and her next key press accepts; a lasting
    outage ends the leg after a few attempts (counted in the URL)."""
    from ivr import safety

    call, rid, leg = offered(runtime, acd, caller, counsellor, wait)
    form = {"CallSid": leg, "Digits": "1", "Direction": "outbound-api"}

    with monkeypatch.context() as m:
        m.setattr(jobs, "accept_and_bridge", redis_down)
        again = twiml(twilio.post(f"/voice/offer/{rid}/answer", form))
        assert again.verbs() == ["Say", "Pause", "Redirect"]
        assert again.find("Redirect").text == offer_url(rid) + "?attempt=1"
        # the outage lasts: the whisper fails too, a few times, then the leg ends kindly
        m.setattr(acd_views, "_counsellor_language", redis_down)
        path = f"/voice/offer/{rid}?attempt=1"
        for n in range(2, safety.MAX_OFFER_ATTEMPTS + 1):
            more = twiml(twilio.post(path, {"CallSid": leg, "Direction": "outbound-api"}))
            path = more.find("Redirect").text.removeprefix(PUBLIC)
            assert path == f"/voice/offer/{rid}?attempt={n}"
        last = twiml(twilio.post(path, {"CallSid": leg, "Direction": "outbound-api"}))
        assert last.verbs() == ["Say", "Hangup"]
    assert acd.get_reservation(rid).status is ReservationStatus.PENDING  # nothing declined
    whisper = twiml(twilio.post(f"/voice/offer/{rid}?attempt=1", {"CallSid": leg}))
    assert whisper.find("Gather").get("action") == offer_url(rid, "/answer")
    answer = twiml(twilio.post(f"/voice/offer/{rid}/answer", form))
    assert answer.find("Dial/Conference").text == f"res-{rid}"
    assert acd.caller_state(call) == "answered"
