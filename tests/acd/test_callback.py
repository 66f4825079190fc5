"""Virtual hold on the real Redis: the callback keeps the place, seals the number, calls back,
retries once, and lists a missed callback for the duty managers."""

from __future__ import annotations

from dataclasses import replace

import pytest

from acd import callback as cb
from acd.callback import Callbacks
from acd.model import CounsellorState, OfferFailure, ReservationStatus
from acd.store import Acd
from helpline.settings import AcdSection, ConfigError, parse_config
from tests.acd.conftest import caller

NUMBER = "+33612345678"


def events(acd: Acd, what: str) -> list[dict[str, str]]:
    """Events of one kind, in stream order."""
    return [f for _, f in acd.redis.xrange(acd.keys.events) if f["what"] == what]


def everything_in_redis(redis) -> str:
    """Every key and value of the database, as one text (to look for a number in clear)."""
    out = []
    for key in redis.scan_iter(count=1000):
        kind = redis.type(key)
        if kind == "string":
            out.append(f"{key}={redis.get(key)}")
        elif kind == "hash":
            out.append(f"{key}={redis.hgetall(key)}")
        elif kind == "zset":
            out.append(f"{key}={redis.zrange(key, 0, -1)}")
        elif kind == "list":
            out.append(f"{key}={redis.lrange(key, 0, -1)}")
        elif kind == "stream":
            out.append(f"{key}={redis.xrange(key)}")
        else:
            out.append(f"{key}:{kind}")
    return "\n".join(out)


@pytest.fixture
def callbacks(acd: Acd) -> Callbacks:
    """The virtual-hold operations on the test ACD."""
    return Callbacks(acd)


def queue_three(acd, clock, make_counsellor) -> None:
    """Amina on break; CA1, CA2, CA3 waiting in that order."""
    make_counsellor("amina", state="break")
    for sid in ("CA1", "CA2", "CA3"):
        acd.enqueue(caller(sid, clock.now()))
        clock.advance(10)


def take_turn(acd: Acd) -> str:
    """Amina comes back, is offered the next caller and accepts; the reservation id."""
    acd.set_state("amina", "available")
    reservation = acd.reserve_next()
    assert reservation is not None
    return reservation.id


# -- the rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+33612345678", "+33612345678"),
        (" +33 6 12 34 56 78 ", "+33612345678"),
        ("anonymous", None),
        ("+266696687", None),  # ANONYMOUS on a keypad: Twilio's withheld caller id
        ("+7378742833", None),  # RESTRICTED
        ("client:instagram-3f2a", None),
        ("sip:+33612345678@carrier.invalid", None),
        ("0612345678", None),
        ("", None),
        (None, None),
        ("+33185083018", None),  # the helpline's own number
    ],
)
def test_only_plain_e164_numbers_can_be_called_back(raw, expected) -> None:
    """Withheld, in-app (client:), SIP and the line's own numbers are never offered a callback."""
    assert cb.callable_number(raw, ["+33185083018"]) == expected


def test_the_offer_needs_a_long_estimate_and_a_number() -> None:
    """Offered only when the estimate reaches callback_offer_after; 0 switches it off."""
    on = AcdSection(callback_offer_after=300)
    assert cb.offer_due(300, NUMBER, on)
    assert not cb.offer_due(299, NUMBER, on)
    assert not cb.offer_due(None, NUMBER, on)
    assert not cb.offer_due(900, None, on)
    assert not cb.offer_due(900, NUMBER, replace(on, callback_offer_after=0))


def test_a_sealed_number_opens_only_for_its_call_and_key() -> None:
    """AES-GCM with the CallSid as associated data: no other call or key can read it."""
    token = cb.seal("k" * 32, "CA1", NUMBER)
    assert NUMBER not in token and "612345678" not in token
    assert cb.unseal("k" * 32, "CA1", token) == NUMBER
    assert cb.unseal("k" * 32, "CA2", token) is None
    assert cb.unseal("x" * 32, "CA1", token) is None
    assert cb.unseal("k" * 32, "CA1", "not a token") is None
    assert cb.seal("k" * 32, "CA1", NUMBER) != token  # a fresh nonce every time


@pytest.mark.parametrize(
    ("acd", "message"),
    [
        ({"callback_key": "22"}, "callback_key"),
        ({"callback_key": "#"}, "callback_key"),
        ({"callback_attempts": 0}, "callback_attempts"),
        ({"callback_retry_after": 5}, "callback_retry_after"),
        ({"callback_ttl": 60}, "callback_ttl"),
    ],
)
def test_callback_settings_are_parsed_strictly(acd, message) -> None:
    """A wrong [acd] callback setting is refused with a message naming it."""
    with pytest.raises(ConfigError, match=message):
        parse_config({"acd": acd})


# -- asking ------------------------------------------------------------------------------------


