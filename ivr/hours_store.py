"""Dated opening-hours exceptions in Redis, shared by every process.

``keys.hours_exceptions`` is a hash id → JSON (see `HoursException.to_json`); ``keys.hours_seq``
numbers new ids. The voice flow reads the hash on every incoming call, so a change made from the
CLI (or a dashboard) applies to the next call in every process, with no restart or cache.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import cast

import redis as redis_lib

from helpline.keys import Keys
from helpline.log import get_logger
from helpline.settings import HelplineConfig
from ivr.hours import HoursException, Kind, Schedule

log = get_logger("ivr.hours_store")


def schedule(config: HelplineConfig) -> Schedule:
    """The weekly schedule of the configuration, in the helpline's zone."""
    return Schedule.from_config(config.hours.weekly, config.helpline.time_zone)


def parse_exceptions(raw: Mapping[str, str] | None) -> list[HoursException]:
    """Exceptions from an HGETALL reply, oldest start first; a malformed entry is skipped."""
    found = []
    for exception_id, text in (raw or {}).items():
        try:
            found.append(HoursException.from_json(exception_id, text))
        except ValueError:
            log.error("hours_exception_unreadable", id=exception_id)
    return sorted(found, key=lambda x: (x.start, x.end, x.id))


def list_exceptions(redis: redis_lib.Redis, keys: Keys) -> list[HoursException]:
    """Every stored exception."""
    return parse_exceptions(cast(dict[str, str], redis.hgetall(keys.hours_exceptions)))


def add_exception(
    redis: redis_lib.Redis, keys: Keys, kind: Kind, start: datetime, end: datetime, note: str = ""
) -> HoursException:
    """Store a new exception (validated first) and return it with its id."""
    HoursException(id="0", kind=kind, start=start, end=end, note=note)  # raises if invalid
    exception_id = str(redis.incr(keys.hours_seq))
    exception = HoursException(id=exception_id, kind=kind, start=start, end=end, note=note)
    redis.hset(keys.hours_exceptions, exception_id, exception.to_json())
    return exception


def remove_exception(redis: redis_lib.Redis, keys: Keys, exception_id: str) -> bool:
    """Delete an exception; False when there was none with that id."""
    return bool(redis.hdel(keys.hours_exceptions, exception_id))
