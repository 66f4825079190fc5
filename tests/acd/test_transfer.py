"""Warm transfer in the ACD core: the transfer entry's place, its offers, the hand-over, the
ways it stops; against the real Redis (acd/lua/transfer_*.lua)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from acd import transfer
from acd.model import OfferFailure
from acd.store import Acd
from helpline.clock import FrozenClock
from helpline.runtime import Runtime
from tests.acd.conftest import caller

CALLER = "CA" + "1" * 32
OTHER = "CA" + "2" * 32


def events(runtime: Runtime, what: str) -> list[dict[str, str]]:
    return [f for _, f in runtime.redis.xrange(runtime.keys.events) if f["what"] == what]


def on_call(acd: Acd, clock: FrozenClock, cid: str = "amina", sid: str = CALLER) -> str:
    """``cid`` takes caller ``sid``: the accepted reservation's id."""
    assert acd.enqueue(caller(sid, clock.now())).queued
    clock.advance(5)
    reservation = acd.reserve_next()
    assert reservation is not None and reservation.counsellor_id == cid
    acd.offer_placed(reservation.id, "CA" + "a" * 32)
    assert acd.accept(reservation.id).value == "accepted"
    return reservation.id


@pytest.fixture
def team(make_counsellor: Callable[..., str], clock: FrozenClock) -> None:
    """Amina (psychologist), then two lawyers: Lina idle longer than Louis."""
    make_counsellor("amina")
    clock.advance(1)
    make_counsellor("lina", skills=("lawyer",))
    clock.advance(1)
    make_counsellor("louis", skills=("lawyer",))
    clock.advance(1)


def test_transfer_is_offered_to_the_longest_idle_counsellor_of_the_skill(
    acd: Acd, clock: FrozenClock, team: None
) -> None:
    """The entry is reserved for the longest-idle lawyer, with the transfer's details."""
    rid = on_call(acd, clock)
    xid = transfer.start(acd, "amina", "lawyer")
    assert xid == f"xfer-{rid}"
    offer = acd.reserve_next()
    assert offer is not None and offer.counsellor_id == "lina" and offer.call_sid == xid
    assert transfer.transfer_of(acd, offer.id) == (rid, "lina")
    assert transfer.status(acd, "amina")["state"] == "offering"
    assert transfer.status(acd, "lina") == {
        "role": "colleague",
        "state": "offering",
        "skill": "lawyer",
        "from": "Amina",
    }


def test_transfer_goes_ahead_of_every_waiting_caller_of_that_skill(
    acd: Acd, clock: FrozenClock, team: None
) -> None:
    """A lawyer caller waiting for a long time with a head start still comes after it."""
    rid = on_call(acd, clock)
    assert acd.set_state("lina", "break", reason="lunch")
    assert acd.set_state("louis", "break", reason="lunch")
    acd.enqueue(caller(OTHER, clock.now(), skill="lawyer", priority=3600))
    clock.advance(60)
    transfer.start(acd, "amina", "lawyer")
    acd.set_state("louis", "available")
    offer = acd.reserve_next()
    assert offer is not None and offer.call_sid == f"xfer-{rid}"
    # It is not a call: no position, not counted among waiting callers.
    assert acd.waiting_count() == 1 and acd.position(OTHER) == 1


