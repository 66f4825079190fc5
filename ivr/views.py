"""Voice webhooks: parse Twilio's form, call `ivr.service`, render TwiML. Nothing else here.

Every route checks ``X-Twilio-Signature`` (403 when it does not match) and never answers an
error: `ivr.safety` turns any exception into safe TwiML.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request

from acd.views import conference_if_accepted
from helpline.runtime import Runtime
from helpline.signature import twilio_signed
from ivr import service
from ivr.safety import register_voice_error_handler
from ivr.twilio_form import VoiceRequest
from ivr.twiml import render_turn, twiml

bp = Blueprint("ivr", __name__)
register_voice_error_handler(bp)


def _runtime() -> Runtime:
    runtime: Runtime = current_app.extensions["helpline"]
    return runtime


def _voice_request() -> VoiceRequest:
    return VoiceRequest.parse(request.form, request.args)


@bp.post("/voice/incoming")
@twilio_signed
def incoming() -> Response:
    """The number's (or TwiML App's) Voice URL: a call arrives."""
    runtime = _runtime()
    return render_turn(runtime, service.incoming(runtime, _voice_request()))


@bp.post("/voice/menu/<step>")
@twilio_signed
def menu(step: str) -> Response:
    """A menu's <Gather> action: the key pressed, or nothing (silence continues)."""
    runtime = _runtime()
    return render_turn(runtime, service.menu(runtime, step, _voice_request()))


@bp.post("/voice/rejoin")
@twilio_signed
def rejoin() -> Response:
    """Where safe TwiML redirects after an error: back to the queue when possible."""
    runtime = _runtime()
    return render_turn(runtime, service.rejoin(runtime, _voice_request(), apology=False))


@bp.post("/voice/fallback")
@twilio_signed
def fallback() -> Response:
    """Twilio's fallback URL: apologise, then back to the queue when possible; a caller a
    counsellor has accepted goes on to the conference where the counsellor waits."""
    runtime = _runtime()
    req = _voice_request()
    try:
        joined = conference_if_accepted(runtime, req.call_sid)
    except Exception:  # noqa: BLE001 - the usual fallback below still answers
        joined = None
    if joined is not None:
        return joined
    return render_turn(runtime, service.rejoin(runtime, req, apology=True))


@bp.post("/voice/status")
@twilio_signed
def status() -> Response:
    """Status callbacks of a caller leg: any order, any number of times, always 2xx."""
    service.status(_runtime(), _voice_request())
    return twiml(render_template("empty.xml"))
