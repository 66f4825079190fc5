"""The ACD store against a real Redis: every method, idempotency, the keep-their-place rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from acd.errors import (
    CounsellorBusy,
    CounsellorExists,
    InvalidCounsellor,
    InvalidTransition,
    UnknownCounsellor,
)
from acd.model import (
    AcceptResult,
    CounsellorState,
    EnqueueResult,
    GoneResult,
    OfferFailure,
    Outcome,
    ReservationStatus,
)
from acd.store import OFFER_GRACE_S, Acd
from helpline.clock import to_ms
from tests.acd.conftest import caller


def events(acd: Acd, what: str | None = None) -> list[dict[str, str]]:
    """Every event in the stream (optionally of one kind)."""
    rows = [fields for _, fields in acd.redis.xrange(acd.keys.events)]
    return [e for e in rows if what is None or e["what"] == what]


# -- enqueue ----------------------------------------------------------------------------------


def test_enqueue_answers_the_acd_position(acd, clock, make_counsellor) -> None:
    """Callers queue in order key order and learn their 1-based position."""
    make_counsellor("amina", state="break")
    now = clock.now()
    assert acd.enqueue(caller("CA1", now)) == EnqueueResult(queued=True, position=1)
    assert acd.enqueue(caller("CA2", now, priority=0)).position == 2
    # a 60 s head start beats someone who arrived less than 60 s earlier
    clock.advance(30)
    assert acd.enqueue(caller("CA3", clock.now(), priority=60)).position == 1
    assert [acd.position(s) for s in ("CA1", "CA2", "CA3")] == [2, 3, 1]
    assert acd.waiting_count() == 3
    assert acd.position("CA-unknown") is None
    (first, *_) = events(acd, "enqueued")
    assert first["call"] == "CA1" and first["platform"] == "instagram" and first["position"] == "1"


def test_enqueue_twice_answers_the_current_position_without_a_second_entry(
    acd, clock, make_counsellor
) -> None:
    """The same CallSid enqueued again is not queued twice."""
    make_counsellor("amina")
    acd.enqueue(caller("CA1", clock.now()))
    acd.enqueue(caller("CA2", clock.now()))
    assert acd.enqueue(caller("CA2", clock.now())) == EnqueueResult(queued=True, position=2)
    assert acd.waiting_count() == 2
    assert len(events(acd, "enqueued")) == 2


def test_nobody_logged_in_overflows_at_once(acd, clock, make_counsellor) -> None:
    """With every counsellor offline the caller is overflowed (no_counsellor), outcome recorded."""
    make_counsellor("amina", state="offline")
    result = acd.enqueue(caller("CA1", clock.now()))
    assert result == EnqueueResult(queued=False, reason="no_counsellor")
    record = acd.redis.hgetall(acd.keys.call("CA1"))
    assert record["outcome"] == "overflowed" and record["reason"] == "no_counsellor"
    assert record["platform"] == "instagram" and record["wait"] == "0"
    assert acd.redis.hget(acd.keys.stats_calls, "instagram:overflowed") == "1"
    assert acd.waiting_count() == 0
    # idempotent: the same answer, counted once
    assert acd.enqueue(caller("CA1", clock.now())) == result
    assert acd.redis.hget(acd.keys.stats_calls, "instagram:overflowed") == "1"


def test_counsellors_on_break_count_as_logged_in(acd, clock, make_counsellor) -> None:
    """A team all on break still queues callers (they are logged in)."""
    make_counsellor("amina", state="break")
    assert acd.enqueue(caller("CA1", clock.now())).queued


def test_queue_full_overflows(acd, runtime, clock, make_counsellor) -> None:
    """At max_waiting callers the next one overflows with queue_full."""
    make_counsellor("amina", state="break")
    limit = runtime.config.acd.max_waiting
    for i in range(limit):
        assert acd.enqueue(caller(f"CA{i}", clock.now())).queued
    result = acd.enqueue(caller("CA-late", clock.now()))
    assert result == EnqueueResult(queued=False, reason="queue_full")
    assert acd.redis.hget(acd.keys.call("CA-late"), "outcome") == "overflowed"
    assert acd.waiting_count() == limit


def test_enqueue_after_an_outcome_is_a_duplicate(acd, clock, make_counsellor) -> None:
    """A call that already has an outcome (e.g. closed) is not queued."""
    make_counsellor("amina")
    acd.record_outcome("CA1", Outcome.CLOSED)
    assert acd.enqueue(caller("CA1", clock.now())) == EnqueueResult(
        queued=False, reason="duplicate"
    )


def test_unknown_skill_and_language_fall_back_to_the_defaults(acd, clock, make_counsellor) -> None:
    """A caller is never stranded in a pool nobody serves."""
    make_counsellor("amina")
    acd.enqueue(caller("CA1", clock.now(), skill="astrology", language="tlh"))
    h = acd.redis.hgetall(acd.keys.caller("CA1"))
    assert h["pool"] == "psychologist:fr"
    assert acd.redis.zscore(acd.keys.queue("psychologist", "fr"), "CA1") is not None


# -- record_outcome ---------------------------------------------------------------------------


def test_record_outcome_first_writer_wins(acd, runtime, clock) -> None:
    """Each call gets exactly one outcome; later ones are refused and not counted."""
    acd.redis.hset(acd.keys.call("CA1"), mapping={"platform": "tiktok", "caller": "h:abc"})
    acd.redis.expire(acd.keys.call("CA1"), 100)
    assert acd.record_outcome("CA1", Outcome.ABANDONED, wait=42)
    clock.advance(5)
    assert not acd.record_outcome("CA1", Outcome.ANSWERED, wait=1)
    record = acd.redis.hgetall(acd.keys.call("CA1"))
    assert record["outcome"] == "abandoned" and record["wait"] == "42"
    assert record["outcome_at"] == str(int(clock.now().timestamp() * 1000) - 5000)
    assert acd.redis.ttl(acd.keys.call("CA1")) <= 100  # the voice flow's TTL is kept
    assert acd.redis.hgetall(acd.keys.stats_calls) == {"tiktok:abandoned": "1"}
    (event,) = events(acd, "outcome")
    assert event["call"] == "CA1" and event["outcome"] == "abandoned"
    assert event["platform"] == "tiktok" and event["wait"] == "42"


def test_record_outcome_for_an_unknown_call_uses_platform_unknown_and_a_ttl(acd, runtime) -> None:
    """No call record: still recorded, as platform unknown, with the privacy TTL."""
    assert acd.record_outcome("CA9", "error", reason="boom")
    record = acd.redis.hgetall(acd.keys.call("CA9"))
    assert record["platform"] == "unknown" and record["outcome"] == "error"
    assert record["reason"] == "boom"
    ttl = acd.redis.ttl(acd.keys.call("CA9"))
    assert 0 < ttl <= runtime.config.privacy.call_record_ttl
    assert acd.redis.hget(acd.keys.stats_calls, "unknown:error") == "1"


def test_record_outcome_refuses_to_overwrite_its_own_fields(acd) -> None:
    """outcome and outcome_at are the ACD's to write."""
    with pytest.raises(ValueError, match="outcome_at"):
        acd.record_outcome("CA1", Outcome.ERROR, outcome_at=1)
    with pytest.raises(ValueError):
        acd.record_outcome("CA1", "exploded")


