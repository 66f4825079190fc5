"""The waitUrl: hold music, the ACD's position and an honest estimate, and never a failure."""

from __future__ import annotations

from dataclasses import replace

import pytest
import redis as redis_lib
from redis.backoff import NoBackoff
from redis.retry import Retry

from acd import jobs
from acd.views import estimate_prompt, position_prompt, wait_action, waited_words
from helpline.keys import Keys
from tests.acd_edges.conftest import QUEUE_SID


def test_waiturl_stores_the_queue_sid_and_announces_the_acd_position_not_twilios(
    runtime, caller, counsellor, wait
) -> None:
    """Twilio's QueuePosition is FIFO; the caller hears the ACD's (priority and ageing)."""
    counsellor("amina", state="break")
    first, second = caller(1, caller_type="parent"), caller(2, caller_type="parent")
    young = caller(3, caller_type="young", priority=60)  # a head start: served first
    assert first and second
    answer = wait(young, queue_time=0, position=3)
    assert runtime.redis.get(runtime.keys.twilio_queue_sid) == QUEUE_SID
    assert "Vous serez la prochaine personne" in answer.spoken()
    assert answer.verbs()[-1] == "Pause"
    answer = wait(second, queue_time=0, position=2)
    assert "2 personnes attendent avant vous" in answer.spoken()


def test_waiturl_estimates_the_wait_from_handle_times_and_counsellors_on_duty(
    runtime, caller, counsellor, wait
) -> None:
    """Two callers ahead, one counsellor serving, 4-minute calls: "about 10 minutes"."""
    counsellor("amina", state="available")
    counsellor("bruno", state="break")  # logged in, but not taking calls
    runtime.redis.lpush(runtime.keys.handle_times, 240, 240, 240)
    sids = [caller(n) for n in (1, 2, 3)]
    # position 3, one counsellor free: 2 ahead of what she can take now → 2 x 240 s / 1
    answer = wait(sids[2])
    assert "2 personnes attendent avant vous" in answer.spoken()
    assert "environ 10 minutes" in answer.spoken()
    assert "Merci de rester en ligne" in answer.spoken()


def test_waiturl_gives_no_estimate_when_nobody_is_taking_calls(caller, counsellor, wait) -> None:
    """Counsellors on break only: the position, and no promise of a wait."""
    counsellor("amina", state="break")
    answer = wait(caller(1))
    assert "prochaine personne" in answer.spoken()
    assert "attente est estimée" not in answer.spoken()


def test_waiturl_speaks_the_callers_language(caller, counsellor, wait) -> None:
    """An English-speaking caller hears English, with the English voice."""
    counsellor("amina", state="break")
    answer = wait(caller(1, language="en"))
    assert "You will be the next person" in answer.spoken()
    assert answer.find("Say").get("language") == "en-GB"


def test_waiturl_announces_once_per_period_and_holds_in_between(
    runtime, caller, counsellor, wait
) -> None:
    """Every announce_every seconds of QueueTime, whatever the number of requests between."""
    counsellor("amina", state="break")
    call = caller(1)
    every = runtime.config.acd.announce_every
    assert wait(call, queue_time=0).says()
    for t in (10, 20, every - 1):
        answer = wait(call, queue_time=t)
        assert answer.says() == []
        assert answer.verbs() == ["Pause"]
    assert wait(call, queue_time=every).says()
    assert wait(call, queue_time=every).says() == []  # the same slot asked twice


def test_waiturl_announces_nothing_while_the_caller_is_being_offered(
    runtime, caller, counsellor, wait
) -> None:
    """Being offered: connected in seconds or back in place; no position, no estimate."""
    counsellor("amina")
    call = caller(1)
    jobs.dispatch()
    answer = wait(call)
    assert answer.says() == []
    assert answer.verbs() == ["Pause"]


def test_waiturl_plays_the_hold_music_when_configured(runtime, caller, counsellor, wait) -> None:
    """A hold music URL replaces the pause."""
    music = "https://cdn.example.org/hold.mp3?a=1&b=2"
    runtime.config = replace(runtime.config, acd=replace(runtime.config.acd, hold_music_url=music))
    counsellor("amina", state="break")
    answer = wait(caller(1))
    assert answer.verbs()[-1] == "Play"
    assert answer.find("Play").text == music
    assert "&amp;b=2" in answer.body


def test_waiturl_plays_the_duty_managers_announcement_escaped(
    runtime, caller, counsellor, wait
) -> None:
    """The announcement comes first; & and < in it are escaped in the TwiML."""
    counsellor("amina", state="break")
    text = "Ce soir, <fermeture> à 22 h & réouverture demain."
    runtime.redis.set(runtime.keys.announcement, text)
    answer = wait(caller(1))
    assert answer.says()[0] == text
    assert "&lt;fermeture&gt;" in answer.body and "&amp; réouverture" in answer.body


