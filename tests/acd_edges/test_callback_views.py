"""Virtual hold through the webhooks, signed like Twilio: the offer in the waitUrl, the keypress,
leaving the queue without an abandon, the callback leg and its failures. The number is never
in clear in Redis or in the logs."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from acd import jobs
from acd.callback import Callbacks
from acd.model import CounsellorState
from tests.acd.test_callback import everything_in_redis
from tests.acd_edges.conftest import PUBLIC, QUEUE_SID, redis_down, sid, twiml
from tests.acd_edges.test_offers import AMINA_LEG

NUMBER = "+33612345678"
CALLBACK_LEG = sid(2)  # the second call the fake transport creates


def ask_wait(twilio, call_sid: str, from_: str = NUMBER, queue_time: int = 0):
    """The waitUrl request, with the caller's From as Twilio sends it."""
    return twiml(
        twilio.post(
            "/voice/queue/wait",
            {
                "CallSid": call_sid,
                "QueueSid": QUEUE_SID,
                "QueueTime": queue_time,
                "From": from_,
                "Direction": "inbound",
            },
        )
    )


def press(twilio, call_sid: str, digits: str = "2", from_: str = NUMBER):
    """The caller's key at the waitUrl's callback offer (the Gather action)."""
    return twiml(
        twilio.post(
            "/voice/queue/callback",
            {"CallSid": call_sid, "Digits": digits, "From": from_, "Direction": "inbound"},
        )
    )


@pytest.fixture
def long_wait(runtime, caller, counsellor) -> list[str]:
    """Amina free, three callers waiting (the third's estimate: 2 x 600 s), no dispatch yet."""
    counsellor("amina", state="available")
    return [caller(n) for n in (1, 2, 3)]


def virtual(twilio, runtime, call_sid: str) -> None:
    """Make ``call_sid`` ask for a callback through the webhooks."""
    ask_wait(twilio, call_sid)
    assert press(twilio, call_sid).verbs()[-1] == "Leave"


# -- the offer ----------------------------------------------------------------------------------


def test_a_long_wait_offers_a_callback_stating_consent(twilio, long_wait) -> None:
    """Estimate ≥ callback_offer_after and a callable number: a one-key Gather after the news."""
    answer = ask_wait(twilio, long_wait[2])
    gather = answer.find("Gather")
    assert gather.get("numDigits") == "1"
    assert gather.get("action") == f"{PUBLIC}/voice/queue/callback"
    offer = " ".join(el.text or "" for el in gather.iter("Say"))
    assert "appuyez sur 2" in offer and "numéro" in offer
    assert "conservé que jusqu'à cet appel" in offer  # what we do with the number
    assert answer.verbs() == ["Say", "Say", "Say", "Gather", "Pause"]


def test_a_short_wait_offers_no_callback(twilio, long_wait) -> None:
    """The next caller (estimate 0) hears no offer."""
    answer = ask_wait(twilio, long_wait[0])
    assert "Gather" not in answer.verbs()


@pytest.mark.parametrize(
    "from_",
    ["anonymous", "+266696687", "client:instagram-3f2a9c", "sip:+33612345678@carrier.invalid", ""],
)
def test_no_callback_for_numbers_that_cannot_be_called_back(twilio, long_wait, from_) -> None:
    """Withheld, in-app and SIP callers are never offered a callback, nor accepted by a key."""
    assert "Gather" not in ask_wait(twilio, long_wait[2], from_=from_).verbs()
    assert "Leave" not in press(twilio, long_wait[2], from_=from_).verbs()


def test_no_offer_when_virtual_hold_is_switched_off(twilio, runtime, long_wait) -> None:
    """callback_offer_after = 0: never offered, and a key does nothing."""
    config = replace(runtime.config, acd=replace(runtime.config.acd, callback_offer_after=0))
    object.__setattr__(runtime, "config", config)
    assert "Gather" not in ask_wait(twilio, long_wait[2]).verbs()
    assert "Leave" not in press(twilio, long_wait[2]).verbs()


def test_the_offer_comes_with_the_announcements_not_every_loop(twilio, runtime, long_wait) -> None:
    """Between two announcements the waitUrl only holds."""
    ask_wait(twilio, long_wait[2], queue_time=0)
    assert ask_wait(twilio, long_wait[2], queue_time=10).verbs() == ["Pause"]
    every = runtime.config.acd.announce_every
    assert "Gather" in ask_wait(twilio, long_wait[2], queue_time=every).verbs()


