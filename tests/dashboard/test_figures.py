"""The figures from hand-made events: exact counts, service level, ASA and AHT."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dashboard import figures
from dashboard.figures import calls_from_events, estimate_patience, report, summarise

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # 13:00 in Paris


def t(hh: int, mm: int, ss: int = 0) -> datetime:
    """An instant of the test day, UTC."""
    return datetime(2026, 11, 23, hh, mm, ss, tzinfo=UTC)


@pytest.fixture
def day(ev):
    """A morning of calls (see each comment), in stream order."""
    return [
        # CA1 instagram: waits 30 s, talks 600 s, 60 s of wrap-up → handle 660 s.
        ev("call_started", t(10, 0), call="CA1", platform="instagram", channel="app"),
        ev(
            "enqueued",
            t(10, 1),
            call="CA1",
            platform="instagram",
            caller_type="young",
            language="fr",
            skill="psychologist",
            priority=60,
            position=1,
        ),
        ev(
            "counsellor_state",
            t(10, 1, 25),
            counsellor="c1",
            state="reserved",
            **{"from": "available"},
        ),
        ev("offered", t(10, 1, 25), reservation="1", call="CA1", counsellor="c1", wait=25),
        ev(
            "counsellor_state",
            t(10, 1, 30),
            counsellor="c1",
            state="on_call",
            **{"from": "reserved"},
        ),
        ev("accepted", t(10, 1, 30), reservation="1", call="CA1", counsellor="c1", wait=30),
        ev("outcome", t(10, 1, 30), call="CA1", outcome="answered", platform="instagram", wait=30),
        # CA2 phone: waits 90 s; its counsellor has no wrap-up → handle = talk = 300 s.
        ev("enqueued", t(10, 5), call="CA2", platform="phone", caller_type="parent"),
        ev(
            "counsellor_state",
            t(10, 6, 30),
            counsellor="c2",
            state="on_call",
            **{"from": "reserved"},
        ),
        ev("accepted", t(10, 6, 30), reservation="2", call="CA2", counsellor="c2", wait=90),
        ev("outcome", t(10, 6, 30), call="CA2", outcome="answered", platform="phone", wait=90),
        ev(
            "counsellor_state",
            t(10, 11, 30),
            counsellor="c1",
            state="wrap_up",
            **{"from": "on_call"},
        ),
        ev(
            "call_ended",
            t(10, 11, 30),
            reservation="1",
            call="CA1",
            counsellor="c1",
            platform="instagram",
            talk=600,
        ),
        ev(
            "counsellor_state",
            t(10, 11, 30),
            counsellor="c2",
            state="available",
            **{"from": "on_call"},
        ),
        ev(
            "call_ended",
            t(10, 11, 30),
            reservation="2",
            call="CA2",
            counsellor="c2",
            platform="phone",
            talk=300,
        ),
        # The voice flow's own call_ended (no reservation) says nothing about talk time.
        ev(
            "call_ended",
            t(10, 11, 31),
            call="CA2",
            status="completed",
            platform="phone",
            duration=400,
        ),
        ev(
            "counsellor_state",
            t(10, 12, 30),
            counsellor="c1",
            state="available",
            **{"from": "wrap_up"},
        ),
        # CA3 instagram: hangs up after 45 s in the queue.
        ev("enqueued", t(10, 20), call="CA3", platform="instagram"),
        ev("caller_gone", t(10, 20, 45), call="CA3", platform="instagram", wait=45),
        ev(
            "outcome", t(10, 20, 45), call="CA3", outcome="abandoned", platform="instagram", wait=45
        ),
        # CA4 tiktok: overflowed on entry (nobody logged in): no enqueued event, wait 0.
        ev(
            "outcome",
            t(10, 30),
            call="CA4",
            outcome="overflowed",
            platform="tiktok",
            wait=0,
            reason="no_counsellor",
        ),
        # CA5 phone: hangs up during the menus: never reached the queue.
        ev("call_started", t(10, 40), call="CA5", platform="phone", channel="phone"),
        ev("outcome", t(10, 40, 20), call="CA5", outcome="abandoned", platform="phone"),
        # CA6 phone: the line was closed (07:00 in Paris).
        ev("call_started", t(6, 0), call="CA6", platform="phone", channel="phone"),
        ev("outcome", t(6, 0), call="CA6", outcome="closed", platform="phone"),
        # CA10 messenger: enqueued before this stream's start, overflowed after 1800 s: arrival
        # comes from the outcome (11:40 - 1800 s = 11:10).
        ev(
            "outcome",
            t(11, 40),
            call="CA10",
            outcome="overflowed",
            platform="messenger",
            wait=1800,
            reason="max_wait",
        ),
        # CA9 phone: answered after 20 s, still talking.
        ev("enqueued", t(11, 30), call="CA9", platform="phone"),
        ev("accepted", t(11, 30, 20), reservation="3", call="CA9", counsellor="c2", wait=20),
        ev("outcome", t(11, 30, 20), call="CA9", outcome="answered", platform="phone", wait=20),
        # CA7 and CA8 instagram: still waiting, for 90 s and 30 s.
        ev("enqueued", t(11, 58, 30), call="CA7", platform="instagram"),
        ev("enqueued", t(11, 59, 30), call="CA8", platform="instagram"),
    ]


def test_calls_fold_every_event_of_a_call(day) -> None:
    """Arrival, outcome, wait, talk and the wrap-up actually taken end up on the call."""
    calls = calls_from_events(day)
    ca1, ca2 = calls["CA1"], calls["CA2"]
    assert ca1.arrived_ms == figures.to_ms(t(10, 1))
    assert (ca1.outcome, ca1.wait_s, ca1.talk_s, ca1.wrap_s, ca1.handle_s) == (
        "answered",
        30,
        600,
        60,
        660,
    )
    assert ca1.caller_type == "young" and ca1.counsellor == "c1"
    assert (ca2.talk_s, ca2.wrap_s, ca2.handle_s) == (300, 0, 300)
    assert calls["CA9"].handle_s is None  # still talking
    assert calls["CA10"].arrived_ms == figures.to_ms(t(11, 10))
    assert calls["CA4"].arrived_ms == figures.to_ms(t(10, 30))
    assert not calls["CA5"].offered and not calls["CA6"].offered


def test_today_figures_are_exact(day) -> None:
    """Offered 8, answered 3, abandoned 1, overflowed 2, waiting 2; SL 2/7; ASA 46.7; AHT 480."""
    midnight = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
    rep = report(calls_from_events(day), midnight, NOW, NOW, 60, PARIS)
    f = rep.total
    assert (f.offered, f.answered, f.abandoned, f.overflowed, f.errors, f.waiting) == (
        8,
        3,
        1,
        2,
        0,
        2,
    )
    # Within 60 s: CA1 (30 s) and CA9 (20 s), not CA2 (90 s). Judged: the 6 calls with an
    # outcome and CA7, waiting for 90 s; CA8 (30 s so far) is not judged yet.
    assert (f.answered_within, f.sl_base) == (2, 7)
    assert f.service_level == pytest.approx(2 / 7)
    assert f.asa == pytest.approx((30 + 90 + 20) / 3)
    assert (f.handled, f.aht) == (2, 480)
    assert f.abandonment == pytest.approx(1 / 6)
    assert (rep.received, rep.closed, rep.before_queue) == (3, 1, 1)


def test_figures_per_platform(day) -> None:
    """Each platform gets its own counts and service level; the busiest comes first."""
    midnight = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
    rep = report(calls_from_events(day), midnight, NOW, NOW, 60, PARIS)
    assert list(rep.by_platform) == ["instagram", "phone", "messenger", "tiktok"]
    insta = rep.by_platform["instagram"]
    assert (insta.offered, insta.answered, insta.abandoned, insta.waiting) == (4, 1, 1, 2)
    assert insta.service_level == pytest.approx(1 / 3)
    phone = rep.by_platform["phone"]
    assert (phone.offered, phone.answered, phone.answered_within) == (2, 2, 1)
    assert phone.asa == pytest.approx(55)
    assert rep.by_platform["tiktok"].overflowed == 1
    assert rep.by_platform["messenger"].overflowed == 1


def test_figures_per_local_hour(day) -> None:
    """Calls count in the local hour they arrived in (Paris is UTC+1 in November)."""
    midnight = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
    rep = report(calls_from_events(day), midnight, NOW + timedelta(milliseconds=1), NOW, 60, PARIS)
    assert [h.hour for h, _ in rep.by_hour] == list(range(14))
    by_hour = {h.hour: f for h, f in rep.by_hour}
    eleven, noon = by_hour[11], by_hour[12]
    assert (eleven.offered, eleven.answered, eleven.abandoned, eleven.overflowed) == (4, 2, 1, 1)
    assert (noon.offered, noon.answered, noon.overflowed, noon.waiting) == (4, 1, 1, 2)
    assert sum(f.offered for f in by_hour.values()) == 8


def test_last_hour_counts_only_calls_that_arrived_in_it(day) -> None:
    """11:00-12:00 UTC: CA10 (arrived 11:10), CA9, CA7 and CA8."""
    rep = report(
        calls_from_events(day), NOW - timedelta(hours=1), NOW, NOW, 60, PARIS, hourly=False
    )
    assert (rep.total.offered, rep.total.answered, rep.total.overflowed) == (4, 1, 1)
    assert rep.by_hour == []


def test_the_threshold_is_a_parameter(day) -> None:
    """With 90 s, CA2 is within and CA7 (90 s waiting) is not judged yet."""
    f = summarise(calls_from_events(day).values(), figures.to_ms(NOW), 90)
    assert (f.answered_within, f.sl_base) == (3, 6)


def test_no_calls_means_no_rates() -> None:
    """Without calls, the rates are unknown rather than 0 %."""
    f = summarise([], figures.to_ms(NOW), 60)
    assert (f.service_level, f.asa, f.aht, f.abandonment) == (None, None, None, None)


def test_patience_is_waiting_time_over_abandons(day) -> None:
    """Exponential MLE with censoring: every offered caller's wait, divided by the abandons."""
    calls = calls_from_events(day).values()
    assert estimate_patience(calls) is None  # one abandon only
    total = 30 + 90 + 45 + 0 + 1800 + 20
    assert estimate_patience(calls, min_abandons=1) == (pytest.approx(total), 1)


def test_hours_follow_summer_time_changes() -> None:
    """The day the clocks go back in Paris has 25 local hours, each counted once."""
    start = datetime(2026, 10, 24, 22, 0, tzinfo=UTC)  # 25 October, 00:00 in Paris
    end = datetime(2026, 10, 25, 23, 0, tzinfo=UTC)  # 26 October, 00:00 in Paris
    hours = figures.hour_starts(start, end, PARIS)
    assert len(hours) == 25
    assert [h.hour for h in hours[:4]] == [0, 1, 2, 2]


def test_malformed_entries_are_skipped() -> None:
    """An entry without ``what`` or with a bad ``at`` is not an event."""
    assert figures.parse_event("1-0", {"at": "12"}) is None
    assert figures.parse_event("1-0", {"what": "enqueued", "at": "soon"}) is None
    assert figures.parse_event("1-0", {"what": "enqueued", "at": "12"}) is not None
