"""Twilio request signatures: check on the way in, compute for tests and the simulator."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, current_app, request
from twilio.request_validator import RequestValidator

from helpline.log import get_logger

log = get_logger("helpline.signature")


def url_twilio_called() -> str:
    """The URL Twilio signed: PUBLIC_BASE_URL + path and query, else the request's own URL."""
    runtime = current_app.extensions["helpline"]
    full_path = request.full_path.rstrip("?")
    if runtime.settings.public_base_url:
        return runtime.settings.public_base_url + full_path
    return request.url


def is_valid_twilio_request() -> bool:
    """True when X-Twilio-Signature matches the URL and the form, with the auth token."""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    runtime = current_app.extensions["helpline"]
    validator = RequestValidator(runtime.settings.twilio_auth_token)
    params = request.form.to_dict(flat=True) if request.method == "POST" else {}
    try:
        return bool(validator.validate(url_twilio_called(), params, signature))
    except Exception:  # noqa: BLE001 - a malformed request is simply not valid
        return False


def twilio_signed(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse (403) any request not signed by Twilio; log without the payload."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not is_valid_twilio_request():
            log.warning("forged_or_unsigned_request", path=request.path)
            return Response("Forbidden", status=403, mimetype="text/plain")
        return view(*args, **kwargs)

    return wrapper


def sign(auth_token: str, url: str, params: dict[str, str]) -> str:
    """The X-Twilio-Signature Twilio would send for a POST of ``params`` to ``url``."""
    return str(RequestValidator(auth_token).compute_signature(url, params))
