"""Supervisor listening: a duty manager joins a live call to listen, whisper or barge in.

The manager's browser softphone (identity ``manager-<login>``, token from
``POST /incall/api/token``) is added to the conference ``res-<rid>`` as a participant:

- ``listen``: muted; nobody hears the manager.
- ``whisper``: coaching the counsellor's leg; only the counsellor hears the manager.
- ``barge``: unmuted, not coaching; caller and counsellor hear the manager.

Modes change with a participant update. The endpoint is derived from the logged-in manager,
never taken from the request. One supervisor per call (``incall:supervision:<rid>``, claimed
with HSETNX); the counsellor's console polls `presence`. Every join, change and leave is
audited.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, cast

from twilio.base.exceptions import TwilioRestException

from acd import twilio_ops
from acd.model import Reservation
from helpline.clock import to_ms
from helpline.log import get_logger
from helpline.runtime import Runtime
from incall import audit
from incall.scripts import script

log = get_logger("incall.supervise")

SUPERVISION_TTL_S = 86_400
REST_TIMEOUT_S = 5.0


class Mode(StrEnum):
    """How the supervisor takes part."""

    LISTEN = "listen"
    WHISPER = "whisper"
    BARGE = "barge"


class SupervisionError(Exception):
    """The request cannot be met; ``status`` and ``kind`` for the HTTP answer."""

    def __init__(self, status: int, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.kind, self.detail = status, kind, detail


def identity(login: str) -> str:
    """The manager's softphone identity (never a number, never from the request)."""
    return f"manager-{login}"


def status_path(rid: str) -> str:
    """Status callbacks of a supervisor's leg."""
    return f"/incall/supervise/{rid}/status"


def participant_options(mode: Mode, counsellor_leg: str | None) -> dict[str, Any]:
    """The participant parameters of ``mode`` (create and update alike)."""
    if mode is Mode.WHISPER:
        if not counsellor_leg:
            raise SupervisionError(409, "no_counsellor_leg", "La ligne de l'écoutant est inconnue.")
        return {"muted": False, "coaching": True, "call_sid_to_coach": counsellor_leg}
    return {"muted": mode is Mode.LISTEN, "coaching": False}


def parse_mode(value: str) -> Mode:
    """A mode from the request, or raise."""
    try:
        return Mode(value)
    except ValueError:
        raise SupervisionError(400, "unknown_mode", "Mode inconnu.") from None


def _call(runtime: Runtime, counsellor_id: str) -> Reservation:
    reservation = audit.live_call(runtime, counsellor_id)
    if reservation is None:
        raise SupervisionError(409, "not_on_call", "Cet écoutant n'est pas en communication.")
    return reservation


def join(runtime: Runtime, login: str, counsellor_id: str, mode: Mode) -> dict[str, str]:
    """Add the manager ``login`` to the counsellor's live call in ``mode``; audited."""
    reservation = _call(runtime, counsellor_id)
    options = participant_options(mode, reservation.counsellor_call_sid)
    key = runtime.keys.incall_supervision(reservation.id)
    if not runtime.redis.hsetnx(key, "login", login):
        holder = runtime.redis.hget(key, "login")
        if holder != login:
            raise SupervisionError(409, "supervised", "Un autre cadre écoute déjà cet appel.")
        return change_mode(runtime, login, counsellor_id, mode)
    runtime.redis.expire(key, SUPERVISION_TTL_S)
    client = twilio_ops.with_timeout(runtime.twilio, REST_TIMEOUT_S)
    try:
        participant = client.conferences(
            twilio_ops.conference_name(reservation.conference_rid)
        ).participants
        created = participant.create(
            from_=runtime.config.helpline.caller_id,
            to=f"client:{identity(login)}",
            early_media=False,
            beep=False,
            end_conference_on_exit=False,
            status_callback=runtime.public_url(status_path(reservation.id)),
            status_callback_event=["completed"],
            **options,
        )
    except (TwilioRestException, OSError) as exc:
        runtime.redis.delete(key)
        log.error("incall.supervise_failed", rid=reservation.id, error=type(exc).__name__)
        raise SupervisionError(502, "twilio_error", "Impossible de rejoindre l'appel.") from exc
    state: dict[str, str] = {
        "login": login,
        "mode": mode.value,
        "counsellor": counsellor_id,
        "call_sid": getattr(created, "call_sid", None) or "",
        "conference_sid": getattr(created, "conference_sid", None) or "",
        "since": str(to_ms(runtime.clock.now())),
    }
    runtime.redis.hset(key, items=[part for pair in state.items() for part in pair])
    audit.record(
        runtime, login, "incall.supervise", f"reservation:{reservation.id}",
        after={"mode": mode.value, "counsellor": counsellor_id},
    )  # fmt: skip
    log.info("incall.supervise_joined", rid=reservation.id, mode=mode.value)
    return state