def test_asking_for_a_callback_keeps_the_place_and_seals_the_number(
    acd, callbacks, clock, make_counsellor
) -> None:
    """The caller stays in every queue structure at the same order key; the number is sealed."""
    queue_three(acd, clock, make_counsellor)
    order_before = acd.redis.zscore(acd.keys.order, "CA2")
    assert callbacks.request("CA2", NUMBER) == "ok"
    assert callbacks.request("CA2", NUMBER) == "ok"  # a repeat changes nothing
    assert acd.position("CA2") == 2
    assert acd.redis.zscore(acd.keys.order, "CA2") == order_before
    assert acd.caller_state("CA2") == "waiting" and callbacks.is_virtual("CA2")
    assert callbacks.number("CA2") == NUMBER
    dump = everything_in_redis(acd.redis)
    assert NUMBER not in dump and "612345678" not in dump
    assert callbacks.waiting_count() == 1
    (asked,) = events(acd, "callback_requested")
    assert asked["call"] == "CA2" and asked["position"] == "2"


def test_the_end_of_a_virtual_callers_call_is_not_an_abandon(
    acd, callbacks, clock, make_counsellor
) -> None:
    """caller_gone after the request leaves the caller waiting, with no outcome."""
    queue_three(acd, clock, make_counsellor)
    callbacks.request("CA2", NUMBER)
    gone = acd.caller_gone("CA2")
    assert not gone.outcome_recorded and not gone.was_waiting
    assert acd.caller_state("CA2") == "waiting" and acd.position("CA2") == 2
    assert acd.redis.hget(acd.keys.call("CA2"), "outcome") is None


def test_a_caller_being_offered_or_gone_cannot_ask(acd, callbacks, clock, make_counsellor) -> None:
    """Only a waiting caller may ask; one being offered stays on the line."""
    queue_three(acd, clock, make_counsellor)
    acd.set_state("amina", "available")
    acd.reserve_next()
    assert callbacks.request("CA1", NUMBER) == "offered"
    assert callbacks.request("CA-unknown", NUMBER) == "not_waiting"
    assert acd.redis.exists(acd.keys.callback_number("CA1")) == 0


def test_max_wait_never_drops_a_virtual_caller_but_callback_ttl_does(
    acd, callbacks, clock, make_counsellor
) -> None:
    """Past max_wait the virtual caller stays; past callback_ttl they are a missed callback."""
    queue_three(acd, clock, make_counsellor)
    callbacks.request("CA1", NUMBER)
    clock.advance(acd.settings.max_wait + 1)
    assert "CA1" not in acd.overflow_waited_too_long()
    assert acd.caller_state("CA1") == "waiting"
    assert callbacks.expire_due() == []
    clock.advance(acd.settings.callback_ttl)
    assert callbacks.expire_due() == ["CA1"]
    record = acd.redis.hgetall(acd.keys.call("CA1"))
    assert (record["outcome"], record["reason"]) == ("abandoned", "callback_expired")
    assert acd.redis.exists(acd.keys.callback_number("CA1")) == 0
    (missed,) = callbacks.missed()
    assert (missed.call_sid, missed.reason) == ("CA1", "callback_expired")


# -- calling back -------------------------------------------------------------------------------


def test_the_turn_of_a_virtual_caller_offers_them_then_calls_back(
    acd, callbacks, clock, make_counsellor
) -> None:
    """Reserved like anyone at their place; accepted → calling; answered → outcome answered."""
    queue_three(acd, clock, make_counsellor)
    callbacks.request("CA1", NUMBER)
    rid = take_turn(acd)
    reservation = acd.get_reservation(rid)
    assert reservation.call_sid == "CA1" and reservation.callback
    assert callbacks.accept(rid) == "calling"
    assert callbacks.accept(rid) == "calling"
    assert acd.caller_state("CA1") == "calling"
    assert acd.get_counsellor("amina").state is CounsellorState.ON_CALL
    assert acd.redis.hget(acd.keys.call("CA1"), "outcome") is None
    assert acd.reserve_next() is None  # nobody else free; CA1 is not offered twice
    assert callbacks.placed(rid, "CA" + "b" * 32)
    clock.advance(20)
    assert callbacks.answered(rid, "CA" + "b" * 32) == "answered"
    assert callbacks.answered(rid, "CA" + "b" * 32) == "answered"
    record = acd.redis.hgetall(acd.keys.call("CA1"))
    assert (record["outcome"], record["reason"]) == ("answered", "callback")
    assert int(record["wait"]) >= 20
    assert acd.redis.exists(acd.keys.callback_number("CA1")) == 0
    assert acd.position("CA1") is None and callbacks.waiting_count() == 0
    assert acd.get_counsellor("amina").calls_today == 1
    assert acd.call_ended(rid)
    assert acd.get_counsellor("amina").state is CounsellorState.WRAP_UP


