"""RFC 9457 problem details (``application/problem+json``) for the partner API and call page.

A problem says what went wrong in terms the client can act on and nothing about internals: no
exception text, no Redis, no stack. ``type`` is a ``tag:`` URI naming the kind of problem (the
integration guide lists them); ``title`` is its fixed summary, ``detail`` this occurrence.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

TYPE_BASE = "tag:3018.fr,2026:problem:"
MEDIA_TYPE = "application/problem+json"

TITLES = {
    "invalid-request": "The request is not valid",
    "unsupported-media-type": "The body must be JSON",
    "missing-key": "An API key is required",
    "invalid-key": "The API key is not valid",
    "expired-key": "The API key has expired",
    "revoked-key": "The API key has been revoked",
    "forbidden": "This key may not do that",
    "rate-limited": "Too many requests",
    "tokens-unavailable": "Voice tokens are not available on this server",
    "unavailable": "The service is temporarily unavailable",
    "not-found": "No such resource",
    "method-not-allowed": "Method not allowed",
    "csrf": "The page has expired",
    "internal": "Something went wrong on our side",
}


def problem(
    status: int, kind: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    """A problem response of ``kind`` (a key of `TITLES`)."""
    body: dict[str, Any] = {
        "type": TYPE_BASE + kind,
        "title": TITLES[kind],
        "status": status,
        "detail": detail,
    }
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = MEDIA_TYPE
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def rate_limited(retry_after: int) -> Response:
    """429 with Retry-After (seconds)."""
    return problem(
        429,
        "rate-limited",
        f"Too many requests; try again in {retry_after} s.",
        headers={"Retry-After": str(retry_after)},
        retry_after=retry_after,
    )
