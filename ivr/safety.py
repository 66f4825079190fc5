"""Never an application error: any exception in a voice route becomes safe TwiML.

Twilio plays "an application error has occurred" and hangs up on a 4xx/5xx or on a document it
cannot read. `register_voice_error_handler` gives a blueprint a handler that answers 200 with a
short apology, the alternatives (chat, website, 17/112, 119), then either a ``<Redirect>`` to
``/voice/rejoin`` (back to the queue when possible) or ``<Hangup/>``. It logs the exception with
the CallSid, never the payload. It touches no Redis (Redis may be what failed), and if even the
templates fail, a constant document is sent.

The redirect is left out when it makes no sense: no usable CallSid, a status callback, or a leg
Twilio placed (``Direction`` outbound: a counsellor), who only hears the apology.

When ``/voice/rejoin`` or ``/voice/fallback`` fail themselves (Redis restarting, a Sentinel
failover), the caller is not cut off: they hear "please stay on the line", a pause of
`HOLD_PAUSE_S`, and ``/voice/rejoin`` is tried again, `MAX_REJOIN_ATTEMPTS` times in all
(``?attempt=N`` counts them: no loop), about a minute; only then the alternatives and goodbye.
A counsellor whose offer's whisper or key press failed is treated alike: the apology, a pause,
and the whisper again (``/voice/offer/<rid>?attempt=N``, which knows an offer that is over),
rather than a hang-up that would count as declining the offer; and so is a caller we are
calling back (virtual hold) whose leg's TwiML failed: ``/voice/callback/<rid>?attempt=N``.
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, current_app, render_template, request

from acd.twilio_ops import callback_path, offer_path
from helpline.log import get_logger
from ivr.prompts import prompt
from ivr.twilio_form import CALL_SID
from ivr.twiml import REJOIN_PATH, twiml

log = get_logger("ivr.safety")

NO_REDIRECT = frozenset({"ivr.status"})
#: Routes whose failure is retried after a pause rather than sending the caller round again.
RETRIED = frozenset({"ivr.rejoin", "ivr.fallback"})
#: Attempts at /voice/rejoin after it or the fallback failed, and the pause before each: long
#: enough to ride out a Redis restart or a Sentinel failover (10-30 s).
MAX_REJOIN_ATTEMPTS = 8
HOLD_PAUSE_S = 5
#: Routes of legs we placed whose failure plays their first TwiML again (a few times): a
#: counsellor's offer (the whisper again) and a caller's callback leg.
OFFER_ROUTES = frozenset({"acd.offer_twiml", "acd.offer_answer", "acd.offer_fallback"})
CALLBACK_ROUTES = frozenset({"acd.callback_leg"})
MAX_OFFER_ATTEMPTS = 4
OFFER_PAUSE_S = 3
_RID = re.compile(r"^[0-9]{1,18}$")  # as acd.views
MINIMAL = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Response>'
    '<Say language="fr-FR">Désolé, nous rencontrons un problème technique. En cas de danger '
    "immédiat, appelez le 17 ou le 112. Si un enfant est en danger, appelez le 119.</Say>"
    "<Hangup/></Response>\n"
)


def register_voice_error_handler(bp: Blueprint) -> None:
    """Answer safe TwiML (200) for any exception raised by ``bp``'s views."""
    bp.register_error_handler(Exception, voice_error)


def voice_error(exc: Exception) -> Response:
    """The error handler: log with the CallSid, answer safe TwiML."""
    call_sid = _form_value("CallSid")
    call_sid = call_sid if CALL_SID.match(call_sid) else ""
    log.exception(
        "voice_error",
        call=call_sid or None,
        route=request.endpoint,
        error=type(exc).__name__,
    )
    outbound = _form_value("Direction").lower().startswith("outbound")
    rejoin = bool(call_sid) and request.endpoint not in NO_REDIRECT and not outbound
    rid = str((request.view_args or {}).get("rid", ""))
    again = request.endpoint in OFFER_ROUTES or request.endpoint in CALLBACK_ROUTES
    if outbound and again and _RID.match(rid):
        attempt = _attempt()
        if attempt < MAX_OFFER_ATTEMPTS:
            return leg_again_twiml(rid, attempt + 1, callback=request.endpoint in CALLBACK_ROUTES)
    if rejoin and request.endpoint in RETRIED:
        attempt = _attempt()
        if attempt < MAX_REJOIN_ATTEMPTS:
            return hold_twiml(attempt + 1)
        rejoin = False  # tried long enough: the alternatives, goodbye
    return safe_twiml(rejoin=rejoin, counsellor=outbound)


def hold_twiml(attempt: int) -> Response:
    """ "Please stay on the line", a pause, then ``/voice/rejoin`` again (its ``attempt``)."""
    return _document(["acd.please_hold"], HOLD_PAUSE_S, f"{REJOIN_PATH}?attempt={attempt}")


def leg_again_twiml(rid: str, attempt: int, *, callback: bool = False) -> Response:
    """The apology, a pause, then the leg's first TwiML again: the offer's whisper for a
    counsellor, the way into the conference for a caller called back (``callback``)."""
    path = (callback_path if callback else offer_path)(rid)
    return _document(["ivr.apology"], OFFER_PAUSE_S, f"{path}?attempt={attempt}")


def _attempt() -> int:
    """``?attempt=N`` of a retried /voice/rejoin (0 when absent or not a small number)."""
    raw = request.args.get("attempt", "")
    return int(raw) if raw.isdigit() and len(raw) <= 3 else 0


def safe_twiml(*, rejoin: bool, counsellor: bool = False) -> Response:
    """Apology and alternatives, then back to the queue (``rejoin``) or hang up."""
    ids = ["ivr.apology"] if counsellor else ["ivr.apology", "ivr.alternatives"]
    if not rejoin and not counsellor:
        ids.append("ivr.goodbye")
    return _document(ids, None, REJOIN_PATH if rejoin else None)


def _document(prompt_ids: list[str], pause: int | None, redirect_path: str | None) -> Response:
    """safe.xml: the prompts (the line's default language), an optional pause, then a redirect
    to ``redirect_path`` or a hang-up. The last resort: if anything fails, a constant
    document (logged with its traceback)."""
    try:
        runtime = current_app.extensions["helpline"]
        config = runtime.config
        language = config.helpline.default_language
        body = render_template(
            "safe.xml",
            lines=[prompt(config, language, i) for i in prompt_ids],
            pause=pause,
            redirect_url=runtime.public_url(redirect_path) if redirect_path else None,
        )
    except Exception:  # the last resort must not fail
        log.exception("safe_twiml_failed")
        body = MINIMAL
    return twiml(body)


def _form_value(name: str) -> str:
    """A form field, or "" when the form itself cannot be read (too large, malformed)."""
    try:
        value = request.form.get(name, "")
    except Exception:  # noqa: BLE001 - the form may be the very thing that failed
        return ""
    return value[:64] if isinstance(value, str) else ""
