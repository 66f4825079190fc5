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
    """The URL Twilio signed: PUBLIC_BASE_URL (else this host) + path and query as sent."""
    runtime = current_app.extensions["helpline"]
    base = runtime.settings.public_base_url or request.host_url.rstrip("/")
    return base + _path_as_sent()


def _path_as_sent() -> str:
    """Path and query exactly as the request line had them: Twilio signs ``/a%20b``, while
    ``request.full_path`` holds the decoded ``/a b``. The decoded form is the fallback for a
    server that does not pass the raw URI (gunicorn and werkzeug do)."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or ""
    if isinstance(raw, str) and raw.startswith("/"):
        return raw
    return request.full_path.rstrip("?")


def is_valid_twilio_request() -> bool:
    """True when X-Twilio-Signature matches the URL and the form, with the auth token."""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    runtime = current_app.extensions["helpline"]
    validator = RequestValidator(runtime.settings.twilio_auth_token)
    # Every value of a repeated field counts, as in Twilio's own algorithm (the MultiDict,
    # not a flat dict that would keep only the first value and ignore the others).
    params = request.form if request.method == "POST" else {}
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

    wrapper.twilio_signed = True  # type: ignore[attr-defined]  # how tests find every webhook
    return wrapper


def is_twilio_route(view: Callable[..., Any]) -> bool:
    """True when ``view`` (or a view it wraps) is behind `twilio_signed`."""
    return bool(getattr(view, "twilio_signed", False))


def sign(auth_token: str, url: str, params: dict[str, str]) -> str:
    """The X-Twilio-Signature Twilio would send for a POST of ``params`` to ``url``."""
    return str(RequestValidator(auth_token).compute_signature(url, params))
