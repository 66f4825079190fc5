"""The call record: one Redis hash per CallSid (``keys.call(sid)``) with a TTL.

It holds what the voice flow learnt about a call, never anything raw from the caller: the
caller is a keyed hash of their number (`helpline.privacy.pseudonymise`), the platform a known
tag. Fields (all strings in Redis):

| field | written by | meaning |
|---|---|---|
| ``call_sid``, ``caller``, ``platform``, ``channel`` | ivr, at creation | identity of the call |
| ``created_at`` | ivr, at creation | ms; a hash without it is not a record yet |
| ``step``, ``attempts`` | ivr | where the call is in the flow; invalid keys at this step |
| ``language``, ``caller_type``, ``recording_consent`` | ivr | the caller's choices |
| ``at_<step>`` | ivr | ms when each step happened (``at_language``, ``at_queued``, …) |
| ``status``, ``status_seq``, ``duration``, ``at_ended`` | ivr (status callbacks) | progress |
| ``outcome``, ``outcome_at``, ``wait`` | the ACD's ``record_outcome`` | how the call ended |

Plain data, no Redis: `ivr.callstore` reads and writes it (creation atomic and idempotent,
later changes only the fields that changed, so the status callbacks and the ACD never see their
fields overwritten).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from helpline.clock import to_ms

FINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
CALL_STATUSES = FINAL_STATUSES | {"queued", "initiated", "ringing", "in-progress"}


class Language(StrEnum):
    """Languages the voice flow speaks (one prompt catalogue each)."""

    FR = "fr"
    EN = "en"


class CallerType(StrEnum):
    """Who is calling, for routing (the caller-type menu)."""

    YOUNG = "young"
    PARENT = "parent"
    PROFESSIONAL = "professional"
    UNKNOWN = "unknown"


class Consent(StrEnum):
    """The caller's answer to "may we record this call": no unless they pressed the key."""

    YES = "yes"
    NO = "no"


class Channel(StrEnum):
    """How the call reached Twilio."""

    PHONE = "phone"  # the telephone network
    APP = "app"  # an in-app call through the Voice SDK (From is client:…)
    SIP = "sip"  # a SIP trunk


class Step(StrEnum):
    """Where a call is in the voice flow."""

    NEW = "new"  # record created, nothing said yet
    LANGUAGE = "language"  # asked "for English press 2"
    CONSENT = "consent"  # asked whether the call may be recorded
    CALLER_TYPE = "caller_type"  # asked young person / parent / professional
    QUEUED = "queued"  # handed to the ACD and in the Twilio queue
    OVERFLOWED = "overflowed"  # the ACD could not take the call
    CLOSED = "closed"  # the line was closed


@dataclass(frozen=True)
class CallRecord:
    """What the voice flow knows about one call."""

    call_sid: str
    caller: str  # keyed hash of the caller's number or identity, never the number
    platform: str
    channel: Channel = Channel.PHONE
    created_at: int = 0  # ms
    step: Step = Step.NEW
    attempts: int = 0  # invalid keys pressed at the current step
    language: Language = Language.FR
    caller_type: CallerType = CallerType.UNKNOWN
    recording_consent: Consent = Consent.NO
    times: Mapping[str, int] = field(default_factory=dict)  # step name → ms
    platform_ref: str = ""  # a platform's opaque report reference, for the counsellor only
    # call progress (status callbacks; read-only for the flow)
    status: str = ""
    status_seq: int | None = None
    duration: int | None = None
    # written by the ACD's record_outcome (read-only here)
    outcome: str | None = None
    outcome_at: int | None = None
    wait: int | None = None

    @property
    def known(self) -> bool:
        """True when the voice flow created this record (not only an outcome from the ACD)."""
        return self.created_at > 0

    def at(self, name: str, now: datetime) -> CallRecord:
        """A copy with ``at_<name>`` = now."""
        return replace(self, times={**self.times, name: to_ms(now)})

    def to_hash(self) -> dict[str, str]:
        """The fields the voice flow writes (not call progress, not the ACD's outcome)."""
        fields = {
            "call_sid": self.call_sid,
            "caller": self.caller,
            "platform": self.platform,
            "channel": self.channel.value,
            "created_at": str(self.created_at),
            "step": self.step.value,
            "attempts": str(self.attempts),
            "language": self.language.value,
            "caller_type": self.caller_type.value,
            "recording_consent": self.recording_consent.value,
        }
        if self.platform_ref:
            fields["platform_ref"] = self.platform_ref
        fields.update({f"at_{name}": str(ms) for name, ms in self.times.items()})
        return fields

    @classmethod
    def from_hash(cls, call_sid: str, data: Mapping[str, str]) -> CallRecord:
        """Read a stored hash, tolerating missing or unexpected values (defaults)."""
        times = {
            k[3:]: v
            for k, raw in data.items()
            if k.startswith("at_") and k != "at_ended" and (v := _int(raw)) is not None
        }
        return cls(
            call_sid=call_sid,
            caller=data.get("caller", "anonymous"),
            platform=data.get("platform", "unknown"),
            channel=_enum(Channel, data.get("channel"), Channel.PHONE),
            created_at=_int(data.get("created_at")) or 0,
            step=_enum(Step, data.get("step"), Step.NEW),
            attempts=_int(data.get("attempts")) or 0,
            language=_enum(Language, data.get("language"), Language.FR),
            caller_type=_enum(CallerType, data.get("caller_type"), CallerType.UNKNOWN),
            recording_consent=_enum(Consent, data.get("recording_consent"), Consent.NO),
            times=times,
            platform_ref=data.get("platform_ref", ""),
            status=data.get("status", ""),
            status_seq=_int(data.get("status_seq")),
            duration=_int(data.get("duration")),
            outcome=data.get("outcome") or None,
            outcome_at=_int(data.get("outcome_at")),
            wait=_int(data.get("wait")),
        )


E = TypeVar("E", bound=StrEnum)


def _enum(cls: type[E], raw: str | None, default: E) -> E:
    try:
        return cls(raw) if raw is not None else default
    except ValueError:
        return default


def _int(raw: object) -> int | None:
    try:
        return int(str(raw))
    except (TypeError, ValueError):
        return None
