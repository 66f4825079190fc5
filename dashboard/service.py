"""What the dashboard reads from Redis, in as few round trips as it can, handed to the pure
modules (`figures`, `live`, `planner`, `exports`). Views, the SSE stream, the CLI and the jobs
all come through here; nothing here writes except `set_announcement`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from acd import routing, transfer
from acd.callback import Callbacks
from acd.model import CounsellorState, Reservation, ReservationStatus
from acd.store import Acd
from dashboard import eventlog, exports, figures, live, planner, roster
from dashboard.figures import Call, Event, Report
from helpline.clock import from_ms, to_ms
from helpline.runtime import Runtime
from ivr import hours_store
from ivr.hours import HoursException, is_open, open_at

#: A call's outcome and handle time come after its arrival: read this much past a period.
AFTER_PERIOD = timedelta(hours=6)
#: How far past a day the planner looks for a counsellor's first state change.
PRESENCE_SCAN_PAGES = 20
MAX_EXPORT_DAYS = 92


# -- the event stream ----------------------------------------------------------------------------


def events_between(runtime: Runtime, start: datetime, end: datetime) -> list[Event]:
    """Events with ``at`` in ``[start, end)``."""
    return list(eventlog.read_between(runtime.redis, runtime.keys.events, to_ms(start), to_ms(end)))


def calls_for_period(runtime: Runtime, start: datetime, end: datetime) -> dict[str, Call]:
    """The calls of a period, from its events and those that followed (outcomes, wrap-ups)."""
    now = runtime.clock.now()
    return figures.calls_from_events(
        events_between(runtime, start, min(now, end + AFTER_PERIOD) + timedelta(milliseconds=1))
    )


# -- the "Now" panel ------------------------------------------------------------------------------


def now_snapshot(runtime: Runtime) -> dict[str, Any]:
    """Waiting callers, counsellors, offers, alerts, announcement: the live panel's data."""
    acd = Acd(runtime)
    now = runtime.clock.now()
    waiting = acd.waiting_callers()
    counsellors = acd.list_counsellors()
    offers: dict[str, Reservation] = {}
    for row in waiting:
        rid = row.get("reservation_id")
        if row.get("state") == "offered" and rid:
            found = acd.get_reservation(str(rid))
            if found is not None and found.status is ReservationStatus.PENDING:
                offers[found.id] = found
    on_call = [c for c in counsellors if c.state is CounsellorState.ON_CALL and c.reservation_id]
    pipe = runtime.redis.pipeline(transaction=False)
    pipe.hgetall(runtime.keys.hours_exceptions)
    pipe.get(runtime.keys.announcement)
    pipe.ttl(runtime.keys.announcement)
    for c in on_call:  # who listens to which call (incall.supervise)
        pipe.hmget(runtime.keys.incall_supervision(str(c.reservation_id)), "login", "mode")
    raw_exceptions, text, ttl, *supervised = pipe.execute()
    supervision = {
        c.id: {"login": str(login), "mode": str(mode or "listen")}
        for c, (login, mode) in zip(on_call, supervised, strict=True)
        if login
    }
    exceptions = hours_store.parse_exceptions(cast(dict[str, str], raw_exceptions))
    status = is_open(now, hours_store.schedule(runtime.config), exceptions)
    announcement = None
    if text:
        announcement = live.Announcement(str(text), int(ttl) if int(ttl) >= 0 else None)
    return live.build_now(
        now,
        runtime.config.zone,
        waiting,
        counsellors,
        offers,
        status,
        announcement,
        runtime.config.dashboard.alert_wait_seconds,
        supervision=supervision,
        missed_callbacks=Callbacks(acd).missed(),
        transfers=transfer.waiting(acd),
    )


# -- today and the last hour --------------------------------------------------------------------


@dataclass(frozen=True)
class Windows:
    """The figures of today (since local midnight) and of the last hour."""

    today: Report
    last_hour: Report
    now: datetime


def windows(runtime: Runtime) -> Windows:
    """Today's and the last hour's figures (one read of today's events)."""
    now = runtime.clock.now()
    zone = runtime.config.zone
    threshold = runtime.config.dashboard.service_level_seconds
    midnight, _ = figures.local_day_bounds(now, zone)
    hour_ago = now - timedelta(hours=1)
    start = min(midnight, hour_ago)
    calls = figures.calls_from_events(
        events_between(runtime, start, now + timedelta(milliseconds=1))
    )
    end = now + timedelta(milliseconds=1)
    return Windows(
        today=figures.report(calls, midnight, end, now, threshold, zone),
        last_hour=figures.report(calls, hour_ago, end, now, threshold, zone, hourly=False),
        now=now,
    )


# -- announcement ---------------------------------------------------------------------------------


