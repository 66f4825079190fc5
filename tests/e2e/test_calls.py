"""Calls end to end: the simulator phones the real web app and worker over HTTP."""

from __future__ import annotations

import time
from datetime import timedelta

from acd.store import Acd
from helpline.demo import merge_report
from ivr.hours import Kind
from ivr.hours_store import add_exception
from tests.e2e.conftest import eventually

TIMEOUT = 90.0  # real seconds; a call here lasts a few


def outcome(local, sid: str) -> str | None:
    """The outcome the application recorded for a call."""
    return local.runtime.redis.hget(local.runtime.keys.call(sid), "outcome")


def events(local, what: str) -> list[dict[str, str]]:
    """Events of one kind, in stream order."""
    rows = local.runtime.redis.xrange(local.runtime.keys.events)
    return [fields for _id, fields in rows if fields.get("what") == what]


def test_a_call_while_closed_hears_when_the_line_reopens_and_ends(local, team) -> None:
    """Closed: the caller hears the reopening time and the alternatives, then the call ends."""
    team("amina")
    now = local.runtime.clock.now()
    add_exception(
        local.runtime.redis, local.runtime.keys, Kind.CLOSED,
        now - timedelta(hours=1), now + timedelta(hours=3),
    )  # fmt: skip
    result = local.sim.place_call(platform="phone").wait(TIMEOUT)
    spoken = " ".join(result.transcript)
    assert result.connected_to is None and result.ended_by == "line"
    assert "119" in spoken and ("17" in spoken or "112" in spoken)
    assert "9 heures" in spoken or "heures" in spoken  # when the line reopens
    assert outcome(local, result.sid) == "closed"


def test_a_caller_goes_through_consent_to_a_counsellor(local, team) -> None:
    """Open: consent message, silence continues, queue, offer, press 1, conference, wrap-up."""
    team("amina")
    result = local.sim.place_call(platform="phone", digits=[]).wait(TIMEOUT)
    spoken = " ".join(result.transcript).lower()
    assert "anonyme" in spoken and "confidentiel" in spoken
    assert result.outcome == "answered" and result.connected_to == "amina"
    assert outcome(local, result.sid) == "answered"
    assert [e["call"] for e in events(local, "accepted")] == [result.sid]
    acd = Acd(local.runtime)
    eventually(lambda: acd.get_counsellor("amina").state.value == "wrap_up")


def test_an_in_app_call_carries_its_platform_into_the_report(local, team) -> None:
    """An Instagram in-app call (Voice SDK custom parameter) is counted under instagram."""
    team("amina")
    result = local.sim.place_call(platform="instagram", digits=[]).wait(TIMEOUT)
    assert result.outcome == "answered"
    record = local.runtime.redis.hgetall(local.runtime.keys.call(result.sid))
    assert record["platform"] == "instagram"
    report = merge_report(local.runtime, local.sim.report([]), [result.sid])
    assert report["by_platform"]["instagram"]["answered"] == 1
    assert report["no_outcome"] == 0


def test_a_caller_who_gives_up_waiting_is_abandoned_with_their_wait(local, team) -> None:
    """Nobody free (one counsellor on break): the caller hangs up after 40 s in the queue."""
    team("amina", "break", "pause")
    result = local.sim.place_call(platform="phone", digits=[], patience=40).wait(TIMEOUT)
    assert result.outcome == "abandoned"
    record = local.runtime.redis.hgetall(local.runtime.keys.call(result.sid))
    assert record["outcome"] == "abandoned"
    assert 30 <= float(record["wait"]) <= 80  # simulated seconds, HTTP time included


def test_a_counsellor_who_does_not_answer_is_set_aside_and_the_next_one_rings(local, team) -> None:
    """No answer: the caller keeps their place, the silent counsellor goes on break('missed'),
    the next one takes the call."""
    team("nobody")  # the simulator never answers client:nobody
    handle = local.sim.place_call(platform="phone", digits=[])
    acd = Acd(local.runtime)
    eventually(lambda: acd.get_counsellor("nobody").state.value == "break")
    assert acd.get_counsellor("nobody").reason == "missed"
    assert acd.position(handle.sid) == 1  # still first in line
    team("amina")
    from acd.jobs import request_dispatch

    request_dispatch(local.runtime)
    result = handle.wait(TIMEOUT)
    assert result.outcome == "answered" and result.connected_to == "amina"
    failed = events(local, "offer_failed")
    assert [(e["counsellor"], e["call"]) for e in failed] == [("nobody", result.sid)]


def test_the_queue_overflows_beyond_its_limit_with_the_alternatives(local, team) -> None:
    """At most 4 waiting: the fifth caller hears the alternatives and the call ends."""
    team("amina", "break", "pause")
    waiting = [local.sim.place_call(platform="phone", digits=[]) for _ in range(4)]
    acd = Acd(local.runtime)
    eventually(lambda: acd.waiting_count() == 4)
    fifth = local.sim.place_call(platform="phone", digits=[]).wait(TIMEOUT)
    assert fifth.connected_to is None and outcome(local, fifth.sid) == "overflowed"
    assert "119" in " ".join(fifth.transcript)
    for handle in waiting:
        handle.hangup()
    for handle in waiting:
        assert handle.wait(TIMEOUT).outcome == "abandoned"
        assert outcome(local, handle.sid) == "abandoned"


def test_a_burst_beyond_the_team_gives_everyone_one_outcome_in_order(local, team) -> None:
    """Four callers at once, two counsellors: all answered, offered in arrival order."""
    team("amina")
    team("bruno")
    handles = []
    for _ in range(4):
        handles.append(local.sim.place_call(platform="phone", digits=[]))
        time.sleep(0.3)  # distinct arrival times
    results = [h.wait(TIMEOUT * 2) for h in handles]
    assert [r.outcome for r in results] == ["answered"] * 4
    sids = [r.sid for r in results]
    assert [outcome(local, s) for s in sids] == ["answered"] * 4
    enqueued = [e["call"] for e in events(local, "enqueued")]
    offered = [e["call"] for e in events(local, "offered")]
    assert enqueued == sids and offered == sids  # first come, first offered
    outcomes = [e["call"] for e in events(local, "outcome") if e["call"] in sids]
    assert sorted(outcomes) == sorted(sids)  # exactly one outcome each
