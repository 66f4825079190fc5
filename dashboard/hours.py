"""Opening-hours exceptions a duty manager sets, and what callers will hear. Pure.

The three actions of the dashboard become ordinary exceptions of `ivr.hours` (stored by
`ivr.hours_store`, read by the voice flow on every call):

- **close now**: closed from now until a time the manager picks, or by default until the next
  opening of the weekly schedule (tomorrow morning when it is evening);
- **open late tonight**: open from today's scheduled closing time (or now, when it is already
  past) until a later time, possibly after midnight;
- **closed day**: closed from a local midnight to the next.

`closed_message` renders, with the real flow (`ivr.flow.begin`) and the prompt catalogues,
the words a caller hears at a given instant when the line is closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from helpline.settings import HelplineConfig
from ivr import hours_store
from ivr.callrecord import CallRecord
from ivr.flow import Options, begin
from ivr.hours import HoursException, Kind, Schedule, is_open
from ivr.prompts import render_line

#: An exception longer than this from a dashboard form is surely a typing mistake.
MAX_SPAN = timedelta(hours=36)
LANGUAGE_NAMES = {"fr": "Français", "en": "English"}


class HoursError(ValueError):
    """The requested exception makes no sense; the message says why, in French."""


@dataclass(frozen=True)
class Planned:
    """An exception about to be stored."""

    kind: Kind
    start: datetime
    end: datetime
    action: str  # hours.close_now | hours.open_late | hours.closed_day

    def as_exception(self, exception_id: str = "preview", note: str = "") -> HoursException:
        """The `HoursException` it becomes."""
        return HoursException(exception_id, self.kind, self.start, self.end, note)


def parse_hhmm(text: str) -> time:
    """``"21:30"`` → 21:30; raises `HoursError`."""
    try:
        hour, minute = text.strip().split(":")
        return time(int(hour), int(minute))
    except ValueError as exc:
        raise HoursError(f"« {text} » n'est pas une heure (HH:MM).") from exc


def _at(day: date, clock: time, config: HelplineConfig) -> datetime:
    return datetime.combine(day, clock, tzinfo=config.zone)


def _next_local(now: datetime, clock: time, config: HelplineConfig) -> datetime:
    """The next instant after ``now`` showing ``clock`` on the helpline's wall clock."""
    local = now.astimezone(config.zone)
    candidate = _at(local.date(), clock, config)
    if candidate <= now:
        candidate = _at(local.date() + timedelta(days=1), clock, config)
    return candidate


def next_weekly_opening(now: datetime, schedule: Schedule) -> datetime | None:
    """The next instant after ``now`` when the weekly schedule (no exceptions) opens."""
    status = is_open(now, schedule, [])
    if not status.open:
        return status.next_change
    if status.next_change is None:
        return None
    return is_open(status.next_change, schedule, []).next_change


def close_now(now: datetime, config: HelplineConfig, until: str = "") -> Planned:
    """Closed from ``now`` until ``until`` (HH:MM, the next one) or the next weekly opening."""
    if until.strip():
        end = _next_local(now, parse_hhmm(until), config)
    else:
        opening = next_weekly_opening(now, hours_store.schedule(config))
        if opening is None:
            raise HoursError("L'horaire hebdomadaire ne rouvre jamais : précisez une heure.")
        end = opening
    if end - now > MAX_SPAN:
        raise HoursError("Une fermeture immédiate dure au plus 36 heures.")
    return Planned(Kind.CLOSED, now, end, "hours.close_now")


def open_late(now: datetime, config: HelplineConfig, until: str) -> Planned:
    """Open from today's scheduled closing (or now, when past it) until ``until`` (HH:MM)."""
    schedule = hours_store.schedule(config)
    status = is_open(now, schedule, [])
    today = now.astimezone(config.zone).date()
    start = now
    if status.open and status.next_change is not None:
        closing = status.next_change
        if closing.astimezone(config.zone).date() != today:
            raise HoursError("La ligne ferme après minuit : rien à prolonger ce soir.")
        start = closing
    clock = parse_hhmm(until)
    end = _at(start.astimezone(config.zone).date(), clock, config)
    if end <= start:
        end = _at(start.astimezone(config.zone).date() + timedelta(days=1), clock, config)
    if end - start > timedelta(hours=12):
        raise HoursError("Une ouverture prolongée dure au plus 12 heures.")
    return Planned(Kind.OPEN, start, end, "hours.open_late")


def closed_day(day: date, now: datetime, config: HelplineConfig) -> Planned:
    """Closed for the whole local day ``day`` (today or later)."""
    if day < now.astimezone(config.zone).date():
        raise HoursError("Ce jour est déjà passé.")
    start = _at(day, time(0, 0), config)
    end = _at(day + timedelta(days=1), time(0, 0), config)
    return Planned(Kind.CLOSED, start, end, "hours.closed_day")


@dataclass(frozen=True)
class Spoken:
    """What a caller hears in one language."""

    language: str
    language_name: str
    lines: tuple[str, ...]


def closed_message(
    config: HelplineConfig, at: datetime, exceptions: Sequence[HoursException]
) -> tuple[Spoken, ...] | None:
    """The closed message a caller hears at ``at``, per language; None when the line is open."""
    status = is_open(at, hours_store.schedule(config), exceptions)
    if status.open:
        return None
    record = CallRecord(call_sid="CApreview", caller="preview", platform="phone")
    turn = begin(record, status, at, config.zone, Options.from_config(config))
    spoken: dict[str, list[str]] = {}
    for line in turn.say:
        spoken.setdefault(line.language.value, []).append(render_line(config, line).text)
    return tuple(
        Spoken(lang, LANGUAGE_NAMES.get(lang, lang), tuple(lines)) for lang, lines in spoken.items()
    )
