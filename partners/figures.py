"""A platform's own calls per day, from the event stream (the single source of figures).

``offered``: calls that reached the line with the platform's tag (``call_started``);
``answered``, ``abandoned``, ``overflowed``, ``closed``, ``error``: how they ended (``outcome``).
Days are dates in the helpline's time zone. The stream is read from its newest end back to the
first day asked for (events are appended in time order, give or take clock skew between
processes, hence a margin), at most ``MAX_SCAN`` events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import cast

from helpline.clock import from_ms, to_ms
from helpline.runtime import Runtime

OUTCOMES = ("answered", "abandoned", "overflowed", "closed", "error")
PAGE = 1000
MAX_SCAN = 200_000
SKEW_MS = 3_600_000  # events this much older than the range end the scan
MAX_DAYS = 92


@dataclass
class DayFigures:
    """One day's counts for one platform."""

    day: date
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    overflowed: int = 0
    closed: int = 0
    error: int = 0

    def to_json(self) -> dict[str, object]:
        """The API's form."""
        return {"date": self.day.isoformat(), "offered": self.offered} | {
            name: getattr(self, name) for name in OUTCOMES
        }


@dataclass
class Figures:
    """Per-day counts over ``first``..``last`` and whether the whole range could be read."""

    platform: str
    first: date
    last: date
    days: list[DayFigures] = field(default_factory=list)
    complete: bool = True


def _midnight(day: date, runtime: Runtime) -> int:
    return to_ms(datetime.combine(day, time(0), tzinfo=runtime.config.zone))


def daily(runtime: Runtime, platform: str, first: date, last: date) -> Figures:
    """Counts per local day for ``platform`` from ``first`` to ``last`` (inclusive)."""
    zone = runtime.config.zone
    count = (last - first).days + 1
    days = {d.day: d for d in (DayFigures(first + timedelta(days=n)) for n in range(count))}
    start, end = _midnight(first, runtime), _midnight(last + timedelta(days=1), runtime)
    figures = Figures(platform=platform, first=first, last=last)
    newest, scanned, seen_last = "+", 0, None
    while True:
        page = cast(
            list[tuple[str, dict[str, str]]],
            runtime.redis.xrevrange(runtime.keys.events, max=newest, min="-", count=PAGE + 1),
        )
        if seen_last is not None and page and page[0][0] == seen_last:
            page = page[1:]
        if not page:
            break
        for _id, event in page:
            scanned += 1
            at = int(event.get("at", "0") or 0)
            if at < start - SKEW_MS:
                figures.days = [days[d] for d in sorted(days)]
                return figures
            if not start <= at < end or event.get("platform") != platform:
                continue
            entry = days.get(from_ms(at).astimezone(zone).date())
            if entry is None:
                continue
            what = event.get("what")
            if what == "call_started":
                entry.offered += 1
            elif what == "outcome" and event.get("outcome") in OUTCOMES:
                name = event["outcome"]
                setattr(entry, name, getattr(entry, name) + 1)
        if scanned >= MAX_SCAN:
            figures.complete = False
            break
        seen_last = newest = page[-1][0]
    figures.days = [days[d] for d in sorted(days)]
    return figures


def totals(runtime: Runtime, platform: str) -> dict[str, int]:
    """All-time outcome counters of ``platform`` (``stats:calls``)."""
    stats = cast(dict[str, str], runtime.redis.hgetall(runtime.keys.stats_calls))
    return {name: int(stats.get(f"{platform}:{name}", 0)) for name in OUTCOMES}


def abuse_counters(runtime: Runtime, platform: str) -> dict[str, int]:
    """Calls of ``platform`` whose claimed tag contradicted their token, and calls refused."""
    mismatches = runtime.redis.hget(runtime.keys.partner_tag_mismatches, platform)
    refused = cast(dict[str, str], runtime.redis.hgetall(runtime.keys.partner_refused))
    counts = {"tag_mismatches": int(mismatches or 0)}
    for reason in ("concurrent", "rate", "token"):
        counts[f"refused_{reason}"] = int(refused.get(f"{platform}:{reason}", 0))
    return counts
