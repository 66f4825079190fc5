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


class CounsellorState(StrEnum):
    """Where a counsellor is. Values are the stored strings; `label` is what people read."""

    OFFLINE = "offline"
    AVAILABLE = "available"
    RESERVED = "reserved"  # being offered a call
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    BREAK = "break"

    @property
    def label(self) -> str:
        """Display form: ``on-call``, ``wrap-up``, …"""
        return self.value.replace("_", "-")

    @classmethod
    def parse(cls, text: str) -> CounsellorState:
        """Accept the value or the label (``on-call`` as well as ``on_call``)."""
        return cls(text.strip().lower().replace("-", "_"))


#: States a person (the counsellor, a duty manager) may set by hand.
MANUAL_STATES = (CounsellorState.AVAILABLE, CounsellorState.BREAK, CounsellorState.OFFLINE)


@dataclass(frozen=True)
class Counsellor:
    """A counsellor's profile and current state."""

    id: str
    name: str
    skills: tuple[str, ...]
    languages: tuple[str, ...]
    endpoint: str  # client:<identity> or an E.164 number
    state: CounsellorState
    state_since: datetime
    reason: str | None = None  # for break: "missed", "lunch", …
    missed: int = 0  # consecutive missed offers
    calls_today: int = 0
    idle_since: datetime | None = None  # when available: rank among the idle (oldest first)
    reservation_id: str | None = None  # when reserved or on a call
    wrap_up_until: datetime | None = None


class ReservationStatus(StrEnum):
    """Life of an offer."""

    PENDING = "pending"  # offered, waiting for the counsellor
    ACCEPTED = "accepted"  # bridged: both on the call
    ENDED = "ended"  # the call is over, or the caller left before an answer
    FAILED = "failed"  # declined, timed out, busy, no answer, failed, canceled


@dataclass(frozen=True)
class Reservation:
    """One caller offered to one counsellor."""

    id: str
    call_sid: str
    counsellor_id: str
    endpoint: str
    status: ReservationStatus
    created_at: datetime
    expires_at: datetime
    counsellor_call_sid: str | None
    platform: str
    caller_type: str
    language: str
    waited_s: int  # the caller's wait when the offer was made
    reason: str | None = None  # why it failed or ended
    accepted_at: datetime | None = None
    ended_at: datetime | None = None
    callback: bool = False  # the caller asked to be called back (virtual hold)
    # Warm transfer (acd/transfer.py): the offer to a colleague of the call of reservation
    # ``transfer_of``; the call's conference keeps the name of its first reservation.
    transfer_of: str | None = None
    conference: str | None = None

    @property
    def conference_rid(self) -> str:
        """The reservation id naming the call's conference (``res-<id>``)."""
        return self.conference or self.id


class AcceptResult(StrEnum):
    """What `Acd.accept` found."""

    ACCEPTED = "accepted"  # bridged (also the answer to a repeated accept)
    CALLER_GONE = "caller_gone"  # the caller hung up meanwhile: tell the counsellor
    STALE = "stale"  # unknown, expired, failed or already ended


class OfferFailure(StrEnum):
    """Why an offer did not turn into a call."""

    DECLINED = "declined"
    NO_ANSWER = "no-answer"
    BUSY = "busy"
    FAILED = "failed"
    TIMEOUT = "timeout"
    CANCELED = "canceled"  # not the counsellor's doing: does not count as a miss
    NOT_PLACED = "not_placed"  # Twilio could not be reached to ring them: not a miss either


@dataclass(frozen=True)
class GoneResult:
    """What `Acd.caller_gone` did."""

    was_waiting: bool  # the caller was in the ACD queue (or being offered)
    outcome_recorded: bool  # this call recorded ``abandoned`` (False: it had an outcome)
    reservation_id: str | None = None  # an offer was pending: the edge cancels its leg
    counsellor_call_sid: str | None = None  # that offer's counsellor leg, if placed
