"""The staffing planner: per half-hour of a day, the counsellors needed next to those rostered
and those who were actually logged in. Pure: events, shifts and forecasts come in as data.

- **Forecast** of a half-hour: calls offered and AHT. From the history, the mean over the last
  ``history_weeks`` same weekdays that have any call recorded (a week before the system ran
  does not count as a week without calls); the AHT of the half-hour when at least
  `MIN_AHT_SAMPLES` handled calls are known, else the mean of all those days, else
  `acd.routing.DEFAULT_HANDLE_S`. A forecast typed by a manager replaces the history's for
  its half-hours.
- **Need**: Erlang C for the target service level, and Erlang A when the callers' patience can
  be estimated from the history (`dashboard.figures.estimate_patience`); the counsellors on the
  phones and, with the shrinkage, the people to roster.
- **Rostered**: the shifts of the day, each counting for the share of the half-hour it covers.
- **Logged in**: from the counsellors' state changes, the mean number not offline over the
  half-hour (its elapsed part for the current one; nothing for the future).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dashboard.figures import Call, Event
from staffing.erlang import Staffing, plan_erlang_a, plan_erlang_c

SLOT = timedelta(minutes=30)
SLOT_S = 1800
MIN_AHT_SAMPLES = 3
#: Longest patience Erlang A is asked about (as ``helpline staffing --patience``).
MAX_PATIENCE_S = 86_400.0
#: Events that change whether a counsellor is logged in.
STATE_EVENTS = ("counsellor_state", "counsellor_removed")


@dataclass(frozen=True)
class Slot:
    """One half-hour: UTC bounds and its local label."""

    start: datetime
    end: datetime
    label: str  # local HH:MM

    def overlap(self, lo: datetime, hi: datetime) -> float:
        """Seconds of ``[lo, hi)`` inside the slot."""
        return max(0.0, (min(hi, self.end) - max(lo, self.start)).total_seconds())


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Local midnight of ``day`` and of the next day, in UTC."""
    start = datetime.combine(day, time(0, 0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=zone).astimezone(UTC)
    return start, end


def slots(day: date, zone: ZoneInfo) -> list[Slot]:
    """The half-hours of a local day (46 or 50 on the days the clocks change)."""
    start, end = day_bounds(day, zone)
    found = []
    cursor = start
    while cursor < end:
        label = cursor.astimezone(zone).strftime("%H:%M")
        found.append(Slot(cursor, cursor + SLOT, label))
        cursor += SLOT
    return found


@dataclass(frozen=True)
class Forecast:
    """Calls offered and AHT (seconds) expected in one half-hour, and where they come from."""

    calls: float
    aht: float
    source: str  # history | manual | none


def history_forecast(
    calls: Iterable[Call], days: Sequence[date], zone: ZoneInfo, default_aht: float
) -> tuple[dict[str, Forecast], int]:
    """Per local half-hour label, the mean over ``days`` that have data; and how many had."""
    per_day: dict[date, list[Call]] = {d: [] for d in days}
    active: set[date] = set()
    for c in calls:
        seen = c.arrived_ms if c.arrived_ms is not None else c.started_ms
        if seen is None:
            continue
        day = datetime.fromtimestamp(seen / 1000, UTC).astimezone(zone).date()
        if day not in per_day:
            continue
        active.add(day)
        if c.offered:
            per_day[day].append(c)
    counts: dict[str, int] = {}
    handle: dict[str, list[int]] = {}
    all_handles: list[int] = []
    for day in active:
        for c in per_day[day]:
            assert c.arrived_ms is not None
            local = datetime.fromtimestamp(c.arrived_ms / 1000, UTC).astimezone(zone)
            label = f"{local.hour:02d}:{0 if local.minute < 30 else 30:02d}"
            counts[label] = counts.get(label, 0) + 1
            if c.handle_s is not None:
                handle.setdefault(label, []).append(c.handle_s)
                all_handles.append(c.handle_s)
    weeks = len(active)
    if not weeks:
        return {}, 0
    overall = sum(all_handles) / len(all_handles) if all_handles else default_aht
    forecasts = {}
    for label, n in counts.items():
        samples = handle.get(label, [])
        aht = sum(samples) / len(samples) if len(samples) >= MIN_AHT_SAMPLES else overall
        forecasts[label] = Forecast(n / weeks, aht, "history")
    return forecasts, weeks


def same_weekdays_before(day: date, weeks: int) -> list[date]:
    """The ``weeks`` same weekdays before ``day``, most recent first."""
    return [day - timedelta(weeks=i) for i in range(1, weeks + 1)]


def coverage(
    intervals: Iterable[tuple[datetime, datetime]], day_slots: Sequence[Slot]
) -> list[float]:
    """Per slot, the mean number of ``intervals`` covering it (time-weighted)."""
    totals = [0.0] * len(day_slots)
    for lo, hi in intervals:
        for i, slot in enumerate(day_slots):
            totals[i] += slot.overlap(lo, hi) / SLOT_S
    return totals


def shift_interval(day: date, start: str, end: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """A shift's local ``HH:MM`` bounds as UTC instants (``24:00`` = the next midnight)."""

    def instant(text: str) -> datetime:
        hour, minute = (int(part) for part in text.split(":"))
        if (hour, minute) == (24, 0):
            return day_bounds(day, zone)[1]
        return datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(UTC)

    return instant(start), instant(end)


def presence(
    events: Iterable[Event],
    initial: Mapping[str, str],
    start: datetime,
    day_slots: Sequence[Slot],
    now: datetime,
) -> list[float | None]:
    """Per slot, the mean number of counsellors logged in (not offline); None for the future.

    ``initial``: each counsellor's state at ``start``; ``events``: counsellor state changes
    after it, in order (``counsellor_state``, ``counsellor_removed``)."""
    state = dict(initial)
    since = {cid: start for cid in state}
    intervals: list[tuple[datetime, datetime]] = []
    for e in events:
        cid = e.get("counsellor")
        if cid is None or e.what not in STATE_EVENTS:
            continue
        at = datetime.fromtimestamp(e.at / 1000, UTC)
        if at < start:
            continue
        new = e.get("state") if e.what == "counsellor_state" else "offline"
        old = state.get(cid, e.get("from") or "offline")
        if old != "offline":
            intervals.append((since.get(cid, start), at))
        state[cid], since[cid] = new or "offline", at
    for cid, current in state.items():
        if current != "offline":
            intervals.append((since.get(cid, start), now))
    result: list[float | None] = []
    for slot in day_slots:
        if slot.start >= now:
            result.append(None)
            continue
        elapsed = min(slot.end, now)
        seconds = (elapsed - slot.start).total_seconds()
        covered = sum(slot.overlap(lo, min(hi, elapsed)) for lo, hi in intervals)
        result.append(covered / seconds if seconds > 0 else 0.0)
    return result


@dataclass(frozen=True)
class PlanRow:
    """One half-hour of the plan."""

    slot: Slot
    forecast: Forecast
    erlang_c: Staffing | None
    erlang_a: Staffing | None
    rostered: float
    logged_in: float | None

    @property
    def needed(self) -> int:
        """People to roster: Erlang A's when patience is known, else Erlang C's."""
        chosen = self.erlang_a or self.erlang_c
        return chosen.rostered if chosen else 0

    @property
    def gap(self) -> float:
        """Rostered minus needed (negative: short of people)."""
        return self.rostered - self.needed


def plan(
    day_slots: Sequence[Slot],
    forecasts: Mapping[str, Forecast],
    *,
    target: float,
    within_s: float,
    shrinkage: float,
    patience_s: float | None,
    rostered: Sequence[float],
    logged_in: Sequence[float | None],
) -> list[PlanRow]:
    """Need, rostered and logged in for every slot."""
    rows = []
    patience = None if patience_s is None else min(max(patience_s, 1.0), MAX_PATIENCE_S)
    for i, slot in enumerate(day_slots):
        forecast = forecasts.get(slot.label, Forecast(0.0, 0.0, "none"))
        erlang_c = erlang_a = None
        if forecast.calls > 0 and forecast.aht > 0:
            erlang_c = plan_erlang_c(
                forecast.calls, SLOT_S, forecast.aht, target, within_s, shrinkage=shrinkage
            )
            if patience is not None:
                erlang_a = plan_erlang_a(
                    forecast.calls,
                    SLOT_S,
                    forecast.aht,
                    target,
                    within_s,
                    patience,
                    shrinkage=shrinkage,
                )
        rows.append(PlanRow(slot, forecast, erlang_c, erlang_a, rostered[i], logged_in[i]))
    return rows