def test_an_unanswered_callback_frees_the_counsellor_and_retries_from_the_front(
    acd, callbacks, clock, make_counsellor
) -> None:
    """First miss: counsellor available with no miss; caller first again, not before the delay."""
    queue_three(acd, clock, make_counsellor)
    callbacks.request("CA1", NUMBER)
    rid = take_turn(acd)
    callbacks.accept(rid)
    callbacks.placed(rid, "CA" + "b" * 32)
    assert callbacks.failed(rid, "CA" + "b" * 32, "no-answer") == "retry"
    assert callbacks.failed(rid, "CA" + "b" * 32, "no-answer") == "noop"
    amina = acd.get_counsellor("amina")
    assert amina.state is CounsellorState.AVAILABLE and amina.missed == 0
    assert acd.get_reservation(rid).status is ReservationStatus.ENDED
    assert acd.position("CA1") == 1 and callbacks.number("CA1") == NUMBER
    # Amina gets CA2 meanwhile; CA1 is not offered before callback_retry_after
    second = acd.reserve_next()
    assert second.call_sid == "CA2"
    acd.offer_failed(second.id, OfferFailure.CANCELED)
    clock.advance(acd.settings.callback_retry_after - 1)
    assert acd.reserve_next().call_sid == "CA2"
    acd.offer_failed(acd.get_counsellor("amina").reservation_id, OfferFailure.CANCELED)
    clock.advance(1)
    again = acd.reserve_next()
    assert again.call_sid == "CA1" and again.callback


def test_two_unanswered_callbacks_are_a_missed_callback_listed_for_managers(
    acd, callbacks, clock, make_counsellor
) -> None:
    """Second miss: abandoned (callback_missed), number deleted at once, on the managers' list."""
    queue_three(acd, clock, make_counsellor)
    callbacks.request("CA1", NUMBER)
    rid = take_turn(acd)
    callbacks.accept(rid)
    callbacks.failed(rid, "", "busy")
    clock.advance(acd.settings.callback_retry_after)
    rid2 = acd.reserve_next().id
    callbacks.accept(rid2)
    assert callbacks.failed(rid2, "", "no-answer") == "missed"
    record = acd.redis.hgetall(acd.keys.call("CA1"))
    assert (record["outcome"], record["reason"]) == ("abandoned", "callback_missed")
    assert acd.redis.exists(acd.keys.callback_number("CA1")) == 0
    assert acd.position("CA1") is None and callbacks.waiting_count() == 0
    assert acd.get_counsellor("amina").state is CounsellorState.AVAILABLE
    (missed,) = callbacks.missed()
    assert (missed.call_sid, missed.platform, missed.caller_type, missed.tries) == (
        "CA1", "instagram", "young", 2,
    )  # fmt: skip
    (event,) = events(acd, "callback_missed")
    assert NUMBER not in str(event)
    assert acd.redis.hget(acd.keys.stats_calls, "instagram:abandoned") == "1"


def test_no_number_left_is_a_missed_callback_at_once(
    acd, callbacks, clock, make_counsellor
) -> None:
    """With the number gone, the first attempt is the last one."""
    queue_three(acd, clock, make_counsellor)
    callbacks.request("CA1", NUMBER)
    rid = take_turn(acd)
    callbacks.accept(rid)
    assert callbacks.failed(rid, "", "no_number", final=True) == "missed"


def test_a_counsellor_who_leaves_before_the_answer_costs_the_caller_no_attempt(
    acd, callbacks, clock, make_counsellor
) -> None:
    """Counsellor hung up while we dialled: no handle time; the caller is called again later."""
    queue_three(acd, clock, make_counsellor)
    callbacks.request("CA1", NUMBER)
    rid = take_turn(acd)
    callbacks.accept(rid)
    callbacks.placed(rid, "CA" + "b" * 32)
    assert acd.call_ended(rid)
    assert acd.redis.llen(acd.keys.handle_times) == 0
    assert callbacks.answered(rid, "CA" + "b" * 32) == "counsellor_gone"
    assert acd.caller_state("CA1") == "waiting" and acd.position("CA1") == 1
    assert acd.redis.hget(acd.keys.caller("CA1"), "callback_tries") == "0"
    assert acd.redis.zscore(acd.keys.callback_retry, "CA1") is not None


def test_a_stray_leg_changes_nothing(acd, callbacks, clock, make_counsellor) -> None:
    """News from a leg that is not this attempt's is ignored."""
    queue_three(acd, clock, make_counsellor)
    callbacks.request("CA1", NUMBER)
    rid = take_turn(acd)
    callbacks.accept(rid)
    assert callbacks.placed(rid, "CA" + "b" * 32)
    assert not callbacks.placed(rid, "CA" + "c" * 32)
    assert callbacks.answered(rid, "CA" + "c" * 32) == "stale"
    assert callbacks.failed(rid, "CA" + "c" * 32, "busy") == "noop"
    assert acd.caller_state("CA1") == "calling"
