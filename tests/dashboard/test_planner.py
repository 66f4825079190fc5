"""The staffing planner: forecast from history, Erlang need, roster and presence."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from acd.model import CounsellorState
from acd.store import Acd
from dashboard import planner, roster, service
from dashboard.figures import Call, Event
from helpline.clock import FrozenClock, to_ms
from helpline.events import append_event
from helpline.runtime import Runtime
from staffing.erlang import plan_erlang_a, plan_erlang_c
from tests.console.conftest import Session

PARIS = ZoneInfo("Europe/Paris")
MONDAY = date(2026, 11, 23)


def at(day: date, hh: int, mm: int) -> int:
    """ms of a Paris wall-clock time."""
    return to_ms(datetime(day.year, day.month, day.day, hh, mm, tzinfo=PARIS))


def answered(sid: str, ms: int, handle: int | None = 600) -> Call:
    """An answered call that arrived at ``ms``."""
    call = Call(sid, "phone", enqueued_ms=ms, outcome="answered", outcome_ms=ms, wait_s=10)
    if handle is not None:
        call.talk_s, call.wrap_s = handle - 60, 60
    return call


def test_a_day_has_48_half_hours_except_when_clocks_change() -> None:
    """Labels are local; the autumn change repeats 02:00 and 02:30."""
    assert len(planner.slots(MONDAY, PARIS)) == 48
    autumn = planner.slots(date(2026, 10, 25), PARIS)
    assert len(autumn) == 50
    assert [s.label for s in autumn[4:8]] == ["02:00", "02:30", "02:00", "02:30"]
    assert len(planner.slots(date(2026, 3, 29), PARIS)) == 46


def test_history_is_the_mean_of_the_weeks_that_have_calls() -> None:
    """Two of four Mondays have calls (the system started in between): mean over those two."""
    days = planner.same_weekdays_before(MONDAY, 4)
    assert days == [date(2026, 11, 16), date(2026, 11, 9), date(2026, 11, 2), date(2026, 10, 26)]
    calls = [
        answered("A", at(days[0], 18, 5), 400),
        answered("B", at(days[0], 18, 20), 500),
        answered("C", at(days[0], 18, 40), 700),
        answered("D", at(days[1], 18, 10), 600),
        answered("E", at(MONDAY - timedelta(days=1), 18, 10)),  # a Sunday: not history
    ]
    forecasts, weeks = planner.history_forecast(calls, days, PARIS, 600.0)
    assert weeks == 2
    assert set(forecasts) == {"18:00", "18:30"}
    assert forecasts["18:00"].calls == pytest.approx(3 / 2)
    # Three handled calls at 18:00: their own mean; 18:30 has one: the mean of all four.
    assert forecasts["18:00"].aht == pytest.approx((400 + 500 + 600) / 3)
    assert forecasts["18:30"].aht == pytest.approx((400 + 500 + 700 + 600) / 4)


def test_roster_coverage_counts_the_share_of_each_half_hour() -> None:
    """A shift 09:00-10:15 covers 09:00 and 09:30 fully and half of 10:00."""
    day_slots = planner.slots(MONDAY, PARIS)
    shifts = [
        planner.shift_interval(MONDAY, "09:00", "10:15", PARIS),
        planner.shift_interval(MONDAY, "09:30", "24:00", PARIS),
    ]
    cover = dict(
        zip((s.label for s in day_slots), planner.coverage(shifts, day_slots), strict=True)
    )
    assert (cover["08:30"], cover["09:00"], cover["09:30"], cover["10:00"]) == (0, 1, 2, 1.5)
    assert cover["23:30"] == 1


def test_presence_is_time_weighted_and_stops_at_now() -> None:
    """Logged in 09:00-09:15 then 09:45 on; the future is unknown."""
    day_slots = planner.slots(MONDAY, PARIS)
    start, _ = planner.day_bounds(MONDAY, PARIS)

    def state(hh: int, mm: int, new: str, old: str) -> Event:
        ms = at(MONDAY, hh, mm)
        fields = {"counsellor": "c1", "state": new, "from": old}
        return Event("1-0", "counsellor_state", ms, fields)

    events = [
        state(9, 0, "available", "offline"),
        state(9, 15, "offline", "available"),
        state(9, 45, "break", "offline"),
    ]
    now = datetime(2026, 11, 23, 9, 10, tzinfo=UTC)  # 10:10 in Paris
    seen = dict(
        zip(
            (s.label for s in day_slots),
            planner.presence(events, {"c2": "available"}, start, day_slots, now),
            strict=True,
        )
    )
    # c2 was available all along; c1 adds half of 09:00 and half of 09:30, then 10:00 on.
    assert (seen["08:30"], seen["09:00"], seen["09:30"], seen["10:00"]) == (1, 1.5, 1.5, 2)
    assert seen["10:30"] is None


def test_need_uses_erlang_c_and_erlang_a_when_patience_is_known() -> None:
    """The plan's figures are staffing.erlang's for the slot's calls and AHT."""
    day_slots = planner.slots(MONDAY, PARIS)
    forecasts = {"18:00": planner.Forecast(20.0, 600.0, "history")}
    rows = planner.plan(
        day_slots,
        forecasts,
        target=0.8,
        within_s=60,
        shrinkage=0.3,
        patience_s=120.0,
        rostered=[0.0] * 48,
        logged_in=[None] * 48,
    )
    row = next(r for r in rows if r.slot.label == "18:00")
    assert row.erlang_c == plan_erlang_c(20, 1800, 600, 0.8, 60, shrinkage=0.3)
    assert row.erlang_a == plan_erlang_a(20, 1800, 600, 0.8, 60, 120.0, shrinkage=0.3)
    assert row.needed == row.erlang_a.rostered
    assert row.gap == -row.needed
    quiet = next(r for r in rows if r.slot.label == "03:00")
    assert (quiet.erlang_c, quiet.needed) == (None, 0)


