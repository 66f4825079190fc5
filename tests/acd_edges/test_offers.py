"""Offers: the counsellor's leg placed over REST, the whisper, acceptance and the bridge, and
what happens when the caller leaves or the counsellor does not answer."""

from __future__ import annotations

from acd import jobs
from acd.model import CounsellorState, Outcome, ReservationStatus
from tests.acd_edges.conftest import PUBLIC, QUEUE_SID, offer_url, sid, twiml

AMINA_LEG = sid(1)  # the fake transport numbers the calls it creates from 1


def start_offer(runtime, caller, counsellor, wait, **caller_options) -> tuple[str, str]:
    """One caller waiting (their waitUrl seen: QueueSid known), Amina free, dispatched."""
    counsellor("amina")
    call = caller(100, **caller_options)
    wait(call)
    assert jobs.request_dispatch(runtime)
    return call, "1"


def status(twilio, rid: str, leg: str, call_status: str, seq: int, duration: int = 0):
    """A status callback of a counsellor's leg."""
    data = {
        "CallSid": leg,
        "CallStatus": call_status,
        "SequenceNumber": seq,
        "Direction": "outbound-api",
    }
    if call_status == "completed":
        data["CallDuration"] = duration
    response = twilio.post(f"/voice/offer/{rid}/status", data)
    assert response.status_code == 200
    assert response.get_data(as_text=True) == ""
    return response


def test_dispatch_places_the_offer_with_the_right_rest_request(
    runtime, acd, caller, counsellor, wait, twilio_http
) -> None:
    """calls.create: To the counsellor's endpoint, our Url and StatusCallback, the offer timeout."""
    call, rid = start_offer(runtime, caller, counsellor, wait)
    [created] = twilio_http.calls_created()
    data = created.data
    assert data["To"] == "client:amina"
    assert data["From"] == runtime.config.helpline.caller_id
    assert data["Url"] == offer_url(rid)
    assert data["Method"] == "POST"
    assert data["StatusCallback"] == offer_url(rid, "/status")
    assert data["StatusCallbackMethod"] == "POST"
    assert list(data["StatusCallbackEvent"]) == ["initiated", "ringing", "answered", "completed"]
    assert str(data["Timeout"]) == str(runtime.config.acd.offer_timeout)
    reservation = acd.get_reservation(rid)
    assert reservation.call_sid == call
    assert reservation.counsellor_call_sid == AMINA_LEG
    assert acd.get_counsellor("amina").state is CounsellorState.RESERVED


def test_offer_twiml_whispers_the_context_inside_a_gather(
    runtime, caller, counsellor, wait, twilio, clock
) -> None:
    """Platform, caller type, language and wait in the whisper; 1 to accept; silence declines."""
    start_offer(runtime, caller, counsellor, wait, platform="tiktok", language="en")
    clock.advance(3)
    answer = twiml(
        twilio.post("/voice/offer/1", {"CallSid": AMINA_LEG, "Direction": "outbound-api"})
    )
    gather = answer.find("Gather")
    assert gather.get("numDigits") == "1"
    assert gather.get("action") == offer_url("1", "/answer")
    assert 3 <= int(gather.get("timeout")) <= 10
    whisper = " ".join(el.text or "" for el in gather.iter("Say"))
    for words in ("tiktok", "Un jeune", "anglais", "moins d'une minute", "appuyez sur 1"):
        assert words in whisper
    assert answer.verbs() == ["Gather", "Say", "Hangup"]
    assert "Appel non pris" in answer.says()[-1]


def test_the_whisper_escapes_what_it_is_given(runtime, caller, counsellor, wait, twilio) -> None:
    """& and < in a platform tag cannot break the TwiML."""
    start_offer(runtime, caller, counsellor, wait, platform="a&b<c")
    answer = twiml(twilio.post("/voice/offer/1", {"CallSid": AMINA_LEG}))
    assert "Via a&b<c." in answer.says()
    assert "a&amp;b&lt;c" in answer.body