def test_service_functions_delegate_to_the_store(runtime, clock, make_counsellor) -> None:
    """The voice flow's entry points work on the runtime."""
    from acd import service

    make_counsellor("amina", state="break")
    assert service.enqueue(runtime, caller("CA1", clock.now())).position == 1
    gone = service.caller_gone(runtime, "CA1")
    assert gone.was_waiting and gone.outcome_recorded
    assert not service.record_outcome(runtime, "CA1", Outcome.ANSWERED)
    assert runtime.redis.hget(runtime.keys.call("CA1"), "outcome") == "abandoned"


# -- counsellors ------------------------------------------------------------------------------


def test_add_counsellor_starts_offline_and_validates(acd, clock) -> None:
    """A new counsellor is offline; bad skills, languages, endpoints and ids are refused."""
    c = acd.add_counsellor("amina", "Amina", ["psychologist"], ["fr", "en"], "client:amina")
    assert c.state is CounsellorState.OFFLINE and c.state_since == clock.now()
    assert c.languages == ("fr", "en") and c.endpoint == "client:amina"
    assert acd.list_counsellors() == [c]
    with pytest.raises(CounsellorExists):
        acd.add_counsellor("amina", "Amina", ["psychologist"], ["fr"], "client:amina")
    for args in (
        ("x", "X", ["astrology"], ["fr"], "client:x"),
        ("x", "X", [], ["fr"], "client:x"),
        ("x", "X", ["lawyer"], ["de"], "client:x"),
        ("x", "X", ["lawyer"], ["fr"], "sip:x@example.org"),
        ("x", "X", ["lawyer"], ["fr"], "0612345678"),
        ("bad id", "X", ["lawyer"], ["fr"], "client:x"),
        ("x", " ", ["lawyer"], ["fr"], "client:x"),
    ):
        with pytest.raises(InvalidCounsellor):
            acd.add_counsellor(*args)
    assert [e["counsellor"] for e in events(acd, "counsellor_added")] == ["amina"]