# -- the keypress ---------------------------------------------------------------------------------


def test_the_key_confirms_and_leaves_the_queue_keeping_the_place(
    twilio, runtime, acd, long_wait
) -> None:
    """Confirmation then <Leave/>; same ACD position; the number sealed, never in clear."""
    ask_wait(twilio, long_wait[2])
    answer = press(twilio, long_wait[2])
    assert answer.verbs() == ["Say", "Leave"]
    assert "Nous vous rappellerons" in answer.spoken()
    assert acd.position(long_wait[2]) == 3
    assert Callbacks(acd).number(long_wait[2]) == NUMBER
    dump = everything_in_redis(runtime.redis)
    assert NUMBER not in dump and "612345678" not in dump


def test_another_key_goes_on_waiting(twilio, acd, long_wait) -> None:
    """Any key but callback_key: back to the hold music, nothing stored."""
    answer = press(twilio, long_wait[2], digits="5")
    assert answer.verbs() == ["Pause"]
    assert not Callbacks(acd).is_virtual(long_wait[2])


def test_leaving_and_hanging_up_after_the_key_is_not_an_abandon(
    twilio, runtime, acd, long_wait
) -> None:
    """Enqueue action: goodbye and hang up; the call's end: no outcome, place kept."""
    call = long_wait[2]
    virtual(twilio, runtime, call)
    result = twiml(
        twilio.post(
            "/voice/queue/result",
            {"CallSid": call, "QueueSid": QUEUE_SID, "QueueResult": "leave", "QueueTime": 30},
        )
    )
    assert result.verbs()[-1] == "Hangup" and "Au revoir" in result.spoken()
    response = twilio.post(
        "/voice/status",
        {"CallSid": call, "CallStatus": "completed", "Direction": "inbound", "SequenceNumber": 3},
    )
    assert response.status_code == 200
    assert runtime.redis.hget(runtime.keys.call(call), "outcome") is None
    assert acd.caller_state(call) == "waiting" and acd.position(call) == 3
    # a later waitUrl request (should Twilio send one) leaves at once
    assert ask_wait(twilio, call, queue_time=60).verbs() == ["Leave"]


def test_the_callback_routes_refuse_forged_requests(client, long_wait) -> None:
    """Unsigned: 403, nothing stored."""
    data = {"CallSid": long_wait[2], "Digits": "2", "From": NUMBER}
    assert client.post("/voice/queue/callback", data=data).status_code == 403
    assert client.post("/voice/callback/1", data={"CallSid": CALLBACK_LEG}).status_code == 403
    assert client.post("/voice/callback/1/status", data={}).status_code == 403


# -- calling back ---------------------------------------------------------------------------------


def offer_and_accept(twilio, runtime, acd, counsellor_call_sid: str = AMINA_LEG) -> str:
    """Dispatch, Amina's whisper and her 1; the reservation id. The callback job runs inline."""
    assert jobs.request_dispatch(runtime)
    rid = acd.get_counsellor("amina").reservation_id
    whisper = twiml(twilio.post(f"/voice/offer/{rid}", {"CallSid": counsellor_call_sid}))
    assert "demandé à être rappelé" in whisper.spoken()
    answer = twiml(
        twilio.post(f"/voice/offer/{rid}/answer", {"CallSid": counsellor_call_sid, "Digits": "1"})
    )
    assert "Nous rappelons l'appelant" in answer.spoken()
    assert answer.find("Dial/Conference").text == f"res-{rid}"
    return rid


@pytest.fixture
def first_is_virtual(twilio, runtime, acd, caller, counsellor) -> str:
    """Amina on break; the first of three callers asked for a callback (the key is accepted
    from a callable number whatever the estimate said); then Amina is free."""
    counsellor("amina", state="break")
    first, _second, _third = (caller(n) for n in (1, 2, 3))
    ask_wait(twilio, first)
    assert press(twilio, first).verbs()[-1] == "Leave"
    acd.set_state("amina", "available")
    return first


