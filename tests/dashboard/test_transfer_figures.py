"""A warm-transferred call in the duty managers' figures and live view: one call whose handle
time is both counsellors' (talk and wrap-up), and transfers waiting for a colleague listed as
such. The events come from the real ACD scripts on the test Redis."""

from __future__ import annotations

from datetime import timedelta

from acd import transfer
from acd.model import CounsellorState, WaitingCaller
from acd.store import Acd
from dashboard import figures
from helpline.clock import FrozenClock
from helpline.runtime import Runtime
from tests.console.conftest import Session

CALLER = "CA" + "1" * 32


def stream_calls(runtime: Runtime) -> dict[str, figures.Call]:
    """The calls folded from every event of the stream."""
    parsed = (figures.parse_event(i, f) for i, f in runtime.redis.xrange(runtime.keys.events))
    return figures.calls_from_events(e for e in parsed if e is not None)


def amina_on_a_call(acd: Acd, clock: FrozenClock) -> str:
    """Amina (psychologist) answers CALLER after 30 s; Lina (lawyer) is on break. The rid."""
    acd.add_counsellor("amina", "Amina", ["psychologist"], ["fr"], "client:amina")
    acd.add_counsellor("lina", "Lina", ["lawyer"], ["fr"], "client:lina")
    acd.set_state("amina", CounsellorState.AVAILABLE)
    acd.set_state("lina", CounsellorState.BREAK, "pause")
    acd.enqueue(WaitingCaller(CALLER, "instagram", "young", "fr", "psychologist", 0, clock.now()))
    clock.advance(30)
    offer = acd.reserve_next()
    assert offer is not None
    assert acd.accept(offer.id).value == "accepted"
    return offer.id


def test_a_transferred_calls_handle_time_is_both_counsellors_counted_once(
    runtime: Runtime, acd: Acd, clock: FrozenClock
) -> None:
    """Amina 300 s + 60 s wrap-up, Lina 200 s + 60 s: one answered call of 620 s handle time,
    answered in 30 s; the transfer is not a second call."""
    wrap = acd.settings.wrap_up
    start = clock.now()
    amina_on_a_call(acd, clock)
    clock.advance(240)
    transfer.start(acd, "amina", "lawyer")
    acd.set_state("lina", CounsellorState.AVAILABLE)
    offer = acd.reserve_next()
    assert offer is not None and offer.counsellor_id == "lina"
    assert transfer.accept(acd, offer.id).result == "joined"
    clock.advance(60)
    assert transfer.complete(acd, "amina").result == "completed"  # Amina talked 300 s
    clock.advance(wrap)
    assert acd.end_wrapups() == ["amina"]
    assert stream_calls(runtime)[CALLER].handle_s is None  # Lina is still on the call
    clock.advance(200 - wrap)
    assert acd.call_ended(offer.id)  # Lina talked 60 + 200 s
    clock.advance(wrap)
    assert acd.end_wrapups() == ["lina"]

    calls = stream_calls(runtime)
    call = calls[CALLER]
    assert (call.talk_s, call.wrap_s, call.handle_s) == (560, 2 * wrap, 560 + 2 * wrap)
    assert not any(c.offered for sid, c in calls.items() if sid != CALLER)
    total = figures.report(
        calls, start, clock.now() + timedelta(seconds=1), clock.now(), 60, runtime.config.zone
    ).total
    assert (total.offered, total.answered, total.handled) == (1, 1, 1)
    assert (total.asa, total.aht, total.service_level) == (30, 560 + 2 * wrap, 1.0)


def test_waiting_transfers_are_listed_as_transfers_with_their_skill(
    manager: Session, runtime: Runtime, acd: Acd, clock: FrozenClock
) -> None:
    """A transfer waiting for a lawyer heads the waiting list, labelled, not counted as a
    caller, and identifies nobody; once Amina hangs up it says the caller waits alone."""
    rid = amina_on_a_call(acd, clock)
    transfer.start(acd, "amina", "lawyer")
    clock.advance(45)
    response = manager.client.get("/dashboard/now.json")
    data = response.get_json()
    [row] = data["waiting"]
    assert (row["position"], row["transfer"], row["skill_label"]) == ("Transfert", True, "Juriste")
    assert row["waited_s"] == 45 and row["status_label"].startswith("Transfert de Amina")
    assert (data["counts"]["waiting"], data["counts"]["transfers_waiting"]) == (0, 1)
    body = response.get_data(as_text=True)
    assert CALLER not in body and f"xfer-{rid}" not in body
    transfer.owner_left(acd, rid)
    [row] = manager.client.get("/dashboard/now.json").get_json()["waiting"]
    assert "attend seul" in row["status_label"]
    page = manager.client.get("/dashboard/").get_data(as_text=True)
    assert "Transfert de Amina" in page