def test_update_reindexes_an_available_counsellor_keeping_idle_since(
    acd, clock, make_counsellor
) -> None:
    """New skills take effect at once; the counsellor keeps their place among the idle."""
    make_counsellor("amina")
    since = acd.get_counsellor("amina").idle_since
    clock.advance(10)
    acd.update_counsellor("amina", skills=["lawyer"], languages=["fr", "en"])
    assert acd.redis.zscore(acd.keys.idle("psychologist", "fr"), "amina") is None
    assert acd.redis.zscore(acd.keys.idle("lawyer", "en"), "amina") == to_ms(since)
    assert acd.get_counsellor("amina").idle_since == since
    with pytest.raises(UnknownCounsellor):
        acd.update_counsellor("nobody", name="N")


def test_set_state_available_records_idle_since(acd, clock, make_counsellor) -> None:
    """Becoming available ranks the counsellor by now; repeating it changes nothing."""
    make_counsellor("amina", state="offline")
    c = acd.set_state("amina", "available")
    assert c.state is CounsellorState.AVAILABLE and c.idle_since == clock.now()
    assert acd.redis.zscore(acd.keys.idle("any"), "amina") == to_ms(clock.now())
    assert acd.logged_in() == {"amina": CounsellorState.AVAILABLE}
    clock.advance(30)
    assert acd.set_state("amina", "available").idle_since == clock.now() - timedelta(seconds=30)
    assert len(events(acd, "counsellor_state")) == 1


def test_break_has_a_reason_and_leaves_the_idle_pools(acd, make_counsellor) -> None:
    """break(reason): out of every idle zset; without a reason it is 'other'."""
    make_counsellor("amina")
    c = acd.set_state("amina", CounsellorState.BREAK, reason="training")
    assert (c.state, c.reason) == (CounsellorState.BREAK, "training")
    assert acd.redis.zcard(acd.keys.idle("any")) == 0
    assert acd.set_state("amina", "break").reason == "other"
    assert acd.set_state("amina", "offline").reason is None
    assert acd.logged_in() == {}
    (*_, last) = events(acd, "counsellor_state")
    assert last["state"] == "offline" and last["from"] == "break"


def test_only_manual_states_can_be_set_by_hand(acd, make_counsellor) -> None:
    """reserved, on-call and wrap-up belong to the ACD."""
    make_counsellor("amina")
    for state in ("reserved", "on-call", "wrap_up"):
        with pytest.raises(InvalidTransition):
            acd.set_state("amina", state)
    with pytest.raises(UnknownCounsellor):
        acd.set_state("nobody", "available")


def test_a_busy_counsellor_cannot_be_logged_out_or_removed(acd, clock, make_counsellor) -> None:
    """While reserved or on a call: InvalidTransition (CounsellorBusy) and no change."""
    make_counsellor("amina")
    acd.enqueue(caller("CA1", clock.now()))
    reservation = acd.reserve_next()
    with pytest.raises(InvalidTransition):
        acd.set_state("amina", "offline")
    with pytest.raises(CounsellorBusy):
        acd.remove_counsellor("amina")
    acd.accept(reservation.id)
    with pytest.raises(CounsellorBusy):
        acd.set_state("amina", "break", reason="lunch")
    assert acd.get_counsellor("amina").state is CounsellorState.ON_CALL


def test_force_releases_a_counsellor_stuck_on_a_call_or_an_offer(
    acd, clock, make_counsellor
) -> None:
    """A lost end-of-call leaves a counsellor on-call: force ends it, then sets the state."""
    r = offered(acd, clock, make_counsellor)
    c = acd.set_state("amina", "break", reason="stuck", force=True)
    assert (c.state, c.reason, c.missed) == (CounsellorState.BREAK, "stuck", 0)
    assert acd.get_reservation(r.id).reason == "canceled"
    assert acd.caller_state("CA1") == "waiting" and acd.position("CA1") == 1
    acd.set_state("amina", "available")
    r2 = acd.reserve_next()
    acd.accept(r2.id)
    clock.advance(600)
    c = acd.set_state("amina", "offline", force=True)
    assert c.state is CounsellorState.OFFLINE
    ended = acd.get_reservation(r2.id)
    assert (ended.status, ended.reason) == (ReservationStatus.ENDED, "released")
    assert acd.redis.llen(acd.keys.handle_times) == 0  # an unknown end is not a measure
    assert acd.redis.hget(acd.keys.call("CA1"), "outcome") == "answered"


def test_remove_counsellor(acd, make_counsellor) -> None:
    """Removing forgets the counsellor everywhere; unknown ids answer False."""
    make_counsellor("amina")
    assert acd.remove_counsellor("amina") is True
    assert acd.get_counsellor("amina") is None and acd.list_counsellors() == []
    assert acd.redis.zcard(acd.keys.idle("any")) == 0 and acd.logged_in() == {}
    assert acd.remove_counsellor("amina") is False


# -- reserve_next -----------------------------------------------------------------------------


