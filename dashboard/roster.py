"""Counsellors' shifts and managers' forecasts, per local day, in Redis.

- ``keys.roster(day)``: hash shift id → JSON ``{"counsellor", "start", "end", "note"}`` with
  local ``HH:MM`` times (``end`` may be ``24:00``; a night shift is two shifts, one per day).
- ``keys.forecast(day)``: hash ``HH:MM`` (a half-hour's start) → JSON ``{"calls", "aht"}``.

Both expire ``retention_days`` after their day. Writes are blind (HSET/HDEL of one field, an
INCR for ids): no read-decide-write, so no Lua.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

import redis as redis_lib

from helpline.keys import Keys

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")
_SLOT = re.compile(r"^([01]\d|2[0-3]):(00|30)$")
MAX_CALLS_PER_SLOT = 10_000
MAX_AHT_S = 4 * 3600


class RosterError(ValueError):
    """A shift or a forecast that cannot be stored; the message says why, in French."""


@dataclass(frozen=True)
class Shift:
    """One counsellor's shift on one local day."""

    id: str
    counsellor: str
    start: str  # HH:MM local
    end: str  # HH:MM local, 24:00 allowed
    note: str = ""

    @property
    def hours(self) -> float:
        """Length in hours (wall clock)."""
        return (_minutes(self.end) - _minutes(self.start)) / 60


def _minutes(text: str) -> int:
    hour, minute = text.split(":")
    return int(hour) * 60 + int(minute)


def check_shift(start: str, end: str) -> tuple[str, str]:
    """Normalised ``HH:MM`` bounds; raises `RosterError`."""
    start, end = start.strip(), end.strip()
    if not _HHMM.match(start) or start == "24:00" or not _HHMM.match(end):
        raise RosterError("Les heures s'écrivent HH:MM (par exemple 09:00 et 13:30).")
    if _minutes(end) <= _minutes(start):
        raise RosterError(
            "Un créneau finit après son début, le même jour (coupez une nuit en deux)."
        )
    return start, end


def _expire_at(day: date, retention_days: int) -> int:
    """Epoch seconds at which a day's hash may go (Redis server time)."""
    end = datetime.combine(day + timedelta(days=retention_days + 1), time(0, 0), tzinfo=UTC)
    return int(end.timestamp())


def add_shift(
    redis: redis_lib.Redis,
    keys: Keys,
    day: date,
    counsellor: str,
    start: str,
    end: str,
    note: str,
    retention_days: int,
) -> Shift:
    """Store a new shift and return it with its id."""
    start, end = check_shift(start, end)
    if not counsellor:
        raise RosterError("Choisissez l'écoutant.")
    shift_id = str(redis.incr(keys.roster_seq))
    shift = Shift(shift_id, counsellor, start, end, note.strip()[:200])
    body = {"counsellor": shift.counsellor, "start": start, "end": end, "note": shift.note}
    key = keys.roster(day.isoformat())
    pipe = redis.pipeline(transaction=True)
    pipe.hset(key, shift_id, json.dumps(body, ensure_ascii=False))
    pipe.expireat(key, _expire_at(day, retention_days))
    pipe.execute()
    return shift


def shifts(redis: redis_lib.Redis, keys: Keys, day: date) -> list[Shift]:
    """The day's shifts by start time, then counsellor; unreadable entries are skipped."""
    raw = cast(dict[str, str], redis.hgetall(keys.roster(day.isoformat())))
    found = []
    for shift_id, text in raw.items():
        try:
            data = json.loads(text)
            start, end = check_shift(str(data["start"]), str(data["end"]))
            found.append(
                Shift(shift_id, str(data["counsellor"]), start, end, str(data.get("note", "")))
            )
        except (ValueError, KeyError, TypeError):
            continue
    return sorted(found, key=lambda s: (s.start, s.counsellor, int(s.id)))


def get_shift(redis: redis_lib.Redis, keys: Keys, day: date, shift_id: str) -> Shift | None:
    """One shift of the day, or None."""
    return next((s for s in shifts(redis, keys, day) if s.id == shift_id), None)


def remove_shift(redis: redis_lib.Redis, keys: Keys, day: date, shift_id: str) -> bool:
    """Delete a shift; False when the day had none with that id."""
    return bool(redis.hdel(keys.roster(day.isoformat()), shift_id))


# -- forecasts -------------------------------------------------------------------------------


def parse_forecast_form(form: dict[str, str]) -> dict[str, tuple[float, int]]:
    """``calls-HH:MM`` and ``aht-HH:MM`` fields → {HH:MM: (calls, AHT s)}; empty calls skip
    the half-hour. Raises `RosterError` for a value out of range."""
    found: dict[str, tuple[float, int]] = {}
    for name, value in form.items():
        if not name.startswith("calls-"):
            continue
        slot = name[len("calls-") :]
        text = value.strip().replace(",", ".")
        if not _SLOT.match(slot) or text == "":
            continue
        try:
            calls = float(text)
            aht_text = form.get(f"aht-{slot}", "").strip()
            aht = int(aht_text) if aht_text else 0
        except ValueError as exc:
            raise RosterError(f"{slot} : nombre d'appels ou DMT illisible.") from exc
        if not 0 <= calls <= MAX_CALLS_PER_SLOT:  # also refuses nan
            raise RosterError(f"{slot} : le nombre d'appels doit être entre 0 et 10 000.")
        if not 0 <= aht <= MAX_AHT_S:
            raise RosterError(f"{slot} : la DMT doit être entre 0 et 14 400 secondes.")
        found[slot] = (calls, aht)
    return found


def save_forecast(
    redis: redis_lib.Redis,
    keys: Keys,
    day: date,
    values: dict[str, tuple[float, int]],
    retention_days: int,
) -> dict[str, tuple[float, int]]:
    """Replace the day's forecast; the previous one (for the audit)."""
    key = keys.forecast(day.isoformat())
    before = forecast(redis, keys, day)
    pipe = redis.pipeline(transaction=True)
    pipe.delete(key)
    if values:
        mapping: dict[Any, Any] = {
            slot: json.dumps({"calls": calls, "aht": aht}) for slot, (calls, aht) in values.items()
        }
        pipe.hset(key, mapping=mapping)
        pipe.expireat(key, _expire_at(day, retention_days))
    pipe.execute()
    return before


def forecast(redis: redis_lib.Redis, keys: Keys, day: date) -> dict[str, tuple[float, int]]:
    """The day's typed forecast: {HH:MM: (calls, AHT s)} (AHT 0: from the history)."""
    raw = cast(dict[str, str], redis.hgetall(keys.forecast(day.isoformat())))
    found = {}
    for slot, text in raw.items():
        try:
            data = json.loads(text)
            found[slot] = (float(data["calls"]), int(data.get("aht", 0)))
        except (ValueError, KeyError, TypeError):
            continue
    return dict(sorted(found.items()))