def test_accept_then_complete_hands_the_call_over(
    runtime: Runtime, acd: Acd, clock: FrozenClock, team: None
) -> None:
    """A goes to wrap-up with a handle time; the call belongs to B's reservation; the single
    outcome stays answered."""
    rid = on_call(acd, clock)
    transfer.start(acd, "amina", "lawyer")
    offer = acd.reserve_next()
    assert offer is not None
    acd.offer_placed(offer.id, "CA" + "b" * 32)
    clock.advance(10)
    joined = transfer.accept(acd, offer.id)
    assert joined.result == "joined" and joined.call_sid == CALLER
    assert joined.colleague_leg == "CA" + "b" * 32
    assert acd.get_counsellor("lina").state.value == "on_call"  # type: ignore[union-attr]
    assert acd.get_counsellor("amina").state.value == "on_call"  # type: ignore[union-attr]
    assert transfer.accept(acd, offer.id).result == "joined"  # a repeated key press
    clock.advance(30)
    done = transfer.complete(acd, "amina")
    assert done.result == "completed" and done.counsellor_leg == "CA" + "a" * 32
    amina = acd.get_counsellor("amina")
    assert amina is not None and amina.state.value == "wrap_up"
    assert acd.get_reservation(rid).reason == "transferred"  # type: ignore[union-attr]
    talk = 40  # accepted, then 10 s to B's answer and 30 s of briefing
    handle = [str(talk + runtime.config.acd.wrap_up)]
    assert runtime.redis.lrange(runtime.keys.handle_times, 0, -1) == handle
    assert runtime.redis.hget(runtime.keys.caller(CALLER), "rid") == offer.id
    assert transfer.caller_of(acd, offer.id) == CALLER
    [event] = events(runtime, "transfer")
    assert event["from"] == "amina" and event["to"] == "lina" and event["skill"] == "lawyer"
    assert [e["outcome"] for e in events(runtime, "outcome")] == ["answered"]
    # B's call then ends as any call does.
    assert acd.call_ended(offer.id)
    assert acd.get_counsellor("lina").state.value in ("wrap_up", "available")  # type: ignore[union-attr]


def test_a_refused_transfer_keeps_its_place_for_the_next_colleague(
    acd: Acd, clock: FrozenClock, team: None
) -> None:
    """Declined by Lina: Louis is offered it next, still ahead of the waiting callers."""
    rid = on_call(acd, clock)
    transfer.start(acd, "amina", "lawyer")
    first = acd.reserve_next()
    assert first is not None and first.counsellor_id == "lina"
    acd.enqueue(caller(OTHER, clock.now(), skill="lawyer", priority=3600))
    assert acd.offer_failed(first.id, OfferFailure.DECLINED)
    assert transfer.status(acd, "amina")["state"] == "waiting"
    second = acd.reserve_next()
    assert second is not None and second.call_sid == f"xfer-{rid}"
    assert second.counsellor_id == "louis"
    assert transfer.accept(acd, first.id).result == "stale"


def test_cancel_while_offered_frees_the_colleague_without_a_miss(
    acd: Acd, clock: FrozenClock, team: None
) -> None:
    """ "Stay with me": B's offer fails as canceled (no miss, idle-since kept)."""
    on_call(acd, clock)
    transfer.start(acd, "amina", "lawyer")
    offer = acd.reserve_next()
    assert offer is not None
    acd.offer_placed(offer.id, "CA" + "b" * 32)
    step = transfer.cancel(acd, "amina")
    assert step.result == "canceled" and step.colleague_leg == "CA" + "b" * 32
    lina = acd.get_counsellor("lina")
    assert lina is not None and lina.state.value == "available" and lina.missed == 0
    assert transfer.status(acd, "amina")["state"] == "canceled"
    assert acd.get_counsellor("amina").state.value == "on_call"  # type: ignore[union-attr]
    assert acd.reserve_next() is None  # the entry is out of the queue
    # A new transfer of the same call may start again.
    transfer.start(acd, "amina", "lawyer")


def test_nobody_free_waits_then_cancel_leaves_nothing_behind(
    runtime: Runtime, acd: Acd, clock: FrozenClock, make_counsellor: Callable[..., str]
) -> None:
    """With no lawyer logged in the entry waits; cancel removes it from the queue."""
    make_counsellor("amina")
    rid = on_call(acd, clock)
    transfer.start(acd, "amina", "lawyer")
    assert acd.reserve_next() is None
    assert transfer.status(acd, "amina")["state"] == "waiting"
    assert transfer.cancel(acd, "amina").result == "canceled"
    for key in runtime.redis.scan_iter(runtime.keys.prefix + "acd:queue:*"):
        assert f"xfer-{rid}" not in runtime.redis.zrange(key, 0, -1)


def test_second_transfer_while_one_runs_is_refused(
    acd: Acd, clock: FrozenClock, team: None
) -> None:
    """One transfer at a time per call; unknown skills and counsellors not on a call too."""
    on_call(acd, clock)
    transfer.start(acd, "amina", "lawyer")
    with pytest.raises(transfer.TransferRefused) as running:
        transfer.start(acd, "amina", "digital")
    assert running.value.kind == "running"
    with pytest.raises(transfer.TransferRefused) as unknown:
        transfer.start(acd, "amina", "astrologer")
    assert unknown.value.kind == "unknown_skill"
    with pytest.raises(transfer.TransferRefused) as idle:
        transfer.start(acd, "louis", "psychologist")
    assert idle.value.kind == "not_on_call"


