"""Opening hours: a weekly schedule in the helpline's zone plus dated exceptions. Pure.

The weekly schedule is wall-clock time in the helpline's zone ("09:00-23:00" stays 09:00-23:00
across summer and winter time). Each range is turned into a pair of instants for a given local
date, so "is it open" and "when does that change" always agree:

- a time that does not exist (the hour skipped in March) is read with the offset in force
  before the change, as PEP 495 does (02:30 becomes 03:30 summer time);
- a time that happens twice (the hour repeated in October) means its first occurrence.

Exceptions are dated (aware instants) and override the weekly schedule for the instants they
cover, half-open ``[start, end)``: an ``open`` exception opens the line, a ``closed`` one closes
it, and where a closed and an open exception overlap, **closed wins** (a duty manager closing
the line must never be undone by an older "open late" entry).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_RANGE = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")
_DAY = timedelta(days=1)
# The weekly pattern repeats every 7 days (plus an hour of DST): any change it makes shows up
# within 8 days of any instant.
_HORIZON = timedelta(days=8)


class Kind(StrEnum):
    """What an exception does to the instants it covers."""

    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class HoursException:
    """A dated override: open or closed from ``start`` until ``end`` (aware datetimes)."""

    id: str
    kind: Kind
    start: datetime
    end: datetime
    note: str = ""

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("an exception's start and end must carry a time zone")
        if self.end <= self.start:
            raise ValueError("an exception must end after it starts")
        # Held in UTC: comparing aware datetimes that share a zone ignores DST folds.
        object.__setattr__(self, "start", self.start.astimezone(UTC))
        object.__setattr__(self, "end", self.end.astimezone(UTC))

    def covers(self, when: datetime) -> bool:
        """True for instants in ``[start, end)``."""
        return self.start <= when < self.end

    def to_json(self) -> str:
        """The stored form (instants in UTC, ISO 8601)."""
        return json.dumps(
            {
                "id": self.id,
                "kind": self.kind.value,
                "start": self.start.astimezone(UTC).isoformat(),
                "end": self.end.astimezone(UTC).isoformat(),
                "note": self.note,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, exception_id: str, text: str) -> HoursException:
        """Inverse of `to_json`; raises ValueError on anything malformed."""
        try:
            data = json.loads(text)
            return cls(
                id=exception_id,
                kind=Kind(data["kind"]),
                start=datetime.fromisoformat(data["start"]),
                end=datetime.fromisoformat(data["end"]),
                note=str(data.get("note", "")),
            )
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ValueError(f"hours exception {exception_id!r} is malformed") from exc


@dataclass(frozen=True)
class Schedule:
    """The weekly schedule: for each weekday (Monday = 0), ranges in minutes since midnight."""

    zone: ZoneInfo
    weekly: tuple[tuple[tuple[int, int], ...], ...]

    @classmethod
    def from_config(cls, weekly: Mapping[str, Sequence[str]], time_zone: str) -> Schedule:
        """From ``[hours]`` ("monday" → ["09:00-23:00"]); a missing day is closed."""
        days: list[tuple[tuple[int, int], ...]] = []
        for day in DAYS:
            ranges = []
            for text in weekly.get(day, ()):
                m = _RANGE.match(text)
                if not m:
                    raise ValueError(f"{day}: {text!r} is not 'HH:MM-HH:MM'")
                start = int(m.group(1)) * 60 + int(m.group(2))
                end = int(m.group(3)) * 60 + int(m.group(4))
                if not 0 <= start < end <= 24 * 60:
                    raise ValueError(f"{day}: {text!r} is not a range within a day")
                ranges.append((start, end))
            days.append(tuple(sorted(ranges)))
        return cls(zone=ZoneInfo(time_zone), weekly=tuple(days))

    def describe(self, weekday: int) -> str:
        """``09:00-23:00`` (or ``closed``) for a weekday."""
        ranges = self.weekly[weekday]
        if not ranges:
            return "closed"
        return ", ".join(f"{_hhmm(s)}-{_hhmm(e)}" for s, e in ranges)


@dataclass(frozen=True)
class Status:
    """Open or not at an instant, and the next instant that changes it (None: never)."""

    open: bool
    next_change: datetime | None


class Day(StrEnum):
    """How a coming instant is spoken relative to today, in the helpline's zone."""

    TODAY = "today"
    TOMORROW = "tomorrow"
    LATER = "later"


def is_open(now: datetime, schedule: Schedule, exceptions: Iterable[HoursException]) -> Status:
    """Whether the line is open at ``now`` and when that next changes (in UTC)."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    now = now.astimezone(UTC)
    relevant = [x for x in exceptions if x.end > now]
    current = open_at(now, schedule, relevant)
    for candidate in _candidates(now, schedule, relevant):
        if open_at(candidate, schedule, relevant) != current:
            return Status(open=current, next_change=candidate)
    return Status(open=current, next_change=None)


def open_at(when: datetime, schedule: Schedule, exceptions: Iterable[HoursException]) -> bool:
    """The open/closed state at one instant: exceptions first (closed wins), then the week."""
    when = when.astimezone(UTC)
    covering = [x.kind for x in exceptions if x.covers(when)]
    if Kind.CLOSED in covering:
        return False
    if covering:
        return True
    day = when.astimezone(schedule.zone).date()
    return any(s <= when < e for s, e in _weekly_intervals(schedule, day - _DAY, day + _DAY))


def day_word(now: datetime, when: datetime, zone: ZoneInfo) -> Day:
    """``today``, ``tomorrow`` or ``later`` for ``when`` seen from ``now`` in ``zone``."""
    gap = (when.astimezone(zone).date() - now.astimezone(zone).date()).days
    if gap <= 0:
        return Day.TODAY
    if gap == 1:
        return Day.TOMORROW
    return Day.LATER


def _candidates(
    now: datetime, schedule: Schedule, exceptions: Sequence[HoursException]
) -> list[datetime]:
    """Every instant after ``now`` where the state might change, in order.

    Exception boundaries, plus the weekly boundaries within 8 days of ``now`` and of each
    exception boundary: between two exception boundaries only the weekly schedule can change
    the state, and it does so within 8 days if it ever does.
    """
    marks = {b for x in exceptions for b in (x.start, x.end) if b > now}
    days: set[date] = set()
    for origin in (now, *marks):
        first = origin.astimezone(schedule.zone).date() - _DAY
        last = (origin + _HORIZON).astimezone(schedule.zone).date() + _DAY
        day = first
        while day <= last:
            days.add(day)
            day += _DAY
    found = set(marks)
    for day in days:
        for start, end in _weekly_intervals(schedule, day, day):
            found.update(b for b in (start, end) if b > now)
    return sorted(found)


def _weekly_intervals(
    schedule: Schedule, first: date, last: date
) -> Iterator[tuple[datetime, datetime]]:
    """The weekly ranges of the local dates ``first``..``last`` as UTC instants."""
    day = first
    while day <= last:
        for start, end in schedule.weekly[day.weekday()]:
            yield _instant(day, start, schedule.zone), _instant(day, end, schedule.zone)
        day += _DAY


def _instant(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """Wall-clock ``minutes`` after the local midnight of ``day`` (24:00 = next midnight)."""
    if minutes >= 24 * 60:
        day, minutes = day + _DAY, minutes - 24 * 60
    local = datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=zone)
    return local.astimezone(UTC)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