def test_accepting_dequeues_that_caller_and_joins_the_conference(
    runtime, acd, caller, counsellor, wait, twilio, twilio_http
) -> None:
    """1 → accept, Queue Members update for that caller's CallSid, both in conference res-<rid>."""
    counsellor("amina")
    first, second = caller(1), caller(2)
    wait(first)
    wait(second)
    jobs.request_dispatch(runtime)
    answer = twiml(twilio.post("/voice/offer/1/answer", {"CallSid": AMINA_LEG, "Digits": "1"}))
    dequeue = twilio_http.requests[-1]
    assert dequeue.method == "POST"
    assert dequeue.path.endswith(f"/Queues/{QUEUE_SID}/Members/{first}.json")
    assert dequeue.data == {"Url": f"{PUBLIC}/voice/bridge/1", "Method": "POST"}
    conference = answer.find("Dial/Conference")
    assert conference.text == "res-1"
    assert conference.get("startConferenceOnEnter") == "true"
    assert conference.get("endConferenceOnExit") == "true"
    assert conference.get("beep") == "false"
    assert conference.get("record") is None  # the caller did not agree to recording
    assert runtime.redis.hget(runtime.keys.call(first), "outcome") == Outcome.ANSWERED
    assert acd.get_counsellor("amina").state is CounsellorState.ON_CALL
    assert acd.position(second) == 1

    bridge = twiml(twilio.post("/voice/bridge/1", {"CallSid": first}))
    conference = bridge.find("Dial/Conference")
    assert conference.text == "res-1"
    assert conference.get("endConferenceOnExit") == "true"
    assert bridge.verbs()[-1] == "Hangup"


def test_the_conference_is_recorded_only_with_the_callers_consent(
    runtime, caller, counsellor, wait, twilio
) -> None:
    """recording_consent=yes on the call record → record-from-start."""
    call, _rid = start_offer(runtime, caller, counsellor, wait, consent="yes")
    answer = twiml(twilio.post("/voice/offer/1/answer", {"CallSid": AMINA_LEG, "Digits": "1"}))
    assert answer.find("Dial/Conference").get("record") == "record-from-start"
    bridge = twiml(twilio.post("/voice/bridge/1", {"CallSid": call}))
    assert bridge.find("Dial/Conference").get("record") == "record-from-start"


def test_a_slow_dequeue_is_retried_by_a_job(
    runtime, acd, caller, counsellor, wait, twilio, twilio_http
) -> None:
    """Twilio failing the in-request dequeue: the counsellor still joins, a job retries."""
    call, _rid = start_offer(runtime, caller, counsellor, wait)
    twilio_http.fail_next = [503]
    answer = twiml(twilio.post("/voice/offer/1/answer", {"CallSid": AMINA_LEG, "Digits": "1"}))
    assert answer.find("Dial/Conference").text == "res-1"
    members = [r for r in twilio_http.requests if "/Members/" in r.url]
    assert len(members) == 2  # the request's attempt, then the job's (inline in tests)
    assert all(r.path.endswith(f"/Members/{call}.json") for r in members)


def test_the_waiturl_brings_an_accepted_caller_whose_dequeue_failed(
    runtime, caller, counsellor, wait, twilio, twilio_http
) -> None:
    """Fallback: an accepted caller still in Twilio's queue leaves it into the conference."""
    call, _rid = start_offer(runtime, caller, counsellor, wait)
    twilio_http.fail_next = [503] * 8  # the request's attempt and every retry fail
    twiml(twilio.post("/voice/offer/1/answer", {"CallSid": AMINA_LEG, "Digits": "1"}))
    assert wait(call, queue_time=30).verbs() == ["Leave"]
    result = twiml(twilio.post("/voice/queue/result", {"CallSid": call, "QueueResult": "leave"}))
    assert result.find("Dial/Conference").text == "res-1"


