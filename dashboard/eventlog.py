"""Reading the event stream by time, and trimming it by age.

Stream ids carry the Redis server's time, while each event's ``at`` field carries the injected
clock of the process that wrote it (a frozen clock in tests, a faster one in the demo). Periods
are therefore found by ``at``: along the stream ``at`` never goes back by more than the clock
skew between processes, so a bisection over the ids finds the first event at or after an
instant in some forty ``XRANGE … COUNT 1`` calls, and a margin (``SKEW_MS``) absorbs the skew.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import redis as redis_lib

from dashboard.figures import Event, parse_event

#: Events may be out of ``at`` order by this much (processes' clocks, scripts in flight).
SKEW_MS = 5 * 60 * 1000
PAGE = 1000


def _entries(raw: object) -> list[tuple[str, dict[str, str]]]:
    return cast(list[tuple[str, dict[str, str]]], raw)


def _at(fields: dict[str, str]) -> int:
    try:
        return int(fields.get("at", "0"))
    except ValueError:
        return 0


def _ms(entry_id: str) -> int:
    return int(entry_id.split("-", 1)[0])


def first_id_at_or_after(redis: redis_lib.Redis, key: str, at_ms: int) -> str | None:
    """Id of the first entry whose ``at`` is at or after ``at_ms``; None when none is."""
    head = _entries(redis.xrange(key, "-", "+", count=1))
    if not head:
        return None
    if _at(head[0][1]) >= at_ms:
        return head[0][0]
    tail = _entries(redis.xrevrange(key, "+", "-", count=1))
    if _at(tail[0][1]) < at_ms:
        return None
    # Invariant: the first entry with id >= lo-0 is before at_ms; the one at >= hi-0 is not.
    lo, hi = _ms(head[0][0]), _ms(tail[0][0])
    while hi - lo > 1:
        mid = (lo + hi) // 2
        found = _entries(redis.xrange(key, f"{mid}-0", "+", count=1))
        if found and _at(found[0][1]) >= at_ms:
            hi = mid
        else:
            lo = mid
    # Several entries may share a millisecond: walk from lo to the first one that qualifies.
    start = f"{lo}-0"
    while True:
        page = _entries(redis.xrange(key, start, "+", count=100))
        for entry_id, fields in page:
            if _at(fields) >= at_ms:
                return entry_id
        if len(page) < 100:
            return None
        start = "(" + page[-1][0]


def read_between(
    redis: redis_lib.Redis, key: str, start_ms: int, end_ms: int, margin_ms: int = SKEW_MS
) -> Iterator[Event]:
    """Events with ``start_ms <= at < end_ms`` in stream order (read with a margin for skew)."""
    first = first_id_at_or_after(redis, key, start_ms - margin_ms)
    if first is None:
        return
    cursor = first
    while True:
        page = _entries(redis.xrange(key, cursor, "+", count=PAGE))
        for entry_id, fields in page:
            event = parse_event(entry_id, fields)
            if event is None:
                continue
            if event.at >= end_ms + margin_ms:
                return
            if start_ms <= event.at < end_ms:
                yield event
        if len(page) < PAGE:
            return
        cursor = "(" + page[-1][0]


def last_id(redis: redis_lib.Redis, key: str) -> str:
    """Id of the newest entry, or ``0-0`` for an empty stream."""
    tail = _entries(redis.xrevrange(key, "+", "-", count=1))
    return tail[0][0] if tail else "0-0"


def trim_before(redis: redis_lib.Redis, key: str, at_ms: int) -> int:
    """Delete the entries whose ``at`` is before ``at_ms``; how many were deleted.

    Not a read-decide-write that needs Lua: the only entries removed are older than the one
    found, and concurrent appends land at the other end of the stream.
    """
    keep_from = first_id_at_or_after(redis, key, at_ms)
    if keep_from is None:
        # Every entry is older: trim up to the newest one seen, not the key (an event
        # appended meanwhile stays).
        newest = last_id(redis, key)
        if newest == "0-0":
            return 0
        ms, seq = newest.split("-", 1)
        keep_from = f"{ms}-{int(seq) + 1}"
    return int(cast(Any, redis.xtrim(key, minid=keep_from, approximate=False)))