def test_busy_counsellor_is_never_offered_a_call(acd, clock, make_counsellor) -> None:
    """Only available counsellors are offered callers; nobody free is None, not an error."""
    make_counsellor("amina", state="break")
    acd.enqueue(caller("CA1", clock.now()))
    assert acd.reserve_next() is None
    acd.set_state("amina", "available")
    assert acd.reserve_next().counsellor_id == "amina"
    acd.enqueue(caller("CA2", clock.now()))
    assert acd.reserve_next() is None  # amina is reserved


def test_reserve_offers_the_longest_idle_counsellor(acd, runtime, clock, make_counsellor) -> None:
    """The reservation holds caller and counsellor, expires after the offer timeout + grace."""
    make_counsellor("recent", state="offline")
    make_counsellor("long")
    clock.advance(30)
    acd.set_state("recent", "available")
    clock.advance(5)
    acd.enqueue(caller("CA1", clock.now() - timedelta(seconds=12), platform="tiktok"))
    r = acd.reserve_next()
    assert (r.call_sid, r.counsellor_id, r.status) == ("CA1", "long", ReservationStatus.PENDING)
    timeout = runtime.config.acd.offer_timeout + OFFER_GRACE_S
    assert r.expires_at == clock.now() + timedelta(seconds=timeout)
    assert (r.platform, r.caller_type, r.language, r.waited_s) == ("tiktok", "young", "fr", 12)
    assert r.endpoint == "client:long"
    c = acd.get_counsellor("long")
    assert c.state is CounsellorState.RESERVED and c.reservation_id == r.id
    assert acd.caller_state("CA1") == "offered" and acd.position("CA1") == 1
    (offered,) = events(acd, "offered")
    assert offered == {
        "what": "offered", "at": str(to_ms(clock.now())), "reservation": r.id, "call": "CA1",
        "counsellor": "long", "platform": "tiktok", "caller_type": "young", "language": "fr",
        "wait": "12",
    }  # fmt: skip


def test_a_resent_reserve_answers_the_reservation_it_made(acd, clock, make_counsellor) -> None:
    """A reserve script run again with the same pair (its answer lost with the connection, the
    client resends it) answers the reservation already made: none is left for nobody to dial."""
    make_counsellor("amina")
    make_counsellor("lea")
    acd.enqueue(caller("CA1", clock.now()))
    acd.enqueue(caller("CA2", clock.now() + timedelta(seconds=1)))
    r = acd.reserve_next()
    k = acd.keys
    resent = (r.call_sid, r.counsellor_id, r.id)
    keys = (k.caller(r.call_sid), k.counsellor(r.counsellor_id), k.reservation(r.id))
    answer = acd.scripts.reserve(to_ms(clock.now()), k.seq, (*resent, *keys))
    assert answer[:2] == ["ok", r.id]
    assert dict(zip(answer[2::2], answer[3::2], strict=True))["call_sid"] == r.call_sid
    assert len(events(acd, "offered")) == 1
    # CA2 is still there for the other counsellor, under a new reservation
    second = acd.reserve_next()
    assert (second.call_sid, second.id != r.id) == ("CA2", True)


def test_a_caller_nobody_free_can_take_does_not_block_the_next(acd, clock, make_counsellor) -> None:
    """The first caller needs a lawyer; the psychologist takes the second."""
    make_counsellor("amina")
    acd.enqueue(caller("CA1", clock.now(), skill="lawyer"))
    acd.enqueue(caller("CA2", clock.now() + timedelta(seconds=1)))
    assert acd.reserve_next().call_sid == "CA2"


def test_english_callers_wait_for_english_speakers_until_relaxed(
    acd, runtime, clock, make_counsellor
) -> None:
    """Language is routed like skill: required until skill_relax_after, then anyone."""
    make_counsellor("amina")  # French only
    acd.enqueue(caller("CA1", clock.now(), language="en"))
    assert acd.reserve_next() is None
    clock.advance(runtime.config.acd.skill_relax_after)
    r = acd.reserve_next()
    assert (r.call_sid, r.counsellor_id) == ("CA1", "amina")
    assert [e["call"] for e in events(acd, "relaxed")] == ["CA1"]


def test_relax_skills_moves_callers_to_the_any_pool(acd, runtime, clock, make_counsellor) -> None:
    """relax_skills does on its own what reserve_next does first."""
    make_counsellor("lea", skills=("lawyer",))
    acd.enqueue(caller("CA1", clock.now()))
    assert acd.relax_skills() == 0
    clock.advance(runtime.config.acd.skill_relax_after)
    assert acd.relax_skills() == 1
    assert acd.redis.zscore(acd.keys.queue("any"), "CA1") is not None
    assert acd.redis.zscore(acd.keys.queue("psychologist", "fr"), "CA1") is None
    assert acd.waiting_callers()[0]["relaxed"] is True