def test_caller_hanging_up_while_the_offer_rings_cancels_the_leg_and_frees_the_counsellor(
    runtime, acd, caller, counsellor, wait, twilio, twilio_http
) -> None:
    """Abandon during an offer: the counsellor's phone stops ringing, she is free again."""
    call, rid = start_offer(runtime, caller, counsellor, wait)
    twiml(twilio.post("/voice/queue/result", {"CallSid": call, "QueueResult": "hangup"}))
    hangup = twilio_http.requests[-1]
    assert hangup.path.endswith(f"/Calls/{AMINA_LEG}.json")
    assert hangup.data == {"Status": "completed"}
    assert acd.get_counsellor("amina").state is CounsellorState.AVAILABLE
    assert acd.get_reservation(rid).status is ReservationStatus.ENDED
    assert runtime.redis.hget(runtime.keys.call(call), "outcome") == Outcome.ABANDONED
    # Should the counsellor pick up anyway, she hears that the caller left.
    answer = twiml(twilio.post("/voice/offer/1", {"CallSid": AMINA_LEG}))
    assert "L'appelant a raccroché" in answer.spoken()
    assert answer.verbs()[-1] == "Hangup"
    # The leg's late callbacks change nothing.
    status(twilio, rid, AMINA_LEG, "canceled", 2)
    assert acd.get_counsellor("amina").state is CounsellorState.AVAILABLE
    assert acd.get_counsellor("amina").missed == 0


def test_accepting_after_the_caller_left_tells_the_counsellor_and_frees_her(
    runtime, acd, caller, counsellor, wait, twilio
) -> None:
    """accept says caller_gone: the counsellor hears so and her leg ends; she is available."""
    call, _rid = start_offer(runtime, caller, counsellor, wait)
    acd.caller_gone(call)  # the voice flow's status callback got there first
    answer = twiml(twilio.post("/voice/offer/1/answer", {"CallSid": AMINA_LEG, "Digits": "1"}))
    assert "L'appelant a raccroché" in answer.spoken()
    assert answer.verbs()[-1] == "Hangup"
    assert acd.get_counsellor("amina").state is CounsellorState.AVAILABLE


def test_a_dequeue_answering_404_means_the_caller_left(
    runtime, caller, counsellor, wait, twilio, twilio_http
) -> None:
    """The REST dequeue says the member is gone and so is the call: tell the counsellor."""
    start_offer(runtime, caller, counsellor, wait)
    twilio_http.fail_next = [404, 404]  # Members update, then the call's fetch
    answer = twiml(twilio.post("/voice/offer/1/answer", {"CallSid": AMINA_LEG, "Digits": "1"}))
    assert "L'appelant a raccroché" in answer.spoken()
    assert answer.verbs()[-1] == "Hangup"
    assert "Dial" not in answer.verbs()


def test_a_dequeue_404_for_a_live_caller_still_bridges(
    runtime, caller, counsellor, wait, twilio, twilio_http
) -> None:
    """Not in the queue but the call is alive (already on its way): the counsellor joins."""
    start_offer(runtime, caller, counsellor, wait)
    twilio_http.fail_next = [404]  # the fetch then answers a live call
    answer = twiml(twilio.post("/voice/offer/1/answer", {"CallSid": AMINA_LEG, "Digits": "1"}))
    assert answer.find("Dial/Conference").text == "res-1"


def test_another_key_declines_and_the_caller_keeps_their_place(
    runtime, acd, caller, counsellor, wait, twilio
) -> None:
    """Any key but 1: offer_failed(declined), goodbye, and the caller is still first."""
    call, rid = start_offer(runtime, caller, counsellor, wait)
    caller(101)
    answer = twiml(twilio.post("/voice/offer/1/answer", {"CallSid": AMINA_LEG, "Digits": "2"}))
    assert answer.verbs() == ["Say", "Hangup"]
    reservation = acd.get_reservation(rid)
    assert (reservation.status, reservation.reason) == (ReservationStatus.FAILED, "declined")
    assert acd.position(call) == 1
    assert acd.caller_state(call) == "waiting"