def set_announcement(runtime: Runtime, text: str, seconds: int) -> str | None:
    """Play ``text`` to waiting callers for ``seconds``; the one it replaced (SET … GET)."""
    key = runtime.keys.announcement
    return cast(str | None, runtime.redis.set(key, text, ex=seconds, get=True))


def clear_announcement(runtime: Runtime) -> str | None:
    """Stop the announcement; the one it was (GETDEL)."""
    return cast(str | None, runtime.redis.getdel(runtime.keys.announcement))


# -- opening hours --------------------------------------------------------------------------------


def exceptions(runtime: Runtime) -> list[HoursException]:
    """The stored exceptions."""
    return hours_store.list_exceptions(runtime.redis, runtime.keys)


# -- the planner ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannerView:
    """Everything the planner page shows for one day."""

    day: date
    rows: list[planner.PlanRow]
    weeks_used: int
    history_days: list[date]
    patience: tuple[float, int] | None
    manual_slots: frozenset[str]
    target: float
    within_s: int
    shrinkage: float
    open_labels: frozenset[str]


def _initial_states(
    runtime: Runtime,
    day_events: list[Event],
    start: datetime,
    end: datetime,
    now: datetime,
) -> dict[str, str]:
    """Each counsellor's state at ``start`` for those without a state change in the day."""
    seen = {e.get("counsellor") for e in day_events if e.what in planner.STATE_EVENTS}
    initial: dict[str, str] = {}
    unresolved: set[str] = set()
    for c in Acd(runtime).list_counsellors():
        if c.id in seen:
            continue
        if c.state_since <= start:
            initial[c.id] = c.state.value
        else:
            unresolved.add(c.id)
    if unresolved and end < now:
        # Their first change after the day says, in its "from", what they were during it.
        key = runtime.keys.events
        cursor = eventlog.first_id_at_or_after(runtime.redis, key, to_ms(end))
        pages = 0
        while cursor and unresolved and pages < PRESENCE_SCAN_PAGES:
            page = cast(
                list[tuple[str, dict[str, str]]],
                runtime.redis.xrange(key, cursor, "+", count=eventlog.PAGE),
            )
            for _, fields in page:
                cid = fields.get("counsellor")
                if fields.get("what") in planner.STATE_EVENTS and cid in unresolved:
                    initial[cid] = fields.get("from") or CounsellorState.OFFLINE.value
                    unresolved.discard(cid)
            pages += 1
            cursor = "(" + page[-1][0] if len(page) == eventlog.PAGE else None
    for cid in unresolved:
        initial[cid] = CounsellorState.OFFLINE.value
    return initial


def planner_view(
    runtime: Runtime,
    day: date,
    target: float | None = None,
    within_s: int | None = None,
    shrinkage: float | None = None,
) -> PlannerView:
    """Forecast, need, rostered and logged in, per half-hour of ``day``."""
    cfg = runtime.config.dashboard
    zone = runtime.config.zone
    now = runtime.clock.now()
    target = cfg.service_level_target / 100 if target is None else target
    within_s = cfg.service_level_seconds if within_s is None else within_s
    shrinkage = cfg.shrinkage / 100 if shrinkage is None else shrinkage

    history_days = planner.same_weekdays_before(day, cfg.history_weeks)
    history_calls: list[Call] = []
    for past in history_days:
        lo, hi = planner.day_bounds(past, zone)
        if lo >= now:
            continue
        history_calls += calls_for_period(runtime, lo, hi).values()
    forecasts, weeks = planner.history_forecast(
        history_calls, history_days, zone, float(routing.DEFAULT_HANDLE_S)
    )
    history_aht = [f.aht for f in forecasts.values()]
    fallback_aht = (
        sum(history_aht) / len(history_aht) if history_aht else float(routing.DEFAULT_HANDLE_S)
    )
    typed = roster.forecast(runtime.redis, runtime.keys, day)
    for label, (calls, aht) in typed.items():
        base = forecasts.get(label)
        chosen_aht = float(aht) if aht > 0 else (base.aht if base else fallback_aht)
        forecasts[label] = planner.Forecast(calls, chosen_aht, "manual")
    patience = figures.estimate_patience(history_calls)

    day_slots = planner.slots(day, zone)
    start, end = planner.day_bounds(day, zone)
    shifts = roster.shifts(runtime.redis, runtime.keys, day)
    rostered = planner.coverage(
        (planner.shift_interval(day, s.start, s.end, zone) for s in shifts), day_slots
    )
    if start < now:
        day_events = [
            e
            for e in events_between(runtime, start, min(end, now))
            if e.what in planner.STATE_EVENTS
        ]
        initial = _initial_states(runtime, day_events, start, end, now)
        logged_in = planner.presence(day_events, initial, start, day_slots, now)
    else:
        logged_in = [None] * len(day_slots)

    schedule = hours_store.schedule(runtime.config)
    stored = exceptions(runtime)
    open_labels = frozenset(
        s.label for s in day_slots if open_at(s.start + planner.SLOT / 2, schedule, stored)
    )
    rows = planner.plan(
        day_slots,
        forecasts,
        target=target,
        within_s=within_s,
        shrinkage=shrinkage,
        patience_s=patience[0] if patience else None,
        rostered=rostered,
        logged_in=logged_in,
    )
    return PlannerView(
        day=day,
        rows=rows,
        weeks_used=weeks,
        history_days=history_days,
        patience=patience,
        manual_slots=frozenset(typed),
        target=target,
        within_s=within_s,
        shrinkage=shrinkage,
        open_labels=open_labels,
    )


