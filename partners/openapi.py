"""The partner API's OpenAPI 3 document, served at ``/api/v1/openapi.json``.

Written by hand next to the views it describes; the contract tests (schemathesis) generate
requests from it and check every response against it, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from partners.identity import MAX_REF
from partners.problems import MEDIA_TYPE, TYPE_BASE

VERSION = "1.0.0"
CLIENT_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"


def _problem(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if headers:
        response["headers"] = headers
    return response


_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
}
_WWW_AUTHENTICATE = {
    "WWW-Authenticate": {
        "description": "The Bearer challenge (RFC 6750).",
        "schema": {"type": "string"},
    }
}
_AUTH_ERRORS = {
    "401": _problem(
        "No key, or a key that is malformed, unknown, expired or revoked.", _WWW_AUTHENTICATE
    ),
    "403": _problem("A genuine key of a platform that is no longer in the registry."),
}

_DATE = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
COUNTS = ["offered", "answered", "abandoned", "overflowed", "closed", "error"]
FIGURES_REQUIRED = ["platform", "time_zone", "from", "to", "complete", "days", "totals", "abuse"]

COMPONENTS: dict[str, Any] = {
    "securitySchemes": {
        "apiKey": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "hlk_<key id>_<secret>",
            "description": "A platform's API key: `Authorization: Bearer hlk_…`. Server to "
            "server only: never put it in an app or a web page.",
        }
    },
    "schemas": {
        "Problem": {
            "type": "object",
            "description": "RFC 9457 problem details.",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string", "pattern": "^" + TYPE_BASE.replace(".", r"\.")},
                "title": {"type": "string"},
                "status": {"type": "integer", "minimum": 400, "maximum": 599},
                "detail": {"type": "string"},
                "retry_after": {"type": "integer", "minimum": 1},
            },
        },
        "VoiceTokenRequest": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "client": {
                    "type": "string",
                    "pattern": CLIENT_PATTERN,
                    "description": "Optional: an opaque, stable pseudonym of the app's user "
                    "(never a name, a phone number or an e-mail). When given, that user gets "
                    "their own token limit, so that one user cannot use up the platform's.",
                }
            },
        },
        "VoiceToken": {
            "type": "object",
            "additionalProperties": False,
            "required": ["token", "identity", "platform", "ttl", "expires_at"],
            "properties": {
                "token": {"type": "string", "description": "Twilio Voice access token (JWT)."},
                "identity": {
                    "type": "string",
                    "pattern": r"^p\.[a-z0-9]{1,32}\.[a-z0-9]{16,40}$",
                    "description": "The caller's identity, bound to the platform.",
                },
                "platform": {"type": "string"},
                "ttl": {"type": "integer", "minimum": 60, "maximum": 600},
                "expires_at": {"type": "string", "format": "date-time"},
            },
        },
        "Limits": {
            "type": "object",
            "additionalProperties": False,
            "required": [
                "tokens_per_minute",
                "client_tokens_per_minute",
                "calls_per_minute",
                "max_concurrent_calls",
                "calls_per_token",
            ],
            "properties": {
                name: {"type": "integer", "minimum": 0, "description": "0: no limit."}
                for name in (
                    "tokens_per_minute",
                    "client_tokens_per_minute",
                    "calls_per_minute",
                    "max_concurrent_calls",
                    "calls_per_token",
                )
            },
        },
        "Platform": {
            "type": "object",
            "additionalProperties": False,
            "required": ["platform", "name", "key_id", "key_expires_at", "token_ttl", "limits"],
            "properties": {
                "platform": {"type": "string"},
                "name": {"type": "string"},
                "key_id": {"type": "string", "pattern": "^[0-9a-f]{12}$"},
                "key_expires_at": {"type": "string", "format": "date-time", "nullable": True},
                "token_ttl": {"type": "integer"},
                "limits": {"$ref": "#/components/schemas/Limits"},
            },
        },
        "Status": {
            "type": "object",
            "additionalProperties": False,
            "required": ["open", "next_change", "time_zone"],
            "properties": {
                "open": {"type": "boolean"},
                "next_change": {
                    "type": "string",
                    "format": "date-time",
                    "nullable": True,
                    "description": "When the line next opens or closes (UTC).",
                },
                "time_zone": {"type": "string"},
            },
        },
        "Day": {
            "type": "object",
            "additionalProperties": False,
            "required": ["date", *COUNTS],
            "properties": {
                "date": _DATE,
                **{name: {"type": "integer", "minimum": 0} for name in COUNTS},
            },
        },
        "Figures": {
            "type": "object",
            "additionalProperties": False,
            "required": FIGURES_REQUIRED,
            "properties": {
                "platform": {"type": "string"},
                "time_zone": {"type": "string"},
                "from": _DATE,
                "to": _DATE,
                "complete": {
                    "type": "boolean",
                    "description": "False when the range reaches past what could be read.",
                },
                "days": {"type": "array", "items": {"$ref": "#/components/schemas/Day"}},
                "totals": {
                    "type": "object",
                    "description": "All-time outcomes of the platform's calls.",
                    "additionalProperties": {"type": "integer", "minimum": 0},
                },
                "abuse": {
                    "type": "object",
                    "description": "Calls whose claimed tag contradicted their token, and "
                    "calls refused by a limit.",
                    "additionalProperties": {"type": "integer", "minimum": 0},
                },
            },
        },
    },
}


def document(server_url: str) -> dict[str, Any]:
    """The OpenAPI document; ``server_url`` is the API's base (``…/api/v1``)."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "3018 helpline partner API",
            "version": VERSION,
            "description": (
                "For platforms that put a 3018 call button in their apps. Get a short-lived "
                "Twilio Voice token bound to your platform, then call with the Voice SDK. "
                "Optional custom parameter on the call: `ref`, an opaque report reference "
                f"(1-{MAX_REF} characters of A-Z a-z 0-9 . _ : -) shown to the counsellor. "
                "Errors are RFC 9457 problem details. See docs/integration-guide.md."
            ),
        },
        "servers": [{"url": server_url}],
        "security": [{"apiKey": []}],
        "paths": {
            "/openapi.json": {
                "get": {
                    "operationId": "getOpenApi",
                    "summary": "This document",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "The OpenAPI document.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
            "/status": {
                "get": {
                    "operationId": "getStatus",
                    "summary": "Is the line open, and until when",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "Open or closed now, and the next change.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Status"}
                                }
                            },
                        }
                    },
                }
            },
            "/platform": {
                "get": {
                    "operationId": "getPlatform",
                    "summary": "The platform and key this request is authenticated as",
                    "responses": {
                        "200": {
                            "description": "Your platform, key and limits.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Platform"}
                                }
                            },
                        },
                        **_AUTH_ERRORS,
                    },
                }
            },
            "/voice-token": {
                "post": {
                    "operationId": "createVoiceToken",
                    "summary": "A short-lived Voice access token for one of your users",
                    "description": (
                        "Call from your backend when the user taps the 3018 button; give the "
                        "token to the app, which calls with the Twilio Voice SDK. The call's "
                        "platform tag comes from the token, whatever the app sends."
                    ),
                    "requestBody": {
                        "required": False,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/VoiceTokenRequest"}
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "A token.",
                            "headers": {
                                "Cache-Control": {
                                    "description": "Never cached.",
                                    "schema": {"type": "string", "enum": ["no-store"]},
                                }
                            },
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/VoiceToken"}
                                }
                            },
                        },
                        "400": _problem("The body is not valid."),
                        **_AUTH_ERRORS,
                        "413": _problem("The body is too large."),
                        "415": _problem("The body is not JSON."),
                        "429": _problem("Too many tokens for your platform or user.", _RETRY_AFTER),
                        "503": _problem(
                            "Voice tokens are not available (not configured, or the service "
                            "is temporarily unavailable).",
                            _RETRY_AFTER,
                        ),
                    },
                }
            },
            "/figures": {
                "get": {
                    "operationId": "getFigures",
                    "summary": "Your platform's calls per day",
                    "parameters": [
                        {
                            "name": "from",
                            "in": "query",
                            "required": False,
                            "description": "First day (helpline time zone); default: 6 days "
                            "before `to`.",
                            "schema": _DATE,
                        },
                        {
                            "name": "to",
                            "in": "query",
                            "required": False,
                            "description": "Last day, at most 92 days after `from`; default: "
                            "today.",
                            "schema": _DATE,
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "Counts per day.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Figures"}
                                }
                            },
                        },
                        "400": _problem("The dates are not valid."),
                        **_AUTH_ERRORS,
                        "429": _problem("Too many requests.", _RETRY_AFTER),
                    },
                }
            },
        },
        "components": COMPONENTS,
    }
