"""Reading and writing call records in Redis (``keys.call(sid)``, a hash with a TTL).

Creation and status callbacks are read-decide-write, so they are Lua scripts
(``ivr/lua/create_call.lua``, ``ivr/lua/call_status.lua``); the flow's own changes are a plain
HSET of the fields that changed, since only the call's own webhooks (one at a time) write them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any, cast

import redis as redis_lib
from redis.commands.core import Script

from helpline.clock import to_ms
from helpline.events import STREAM_MAXLEN
from helpline.keys import Keys
from ivr.callrecord import FINAL_STATUSES, CallRecord

LUA = Path(__file__).with_name("lua")


class StatusUpdate(Enum):
    """What `record_status` did."""

    UNKNOWN = -1  # no record for this CallSid: nothing written
    UNCHANGED = 0  # a repeated or older callback
    APPLIED = 1


def parse(call_sid: str, data: Mapping[str, str] | None) -> CallRecord | None:
    """A record from an HGETALL reply (None for an empty one)."""
    return CallRecord.from_hash(call_sid, data) if data else None


def load(redis: redis_lib.Redis, keys: Keys, call_sid: str) -> CallRecord | None:
    """The record of ``call_sid``, or None when Redis has no hash for it."""
    return parse(call_sid, cast(dict[str, str], redis.hgetall(keys.call(call_sid))))


def create(
    redis: redis_lib.Redis, keys: Keys, record: CallRecord, ttl: int, now: datetime
) -> tuple[CallRecord, bool]:
    """Store ``record`` unless the CallSid has one: (the stored record, True if created)."""
    args: list[Any] = [ttl, to_ms(now), STREAM_MAXLEN]
    for name, value in record.to_hash().items():
        args += [name, value]
    reply = _script("create_call", redis)(
        keys=[keys.call(record.call_sid), keys.events], args=args, client=redis
    )
    if int(reply[0]) == 1:
        return record, True
    flat = reply[1:]
    existing = {str(flat[i]): str(flat[i + 1]) for i in range(0, len(flat) - 1, 2)}
    return CallRecord.from_hash(record.call_sid, existing), False


def changes(before: CallRecord | None, after: CallRecord) -> dict[str, str]:
    """The fields of ``after`` that differ from ``before`` (all of them when no ``before``)."""
    old = before.to_hash() if before else {}
    return {k: v for k, v in after.to_hash().items() if old.get(k) != v}


def save(redis: redis_lib.Redis, keys: Keys, before: CallRecord | None, after: CallRecord) -> bool:
    """Write the fields that changed (one HSET; the TTL set at creation stays). True if any."""
    fields: dict[Any, Any] = changes(before, after)
    if not fields:
        return False
    redis.hset(keys.call(after.call_sid), mapping=fields)
    return True


def record_status(
    redis: redis_lib.Redis,
    keys: Keys,
    call_sid: str,
    status: str,
    sequence: int | None,
    duration: int | None,
    now: datetime,
) -> StatusUpdate:
    """Apply a status callback (order-tolerant, idempotent); see ``lua/call_status.lua``."""
    final = "1" if status in FINAL_STATUSES else "0"
    args = [
        status,
        "" if sequence is None else sequence,
        "" if duration is None else duration,
        to_ms(now),
        final,
        STREAM_MAXLEN,
        call_sid,
    ]
    reply = _script("call_status", redis)(
        keys=[keys.call(call_sid), keys.events], args=args, client=redis
    )
    return StatusUpdate(int(reply))


@cache
def _source(name: str) -> str:
    return (LUA / f"{name}.lua").read_text(encoding="utf-8")


_SCRIPTS: dict[str, Script] = {}


def _script(name: str, redis: redis_lib.Redis) -> Script:
    """The script, registered once per process (EVALSHA; loaded into Redis when missing).

    Every call passes its own client (``client=``): the first one only serves to compute the SHA.
    """
    script = _SCRIPTS.get(name)
    if script is None:
        script = _SCRIPTS[name] = redis.register_script(_source(name))
    return script
