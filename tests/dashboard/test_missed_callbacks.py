"""Virtual hold on the duty managers' live panel: callers waiting for a callback, and the list
of missed callbacks (time, platform, caller type, CallSid; never a number)."""

from __future__ import annotations

from acd.callback import Callbacks
from acd.model import CounsellorState, WaitingCaller
from acd.store import Acd
from helpline.clock import FrozenClock
from tests.console.conftest import Session

NUMBER = "+33698765432"
FIRST, SECOND = "CA" + "1" * 32, "CA" + "2" * 32


def test_the_live_panel_shows_callbacks_waiting_and_missed(
    manager: Session, acd: Acd, clock: FrozenClock
) -> None:
    """A caller waiting for a callback is labelled so; a callback missed twice is listed."""
    acd.add_counsellor("bruno", "Bruno", ["psychologist"], ["fr"], "client:bruno")
    acd.set_state("bruno", CounsellorState.BREAK, "pause")
    for sid, platform in ((FIRST, "tiktok"), (SECOND, "instagram")):
        acd.enqueue(WaitingCaller(sid, platform, "parent", "fr", "psychologist", 0, clock.now()))
        clock.advance(5)
    callbacks = Callbacks(acd)
    callbacks.request(FIRST, NUMBER)
    callbacks.request(SECOND, NUMBER)
    data = manager.client.get("/dashboard/now.json").get_json()
    assert [w["status_label"] for w in data["waiting"]] == ["Rappel demandé", "Rappel demandé"]
    assert data["counts"]["callbacks_waiting"] == 2

    acd.set_state("bruno", CounsellorState.AVAILABLE)
    for _attempt in range(2):
        rid = acd.reserve_next().id
        assert callbacks.accept(rid) == "calling"
        callbacks.failed(rid, "", "no-answer")
        clock.advance(acd.settings.callback_retry_after)
    response = manager.client.get("/dashboard/now.json")
    data = response.get_json()
    assert data["counts"]["callbacks_missed"] == 1
    (missed,) = data["missed_callbacks"]
    assert missed["call_sid"] == FIRST
    assert (missed["platform_label"], missed["caller_type_label"], missed["tries"]) == (
        "TikTok", "Parent", 2,
    )  # fmt: skip
    assert NUMBER not in response.get_data(as_text=True)
    page = manager.client.get("/dashboard/").get_data(as_text=True)
    assert "Rappels manqués" in page and FIRST in page and NUMBER not in page


def test_a_callback_not_answered_shows_when_it_is_tried_again(
    manager: Session, acd: Acd, clock: FrozenClock
) -> None:
    """After a first miss the waiting row says when the next attempt comes."""
    acd.add_counsellor("bruno", "Bruno", ["psychologist"], ["fr"], "client:bruno")
    acd.set_state("bruno", CounsellorState.AVAILABLE)
    acd.enqueue(WaitingCaller(FIRST, "tiktok", "young", "fr", "psychologist", 0, clock.now()))
    callbacks = Callbacks(acd)
    callbacks.request(FIRST, NUMBER)
    rid = acd.reserve_next().id
    callbacks.accept(rid)
    data = manager.client.get("/dashboard/now.json").get_json()
    assert data["waiting"][0]["status_label"] == "Rappel en cours (Bruno)"
    callbacks.failed(rid, "", "busy")
    data = manager.client.get("/dashboard/now.json").get_json()
    assert data["waiting"][0]["status_label"].startswith("Rappel non abouti, nouvel essai à ")
