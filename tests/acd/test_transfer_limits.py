"""Warm transfer limits on the real Redis: never offered to the counsellor who asked; a caller
left alone (A hung up first) is offered to any colleague after ``skill_relax_after`` and hears
the alternatives after ``max_wait`` (acd/lua/transfer_step.lua "tick", reserve.lua)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from acd import jobs, transfer
from acd.model import OfferFailure
from acd.store import Acd
from helpline.clock import FrozenClock
from helpline.runtime import Runtime
from tests.acd.conftest import caller
from tests.twilio_fake import FakeTwilioHttp

CALLER = "CA" + "1" * 32
OTHER = "CA" + "2" * 32
AMINA_LEG = "CA" + "a" * 32


def events(runtime: Runtime, what: str) -> list[dict[str, str]]:
    return [f for _, f in runtime.redis.xrange(runtime.keys.events) if f["what"] == what]


def alone_waiting_for_a_lawyer(
    acd: Acd, clock: FrozenClock, make_counsellor: Callable[..., str], **amina: object
) -> str:
    """Amina takes CALLER, asks for a lawyer, and hangs up before anyone comes: the rid."""
    make_counsellor("amina", **amina)
    make_counsellor("lina", skills=("lawyer",), state="break")
    assert acd.enqueue(caller(CALLER, clock.now())).queued
    clock.advance(5)
    offer = acd.reserve_next()
    assert offer is not None and offer.counsellor_id == "amina"
    acd.offer_placed(offer.id, AMINA_LEG)
    assert acd.accept(offer.id).value == "accepted"
    transfer.start(acd, "amina", "lawyer")
    assert acd.reserve_next() is None  # no lawyer free
    step = transfer.owner_left(acd, offer.id)
    assert step is not None and step.result == "orphaned"
    return offer.id


def test_a_transfer_is_never_offered_to_the_counsellor_who_asked(
    acd: Acd, clock: FrozenClock, make_counsellor: Callable[..., str]
) -> None:
    """Amina (also a lawyer) is free again: the transfer waits for another lawyer, and Amina
    takes the next ordinary caller instead."""
    rid = alone_waiting_for_a_lawyer(acd, clock, make_counsellor, skills=("psychologist", "lawyer"))
    acd.set_state("amina", "available")
    assert acd.reserve_next() is None
    acd.enqueue(caller(OTHER, clock.now()))
    offer = acd.reserve_next()
    assert offer is not None and (offer.call_sid, offer.counsellor_id) == (OTHER, "amina")
    acd.offer_failed(offer.id, OfferFailure.CANCELED)
    acd.set_state("lina", "available")
    offer = acd.reserve_next()
    assert offer is not None and (offer.call_sid, offer.counsellor_id) == (f"xfer-{rid}", "lina")


def test_a_caller_left_alone_goes_to_any_colleague_after_skill_relax_after(
    runtime: Runtime, acd: Acd, clock: FrozenClock, make_counsellor: Callable[..., str]
) -> None:
    """No lawyer free: after skill_relax_after alone, a psychologist may take the caller, but
    never Amina, even as the longest idle."""
    rid = alone_waiting_for_a_lawyer(acd, clock, make_counsellor)
    acd.set_state("amina", "available")
    clock.advance(1)
    make_counsellor("bruno")
    assert acd.reserve_next() is None
    clock.advance(acd.settings.skill_relax_after - 2)
    assert transfer.tick(acd) == []
    assert acd.reserve_next() is None
    clock.advance(1)
    assert [s.result for s in transfer.tick(acd)] == ["relaxed"]
    assert len(events(runtime, "transfer_relaxed")) == 1
    offer = acd.reserve_next()
    assert offer is not None and (offer.call_sid, offer.counsellor_id) == (f"xfer-{rid}", "bruno")
    # refused: back in the "any" queue, still never for Amina
    acd.offer_failed(offer.id, OfferFailure.DECLINED)
    assert acd.reserve_next() is None
    assert transfer.status(acd, "amina") == {"state": "none"}  # her call is over


def test_a_caller_left_alone_past_max_wait_hears_the_alternatives_and_keeps_one_outcome(
    runtime: Runtime,
    acd: Acd,
    clock: FrozenClock,
    make_counsellor: Callable[..., str],
    twilio_http: FakeTwilioHttp,
) -> None:
    """The sweep ends the transfer (reason max_wait, its own event) and sends the caller to
    the hold URL, which now plays the alternatives; the call stays ``answered``, once."""
    rid = alone_waiting_for_a_lawyer(acd, clock, make_counsellor)
    clock.advance(acd.settings.max_wait)
    done = jobs.sweep()
    assert done["transfers"] == 1
    [redirect] = [r for r in twilio_http.requests if r.data.get("Url")]
    assert redirect.path.endswith(f"/Calls/{CALLER}.json")
    assert redirect.data["Url"].endswith(f"/voice/transfer/{rid}/hold")
    assert transfer.entry_state(acd, rid) == "canceled"
    assert transfer.entry_reason(acd, rid) == "max_wait"
    [ended] = events(runtime, "transfer_canceled")
    assert ended["reason"] == "max_wait" and int(ended["waited"]) >= acd.settings.max_wait
    assert [e["outcome"] for e in events(runtime, "outcome")] == ["answered"]
    assert runtime.redis.hgetall(runtime.keys.stats_calls) == {"instagram:answered": "1"}
    assert runtime.redis.hlen(runtime.keys.transfers) == 0
    acd.set_state("lina", "available")
    assert acd.reserve_next() is None  # nothing left in any queue


def test_an_offer_in_progress_is_left_to_finish_before_the_overflow(
    acd: Acd, clock: FrozenClock, make_counsellor: Callable[..., str]
) -> None:
    """Lina's phone rings at max_wait: the transfer waits for her answer; refused, it ends."""
    rid = alone_waiting_for_a_lawyer(acd, clock, make_counsellor)
    acd.set_state("lina", "available")
    offer = acd.reserve_next()
    assert offer is not None and offer.call_sid == f"xfer-{rid}"
    clock.advance(acd.settings.max_wait)
    assert transfer.tick(acd) == []
    acd.offer_failed(offer.id, OfferFailure.DECLINED)
    assert [s.result for s in transfer.tick(acd)] == ["overflowed"]


@pytest.mark.parametrize("wait", ["relax", "max_wait"])
def test_a_transfer_with_its_counsellor_still_on_the_line_never_relaxes_or_ends(
    acd: Acd, clock: FrozenClock, make_counsellor: Callable[..., str], wait: str
) -> None:
    """Amina is with the caller: she decides (stay with me); the transfer keeps its skill."""
    make_counsellor("amina")
    make_counsellor("bruno", state="break")
    acd.enqueue(caller(CALLER, clock.now()))
    offer = acd.reserve_next()
    assert offer is not None
    acd.accept(offer.id)
    transfer.start(acd, "amina", "lawyer")
    acd.set_state("bruno", "available")
    s = acd.settings
    clock.advance(s.skill_relax_after if wait == "relax" else s.max_wait)
    assert transfer.tick(acd) == []
    assert acd.reserve_next() is None
    assert transfer.entry_state(acd, offer.id) == "waiting"
