"""Every route the real app serves, sorted into who may call it, read from the code itself.

A route is exactly one of: a Twilio webhook (behind `helpline.signature.twilio_signed`), a
console page or API (behind `console.auth.login_required`, whose wrapper carries the allowed
roles), a partner API route behind an API key, or public (the explicit table below). The
security tests fail on a route that is none of these, so a new route cannot slip in unguarded.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import quote

import redis as redis_lib
from flask import Flask

from helpline.app import create_app
from helpline.clock import FrozenClock
from helpline.runtime import Runtime, set_runtime
from helpline.settings import Settings, load_config
from helpline.signature import is_twilio_route

#: Open to anyone, each for a stated reason.
PUBLIC = {
    "healthz": "load balancer health check; says nothing but ok/stale",
    "metrics": "Prometheus scrape: aggregate counts only (restrict it at the proxy)",
    "static": "the app's static files",
    "console.static": "the console's CSS, JS and vendored Voice SDK",
    "incall.static": "the in-call tools' CSS and JS",
    "callpage.static": "the web call page's CSS and JS",
    "console.login": "the login form",
    "console.logout": "logging out (CSRF-checked); harmless when anonymous",
    "callpage.page": "the web call page for link-only platforms",
    "callpage.token": "the call page's token (double-submit CSRF, rate-limited)",
    "partners.openapi_document": "the partner API's OpenAPI document",
    "partners.status": "whether the line is open",
    "partners._fallback": "404/405 problems for anything else under /api/v1",
}
#: Partner API routes behind ``Authorization: Bearer hlk_…`` (partners.views.key_required).
PARTNER_KEY = frozenset({"partners.platform", "partners.voice_token", "partners.platform_figures"})

#: A value for each path argument, where a well-formed one is needed.
SAMPLES = {
    "counsellor_id": "amina",
    "exception_id": "1",
    "day": "2026-11-23",
    "shift_id": "1",
    "filename": "x.css",
    "rid": "1",
    "step": "consent",
    "rest": "nothing-here",
}
SKIP_METHODS = frozenset({"HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Route:
    """One (rule, method) of the app."""

    endpoint: str
    rule: str
    method: str
    arguments: tuple[str, ...]
    kind: str  # twilio, console, partner_key, public
    roles: frozenset[str]  # console routes: the roles let through

    @property
    def id(self) -> str:
        """A readable test id."""
        return f"{self.method} {self.rule}"

    def path(self, **values: str) -> str:
        """The rule with each argument filled (``values``, else a sample), percent-encoded."""
        path = self.rule
        for name in self.arguments:
            value = values.get(name, SAMPLES.get(name, "x"))
            path = path.replace(f"<path:{name}>", quote(value, safe="/"))
            path = path.replace(f"<{name}>", quote(value, safe=""))
        return path


def scratch_app() -> Flask:
    """The real app, built with throwaway settings and a Redis it never connects to."""
    settings = Settings.from_env(
        {
            "TWILIO_AUTH_TOKEN": "scratch-token-0123456789",
            "SECRET_KEY": "scratch-secret-0123456789abcdef",
            "PUBLIC_BASE_URL": "https://scratch.test",
            "HELPLINE_DATA_DIR": tempfile.gettempdir(),
        },
        mode="test",
    )
    runtime = Runtime(
        settings=settings,
        config=load_config(None),
        redis=redis_lib.Redis(unix_socket_path="/nonexistent/scratch.sock"),
        clock=FrozenClock(),
    )
    try:
        return create_app({"RUNTIME": runtime, "TESTING": True})
    finally:
        set_runtime(None)  # create_app installs it for the process: undo


def kind_of(app: Flask, endpoint: str) -> tuple[str, frozenset[str]]:
    """(kind, roles) of an endpoint; kind ``unguarded`` for a route none of the rules cover."""
    view: Any = app.view_functions[endpoint]
    if is_twilio_route(view):
        return "twilio", frozenset()
    roles = getattr(view, "roles", None)
    if roles is not None:
        return "console", frozenset(str(r) for r in roles)
    if endpoint in PARTNER_KEY:
        return "partner_key", frozenset()
    if endpoint in PUBLIC:
        return "public", frozenset()
    return "unguarded", frozenset()


def routes_of(app: Flask) -> list[Route]:
    """Every (rule, method) of ``app``, HEAD and OPTIONS aside."""
    found = []
    for rule in app.url_map.iter_rules():
        kind, roles = kind_of(app, rule.endpoint)
        for method in sorted((rule.methods or set()) - SKIP_METHODS):
            found.append(
                Route(rule.endpoint, rule.rule, method, tuple(sorted(rule.arguments)), kind, roles)
            )
    return sorted(found, key=lambda r: (r.rule, r.method))


@cache
def all_routes() -> tuple[Route, ...]:
    """The routes of the real app (built once per test session)."""
    return tuple(routes_of(scratch_app()))


def routes(kind: str) -> list[Route]:
    """The routes of one kind."""
    return [r for r in all_routes() if r.kind == kind]