def test_caller_hanging_up_cancels_the_transfer_and_the_offer(
    acd: Acd, clock: FrozenClock, team: None
) -> None:
    """The entry leaves the queue, B's offer is canceled; the outcome stays answered."""
    on_call(acd, clock)
    transfer.start(acd, "amina", "lawyer")
    offer = acd.reserve_next()
    assert offer is not None
    acd.offer_placed(offer.id, "CA" + "b" * 32)
    gone = acd.caller_gone(CALLER)
    assert gone.counsellor_call_sid == "CA" + "b" * 32 and gone.reservation_id == offer.id
    lina = acd.get_counsellor("lina")
    assert lina is not None and lina.state.value == "available"
    assert transfer.status(acd, "amina")["state"] == "canceled"


def test_owner_leaving_before_the_colleague_orphans_then_accept_completes(
    runtime: Runtime, acd: Acd, clock: FrozenClock, team: None
) -> None:
    """A hangs up first: A's call ends, the entry stays at the head, and B's accept hands
    the call over at once."""
    rid = on_call(acd, clock)
    transfer.start(acd, "amina", "lawyer")
    step = transfer.owner_left(acd, rid)
    assert step is not None and step.result == "orphaned" and step.call_sid == CALLER
    assert acd.get_counsellor("amina").state.value in ("wrap_up", "available")  # type: ignore[union-attr]
    offer = acd.reserve_next()
    assert offer is not None and offer.counsellor_id == "lina"
    assert transfer.accept(acd, offer.id).result == "completed"
    assert runtime.redis.hget(runtime.keys.caller(CALLER), "rid") == offer.id
    assert transfer.owner_left(acd, rid) is None  # repeated news: an ordinary (no-op) end


def test_owner_leaving_after_the_colleague_joined_completes(
    acd: Acd, clock: FrozenClock, team: None
) -> None:
    """A hangs up once B is on the line: that is the hand-over."""
    rid = on_call(acd, clock)
    transfer.start(acd, "amina", "lawyer")
    offer = acd.reserve_next()
    assert offer is not None
    transfer.accept(acd, offer.id)
    step = transfer.owner_left(acd, rid)
    assert step is not None and step.result == "completed"


def test_colleague_leaving_before_the_hand_over_gives_the_call_back(
    acd: Acd, clock: FrozenClock, team: None
) -> None:
    """B hangs up while joined: B released, A still on the call, the transfer canceled."""
    on_call(acd, clock)
    transfer.start(acd, "amina", "lawyer")
    offer = acd.reserve_next()
    assert offer is not None
    transfer.accept(acd, offer.id)
    step = transfer.colleague_left(acd, offer.id)
    assert step is not None and step.result == "canceled"
    assert acd.get_counsellor("amina").state.value == "on_call"  # type: ignore[union-attr]
    assert acd.get_counsellor("lina").state.value != "on_call"  # type: ignore[union-attr]
    assert transfer.status(acd, "amina")["reason"] == "colleague_left"
    assert not acd.call_ended(offer.id)  # already ended


def test_the_call_keeps_its_first_conference_transfer_after_transfer(
    acd: Acd, clock: FrozenClock, team: None, make_counsellor: Callable[..., str]
) -> None:
    """Psychologist → lawyer → digital: every offer names the first reservation's conference,
    where the caller is."""
    rid = on_call(acd, clock)
    transfer.start(acd, "amina", "lawyer")
    first = acd.reserve_next()
    assert first is not None and first.conference_rid == rid
    transfer.accept(acd, first.id)
    transfer.complete(acd, "amina")
    make_counsellor("dina", skills=("digital",))
    transfer.start(acd, "lina", "digital")
    second = acd.reserve_next()
    assert second is not None and second.counsellor_id == "dina"
    assert second.transfer_of == first.id and second.conference_rid == rid
    assert transfer.accept(acd, second.id).result == "joined"
    assert transfer.complete(acd, "lina").result == "completed"
