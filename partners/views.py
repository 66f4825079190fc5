"""The partner API, ``/api/v1``: voice tokens, figures, status, the OpenAPI document.

Blueprint ``partners`` (`bp`). JSON in, JSON out; every error is an RFC 9457 problem
(`partners.problems`), never an HTML page or a stack trace. Keys travel as
``Authorization: Bearer hlk_…`` (`partners.apikeys`); the API is for platforms' servers, so it
sends no CORS headers: a browser page on another origin cannot use it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from functools import wraps
from typing import Any

import redis as redis_lib
from flask import Blueprint, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from helpline.log import get_logger
from helpline.runtime import Runtime
from ivr.hours import is_open
from ivr.hours_store import list_exceptions, schedule
from partners import apikeys, figures, limits, openapi, tokens
from partners.apikeys import ApiKey, AuthResult
from partners.problems import problem, rate_limited

log = get_logger("partners.views")

bp = Blueprint("partners", __name__, url_prefix="/api/v1")

ROUTES = {  # path -> methods, for 405 with an Allow header
    "/api/v1/openapi.json": ("GET",),
    "/api/v1/status": ("GET",),
    "/api/v1/platform": ("GET",),
    "/api/v1/voice-token": ("POST",),
    "/api/v1/figures": ("GET",),
}
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]
_CLIENT = re.compile(openapi.CLIENT_PATTERN)
_BEARER = re.compile(r"Bearer[ \t]+(\S+)[ \t]*", re.IGNORECASE)


def runtime() -> Runtime:
    """The app's runtime."""
    rt: Runtime = current_app.extensions["helpline"]
    return rt


# --- errors ------------------------------------------------------------------------------------


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    """Werkzeug's errors (a body too large, a bad request) as problems."""
    status = exc.code or 400
    if status == 404:
        return problem(404, "not-found", "There is nothing at this address.")
    if status == 405:
        return problem(405, "method-not-allowed", "This address does not take that method.")
    if status == 415:
        return problem(415, "unsupported-media-type", "Send the body as application/json.")
    if status == 413:
        return problem(413, "invalid-request", "The body is too large.")
    if status >= 500:
        return problem(503, "unavailable", "Please try again in a moment.")
    return problem(400, "invalid-request", "The request could not be read.")


@bp.errorhandler(redis_lib.RedisError)
def _redis_down(_exc: redis_lib.RedisError) -> Response:
    log.error("partners_redis_error", path=request.path)
    return problem(
        503, "unavailable", "Please try again in a moment.", headers={"Retry-After": "5"}
    )


@bp.errorhandler(Exception)
def _unexpected(_exc: Exception) -> Response:
    log.exception("partners_unexpected_error", path=request.path)
    return problem(500, "internal", "Please try again later; we have been told.")


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Content-Security-Policy", "default-src 'none'")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


@bp.route("/", defaults={"rest": ""}, methods=ALL_METHODS)
@bp.route("/<path:rest>", methods=ALL_METHODS)
def _fallback(rest: str) -> Response:
    """Anything else under /api/v1: 404, or 405 with Allow for a known path."""
    allowed = ROUTES.get(request.path)
    if allowed is None:
        return problem(404, "not-found", "There is nothing at this address.")
    if request.method == "OPTIONS":
        return Response(status=204, headers={"Allow": ", ".join((*allowed, "OPTIONS"))})
    return problem(
        405,
        "method-not-allowed",
        f"This address takes {' or '.join(allowed)}.",
        headers={"Allow": ", ".join(allowed)},
    )


@bp.app_errorhandler(404)
def _unrouted(exc: HTTPException) -> Response | HTTPException:
    """A path under /api/v1 that even `_fallback` does not match (a newline in it: the path
    converter stops there) is still answered with a problem; other paths keep Flask's 404."""
    if request.path == "/api/v1" or request.path.startswith("/api/v1/"):
        return _headers(problem(404, "not-found", "There is nothing at this address."))
    return exc


# --- authentication ----------------------------------------------------------------------------

_REFUSALS = {
    AuthResult.MISSING: (401, "missing-key", "Send your API key: Authorization: Bearer hlk_…"),
    AuthResult.INVALID: (401, "invalid-key", "This API key is not valid."),
    AuthResult.EXPIRED: (401, "expired-key", "This API key has expired; use a newer one."),
    AuthResult.REVOKED: (401, "revoked-key", "This API key has been revoked; use a newer one."),
    AuthResult.FORBIDDEN: (403, "forbidden", "This key's platform is not enabled."),
}


def presented_key() -> str | None:
    """The key of ``Authorization: Bearer <key>``; "" for another scheme, None when absent."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    match = _BEARER.fullmatch(header.strip())
    return match.group(1) if match else ""


def key_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Only a request with a valid key gets through; ``g.api_key`` is that key."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        text = presented_key()  # "" for another scheme or an empty Bearer: invalid, not missing
        if text == "":
            auth = apikeys.Auth(AuthResult.INVALID)
        else:
            auth = apikeys.authenticate(runtime(), text)
        if auth.result is not AuthResult.OK or auth.key is None:
            status, kind, detail = _REFUSALS[auth.result]
            log.info(
                "partners_key_refused",
                result=auth.result.value,
                key_id=auth.key.id if auth.key else None,
            )
            headers = {}
            if status == 401:
                error = "" if auth.result is AuthResult.MISSING else ', error="invalid_token"'
                headers["WWW-Authenticate"] = f'Bearer realm="3018"{error}'
            return problem(status, kind, detail, headers=headers)
        g.api_key = auth.key
        return view(*args, **kwargs)

    return wrapper


def current_key() -> ApiKey:
    """The key the request authenticated with."""
    key: ApiKey = g.api_key
    return key


# --- public ------------------------------------------------------------------------------------


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI 3 document of this API."""
    base = runtime().settings.public_base_url or ""
    return jsonify(openapi.document(base + "/api/v1"))


