"""Routing decisions as pure functions over plain data and a ``now`` (ms). No Redis here.

The Lua scripts implement exactly these rules (``lua/reserve.lua``); a hypothesis state machine
in tests/acd checks the two against each other.

The rules:

- A caller's **order key** is ``enqueued_ms - priority_s * 1000``: lower is served first. A
  priority is a head start counted in seconds of waiting, so priority and ageing are one rule:
  a caller with a 60 s head start goes before anyone who arrived less than 60 s before them,
  and after anyone who has waited longer than that. Equal keys: CallSid order (stable).
- A caller needs their **skill** and their **language** (a *pool*, ``"skill:language"``) until
  ``relax_after`` seconds after they entered the queue; from then on any available counsellor
  may take them.
- **Selection**: among the waiting callers not being offered whom at least one available
  counsellor can take, the one with the lowest order key; then, among the available
  counsellors who can take that caller, the one idle the longest (lowest idle-since; equal:
  id order).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

ANY = "any"
#: Average handle time assumed before any call has been measured (talk + wrap-up), seconds.
DEFAULT_HANDLE_S = 600


def pool_name(skill: str, language: str) -> str:
    """The pool of callers needing ``skill`` in ``language``: ``"psychologist:en"``."""
    return f"{skill}:{language}"


def pools(skills: Iterable[str], languages: Iterable[str]) -> tuple[str, ...]:
    """Every pool, skills first then languages, in configuration order."""
    langs = tuple(languages)
    return tuple(pool_name(s, lang) for s in skills for lang in langs)


def order_key_ms(enqueued_ms: int, priority_s: int) -> int:
    """Rank in the queue: lower goes first (arrival time minus the head start)."""
    return enqueued_ms - priority_s * 1000


def relax_at_ms(enqueued_ms: int, relax_after_s: int) -> int:
    """Instant from which any counsellor may take the caller."""
    return enqueued_ms + relax_after_s * 1000


def routing_value(value: str, known: Sequence[str], default: str) -> str:
    """``value`` when configured, else the default (an unknown skill or language never strands a
    caller in a pool nobody serves)."""
    return value if value in known else default


@dataclass(frozen=True)
class CallerView:
    """What routing needs to know about a waiting caller."""

    call_sid: str
    skill: str
    language: str
    order_ms: int
    relax_at_ms: int


@dataclass(frozen=True)
class CounsellorView:
    """What routing needs to know about an available counsellor."""

    id: str
    skills: frozenset[str]
    languages: frozenset[str]
    idle_since_ms: int


def is_relaxed(caller: CallerView, now_ms: int) -> bool:
    """The caller has waited long enough for any counsellor to take them."""
    return caller.relax_at_ms <= now_ms


def can_take(counsellor: CounsellorView, caller: CallerView, now_ms: int) -> bool:
    """An available counsellor may be offered this caller."""
    if is_relaxed(caller, now_ms):
        return True
    return caller.skill in counsellor.skills and caller.language in counsellor.languages


def select_pair(
    callers: Iterable[CallerView], counsellors: Iterable[CounsellorView], now_ms: int
) -> tuple[str, str] | None:
    """(CallSid, counsellor id) to offer next, or None when no available counsellor can take
    any waiting caller. ``callers``: waiting and not being offered; ``counsellors``: available.
    """
    idle = sorted(counsellors, key=lambda c: (c.idle_since_ms, c.id))
    for caller in sorted(callers, key=lambda c: (c.order_ms, c.call_sid)):
        for counsellor in idle:
            if can_take(counsellor, caller, now_ms):
                return caller.call_sid, counsellor.id
    return None


def average_handle_s(handle_times: Sequence[float]) -> float:
    """Mean of the recent handle times, or the default before any call was measured."""
    if not handle_times:
        return float(DEFAULT_HANDLE_S)
    return sum(handle_times) / len(handle_times)


def estimated_wait_s(
    position: int, serving: int, available: int, handle_times: Sequence[float]
) -> int | None:
    """Seconds a caller at ``position`` (1 = next) may still wait, or None when nobody serves.

    ``serving``: counsellors taking calls (logged in, not on break); ``available``: those free
    now. Callers ahead beyond the free counsellors wait for calls to end: with ``serving``
    counsellors each finishing a call every AHT seconds, one frees up every AHT / serving
    seconds. Rounded up: announcements may round further, never below this.
    """
    if serving <= 0:
        return None
    ahead = position - available
    if ahead <= 0:
        return 0
    return math.ceil(ahead * average_handle_s(handle_times) / serving)