def test_priority_callers_are_offered_first(acd, clock, make_counsellor) -> None:
    """Order key = enqueued - priority: a young caller's 60 s head start counts."""
    make_counsellor("amina")
    acd.enqueue(caller("CA-parent", clock.now(), caller_type="parent", priority=0))
    clock.advance(40)
    acd.enqueue(caller("CA-young", clock.now(), priority=60))
    assert acd.reserve_next().call_sid == "CA-young"


# -- offers -----------------------------------------------------------------------------------


def offered(acd, clock, make_counsellor, sid="CA1", cid="amina"):
    make_counsellor(cid)
    acd.enqueue(caller(sid, clock.now()))
    return acd.reserve_next()


def test_offer_placed_is_remembered_on_open_offers_only(acd, clock, make_counsellor) -> None:
    """The counsellor leg's CallSid is stored; after the offer ends it is refused."""
    r = offered(acd, clock, make_counsellor)
    assert acd.offer_placed(r.id, "CL1") and acd.offer_placed(r.id, "CL1")
    assert acd.get_reservation(r.id).counsellor_call_sid == "CL1"
    assert len(events(acd, "offer_placed")) == 1
    acd.offer_failed(r.id, "busy")
    assert not acd.offer_placed(r.id, "CL2")
    assert not acd.offer_placed("404", "CL3")


def test_accept_bridges_and_records_answered(acd, clock, make_counsellor) -> None:
    """Accepted: caller leaves the queue answered with their wait, counsellor on the call."""
    r = offered(acd, clock, make_counsellor)
    clock.advance(7)
    assert acd.accept(r.id) is AcceptResult.ACCEPTED
    assert acd.waiting_count() == 0 and acd.position("CA1") is None
    assert acd.caller_state("CA1") == "answered"
    c = acd.get_counsellor("amina")
    assert c.state is CounsellorState.ON_CALL and c.calls_today == 1 and c.missed == 0
    record = acd.redis.hgetall(acd.keys.call("CA1"))
    assert record["outcome"] == "answered" and record["wait"] == "7"
    assert acd.get_reservation(r.id).accepted_at == clock.now()
    # a repeated accept (webhook retried) changes nothing
    assert acd.accept(r.id) is AcceptResult.ACCEPTED
    assert len(events(acd, "accepted")) == 1
    assert acd.redis.hget(acd.keys.stats_calls, "instagram:answered") == "1"


def test_accept_after_the_caller_left_says_so(acd, clock, make_counsellor) -> None:
    """The caller hung up while the counsellor's phone rang: caller_gone, counsellor freed."""
    r = offered(acd, clock, make_counsellor)
    acd.offer_placed(r.id, "CL1")
    gone = acd.caller_gone("CA1")
    assert gone == GoneResult(
        was_waiting=True, outcome_recorded=True, reservation_id=r.id, counsellor_call_sid="CL1"
    )
    assert acd.accept(r.id) is AcceptResult.CALLER_GONE
    assert acd.get_counsellor("amina").state is CounsellorState.AVAILABLE
    assert acd.redis.hget(acd.keys.call("CA1"), "outcome") == "abandoned"


def test_accept_of_an_unknown_or_failed_offer_is_stale(acd, clock, make_counsellor) -> None:
    """Too late or never existed: stale, nothing changes."""
    r = offered(acd, clock, make_counsellor)
    assert acd.accept("404") is AcceptResult.STALE
    acd.offer_failed(r.id, "declined")
    assert acd.accept(r.id) is AcceptResult.STALE
    assert acd.caller_state("CA1") == "waiting"


def test_declined_caller_keeps_their_place(acd, clock, make_counsellor) -> None:
    """After a failed offer the caller is back at the SAME order key, ahead of later callers."""
    r = offered(acd, clock, make_counsellor)
    order = acd.redis.zscore(acd.keys.order, "CA1")
    clock.advance(5)
    acd.enqueue(caller("CA2", clock.now()))
    make_counsellor("bob")
    clock.advance(5)
    assert acd.offer_failed(r.id, OfferFailure.DECLINED)
    assert acd.redis.zscore(acd.keys.order, "CA1") == order
    assert acd.redis.zscore(acd.keys.queue("psychologist", "fr"), "CA1") == order
    assert acd.position("CA1") == 1
    nxt = acd.reserve_next()
    assert (nxt.call_sid, nxt.counsellor_id) == ("CA1", "bob")  # next counsellor, same caller
    (failed,) = events(acd, "offer_failed")
    assert failed["reason"] == "declined" and failed["wait"] == "10" and failed["missed"] == "1"