def test_no_answer_tries_the_next_counsellor_and_the_caller_keeps_their_place(
    runtime, acd, caller, counsellor, wait, twilio, twilio_http, clock
) -> None:
    """Amina does not answer: she is set aside, Bruno gets the same caller, still first."""
    counsellor("amina")
    clock.advance(1)
    counsellor("bruno")
    first = caller(1)
    wait(first)
    jobs.request_dispatch(runtime)
    assert acd.get_reservation("1").counsellor_id == "amina"
    clock.advance(1)
    second = caller(2)
    status(twilio, "1", AMINA_LEG, "initiated", 0)
    status(twilio, "1", AMINA_LEG, "ringing", 1)
    status(twilio, "1", AMINA_LEG, "no-answer", 2)
    assert acd.get_reservation("1").reason == "no-answer"
    assert acd.get_counsellor("amina").state is CounsellorState.BREAK
    offer = acd.get_reservation("2")
    assert (offer.call_sid, offer.counsellor_id) == (first, "bruno")
    assert twilio_http.calls_created()[-1].data["To"] == "client:bruno"
    assert acd.position(first) == 1 and acd.position(second) == 2


def test_answered_then_silent_is_a_decline(runtime, acd, caller, counsellor, wait, twilio) -> None:
    """The leg completes after being answered without a 1: offer_failed(declined)."""
    call, rid = start_offer(runtime, caller, counsellor, wait)
    status(twilio, rid, AMINA_LEG, "in-progress", 2)
    status(twilio, rid, AMINA_LEG, "completed", 3, duration=14)
    reservation = acd.get_reservation(rid)
    assert (reservation.status, reservation.reason) == (ReservationStatus.FAILED, "declined")
    assert acd.caller_state(call) == "waiting"


def test_completed_after_acceptance_starts_the_wrap_up(
    runtime, acd, caller, counsellor, wait, twilio
) -> None:
    """The counsellor's leg completes after the call: call_ended, wrap-up."""
    _call, rid = start_offer(runtime, caller, counsellor, wait)
    twilio.post("/voice/offer/1/answer", {"CallSid": AMINA_LEG, "Digits": "1"})
    status(twilio, rid, AMINA_LEG, "completed", 3, duration=300)
    assert acd.get_counsellor("amina").state is CounsellorState.WRAP_UP
    assert acd.get_reservation(rid).status is ReservationStatus.ENDED


def events(runtime) -> list[str]:
    """The stream's transitions in order."""
    return [e["what"] for _, e in runtime.redis.xrange(runtime.keys.events)]


def test_duplicated_and_reordered_status_callbacks_change_nothing(
    runtime, acd, caller, counsellor, wait, twilio, clock
) -> None:
    """Late, repeated or out-of-order callbacks (SequenceNumber) leave the state as it was."""
    _call, rid = start_offer(runtime, caller, counsellor, wait)
    status(twilio, rid, AMINA_LEG, "ringing", 1)
    status(twilio, rid, AMINA_LEG, "initiated", 0)  # arrives after ringing
    status(twilio, rid, AMINA_LEG, "ringing", 1)  # twice
    twilio.post("/voice/offer/1/answer", {"CallSid": AMINA_LEG, "Digits": "1"})
    clock.advance(120)
    status(twilio, rid, AMINA_LEG, "completed", 3, duration=120)
    before = (events(runtime), acd.get_counsellor("amina"))
    clock.advance(5)
    status(twilio, rid, AMINA_LEG, "completed", 3, duration=120)  # duplicate
    status(twilio, rid, AMINA_LEG, "no-answer", 2)  # an older one, very late
    status(twilio, rid, AMINA_LEG, "in-progress", 2)
    assert (events(runtime), acd.get_counsellor("amina")) == before
    assert events(runtime).count("call_ended") == 1


