"""The counsellor console: state buttons, the offered or current call's context, softphone token.

Blueprint ``console`` under ``/console`` (the app factory registers `bp`). Pages:

- ``/console``: a counsellor's own console; a duty manager sees the team and may open any
  counsellor's console read-only (``?counsellor=<id>``).
- ``GET /console/api/state``: the same data as JSON, polled every 2 s by ``console.js``.
- ``POST /console/api/state`` (JSON, ``X-CSRF-Token``) and ``POST /console/state`` (form, for
  browsers without JavaScript): change one's own state through `Acd.set_state`.
- ``POST /console/api/token``: a Twilio Voice access token for the browser softphone.

The context never carries a phone number: only whitelisted fields of the reservation and the
call record. The platform's opaque reference (``platform_ref``) is shown only to the counsellor
who is on that call (DOMAIN.md, privacy rules), never during the offer nor to a manager.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant

from acd import jobs
from acd.errors import AcdError, CounsellorBusy, InvalidTransition, UnknownCounsellor
from acd.model import Counsellor, CounsellorState, Reservation, ReservationStatus
from acd.store import Acd
from console import auth
from console.auth import current_user, login_required, problem, runtime
from console.users import Role, User
from helpline.log import get_logger
from incall import escalate

log = get_logger("console.views")

HERE = Path(__file__).resolve().parent
bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

TOKEN_TTL = 3600  # seconds; the page asks for a new one when Twilio warns it will expire
VOICE_SDK = HERE / "static" / "vendor" / "twilio.min.js"

STATE_LABELS = {
    CounsellorState.OFFLINE: "Hors ligne",
    CounsellorState.AVAILABLE: "Disponible",
    CounsellorState.RESERVED: "Appel proposé",
    CounsellorState.ON_CALL: "En communication",
    CounsellorState.WRAP_UP: "Post-appel",
    CounsellorState.BREAK: "En pause",
}
BREAK_REASONS = {
    "pause": "Pause",
    "training": "Formation",
    "meeting": "Réunion",
    "debrief": "Débriefing",
}
OTHER_REASONS = {"missed": "Appel manqué"}  # set by the ACD, not chosen here
PLATFORM_LABELS = {
    "phone": "Téléphone",
    "instagram": "Instagram",
    "messenger": "Messenger",
    "facebook": "Facebook",
    "tiktok": "TikTok",
    "snapchat": "Snapchat",
    "whatsapp": "WhatsApp",
    "youtube": "YouTube",
    "discord": "Discord",
    "x": "X",
    "unknown": "Inconnue",
}
CALLER_TYPE_LABELS = {
    "young": "Jeune",
    "parent": "Parent",
    "professional": "Professionnel",
    "unknown": "Non précisé",
}
LANGUAGE_LABELS = {"fr": "Français", "en": "Anglais"}
ROLE_LABELS = {Role.COUNSELLOR: "écoutant", Role.MANAGER: "coordination"}
#: The services a counsellor may bring into a call (incall.escalate), in words; the numbers
#: shown and dialled are the configuration's (``[incall]``), never the page's.
# Buttons offered per state; the ACD decides in the end (and may refuse: InvalidTransition).
ACTIONS: dict[CounsellorState, frozenset[str]] = {
    CounsellorState.OFFLINE: frozenset({"available", "break"}),
    CounsellorState.AVAILABLE: frozenset({"break", "offline"}),
    CounsellorState.BREAK: frozenset({"available", "break", "offline"}),
    CounsellorState.WRAP_UP: frozenset({"available", "break", "offline"}),
    CounsellorState.RESERVED: frozenset(),
    CounsellorState.ON_CALL: frozenset(),
}
MANUAL = {
    "available": CounsellorState.AVAILABLE,
    "break": CounsellorState.BREAK,
    "offline": CounsellorState.OFFLINE,
}


def softphone_identity(endpoint: str) -> str | None:
    """The Voice SDK identity of a ``client:<identity>`` endpoint; None for a phone number."""
    if endpoint.startswith("client:") and len(endpoint) > len("client:"):
        return endpoint[len("client:") :]
    return None


# --- the context shown to a counsellor ----------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """Who is looking at which counsellor's console."""

    user: User
    counsellor_id: str
    own: bool  # the counsellor themself (may act); False: a manager, read-only


