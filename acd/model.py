"""Plain data of the ACD, shared with the voice flow. No Redis, no Flask here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Outcome(StrEnum):
    """How a call ended for the caller: each call gets exactly one."""

    ANSWERED = "answered"
    ABANDONED = "abandoned"
    OVERFLOWED = "overflowed"
    CLOSED = "closed"
    ERROR = "error"


@dataclass(frozen=True)
class WaitingCaller:
    """A caller handed to the ACD by the voice flow."""

    call_sid: str
    platform: str
    caller_type: str  # young | parent | professional | unknown
    language: str  # fr | en
    skill: str  # skill needed first (relaxed after acd.skill_relax_after)
    priority: int  # head start in seconds (see AcdSection.priority_for)
    enqueued_at: datetime


@dataclass(frozen=True)
class EnqueueResult:
    """What the ACD did with a caller: queued (with its ACD position) or overflowed (why)."""

    queued: bool
    position: int | None = None
    reason: str | None = None  # when not queued: "queue_full" | "no_counsellor" | "duplicate"
