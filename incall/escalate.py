"""Safeguarding escalation: the counsellor brings 17, 112 or 119 into the call.

The caller is never dropped: the service is added as a new participant of the conference
``res-<rid>`` where caller and counsellor already talk (Conference Participants resource,
created by friendly name). The number comes from ``[incall]`` by the name of the service,
never from the request. Each escalation is an event (``incall.escalated``) and an audit entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twilio.base.exceptions import TwilioRestException

from acd import twilio_ops
from helpline.events import append_event
from helpline.log import get_logger
from helpline.runtime import Runtime
from incall import audit

log = get_logger("incall.escalate")

#: Services a counsellor may bring in: ``[incall]`` field → the service's name (its number
#: comes from the configuration only, see `label`).
TARGETS = {
    "police": "Police",
    "emergency": "Urgences",
    "child_protection": "Enfance en danger",
}
DEBOUNCE_S = 30  # a second click within this time does not dial the service again
REST_TIMEOUT_S = 5.0  # inside a web request: answer the console quickly


class EscalationError(Exception):
    """The escalation cannot be made; ``status`` and ``kind`` for the HTTP answer."""

    def __init__(self, status: int, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.kind, self.detail = status, kind, detail


@dataclass(frozen=True)
class Escalation:
    """A service added to a live call."""

    reservation_id: str
    target: str
    participant_call_sid: str | None


def number_for(runtime: Runtime, target: str) -> str:
    """The configured number of ``target`` (a name of `TARGETS`), or raise."""
    if target not in TARGETS:
        raise EscalationError(400, "unknown_target", "Service inconnu.")
    return str(getattr(runtime.config.incall, target))


def label(runtime: Runtime, target: str) -> str:
    """``<service name> (<configured number>)``, e.g. "Enfance en danger (119)"."""
    return f"{TARGETS[target]} ({number_for(runtime, target)})"


def _keep_conference_when_counsellor_leaves(
    client: Any, participant: Any, reservation: Any, rid: str
) -> None:
    """Once an emergency service is on the line, the counsellor hanging up must not end the
    conference: the child stays with 17/112/119. (The caller leaving still ends it.)"""
    conference_sid = getattr(participant, "conference_sid", None)
    if not conference_sid or not reservation.counsellor_call_sid:
        log.error("incall.escalation_conference_unknown", rid=rid)
        return
    try:
        client.conferences(conference_sid).participants(reservation.counsellor_call_sid).update(
            end_conference_on_exit=False
        )
    except (TwilioRestException, OSError) as exc:  # the service is on the line all the same
        log.error("incall.escalation_keep_failed", rid=rid, error=type(exc).__name__)


def escalate(runtime: Runtime, counsellor_id: str, target: str, by: str) -> Escalation:
    """Add the service ``target`` to the counsellor's current call; audited and recorded."""
    to = number_for(runtime, target)
    reservation = audit.live_call(runtime, counsellor_id)
    if reservation is None:
        raise EscalationError(409, "not_on_call", "Vous n'êtes pas en communication.")
    rid = reservation.id
    lock = runtime.keys.incall_escalation_lock(rid, target)
    if not runtime.redis.set(lock, by, nx=True, ex=DEBOUNCE_S):
        raise EscalationError(409, "already_dialled", "Ce service est déjà en cours d'appel.")
    now = runtime.clock.now()
    conference = twilio_ops.conference_name(reservation.conference_rid)  # a transferred call's too
    client = twilio_ops.with_timeout(runtime.twilio, REST_TIMEOUT_S)
    try:
        participant = client.conferences(conference).participants.create(
            from_=runtime.config.helpline.caller_id,
            to=to,
            early_media=True,
            end_conference_on_exit=False,
            beep=False,
        )
    except (TwilioRestException, OSError) as exc:
        runtime.redis.delete(lock)  # let the counsellor try again at once
        log.error("incall.escalation_failed", rid=rid, target=target, error=type(exc).__name__)
        append_event(
            runtime.redis, runtime.keys, "incall.escalation_failed", now,
            rid=rid, call_sid=reservation.call_sid, counsellor=counsellor_id, target=target, by=by,
        )  # fmt: skip
        raise EscalationError(502, "twilio_error", "L'appel n'a pas pu être passé.") from exc
    leg = getattr(participant, "call_sid", None)
    _keep_conference_when_counsellor_leaves(client, participant, reservation, rid)
    # Remembered on the call's reservation: a warm transfer canceled later must not make the
    # counsellor's leaving end the conference again (acd/transfer.py `restore_end_on_exit`).
    # A plain write on a live reservation (it keeps the reservation's TTL).
    runtime.redis.hset(runtime.keys.reservation(rid), "escalated", target)
    append_event(
        runtime.redis, runtime.keys, "incall.escalated", now,
        rid=rid, call_sid=reservation.call_sid, counsellor=counsellor_id, target=target, by=by,
        participant=leg,
    )  # fmt: skip
    audit.record(
        runtime, by, "incall.escalate", f"reservation:{rid}",
        after={"target": target, "counsellor": counsellor_id, "participant": leg},
    )  # fmt: skip
    log.warning("incall.escalated", rid=rid, call=reservation.call_sid, target=target)
    return Escalation(rid, target, leg)