# -- exports --------------------------------------------------------------------------------------


def export_days(first: date, last: date) -> list[date]:
    """The days from ``first`` to ``last`` included; raises ValueError for a bad range."""
    if last < first:
        raise ValueError("la date de fin précède la date de début")
    count = (last - first).days + 1
    if count > MAX_EXPORT_DAYS:
        raise ValueError(f"au plus {MAX_EXPORT_DAYS} jours par export")
    return [first + timedelta(days=i) for i in range(count)]


def calls_csv(runtime: Runtime, first: date, last: date) -> tuple[str, int]:
    """The calls that started from ``first`` to ``last`` (local days) as CSV; and their count."""
    days = export_days(first, last)
    zone = runtime.config.zone
    start = planner.day_bounds(days[0], zone)[0]
    end = planner.day_bounds(days[-1], zone)[1]
    lo, hi = to_ms(start), to_ms(end)
    calls = [
        c
        for c in calls_for_period(runtime, start, end).values()
        if lo <= (c.started_ms if c.started_ms is not None else (c.arrived_ms or -1)) < hi
    ]
    pipe = runtime.redis.pipeline(transaction=False)
    for c in calls:
        pipe.hmget(runtime.keys.call(c.call_sid), list(exports.RECORD_FIELDS))
    records = {
        c.call_sid: {
            name: value
            for name, value in zip(exports.RECORD_FIELDS, values, strict=True)
            if value is not None
        }
        for c, values in zip(calls, pipe.execute() if calls else [], strict=True)
    }
    rows = exports.call_rows(calls, records, zone, runtime.settings.secret_key)
    return exports.to_csv(exports.CALL_COLUMNS, rows), len(rows)


def daily_csv(runtime: Runtime, first: date, last: date) -> tuple[str, int]:
    """Per local day and platform (and ``all``), the day's figures as CSV; and the row count."""
    zone = runtime.config.zone
    now = runtime.clock.now()
    threshold = runtime.config.dashboard.service_level_seconds
    rows = []
    for day in export_days(first, last):
        start, end = planner.day_bounds(day, zone)
        if start >= now:
            break
        calls = calls_for_period(runtime, start, end)
        rep = figures.report(calls, start, end, now, threshold, zone, hourly=False)
        closed: dict[str, int] = {}
        lo, hi = to_ms(start), to_ms(end)
        for c in calls.values():
            if c.outcome == "closed" and c.started_ms is not None and lo <= c.started_ms < hi:
                closed[c.platform] = closed.get(c.platform, 0) + 1
        rows.append(exports.daily_row(day, "all", rep.total, threshold, rep.received, rep.closed))
        platforms = sorted(set(rep.by_platform) | set(rep.platforms_received))
        for platform in platforms:
            rows.append(
                exports.daily_row(
                    day,
                    platform,
                    rep.by_platform.get(platform, figures.Figures()),
                    threshold,
                    rep.platforms_received.get(platform, 0),
                    closed.get(platform, 0),
                )
            )
    return exports.to_csv(exports.DAILY_COLUMNS, rows), len(rows)


def local(ms: int | str, runtime: Runtime) -> datetime:
    """A stored ms instant in the helpline's zone."""
    return from_ms(ms).astimezone(runtime.config.zone)


def counsellor_profile(runtime: Runtime, counsellor_id: str) -> dict[str, Any]:
    """A counsellor's profile and state as the audit records it ({} when unknown)."""
    c = Acd(runtime).get_counsellor(counsellor_id)
    if c is None:
        return {}
    return {
        "name": c.name,
        "skills": ",".join(c.skills),
        "languages": ",".join(c.languages),
        "endpoint": c.endpoint,
        "state": c.state.value,
        "reason": c.reason or "",
    }


def unique(items: Iterable[str]) -> list[str]:
    """Items in order, each once."""
    return list(dict.fromkeys(items))