def _mine(runtime: Runtime, login: str, reservation: Reservation) -> dict[str, str]:
    key = runtime.keys.incall_supervision(reservation.id)
    state = cast(dict[str, str], runtime.redis.hgetall(key))
    if state.get("login") != login or not state.get("call_sid"):
        raise SupervisionError(409, "not_supervising", "Vous n'écoutez pas cet appel.")
    return state


def change_mode(runtime: Runtime, login: str, counsellor_id: str, mode: Mode) -> dict[str, str]:
    """Switch the manager's participant to ``mode`` (participant update); audited."""
    reservation = _call(runtime, counsellor_id)
    state = _mine(runtime, login, reservation)
    if state.get("mode") == mode.value:
        return state
    options = participant_options(mode, reservation.counsellor_call_sid)
    client = twilio_ops.with_timeout(runtime.twilio, REST_TIMEOUT_S)
    conference = state.get("conference_sid") or twilio_ops.conference_name(
        reservation.conference_rid
    )
    try:
        client.conferences(conference).participants(state["call_sid"]).update(**options)
    except (TwilioRestException, OSError) as exc:
        log.error("incall.mode_failed", rid=reservation.id, error=type(exc).__name__)
        raise SupervisionError(502, "twilio_error", "Le mode n'a pas pu être changé.") from exc
    runtime.redis.hset(runtime.keys.incall_supervision(reservation.id), "mode", mode.value)
    audit.record(
        runtime, login, "incall.supervise_mode", f"reservation:{reservation.id}",
        before={"mode": state.get("mode")}, after={"mode": mode.value},
    )  # fmt: skip
    return {**state, "mode": mode.value}


def leave(runtime: Runtime, login: str, counsellor_id: str) -> None:
    """Take the manager out of the call (their leg only); audited."""
    reservation = _call(runtime, counsellor_id)
    state = _mine(runtime, login, reservation)
    try:
        twilio_ops.end_call(runtime, state["call_sid"])
    except (TwilioRestException, OSError) as exc:
        raise SupervisionError(502, "twilio_error", "Impossible de quitter l'appel.") from exc
    ended(runtime, reservation.id, state["call_sid"])
    audit.record(
        runtime, login, "incall.supervise_leave", f"reservation:{reservation.id}",
        before={"mode": state.get("mode")},
    )  # fmt: skip


def ended(runtime: Runtime, rid: str, call_sid: str) -> bool:
    """The supervisor's leg ``call_sid`` is over: the call is no longer supervised."""
    key = runtime.keys.incall_supervision(rid)
    return bool(script(runtime.redis, "supervision_end")(keys=[key], args=[call_sid]))


def presence(runtime: Runtime, counsellor_id: str) -> dict[str, Any]:
    """What the counsellor's console shows: is a supervisor on my call, and how."""
    reservation = audit.live_call(runtime, counsellor_id)
    if reservation is None:
        return {"supervised": False, "mode": None}
    raw = runtime.redis.hmget(runtime.keys.incall_supervision(reservation.id), "login", "mode")
    login, mode = cast(list[str | None], raw)
    return {"supervised": bool(login), "mode": mode if login else None}
