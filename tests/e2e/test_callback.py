"""Virtual hold end to end: the simulator's callers press the callback key at the waitUrl,
hang up, and are called back on their number when their turn comes (real gunicorn, worker,
Redis and simulator)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from acd.callback import Callbacks
from acd.store import Acd
from dashboard import service
from helpline.demo import LocalProduct, start_local
from tests.e2e.conftest import SPEED, e2e_config, eventually

TIMEOUT = 90.0  # real seconds
KEY = "2"
MENUS = ["", "", ""]  # silence at the language, consent and caller-type menus


def callback_config() -> str:
    """The e2e line with virtual hold offered from any estimated wait, retried after 30 s."""
    text = e2e_config()
    for name, value in (("callback_offer_after", 1), ("callback_retry_after", 30)):
        text = re.sub(rf"^{name} = \d+", f"{name} = {value}", text, flags=re.M)
    return text


@pytest.fixture(scope="module")
def product(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProduct]:
    """The product against the simulator; counsellors talk until the caller hangs up."""
    local = start_local(
        Path(tmp_path_factory.mktemp("e2e-callback")),
        callback_config(),
        web_workers=2,
        speed=SPEED,
        seed=11,
        answer_delay=4.0,
        handle_time_mean=100_000.0,
        no_answer_probability=0.0,
        patience_mean=None,
        callback_answer_delay=4.0,
    )
    yield local
    local.stop()


def record(local: LocalProduct, sid: str) -> dict[str, str]:
    """The call record the application keeps."""
    return local.runtime.redis.hgetall(local.runtime.keys.call(sid))


def accepted_calls(local: LocalProduct) -> list[str]:
    """CallSids of the accepted events, in stream order."""
    rows = local.runtime.redis.xrange(local.runtime.keys.events)
    return [f["call"] for _id, f in rows if f.get("what") == "accepted"]


def amina_busy_then_caller_asks(local: LocalProduct, team, number: str, **options):
    """Amina talks with a first caller; a second one (from ``number``) asks for a callback at
    the waitUrl and their call ends. (first caller's handle, the asking caller's handle)."""
    team("amina")
    acd = Acd(local.runtime)
    first = local.sim.place_call(platform="phone", digits=[])
    eventually(lambda: acd.get_counsellor("amina").state.value == "on_call", TIMEOUT)
    asking = local.sim.place_call(platform="phone", from_=number, digits=[*MENUS, KEY], **options)
    result = asking.wait(TIMEOUT)
    spoken = " ".join(result.transcript)
    assert "appuyez sur 2" in spoken and "Nous vous rappellerons" in spoken
    assert Callbacks(acd).is_virtual(result.sid)
    assert record(local, result.sid).get("outcome") is None  # not an abandon
    return first, asking


def test_virtual_hold_keeps_the_place_and_calls_back(local, team) -> None:
    """The caller who asked is called back before a later caller, into the counsellor's call."""
    number = "+33611000001"
    first, asking = amina_busy_then_caller_asks(local, team, number)
    later = local.sim.place_call(platform="phone", digits=[])  # silent at the offer
    acd = Acd(local.runtime)
    eventually(lambda: acd.position(later.leg.sid) == 2, TIMEOUT)
    assert acd.position(asking.leg.sid) == 1
    first.hangup()
    eventually(lambda: record(local, asking.leg.sid).get("outcome") == "answered", TIMEOUT)
    assert record(local, asking.leg.sid)["reason"] == "callback"
    assert accepted_calls(local) == [first.leg.sid, asking.leg.sid]
    assert acd.position(later.leg.sid) == 1  # still waiting behind the callback
    (callback,) = asking.callbacks
    assert callback.answered_at is not None
    eventually(lambda: callback.connected_at is not None, TIMEOUT)
    heard = " ".join(callback.transcript)
    assert "nous vous rappelons comme vous l'avez demandé" in heard
    redis = local.runtime.redis
    assert redis.exists(local.runtime.keys.callback_number(asking.leg.sid)) == 0
    local.sim.hangup_leg(callback.sid)
    later.hangup()


def test_an_unanswered_callback_is_tried_again_and_answered(local, team) -> None:
    """First callback not picked up: Amina is freed, the caller is called again 30 s later."""
    number = "+33611000002"
    local.sim.config.callbacks[number] = {"answers": False}
    try:
        first, asking = amina_busy_then_caller_asks(local, team, number)
        first.hangup()
        eventually(lambda: len(asking.callbacks) == 1, TIMEOUT)
        eventually(asking.callbacks[0].done.is_set, TIMEOUT)
    finally:
        del local.sim.config.callbacks[number]
    acd = Acd(local.runtime)
    eventually(lambda: acd.get_counsellor("amina").state.value in ("available", "reserved"))
    assert acd.get_counsellor("amina").missed == 0
    assert record(local, asking.leg.sid).get("outcome") is None
    eventually(lambda: record(local, asking.leg.sid).get("outcome") == "answered", TIMEOUT)
    assert len(asking.callbacks) == 2
    local.sim.hangup_leg(asking.callbacks[1].sid)


def test_two_unanswered_callbacks_are_shown_to_duty_managers(local, team) -> None:
    """Second miss: abandoned (callback_missed), number deleted, on the managers' list."""
    number = "+33611000003"
    local.sim.config.callbacks[number] = {"answers": False}
    try:
        first, asking = amina_busy_then_caller_asks(local, team, number)
        first.hangup()
        eventually(lambda: record(local, asking.leg.sid).get("outcome") == "abandoned", 2 * TIMEOUT)
    finally:
        del local.sim.config.callbacks[number]
    assert record(local, asking.leg.sid)["reason"] == "callback_missed"
    assert len(asking.callbacks) == 2
    runtime = local.runtime
    assert runtime.redis.exists(runtime.keys.callback_number(asking.leg.sid)) == 0
    snapshot = service.now_snapshot(runtime)
    (missed,) = snapshot["missed_callbacks"]
    assert missed["call_sid"] == asking.leg.sid and missed["tries"] == 2
    assert number not in str(snapshot)