def test_a_missed_offer_sets_the_counsellor_aside(acd, clock, make_counsellor) -> None:
    """max_misses = 1 (default): break('missed'), where duty managers see it."""
    r = offered(acd, clock, make_counsellor)
    acd.offer_failed(r.id, "no-answer")
    c = acd.get_counsellor("amina")
    assert (c.state, c.reason, c.missed) == (CounsellorState.BREAK, "missed", 1)
    assert acd.set_state("amina", "available").missed == 0  # back from the break


def test_below_max_misses_the_counsellor_goes_behind_the_other_idle(
    acd, runtime, clock, make_counsellor
) -> None:
    """With max_misses 2, one miss: available again, idle-since now, so the next one is tried."""
    runtime.config = replace(runtime.config, acd=replace(runtime.config.acd, max_misses=2))
    acd = Acd(runtime)
    r = offered(acd, clock, make_counsellor)
    clock.advance(1)
    make_counsellor("bob")
    clock.advance(1)
    acd.offer_failed(r.id, "busy")
    c = acd.get_counsellor("amina")
    assert (c.state, c.missed, c.idle_since) == (CounsellorState.AVAILABLE, 1, clock.now())
    assert acd.reserve_next().counsellor_id == "bob"
    r2 = acd.reserve_next()
    assert r2 is None  # CA1 is with bob; amina waits for the next caller
    acd.enqueue(caller("CA2", clock.now()))
    r3 = acd.reserve_next()
    assert acd.offer_placed(r3.id, "CAleg3")  # her phone rang this time
    acd.offer_failed(r3.id, "timeout")
    c = acd.get_counsellor("amina")
    assert (c.state, c.reason, c.missed) == (CounsellorState.BREAK, "missed", 2)


@pytest.mark.parametrize("reason", ["timeout", "not_placed"])
def test_an_offer_that_never_rang_is_not_a_miss(acd, clock, make_counsellor, reason) -> None:
    """Twilio's REST API out of reach (or the job lost with a worker): the offer is released or
    times out before any leg was placed. Not the counsellor's doing: no miss, her idle-since
    kept, and the caller keeps their place."""
    r = offered(acd, clock, make_counsellor)
    clock.advance(30)
    assert acd.offer_failed(r.id, reason)
    c = acd.get_counsellor("amina")
    assert (c.state, c.missed) == (CounsellorState.AVAILABLE, 0)
    assert c.idle_since < clock.now() - timedelta(seconds=29)
    assert acd.position("CA1") == 1


def test_a_canceled_offer_is_not_a_miss(acd, clock, make_counsellor) -> None:
    """canceled is not the counsellor's doing: no miss, idle-since kept."""
    r = offered(acd, clock, make_counsellor)
    since = to_ms(clock.now())
    clock.advance(3)
    acd.offer_failed(r.id, "canceled")
    c = acd.get_counsellor("amina")
    assert (c.state, c.missed, to_ms(c.idle_since)) == (CounsellorState.AVAILABLE, 0, since)


def test_late_or_repeated_failures_change_nothing(acd, clock, make_counsellor) -> None:
    """A failure after acceptance, or twice, is a no-op."""
    r = offered(acd, clock, make_counsellor)
    assert acd.offer_failed(r.id, "declined")
    assert not acd.offer_failed(r.id, "declined")
    r2 = acd.reserve_next()
    assert r2 is None  # amina on break('missed')
    acd.set_state("amina", "available")
    r2 = acd.reserve_next()
    acd.accept(r2.id)
    assert not acd.offer_failed(r2.id, "no-answer")
    assert acd.get_counsellor("amina").state is CounsellorState.ON_CALL
    assert not acd.offer_failed("404", "busy")
    with pytest.raises(ValueError):
        acd.offer_failed(r2.id, "bored")


def test_expired_offers_time_out_and_the_caller_keeps_their_place(
    acd, runtime, clock, make_counsellor
) -> None:
    """expire_offers fails offers past offer_timeout + grace with reason timeout."""
    r = offered(acd, clock, make_counsellor)
    clock.advance(runtime.config.acd.offer_timeout)
    assert acd.expire_offers() == []
    clock.advance(OFFER_GRACE_S)
    assert acd.expire_offers() == [r.id]
    assert acd.get_reservation(r.id).reason == "timeout"
    assert acd.caller_state("CA1") == "waiting" and acd.position("CA1") == 1
    assert acd.expire_offers() == []


def test_the_offer_clock_restarts_when_the_leg_is_placed_and_when_it_is_answered(
    acd, runtime, clock, make_counsellor
) -> None:
    """A slow worker or a long whisper never turns a counsellor who is there into a miss: the
    offer gets offer_timeout (+ grace) again when their phone rings and when they pick up."""
    timeout, grace = runtime.config.acd.offer_timeout, OFFER_GRACE_S
    r = offered(acd, clock, make_counsellor)
    clock.advance(timeout)  # the worker took this long to place the call
    assert acd.offer_placed(r.id, "CA" + "e" * 32)
    clock.advance(timeout)  # ringing: past the first expiry, within the restarted one
    assert acd.expire_offers() == []
    assert acd.offer_answered(r.id)  # picked up: the whisper starts
    clock.advance(timeout + grace - 1)
    assert acd.expire_offers() == []
    assert acd.accept(r.id) is AcceptResult.ACCEPTED
    assert acd.get_counsellor("amina").missed == 0
    assert not acd.offer_answered(r.id)  # no longer pending: nothing to restart