def test_the_turn_of_a_virtual_caller_calls_them_back_into_the_conference(
    twilio, runtime, acd, first_is_virtual, twilio_http, caplog
) -> None:
    """Counsellor accepts → REST call to the number from the line's caller id → conference."""
    caplog.set_level(logging.DEBUG)
    rid = offer_and_accept(twilio, runtime, acd)
    counsellor_leg, callback_leg = twilio_http.calls_created()
    data = callback_leg.data
    assert data["To"] == NUMBER and data["From"] == runtime.config.helpline.caller_id
    assert data["Url"] == f"{PUBLIC}/voice/callback/{rid}"
    assert data["StatusCallback"] == f"{PUBLIC}/voice/callback/{rid}/status"
    assert data["MachineDetection"] == "Enable"
    assert acd.get_counsellor("amina").state is CounsellorState.ON_CALL
    answer = twiml(twilio.post(f"/voice/callback/{rid}", {"CallSid": CALLBACK_LEG}))
    assert "vous rappelons comme vous l'avez demandé" in answer.spoken()
    assert answer.find("Dial/Conference").text == f"res-{rid}"
    record = runtime.redis.hgetall(runtime.keys.call(first_is_virtual))
    assert (record["outcome"], record["reason"]) == ("answered", "callback")
    assert runtime.redis.exists(runtime.keys.callback_number(first_is_virtual)) == 0
    assert NUMBER not in caplog.text and "612345678" not in caplog.text
    assert counsellor_leg.data["To"] == "client:amina"


def test_a_called_back_caller_whose_leg_meets_an_error_is_held_then_joined(
    twilio, runtime, acd, first_is_virtual, monkeypatch
) -> None:
    """The callback leg's TwiML failed (Redis restarting): the caller we called back hears the
    apology, a pause, and the same TwiML again (counted), instead of being hung up on; once it
    works they join their counsellor."""
    from acd import views as acd_views

    rid = offer_and_accept(twilio, runtime, acd)
    form = {"CallSid": CALLBACK_LEG, "Direction": "outbound-api"}

    with monkeypatch.context() as m:
        m.setattr(acd_views, "_caller_language", redis_down)
        held = twiml(twilio.post(f"/voice/callback/{rid}", form))
    assert held.verbs() == ["Say", "Pause", "Redirect"]
    assert held.find("Redirect").text == f"{PUBLIC}/voice/callback/{rid}?attempt=1"
    answer = twiml(twilio.post(f"/voice/callback/{rid}?attempt=1", form))
    assert answer.find("Dial/Conference").text == f"res-{rid}"
    record = runtime.redis.hgetall(runtime.keys.call(first_is_virtual))
    assert (record["outcome"], record["reason"]) == ("answered", "callback")


def test_an_unanswered_callback_frees_the_counsellor_and_is_tried_again_later(
    twilio, runtime, acd, first_is_virtual, twilio_http
) -> None:
    """no-answer: Amina's waiting leg is hung up, she is available; the caller keeps the front."""
    rid = offer_and_accept(twilio, runtime, acd)
    response = twilio.post(
        f"/voice/callback/{rid}/status", {"CallSid": CALLBACK_LEG, "CallStatus": "no-answer"}
    )
    assert response.status_code == 200 and response.get_data(as_text=True) == ""
    hangups = [r for r in twilio_http.requests if r.path.endswith(f"/Calls/{AMINA_LEG}.json")]
    assert hangups and hangups[-1].data["Status"] == "completed"
    amina = acd.get_counsellor("amina")
    assert amina.missed == 0
    assert acd.position(first_is_virtual) == 1
    assert runtime.redis.hget(runtime.keys.call(first_is_virtual), "outcome") is None
    # a late completed of the same leg changes nothing
    twilio.post(
        f"/voice/callback/{rid}/status", {"CallSid": CALLBACK_LEG, "CallStatus": "completed"}
    )
    assert runtime.redis.hget(runtime.keys.caller(first_is_virtual), "callback_tries") == "1"


def test_an_answering_machine_is_not_the_caller(twilio, runtime, acd, first_is_virtual) -> None:
    """AnsweredBy=machine_start: hang up, the attempt failed, the caller is tried again."""
    rid = offer_and_accept(twilio, runtime, acd)
    answer = twiml(
        twilio.post(
            f"/voice/callback/{rid}", {"CallSid": CALLBACK_LEG, "AnsweredBy": "machine_start"}
        )
    )
    assert answer.verbs() == ["Hangup"]
    assert runtime.redis.hget(runtime.keys.call(first_is_virtual), "outcome") is None
    # Amina, free again with no miss, is offered the next caller at once (the dispatch)
    amina = acd.get_counsellor("amina")
    assert amina.missed == 0 and amina.state is CounsellorState.RESERVED
    assert acd.get_reservation(amina.reservation_id).call_sid == sid(2)