def test_shift_validation() -> None:
    """HH:MM, end after start, 24:00 allowed as an end only."""
    assert roster.check_shift("09:00", "24:00") == ("09:00", "24:00")
    for bad in (("9:00", "12:00"), ("12:00", "12:00"), ("24:00", "24:00"), ("22:00", "02:00")):
        with pytest.raises(roster.RosterError):
            roster.check_shift(*bad)


def test_planner_page_compares_need_with_roster_and_presence(
    manager: Session, runtime: Runtime, acd: Acd, clock: FrozenClock
) -> None:
    """Last Monday's calls make today's forecast; the roster and the logged-in show beside.

    Events are written in time order, as real processes do (the stream is read by time)."""
    last_monday = datetime(2026, 11, 16, 17, 5, tzinfo=UTC)  # 18:05 in Paris
    for i in range(6):
        sid = f"CA{i:032d}"
        append_event(runtime.redis, runtime.keys, "enqueued", last_monday, call=sid)
        append_event(
            runtime.redis,
            runtime.keys,
            "outcome",
            last_monday,
            call=sid,
            outcome="answered",
            wait=5,
        )
    clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    acd.add_counsellor("bruno", "Bruno", ["psychologist"], ["fr"], "client:bruno")
    acd.set_state("bruno", CounsellorState.AVAILABLE)
    clock.set(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    response = manager.client.post(
        "/dashboard/roster",
        data={
            "day": "2026-11-23",
            "counsellor": "bruno",
            "start": "18:00",
            "end": "20:00",
            "csrf_token": manager.csrf,
        },
    )
    assert response.status_code == 302
    assert [s.start for s in roster.shifts(runtime.redis, runtime.keys, MONDAY)] == ["18:00"]
    view = service.planner_view(runtime, MONDAY)
    row = next(r for r in view.rows if r.slot.label == "18:00")
    assert (row.forecast.calls, row.forecast.source, view.weeks_used) == (6, "history", 1)
    assert row.erlang_c is not None and row.rostered == 1
    presence = {r.slot.label: r.logged_in for r in view.rows}
    assert (presence["09:30"], presence["10:00"], presence["13:00"]) == (0, 1, None)
    page = manager.client.get("/dashboard/planner?day=2026-11-23").get_data(as_text=True)
    assert "18:00" in page and "historique" in page and "<svg" in page


def test_a_typed_forecast_replaces_the_history(manager: Session, runtime: Runtime) -> None:
    """Half-hours typed by a manager use their numbers; clearing goes back to the history."""
    form = {
        "day": "2026-11-24",
        "calls-19:00": "12",
        "aht-19:00": "",
        "calls-19:30": "",
        "csrf_token": manager.csrf,
    }
    manager.client.post("/dashboard/planner/forecast", data=form)
    assert roster.forecast(runtime.redis, runtime.keys, date(2026, 11, 24)) == {"19:00": (12.0, 0)}
    view = service.planner_view(runtime, date(2026, 11, 24))
    row = next(r for r in view.rows if r.slot.label == "19:00")
    assert (row.forecast.calls, row.forecast.aht, row.forecast.source) == (12, 600, "manual")
    manager.client.post(
        "/dashboard/planner/forecast",
        data={"day": "2026-11-24", "clear": "1", "csrf_token": manager.csrf},
    )
    assert roster.forecast(runtime.redis, runtime.keys, date(2026, 11, 24)) == {}


def test_roster_page_adds_and_removes_shifts(manager: Session, runtime: Runtime, acd: Acd) -> None:
    """Shifts per day; a removal is audited; an unknown counsellor is refused."""
    acd.add_counsellor("bruno", "Bruno", ["psychologist"], ["fr"], "client:bruno")
    base = {"day": "2026-11-24", "csrf_token": manager.csrf}
    manager.client.post(
        "/dashboard/roster", data={**base, "counsellor": "bruno", "start": "09:00", "end": "13:00"}
    )
    manager.client.post(
        "/dashboard/roster", data={**base, "counsellor": "nobody", "start": "09:00", "end": "13:00"}
    )
    (shift,) = roster.shifts(runtime.redis, runtime.keys, date(2026, 11, 24))
    page = manager.client.get("/dashboard/roster?day=2026-11-24").get_data(as_text=True)
    assert "Bruno" in page and "4 heures" in page
    ttl = runtime.redis.ttl(runtime.keys.roster("2026-11-24"))
    assert ttl > 0  # expires after the day + retention (Redis time)
    manager.client.post(
        f"/dashboard/roster/2026-11-24/{shift.id}/remove", data={"csrf_token": manager.csrf}
    )
    assert roster.shifts(runtime.redis, runtime.keys, date(2026, 11, 24)) == []