def test_an_answered_offer_left_unanswered_still_expires(
    acd, runtime, clock, make_counsellor
) -> None:
    """The restarted clock is a clock: silence after picking up still ends the offer."""
    r = offered(acd, clock, make_counsellor)
    assert acd.offer_answered(r.id)
    clock.advance(runtime.config.acd.offer_timeout + OFFER_GRACE_S)
    assert acd.expire_offers() == [r.id]
    assert [e for _, e in acd.redis.xrange(acd.keys.events) if e["what"] == "offer_answered"]


# -- call end and wrap-up ---------------------------------------------------------------------


def test_call_end_starts_wrap_up_then_available(acd, runtime, clock, make_counsellor) -> None:
    """Wrap-up for acd.wrap_up seconds, then available on their own; handle time recorded."""
    r = offered(acd, clock, make_counsellor)
    acd.accept(r.id)
    clock.advance(300)
    assert acd.call_ended(r.id) and not acd.call_ended(r.id)
    c = acd.get_counsellor("amina")
    wrap = runtime.config.acd.wrap_up
    assert c.state is CounsellorState.WRAP_UP
    assert c.wrap_up_until == clock.now() + timedelta(seconds=wrap)
    assert acd.redis.lrange(acd.keys.handle_times, 0, -1) == [str(300 + wrap)]
    assert acd.get_reservation(r.id).status is ReservationStatus.ENDED
    clock.advance(wrap - 1)
    assert acd.end_wrapups() == []
    clock.advance(1)
    assert acd.end_wrapups() == ["amina"]
    c = acd.get_counsellor("amina")
    assert c.state is CounsellorState.AVAILABLE and c.idle_since == clock.now()
    assert acd.end_wrapups() == []
    (ended,) = events(acd, "call_ended")
    assert ended["talk"] == "300" and ended["reservation"] == r.id


def test_wrap_up_can_end_early(acd, clock, make_counsellor) -> None:
    """The counsellor ends wrap-up by becoming available; the sweep then does nothing."""
    r = offered(acd, clock, make_counsellor)
    acd.accept(r.id)
    acd.call_ended(r.id)
    assert acd.set_state("amina", "available").state is CounsellorState.AVAILABLE
    assert acd.redis.zcard(acd.keys.wrapups) == 0
    clock.advance(3600)
    assert acd.end_wrapups() == []


def test_call_ended_before_acceptance_does_nothing(acd, clock, make_counsellor) -> None:
    """Only an accepted offer can end as a call."""
    r = offered(acd, clock, make_counsellor)
    assert not acd.call_ended(r.id) and not acd.call_ended("404")
    assert acd.get_counsellor("amina").state is CounsellorState.RESERVED


# -- caller gone, overflow --------------------------------------------------------------------


def test_caller_gone_while_waiting_is_abandoned_with_the_wait(acd, clock, make_counsellor) -> None:
    """Hang-up in the queue: out of every structure, abandoned with the wait; idempotent."""
    make_counsellor("amina", state="break")
    acd.enqueue(caller("CA1", clock.now()))
    clock.advance(42)
    assert acd.caller_gone("CA1") == GoneResult(was_waiting=True, outcome_recorded=True)
    assert acd.waiting_count() == 0 and acd.position("CA1") is None
    assert acd.redis.zcard(acd.keys.relax) == 0
    assert acd.redis.hget(acd.keys.call("CA1"), "wait") == "42"
    assert acd.caller_gone("CA1") == GoneResult(was_waiting=False, outcome_recorded=False)
    (gone,) = events(acd, "caller_gone")
    assert gone["wait"] == "42"


def test_caller_gone_after_an_answer_keeps_answered(acd, clock, make_counsellor) -> None:
    """The end of an answered call is not an abandonment."""
    r = offered(acd, clock, make_counsellor)
    acd.accept(r.id)
    assert acd.caller_gone("CA1") == GoneResult(was_waiting=False, outcome_recorded=False)
    assert acd.redis.hget(acd.keys.call("CA1"), "outcome") == "answered"