def test_a_late_no_answer_cannot_undo_an_accepted_offer(
    runtime, acd, caller, counsellor, wait, twilio
) -> None:
    """Even without a SequenceNumber, a failure after acceptance does nothing."""
    _call, rid = start_offer(runtime, caller, counsellor, wait)
    twilio.post("/voice/offer/1/answer", {"CallSid": AMINA_LEG, "Digits": "1"})
    twilio.post("/voice/offer/1/status", {"CallSid": AMINA_LEG, "CallStatus": "no-answer"})
    assert acd.get_reservation(rid).status is ReservationStatus.ACCEPTED
    assert acd.get_counsellor("amina").state is CounsellorState.ON_CALL


def test_status_of_an_unknown_offer_is_an_empty_200(twilio) -> None:
    """Unknown rid (or garbage): empty 200, nothing to retry."""
    for rid in ("999", "not-a-rid"):
        status(twilio, rid, sid(5), "completed", 3)


def test_callbacks_of_a_stray_leg_are_ignored(
    runtime, acd, caller, counsellor, wait, twilio
) -> None:
    """A leg that is not the offer's (a duplicate dial) cannot fail it."""
    _call, rid = start_offer(runtime, caller, counsellor, wait)
    status(twilio, rid, sid(77), "no-answer", 2)
    assert acd.get_reservation(rid).status is ReservationStatus.PENDING
    answer = twiml(twilio.post("/voice/offer/1", {"CallSid": sid(77)}))
    assert answer.verbs() == ["Say", "Hangup"]


def test_an_offer_answered_after_it_ended_says_so(
    runtime, acd, caller, counsellor, wait, twilio
) -> None:
    """Offer TwiML or answer for an offer that is over: "no longer available"."""
    _call, rid = start_offer(runtime, caller, counsellor, wait)
    acd.offer_failed(rid, "timeout")
    answer = twiml(twilio.post("/voice/offer/1", {"CallSid": AMINA_LEG}))
    assert "plus disponible" in answer.spoken()
    answer = twiml(twilio.post("/voice/offer/1/answer", {"CallSid": AMINA_LEG, "Digits": "1"}))
    assert "plus disponible" in answer.spoken()
    answer = twiml(twilio.post("/voice/offer/42/answer", {"CallSid": AMINA_LEG, "Digits": "1"}))
    assert answer.verbs()[-1] == "Hangup"


def test_bridge_without_an_accepted_offer_apologises(
    runtime, caller, counsellor, wait, twilio
) -> None:
    """A caller sent to a bridge whose counsellor is gone hears why and the alternatives."""
    counsellor("amina", state="break")
    call = caller(1)
    answer = twiml(twilio.post("/voice/bridge/9", {"CallSid": call}))
    assert "Dial" not in answer.verbs()
    assert "interrompue" in answer.spoken() and "119" in answer.spoken()
    assert answer.verbs()[-1] == "Hangup"


def test_a_counsellor_who_picks_up_late_and_hears_the_whole_whisper_can_still_accept(
    runtime, acd, caller, counsellor, wait, twilio, clock
) -> None:
    """Picking up restarts the offer's clock: the sweep does not expire the offer during the
    whisper, and the counsellor is not set aside as 'missed' (found by the Erlang benchmark)."""
    start_offer(runtime, caller, counsellor, wait)
    clock.advance(runtime.config.acd.offer_timeout)  # slow worker, long ring
    twiml(twilio.post("/voice/offer/1", {"CallSid": AMINA_LEG, "Direction": "outbound-api"}))
    clock.advance(runtime.config.acd.offer_timeout - 1)  # the whisper, then a keypress
    jobs.sweep()
    answer = twiml(twilio.post("/voice/offer/1/answer", {"CallSid": AMINA_LEG, "Digits": "1"}))
    assert "Dial" in answer.verbs()
    amina = acd.get_counsellor("amina")
    assert amina.state is CounsellorState.ON_CALL and amina.missed == 0
