"""Blueprint ``incall`` under ``/incall``: the in-call tools for the console's users.

- ``GET /incall/blocklist`` (manager): live blocks and the forms below.
- ``POST /incall/blocklist`` (manager, CSRF): block a caller by CallSid or keyed hash.
- ``POST /incall/blocklist/remove`` (manager, CSRF): lift a block.
- ``POST /incall/escalate`` (counsellor, CSRF): bring 17, 112 or 119 into one's own call.
- ``POST /incall/supervise`` (manager, CSRF): join a counsellor's call (listen, whisper,
  barge) or change mode; ``POST /incall/supervise/leave`` leaves it.
- ``POST /incall/api/token`` (manager, CSRF): a Voice token for the manager's softphone.
- ``GET /incall/api/presence`` (counsellor): is a supervisor on my call, and how.
- ``POST /incall/supervise/<rid>/status`` (Twilio, signed): the supervisor's leg ended.
- ``POST /incall/transfer`` (counsellor, CSRF): ask for a colleague of another skill (warm
  transfer); ``POST /incall/transfer/complete`` hands over, ``POST /incall/transfer/cancel``
  keeps the caller; ``GET /incall/api/transfer``: the transfer's state.

Sessions, roles and CSRF are the console's (`console.auth.login_required`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant

from console.auth import (
    csrf_token,
    current_user,
    login_required,
    problem,
    runtime,
    security_headers,
)
from console.users import Role
from helpline.log import get_logger
from helpline.signature import twilio_signed
from incall import blocklist, escalate, supervise, transfer

log = get_logger("incall.views")

bp = Blueprint(
    "incall",
    __name__,
    url_prefix="/incall",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
bp.after_request(security_headers)  # the console's CSP, no caching, no framing

TOKEN_TTL = 3600
FINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


def _params() -> dict[str, Any]:
    """The request's fields: a JSON object or a form."""
    if request.is_json:
        body = request.get_json(silent=True)
        return body if isinstance(body, dict) else {}
    return request.form.to_dict()


def _field(params: dict[str, Any], name: str, limit: int = 200) -> str:
    value = params.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _login() -> str:
    user = current_user()
    assert user is not None  # login_required ran first
    return user.login


# --- blocklist (duty managers) ----------------------------------------------------------------


@bp.get("/blocklist")
@login_required(role=Role.MANAGER)
def blocklist_page() -> Any:
    """Live blocks and the forms to add or lift one."""
    rt = runtime()
    return render_template(
        "incall/blocklist.html",
        blocks=blocklist.entries(rt),
        default_hours=rt.config.incall.block_hours,
        max_hours=rt.config.incall.max_block_hours,
        zone=rt.config.zone,
        csrf_token=csrf_token(),
        user=current_user(),
    )


@bp.post("/blocklist")
@login_required(role=Role.MANAGER)
def blocklist_add() -> Any:
    """Block the caller of a CallSid, or a keyed hash, for some hours (audited)."""
    rt = runtime()
    params = _params()
    call_sid = _field(params, "call_sid", 64)
    try:
        hours = int(_field(params, "hours", 8) or rt.config.incall.block_hours)
        if call_sid:
            caller = blocklist.caller_of_call(rt, call_sid)
        else:
            caller = blocklist.check_hash(_field(params, "caller", 64))
        until = rt.clock.now() + timedelta(hours=hours)
        blocklist.block(
            rt, caller, until, _login(), _field(params, "reason"), call_sid=call_sid or None
        )
    except ValueError as exc:  # BlocklistError, or hours that are not a number
        detail = str(exc) if isinstance(exc, blocklist.BlocklistError) else "hours: a number"
        if request.is_json:
            return problem(400, "invalid_block", detail)
        flash(detail, "error")
        return redirect(url_for("incall.blocklist_page"), 303)
    log.warning("incall.blocked", by=_login(), hours=hours, call=call_sid or None)
    if request.is_json:
        return {"caller": caller, "until": until.isoformat()}, 201
    flash("Appelant bloqué.", "ok")
    return redirect(url_for("incall.blocklist_page"), 303)


@bp.post("/blocklist/remove")
@login_required(role=Role.MANAGER)
def blocklist_remove() -> Any:
    """Lift a block before its end (audited)."""
    rt = runtime()
    params = _params()
    try:
        lifted = blocklist.unblock(
            rt, _field(params, "caller", 64), _login(), _field(params, "reason")
        )
    except blocklist.BlocklistError as exc:
        if request.is_json:
            return problem(400, "invalid_block", str(exc))
        flash(str(exc), "error")
        return redirect(url_for("incall.blocklist_page"), 303)
    if request.is_json:
        return {"lifted": lifted}
    flash("Blocage levé." if lifted else "Cet appelant n'était pas bloqué.", "ok")
    return redirect(url_for("incall.blocklist_page"), 303)


# --- escalation (counsellors) -----------------------------------------------------------------