def test_caller_gone_during_an_offer_gives_the_counsellor_their_place_back(
    acd, clock, make_counsellor
) -> None:
    """The counsellor did nothing wrong: available again with their old idle-since."""
    r = offered(acd, clock, make_counsellor)
    since = acd.redis.hget(acd.keys.counsellor("amina"), "idle_since")
    clock.advance(9)
    assert acd.caller_gone("CA1").reservation_id == r.id
    assert acd.redis.zscore(acd.keys.idle("any"), "amina") == float(since)
    assert acd.get_reservation(r.id).reason == "caller_gone"
    assert acd.redis.zcard(acd.keys.offers) == 0


def test_caller_gone_before_the_queue_records_abandoned(acd) -> None:
    """A hang-up during the menus (never queued) is still one outcome: abandoned."""
    assert acd.caller_gone("CA1") == GoneResult(was_waiting=False, outcome_recorded=True)
    assert acd.redis.hget(acd.keys.call("CA1"), "outcome") == "abandoned"


def test_waiting_past_max_wait_overflows(acd, runtime, clock, make_counsellor) -> None:
    """max_wait: marked to leave, outcome overflowed; a caller being offered is left alone."""
    make_counsellor("amina")
    acd.enqueue(caller("CA1", clock.now()))
    acd.enqueue(caller("CA2", clock.now(), skill="lawyer", language="en"))
    acd.reserve_next()  # CA1 is being offered to amina
    clock.advance(runtime.config.acd.max_wait - 1)
    assert acd.overflow_waited_too_long() == []
    clock.advance(1)
    assert acd.overflow_waited_too_long() == ["CA2"]
    assert acd.must_leave("CA2") and not acd.must_leave("CA1")
    record = acd.redis.hgetall(acd.keys.call("CA2"))
    assert record["outcome"] == "overflowed" and record["reason"] == "max_wait"
    assert record["wait"] == str(runtime.config.acd.max_wait)
    assert acd.overflow_waited_too_long() == []
    assert acd.caller_gone("CA2").outcome_recorded is False


# -- views ------------------------------------------------------------------------------------


def test_estimated_wait_from_handle_times_and_counsellors(acd, clock, make_counsellor) -> None:
    """None when nobody serves; else (position - free) * AHT / serving, rounded up."""
    make_counsellor("amina", state="break")
    acd.enqueue(caller("CA1", clock.now()))
    acd.enqueue(caller("CA2", clock.now()))
    assert acd.estimated_wait("CA1") is None  # on break: nobody taking calls
    make_counsellor("bob", state="offline")
    acd.set_state("bob", "available")
    r = acd.reserve_next()
    acd.accept(r.id)  # bob on CA1
    acd.redis.lpush(acd.keys.handle_times, 400, 200)
    assert acd.estimated_wait("CA2") == 300  # one ahead of nobody free, AHT 300, one serving
    assert acd.estimated_wait("CA1") is None  # not waiting any more


def test_estimated_wait_counts_callers_being_offered_as_about_to_be_served(
    acd, clock, make_counsellor
) -> None:
    """A caller behind two offers waits for one call to end, not three: reserved counsellors
    will take the callers they are being offered."""
    make_counsellor("amina")
    make_counsellor("bob")
    for sid in ("CA1", "CA2", "CA3"):
        acd.enqueue(caller(sid, clock.now()))
    assert acd.reserve_next() is not None and acd.reserve_next() is not None
    acd.redis.lpush(acd.keys.handle_times, 300, 300)
    assert acd.position("CA3") == 3
    assert acd.estimated_wait("CA3") == 150  # (3 - 2 reserved) * 300 s / 2 serving


def test_waiting_callers_lists_the_queue_in_order(acd, clock, make_counsellor) -> None:
    """Rows for views: position, platform, wait, state, no number."""
    make_counsellor("amina")
    acd.enqueue(caller("CA1", clock.now(), platform="tiktok"))
    clock.advance(5)
    acd.enqueue(caller("CA2", clock.now(), skill="lawyer"))
    acd.reserve_next()
    rows = acd.waiting_callers()
    assert [(r["call_sid"], r["position"], r["state"]) for r in rows] == [
        ("CA1", 1, "offered"),
        ("CA2", 2, "waiting"),
    ]
    assert rows[0]["waited_s"] == 5 and rows[0]["counsellor"] == "amina"
    assert rows[0]["platform"] == "tiktok"


def test_every_transition_of_a_call_is_an_event(acd, clock, make_counsellor) -> None:
    """enqueued → offered → offer_placed → accepted → outcome → call_ended, with states."""
    r = offered(acd, clock, make_counsellor)
    acd.offer_placed(r.id, "CL1")
    acd.accept(r.id)
    acd.call_ended(r.id)
    call_events = [e["what"] for e in events(acd) if e.get("call") == "CA1"]
    assert call_events == [
        "enqueued", "offered", "offer_placed", "accepted", "outcome", "call_ended",
    ]  # fmt: skip
    states = [e["state"] for e in events(acd, "counsellor_state")]
    assert states == ["available", "reserved", "on_call", "wrap_up"]
