"""Virtual hold when the worker dies: a callback whose ``place_callback`` job was lost is
rescued by the sweep (acd.jobs.sweep → Callbacks.rescue_stuck → callback_failed.lua)."""

from __future__ import annotations

import pytest

from acd import callback as cb
from acd import jobs
from acd.callback import Callbacks
from acd.model import CounsellorState, ReservationStatus
from acd.store import Acd
from helpline.clock import FrozenClock
from tests.acd.conftest import caller
from tests.twilio_fake import FakeTwilioHttp

NUMBER = "+33612345678"
AMINA_LEG = "CA" + "a" * 32
CALLBACK_LEG = "CA" + "b" * 32


@pytest.fixture
def calling(acd: Acd, clock: FrozenClock, make_counsellor) -> str:
    """CA1 asked for a callback; Amina accepted it (her leg is in the conference) and the
    worker died before the callback was placed: CA1 is ``calling``. The reservation id."""
    make_counsellor("amina", state="break")
    acd.enqueue(caller("CA1", clock.now()))
    clock.advance(10)
    acd.enqueue(caller("CA2", clock.now()))
    Callbacks(acd).request("CA1", NUMBER)
    acd.set_state("amina", "available")
    offer = acd.reserve_next()
    assert offer is not None and offer.call_sid == "CA1"
    acd.offer_placed(offer.id, AMINA_LEG)
    assert Callbacks(acd).accept(offer.id) == "calling"  # no place_callback job runs
    return offer.id


def rescue_after(acd: Acd) -> int:
    return cb.rescue_after_s(acd.settings)


def test_a_lost_callback_job_is_rescued_by_the_sweep(
    acd: Acd, clock: FrozenClock, calling: str, twilio_http: FakeTwilioHttp
) -> None:
    """Past the deadline: the attempt fails, Amina is free (no miss, leg hung up), CA1 first."""
    clock.advance(rescue_after(acd) + 1)
    done = jobs.sweep()
    assert done["callbacks_rescued"] == 1
    reservation = acd.get_reservation(calling)
    assert reservation is not None and reservation.status is ReservationStatus.ENDED
    assert acd.redis.hget(acd.keys.reservation(calling), "callback_reason") == "not_placed"
    hangups = [r for r in twilio_http.requests if r.path.endswith(f"/Calls/{AMINA_LEG}.json")]
    assert hangups and hangups[-1].data == {"Status": "completed"}
    amina = acd.get_counsellor("amina")
    assert amina.missed == 0 and amina.reservation_id != calling
    # The caller keeps the front of the queue and their number; the lost job cost no attempt.
    assert acd.caller_state("CA1") == "waiting" and acd.position("CA1") == 1
    assert Callbacks(acd).number("CA1") == NUMBER
    assert acd.redis.hget(acd.keys.caller("CA1"), "callback_tries") in (None, "0")
    assert acd.redis.hget(acd.keys.call("CA1"), "outcome") is None
    # Amina, free again, was given the next caller by the sweep's dispatch.
    assert acd.get_counsellor("amina").state is CounsellorState.RESERVED
    assert acd.get_reservation(amina.reservation_id or "").call_sid == "CA2"


def test_a_callback_is_not_rescued_before_its_deadline(
    acd: Acd, clock: FrozenClock, calling: str
) -> None:
    """Within offer timeout + ringing + grace the job may still be retrying: left alone."""
    clock.advance(rescue_after(acd) - 1)
    assert Callbacks(acd).rescue_stuck(rescue_after(acd)) == []
    assert acd.caller_state("CA1") == "calling"
    assert acd.get_counsellor("amina").state is CounsellorState.ON_CALL


def test_a_placed_callback_is_never_rescued(acd: Acd, clock: FrozenClock, calling: str) -> None:
    """Once its leg is recorded, the leg's status callback ends the attempt, not the sweep."""
    assert Callbacks(acd).placed(calling, CALLBACK_LEG)
    clock.advance(rescue_after(acd) * 3)
    assert Callbacks(acd).rescue_stuck(rescue_after(acd)) == []
    # and the script itself refuses a rescue of a placed attempt
    assert Callbacks(acd).failed(calling, "", "not_placed", rescue_after=1) == "noop"
    assert acd.caller_state("CA1") == "calling"


def test_a_counsellor_who_hung_up_during_a_lost_callback_leaves_no_caller_stuck(
    acd: Acd, clock: FrozenClock, calling: str
) -> None:
    """Amina left the conference; the caller, still ``calling``, is put back in front."""
    assert acd.call_ended(calling)
    assert acd.caller_state("CA1") == "calling"
    clock.advance(rescue_after(acd) + 1)
    assert Callbacks(acd).rescue_stuck(rescue_after(acd)) == [calling]
    assert acd.caller_state("CA1") == "waiting" and acd.position("CA1") == 1
    assert acd.get_counsellor("amina").state is CounsellorState.WRAP_UP