@bp.post("/escalate")
@login_required(role=Role.COUNSELLOR)
def escalate_view() -> Any:
    """Bring the service named ``target`` (police, emergency, child_protection) into my call."""
    user = current_user()
    assert user is not None
    target = _field(_params(), "target", 32)
    try:
        done = escalate.escalate(runtime(), user.counsellor_id or user.login, target, user.login)
    except escalate.EscalationError as exc:
        return problem(exc.status, exc.kind, exc.detail)
    return {"target": done.target, "label": escalate.label(runtime(), done.target)}, 201


# --- supervision (duty managers; presence for counsellors) ------------------------------------


@bp.post("/supervise")
@login_required(role=Role.MANAGER)
def supervise_view() -> Any:
    """Join ``counsellor``'s call in ``mode`` (listen by default), or change mode."""
    params = _params()
    try:
        mode = supervise.parse_mode(_field(params, "mode", 16) or "listen")
        state = supervise.join(runtime(), _login(), _field(params, "counsellor", 64), mode)
    except supervise.SupervisionError as exc:
        return problem(exc.status, exc.kind, exc.detail)
    return {"mode": state["mode"], "counsellor": state["counsellor"]}


@bp.post("/supervise/leave")
@login_required(role=Role.MANAGER)
def supervise_leave() -> Any:
    """Leave the call the manager is listening to."""
    try:
        supervise.leave(runtime(), _login(), _field(_params(), "counsellor", 64))
    except supervise.SupervisionError as exc:
        return problem(exc.status, exc.kind, exc.detail)
    return {"left": True}


@bp.post("/api/token")
@login_required(role=Role.MANAGER)
def api_token() -> Any:
    """A Voice access token for the manager's softphone (incoming calls only)."""
    settings = runtime().settings
    if not (settings.twilio_api_key_sid and settings.twilio_api_key_secret):
        return problem(503, "softphone_unconfigured", "Le softphone n'est pas configuré.")
    identity = supervise.identity(_login())
    token = AccessToken(
        settings.twilio_account_sid,
        settings.twilio_api_key_sid,
        settings.twilio_api_key_secret,
        identity=identity,
        ttl=TOKEN_TTL,
    )
    token.add_grant(VoiceGrant(incoming_allow=True))
    return {"token": token.to_jwt(), "identity": identity, "ttl": TOKEN_TTL}


@bp.get("/api/presence")
@login_required(role=Role.COUNSELLOR)
def api_presence() -> Any:
    """``{supervised, mode}`` for the counsellor's current call."""
    user = current_user()
    assert user is not None
    return supervise.presence(runtime(), user.counsellor_id or user.login)


@bp.post("/supervise/<rid>/status")
@twilio_signed
def supervise_status(rid: str) -> Response:
    """The supervisor's leg ended: the call is no longer supervised (idempotent)."""
    call_sid = request.form.get("CallSid", "")[:64]
    if request.form.get("CallStatus") in FINAL_STATUSES and call_sid and len(rid) <= 32:
        supervise.ended(runtime(), rid, call_sid)
    return Response("", 204)


# --- warm transfer (counsellors) --------------------------------------------------------------


@bp.app_context_processor
def _transfer_context() -> dict[str, Any]:
    """``transfer_skills()`` for console/_transfer.html (the skill buttons)."""
    return {"transfer_skills": lambda: transfer.skills(runtime())}


def _counsellor_id() -> str:
    user = current_user()
    assert user is not None  # login_required ran first
    return user.counsellor_id or user.login


@bp.post("/transfer")
@login_required(role=Role.COUNSELLOR)
def transfer_request() -> Any:
    """Ask for a colleague with ``skill`` for my call: 202 and the transfer's state."""
    skill = _field(_params(), "skill", 40)
    try:
        state = transfer.request(runtime(), _counsellor_id(), skill, _login())
    except transfer.TransferError as exc:
        return problem(exc.status, exc.kind, exc.detail)
    return state, 202


@bp.post("/transfer/complete")
@login_required(role=Role.COUNSELLOR)
def transfer_complete() -> Any:
    """Hand my call over to the colleague who joined it (my leg is hung up)."""
    try:
        return transfer.complete(runtime(), _counsellor_id(), _login())
    except transfer.TransferError as exc:
        return problem(exc.status, exc.kind, exc.detail)


@bp.post("/transfer/cancel")
@login_required(role=Role.COUNSELLOR)
def transfer_cancel() -> Any:
    """Stop the transfer: the caller stays with me ("stay with me")."""
    try:
        return transfer.cancel(runtime(), _counsellor_id(), _login())
    except transfer.TransferError as exc:
        return problem(exc.status, exc.kind, exc.detail)


@bp.get("/api/transfer")
@login_required(role=Role.COUNSELLOR)
def api_transfer() -> Any:
    """``{state, skill, colleague | from, role}`` of my call's transfer."""
    return transfer.state(runtime(), _counsellor_id())