@bp.get("/status")
def status() -> Response:
    """Whether the line is open now and when that changes."""
    rt = runtime()
    state = is_open(rt.clock.now(), schedule(rt.config), list_exceptions(rt.redis, rt.keys))
    return jsonify(
        open=state.open,
        next_change=state.next_change.isoformat() if state.next_change else None,
        time_zone=rt.config.helpline.time_zone,
    )


# --- with a key --------------------------------------------------------------------------------


def _limits_json(platform: str) -> dict[str, int]:
    chosen = runtime().config.partners.platform(platform).limits
    return {
        "tokens_per_minute": chosen.tokens_per_minute,
        "client_tokens_per_minute": chosen.client_tokens_per_minute,
        "calls_per_minute": chosen.calls_per_minute,
        "max_concurrent_calls": chosen.max_concurrent_calls,
        "calls_per_token": chosen.calls_per_token,
    }


@bp.get("/platform")
@key_required
def platform() -> Response:
    """The platform and key of this request, and its limits."""
    key = current_key()
    config = runtime().config
    return jsonify(
        platform=key.platform,
        name=config.partners.platform(key.platform).name,
        key_id=key.id,
        key_expires_at=key.expires_at.isoformat() if key.expires_at else None,
        token_ttl=config.partners.token_ttl,
        limits=_limits_json(key.platform),
    )


def _token_request() -> dict[str, Any] | Response:
    """The optional JSON body of a token request, or the problem with it."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    if not request.is_json:
        return problem(415, "unsupported-media-type", "Send the body as application/json.")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return problem(400, "invalid-request", "The body must be a JSON object.")
    extra = set(body) - {"client"}
    if extra:
        return problem(400, "invalid-request", "Only the field 'client' is accepted.")
    client = body.get("client")
    if client is not None and (not isinstance(client, str) or not _CLIENT.fullmatch(client)):
        return problem(
            400, "invalid-request", "'client' is 1-64 characters of A-Z a-z 0-9 . _ : -."
        )
    return body


@bp.post("/voice-token")
@key_required
def voice_token() -> Response:
    """A short-lived Voice token whose identity binds the caller to the key's platform."""
    rt = runtime()
    key = current_key()
    body = _token_request()
    if isinstance(body, Response):
        return body
    if not tokens.configured(rt.settings):
        return problem(
            503,
            "tokens-unavailable",
            "This server has no Twilio API key or TwiML App configured.",
            headers={"Retry-After": "3600"},
        )
    chosen = rt.config.partners.platform(key.platform).limits
    windows = [limits.Window(f"tokens:{key.platform}", chosen.tokens_per_minute)]
    client = body.get("client")
    if client:
        subject = limits.pseudonym(rt, f"{key.platform}:{client}")
        windows.insert(0, limits.Window(f"client:{subject}", chosen.client_tokens_per_minute))
    verdict = limits.hit(rt, windows)
    if not verdict.allowed:
        log.info("partners_token_limited", platform=key.platform, key_id=key.id)
        return rate_limited(verdict.retry_after)
    token = tokens.voice_token(rt.settings, key.platform, rt.config.partners.token_ttl)
    log.info("partners_token_issued", platform=key.platform, key_id=key.id, via="api")
    return jsonify(
        token=token.jwt,
        identity=token.identity,
        platform=token.platform,
        ttl=token.ttl,
        expires_at=token.expires_at.isoformat(),
    )


def _day(name: str) -> date | Response | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        return problem(400, "invalid-request", f"'{name}' must be a date YYYY-MM-DD.")


@bp.get("/figures")
@key_required
def platform_figures() -> Response:
    """The key's platform's calls per day (offered, answered, abandoned, …)."""
    rt = runtime()
    key = current_key()
    first, last = _day("from"), _day("to")
    for value in (first, last):
        if isinstance(value, Response):
            return value
    assert not isinstance(first, Response) and not isinstance(last, Response)
    today = rt.clock.now().astimezone(rt.config.zone).date()
    earliest, latest = date(2000, 1, 1), today + timedelta(days=366)
    if any(d is not None and not earliest <= d <= latest for d in (first, last)):
        return problem(400, "invalid-request", "The dates are out of range.")
    last = last or (today if first is None else min(today, first + timedelta(days=6)))
    first = first or last - timedelta(days=6)
    if first > last:
        return problem(400, "invalid-request", "'from' must not be after 'to'.")
    if (last - first).days >= figures.MAX_DAYS:
        return problem(400, "invalid-request", f"Ask for at most {figures.MAX_DAYS} days.")
    verdict = limits.hit(
        rt, [limits.Window(f"figures:{key.platform}", rt.config.partners.figures_per_minute)]
    )
    if not verdict.allowed:
        return rate_limited(verdict.retry_after)
    found = figures.daily(rt, key.platform, first, last)
    return jsonify(
        {
            "platform": key.platform,
            "time_zone": rt.config.helpline.time_zone,
            "from": first.isoformat(),
            "to": last.isoformat(),
            "complete": found.complete,
            "days": [d.to_json() for d in found.days],
            "totals": figures.totals(rt, key.platform),
            "abuse": figures.abuse_counters(rt, key.platform),
        }
    )