def _label(labels: dict[str, str], value: str | None) -> str | None:
    if value is None:
        return None
    return labels.get(value, value)


def _call_context(reservation: Reservation, viewer: Viewer) -> dict[str, Any]:
    """Whitelisted facts about the offered or current call. Never a number."""
    now = runtime().clock.now()
    offered = reservation.status is ReservationStatus.PENDING
    waited = reservation.waited_s
    if offered:
        # The caller is still waiting while the offer rings.
        waited += max(0, int((now - reservation.created_at).total_seconds()))
    context: dict[str, Any] = {
        "status": "offered" if offered else "on_call",
        "platform": reservation.platform,
        "platform_label": _label(PLATFORM_LABELS, reservation.platform),
        "caller_type": reservation.caller_type,
        "caller_type_label": _label(CALLER_TYPE_LABELS, reservation.caller_type),
        "language": reservation.language,
        "language_label": _label(LANGUAGE_LABELS, reservation.language),
        "waited_s": waited,
        "expires_in_s": (
            max(0, int((reservation.expires_at - now).total_seconds())) if offered else None
        ),
        "since": reservation.accepted_at.isoformat() if reservation.accepted_at else None,
        "platform_ref": None,
    }
    if not offered and viewer.own:
        rt = runtime()
        ref = rt.redis.hget(rt.keys.call(reservation.call_sid), "platform_ref")
        context["platform_ref"] = ref or None
    return context


def _current_reservation(acd: Acd, counsellor: Counsellor) -> Reservation | None:
    """The open (pending or accepted) reservation the counsellor is part of, if any."""
    if not counsellor.reservation_id:
        return None
    reservation = acd.get_reservation(counsellor.reservation_id)
    if reservation is None or reservation.counsellor_id != counsellor.id:
        return None
    if reservation.status not in (ReservationStatus.PENDING, ReservationStatus.ACCEPTED):
        return None
    return reservation


def console_state(viewer: Viewer) -> dict[str, Any]:
    """What the console shows, as plain JSON-able data."""
    rt = runtime()
    now = rt.clock.now()
    acd = Acd(rt)
    counsellor = acd.get_counsellor(viewer.counsellor_id)
    data: dict[str, Any] = {
        "now": now.isoformat(),
        "readonly": not viewer.own,
        "counsellor": None,
        "actions": [],
        "call": None,
        "softphone": False,
    }
    if counsellor is None:
        return data
    state = counsellor.state
    data["counsellor"] = {
        "id": counsellor.id,
        "name": counsellor.name,
        "state": state.value,
        "state_label": STATE_LABELS.get(state, state.label),
        "reason": counsellor.reason,
        "reason_label": _label({**BREAK_REASONS, **OTHER_REASONS}, counsellor.reason),
        "since": counsellor.state_since.isoformat(),
        "since_s": max(0, int((now - counsellor.state_since).total_seconds())),
        "wrap_up_left_s": (
            max(0, int((counsellor.wrap_up_until - now).total_seconds()))
            if state is CounsellorState.WRAP_UP and counsellor.wrap_up_until
            else None
        ),
        "calls_today": counsellor.calls_today,
        "missed": counsellor.missed,
    }
    data["softphone"] = softphone_identity(counsellor.endpoint) is not None
    if viewer.own:
        data["actions"] = sorted(ACTIONS.get(state, frozenset()))
    reservation = _current_reservation(acd, counsellor)
    if reservation is not None:
        data["call"] = _call_context(reservation, viewer)
    return data


def _viewer(user: User) -> Viewer | None:
    """Counsellors see themselves; managers name the counsellor (None: the team view)."""
    if user.role is Role.COUNSELLOR:
        return Viewer(user, user.counsellor_id or user.login, own=True)
    wanted = (request.args.get("counsellor") or "").strip()
    return Viewer(user, wanted, own=False) if wanted else None


# --- state changes ------------------------------------------------------------------------------