def test_waiturl_never_fails_when_redis_is_unreachable(runtime, caller, counsellor, wait) -> None:
    """A failing waitUrl would drop the caller from Twilio's queue: a plain pause instead."""
    counsellor("amina", state="break")
    call = caller(1)
    runtime.redis = redis_lib.Redis(  # nothing listens on port 1; no retries: a quick test
        host="127.0.0.1",
        port=1,
        socket_connect_timeout=0.2,
        decode_responses=True,
        retry=Retry(NoBackoff(), 0),
    )
    answer = wait(call, queue_time=90)
    assert answer.verbs() == ["Pause"]
    assert int(answer.find("Pause").get("length")) > 0


def test_waiturl_never_fails_on_an_unexpected_error(monkeypatch, caller, counsellor, wait) -> None:
    """Any exception (a bug, a missing prompt) still answers a valid pause."""
    counsellor("amina", state="break")
    call = caller(1)

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("no prompt")

    monkeypatch.setattr("acd.views.prompt", broken)
    assert wait(call).verbs() == ["Pause"]


def test_waiturl_tells_a_caller_past_max_wait_to_leave(
    acd, clock, caller, counsellor, wait
) -> None:
    """The sweep overflows callers past max_wait (outcome overflowed); their waitUrl: <Leave/>."""
    counsellor("amina", state="break")
    call = caller(1)
    clock.advance(acd.settings.max_wait + 1)
    assert acd.overflow_waited_too_long() == [call]
    assert wait(call, queue_time=acd.settings.max_wait + 5).verbs() == ["Leave"]


def test_waiturl_holds_a_caller_unknown_to_the_acd_no_longer_than_max_wait(runtime, wait) -> None:
    """Nobody would ever take a caller the ACD does not know: they leave after max_wait."""
    unknown = "CA" + "f" * 32
    assert wait(unknown, queue_time=10).verbs() == ["Pause"]
    assert wait(unknown, queue_time=runtime.config.acd.max_wait + 1).verbs() == ["Leave"]


def test_waiturl_refuses_unsigned_requests(client) -> None:
    """Every Twilio route fails closed without a valid signature."""
    for path in (
        "/voice/queue/wait",
        "/voice/queue/result",
        "/voice/offer/1",
        "/voice/offer/1/answer",
        "/voice/offer/1/status",
        "/voice/bridge/1",
    ):
        assert client.post(path, data={"CallSid": "CA" + "0" * 32}).status_code == 403


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (None, None),
        (0, ("acd.estimate_minute", {})),
        (60, ("acd.estimate_minute", {})),
        (61, ("acd.estimate_minutes", {"minutes": 2})),
        (299, ("acd.estimate_minutes", {"minutes": 5})),
        (301, ("acd.estimate_minutes", {"minutes": 10})),
        (601, ("acd.estimate_minutes", {"minutes": 15})),
        (1200, ("acd.estimate_minutes", {"minutes": 20})),
        (1201, ("acd.estimate_long", {"minutes": 20})),
    ],
)
def test_estimates_are_rounded_up_and_capped(seconds, expected) -> None:
    """Never announce less than the ACD's estimate; beyond 20 minutes, say only that."""
    assert estimate_prompt(seconds) == expected


def test_positions_say_who_is_ahead() -> None:
    """1 → next; 2 → one person ahead; n → n-1 people ahead."""
    assert position_prompt(1) == ("acd.position_next", {})
    assert position_prompt(2) == ("acd.position_one_ahead", {})
    assert position_prompt(7) == ("acd.position_ahead", {"ahead": 6})


def test_waited_time_in_words() -> None:
    """Under a minute, one minute, whole minutes."""
    assert waited_words(59) == ("acd.waited_under_minute", {})
    assert waited_words(119) == ("acd.waited_minute", {})
    assert waited_words(300) == ("acd.waited_minutes", {"minutes": 5})


@pytest.mark.parametrize(
    ("state", "queue_time", "action"),
    [
        ("waiting", 10, "wait"),
        ("offered", 5000, "wait"),
        ("overflowed", 10, "leave"),
        ("answered", 10, "leave"),
        (None, 10, "wait"),
        (None, 1801, "leave"),
        ("abandoned", 10, "wait"),
    ],
)
def test_wait_action_table(state, queue_time, action) -> None:
    """Who leaves Twilio's queue from the waitUrl."""
    assert wait_action(state, queue_time, max_wait=1800) == action


def test_edge_key_names_are_pinned() -> None:
    """The keys the edges added to the schema carry the helpline's hash tag."""
    k = Keys("3018")
    assert k.twilio_queue_sid == "hl:{3018}:acd:twilio_queue_sid"
    assert k.dispatch_pending == "hl:{3018}:acd:dispatch_pending"
    assert k.announced("CA1") == "hl:{3018}:acd:announced:CA1"
    assert k.offer_seq("7") == "hl:{3018}:acd:offer_seq:7"
    assert k.call_check("7") == "hl:{3018}:acd:call_check:7"