class StateChangeRefused(Exception):
    """A state change the console will not make; ``status`` and French ``detail`` for people."""

    def __init__(self, status: int, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.kind, self.detail = status, kind, detail


def change_state(user: User, action: str, reason: str | None) -> Counsellor:
    """Apply one of the console's buttons to the user's own counsellor."""
    target = MANUAL.get(action)
    if target is None:
        raise StateChangeRefused(400, "bad_state", "Cet état ne se choisit pas ici.")
    if target is CounsellorState.BREAK:
        if reason not in BREAK_REASONS:
            raise StateChangeRefused(400, "bad_reason", "Choisissez le motif de la pause.")
    else:
        reason = None
    rt = runtime()
    counsellor_id = user.counsellor_id or user.login
    try:
        counsellor = Acd(rt).set_state(counsellor_id, target, reason)
    except CounsellorBusy as exc:
        log.info("console_state_refused", counsellor=counsellor_id, wanted=target.value)
        raise StateChangeRefused(
            409,
            "counsellor_busy",
            "Un appel vous est proposé ou vous êtes en communication : "
            "votre état changera de lui-même à la fin de l'appel.",
        ) from exc
    except InvalidTransition as exc:
        log.info("console_state_refused", counsellor=counsellor_id, wanted=target.value)
        raise StateChangeRefused(
            409,
            "invalid_transition",
            "Ce changement d'état n'est pas possible maintenant. Réessayez dans un instant.",
        ) from exc
    except UnknownCounsellor as exc:
        raise StateChangeRefused(404, "unknown_counsellor", NO_PROFILE) from exc
    except AcdError as exc:
        log.warning("console_state_failed", counsellor=counsellor_id, error=str(exc))
        raise StateChangeRefused(409, "acd_refused", "Ce changement n'a pas pu être fait.") from exc
    log.info("console_state_changed", counsellor=counsellor_id, state=target.value, reason=reason)
    if target is CounsellorState.AVAILABLE:
        _request_dispatch()
    return counsellor


NO_PROFILE = (
    "Votre profil d'écoutant n'est pas encore configuré dans la distribution des appels. "
    "Demandez à la coordination de l'ajouter."
)


def _request_dispatch() -> None:
    """Someone became free: let the ACD offer them a waiting caller now, not at the next sweep."""
    jobs.request_dispatch(runtime())  # never raises: the periodic sweep dispatches anyway


def _offline_on_logout(user: User) -> None:
    """A browser counsellor who leaves the console can no longer ring: set them offline."""
    if user.role is not Role.COUNSELLOR:
        return
    rt = runtime()
    acd = Acd(rt)
    counsellor_id = user.counsellor_id or user.login
    counsellor = acd.get_counsellor(counsellor_id)
    if counsellor is None or softphone_identity(counsellor.endpoint) is None:
        return
    if counsellor.state in (CounsellorState.OFFLINE, CounsellorState.RESERVED):
        return  # an offer is ringing: it fails on its own and the caller keeps their place
    try:
        acd.set_state(counsellor_id, CounsellorState.OFFLINE, None)
    except AcdError:
        log.info("console_logout_state_kept", counsellor=counsellor_id)


auth.install(bp, on_logout=_offline_on_logout)


# --- pages ---------------------------------------------------------------------------------------


@bp.get("/")
@login_required(role=(Role.COUNSELLOR, Role.MANAGER))
def index() -> Any:
    """A counsellor's console; for a manager, the team or one counsellor's console (read-only)."""
    user = current_user()
    assert user is not None
    viewer = _viewer(user)
    if viewer is None:
        acd = Acd(runtime())
        now = runtime().clock.now()
        team = [
            {
                "id": c.id,
                "name": c.name,
                "state_label": STATE_LABELS.get(c.state, c.state.label),
                "state": c.state.value,
                "reason_label": _label({**BREAK_REASONS, **OTHER_REASONS}, c.reason),
                "since_s": max(0, int((now - c.state_since).total_seconds())),
            }
            for c in sorted(acd.list_counsellors(), key=lambda c: (c.name.lower(), c.id))
        ]
        return render_template("console/team.html", team=team)
    state = console_state(viewer)
    if viewer.own and state["counsellor"] is None:
        flash(NO_PROFILE, "error")
    escalations = [
        {
            "target": target,
            "name": name,
            "number": escalate.number_for(runtime(), target),
        }
        for target, name in escalate.TARGETS.items()
    ]
    return render_template(
        "console/console.html",
        state=state,
        viewer=viewer,
        break_reasons=BREAK_REASONS,
        voice_sdk=VOICE_SDK.exists(),
        escalations=escalations if viewer.own else [],
        state_url=url_for(
            "console.api_state", counsellor=None if viewer.own else viewer.counsellor_id
        ),
    )


@bp.post("/state")
@login_required(role=Role.COUNSELLOR)
def change_state_form() -> Any:
    """The state buttons without JavaScript: change, then back to the console."""
    user = current_user()
    assert user is not None
    try:
        change_state(user, request.form.get("state", ""), request.form.get("reason") or None)
    except StateChangeRefused as exc:
        flash(exc.detail, "error")
    else:
        flash("État mis à jour.", "info")
    return redirect(url_for("console.index"))


# --- JSON API ------------------------------------------------------------------------------------


@bp.get("/api/state")
@login_required(role=(Role.COUNSELLOR, Role.MANAGER))
def api_state() -> Any:
    """The console's data: state, allowed actions, the offered or current call (no number)."""
    user = current_user()
    assert user is not None
    viewer = _viewer(user)
    if viewer is None:
        return problem(400, "counsellor_required", "Précisez l'écoutant (?counsellor=<id>).")
    data = console_state(viewer)
    if data["counsellor"] is None:
        return problem(404, "unknown_counsellor", NO_PROFILE)
    return jsonify(data)


@bp.post("/api/state")
@login_required(role=Role.COUNSELLOR)
def api_set_state() -> Any:
    """Change one's own state: ``{"state": "available"|"break"|"offline", "reason": …}``."""
    user = current_user()
    assert user is not None
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return problem(400, "bad_request", 'Corps JSON attendu : {"state": …}.')
    state, reason = body.get("state"), body.get("reason")
    if not isinstance(state, str) or (reason is not None and not isinstance(reason, str)):
        return problem(400, "bad_request", 'Corps JSON attendu : {"state": …}.')
    try:
        change_state(user, state, reason)
    except StateChangeRefused as exc:
        return problem(exc.status, exc.kind, exc.detail)
    viewer = _viewer(user)
    assert viewer is not None
    return jsonify(console_state(viewer))


@bp.post("/api/token")
@login_required(role=Role.COUNSELLOR)
def api_token() -> Any:
    """A short-lived Twilio Voice access token for the counsellor's browser softphone."""
    user = current_user()
    assert user is not None
    settings = runtime().settings
    if not (settings.twilio_api_key_sid and settings.twilio_api_key_secret):
        return problem(
            503,
            "softphone_unconfigured",
            "Le softphone n'est pas configuré sur ce serveur (clé d'API Twilio absente).",
        )
    counsellor = Acd(runtime()).get_counsellor(user.counsellor_id or user.login)
    if counsellor is None:
        return problem(404, "unknown_counsellor", NO_PROFILE)
    identity = softphone_identity(counsellor.endpoint)
    if identity is None:
        return problem(
            409, "no_softphone", "Vos appels arrivent sur votre téléphone, pas dans le navigateur."
        )
    # Twilio checks the expiry against real time, so the token uses the wall clock (the
    # library's own) and not the injected clock, which the demo may run faster.
    token = AccessToken(
        settings.twilio_account_sid,
        settings.twilio_api_key_sid,
        settings.twilio_api_key_secret,
        identity=identity,
        ttl=TOKEN_TTL,
    )
    token.add_grant(
        VoiceGrant(incoming_allow=True, outgoing_application_sid=settings.twilio_twiml_app_sid)
    )
    log.info("console_token_issued", counsellor=counsellor.id)
    return jsonify(token=token.to_jwt(), identity=identity, ttl=TOKEN_TTL)
