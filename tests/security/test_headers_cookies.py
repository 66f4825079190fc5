"""Pages carry the security headers (CSP, no framing, nosniff, no referrer), and every cookie
the app sets is Secure, HttpOnly and SameSite."""

from __future__ import annotations

from http.cookies import SimpleCookie

import pytest
from flask import Flask
from flask.testing import FlaskClient

from console.auth import cookie_secure
from console.users import Role, Users
from helpline.pages import SECURITY_HEADERS
from helpline.settings import Settings
from tests.console.conftest import PASSWORD, Session, login, open_session
from tests.security.routemap import all_routes

PAGES = [
    r for r in all_routes() if r.method == "GET" and r.kind in ("console", "public")
]  # every GET route a browser may open; the HTML ones are checked
STREAMS = {"dashboard.events"}


@pytest.fixture
def sessions(app: Flask, runtime) -> dict[str, Session]:
    """A counsellor and a duty manager, logged in."""
    users = Users(runtime)
    users.add("claire", Role.MANAGER, PASSWORD)
    users.add("amina", Role.COUNSELLOR, PASSWORD, counsellor_id="amina")
    return {"manager": open_session(app, "claire"), "counsellor": open_session(app, "amina")}


def _check_headers(response, where: str) -> None:
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where
    if response.mimetype == "text/html":
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (where, name)


def test_every_page_carries_the_security_headers(
    client: FlaskClient, sessions: dict[str, Session]
) -> None:
    """Each GET route, opened by whoever may open it (and anonymously): HTML answers carry
    the full set, every answer nosniff; Flask's own error pages too."""
    seen_html = 0
    for route in PAGES:
        if route.endpoint in STREAMS:
            continue
        openers = [client] + [s.client for role, s in sessions.items() if role in route.roles]
        for opener in openers:
            with opener.get(route.path()) as response:
                _check_headers(response, route.id)
                seen_html += response.mimetype == "text/html"
    for path in ("/no-such-page", "/console/no-such-page", "/call/static/none.js"):
        _check_headers(client.get(path), path)
    _check_headers(client.delete("/console/login"), "405")  # Flask's 405 page
    assert seen_html > 20


def _cookies(response) -> list[tuple[str, SimpleCookie]]:
    found = []
    for header in response.headers.getlist("Set-Cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        found.append((header, jar))
    return found


def test_every_cookie_is_secure_httponly_and_samesite(app: Flask, runtime) -> None:
    """Login, pages, the call page, logout: each Set-Cookie has all three flags."""
    Users(runtime).add("claire", Role.MANAGER, PASSWORD)
    client = app.test_client()
    responses = [client.get("/console/login"), login(client, "claire")]
    session = open_session(app, "claire")
    for route in PAGES:
        if route.endpoint not in STREAMS:
            with session.client.get(route.path()) as response:
                responses.append(response)
    responses.append(client.get("/call?platform=tiktok"))
    responses.append(session.client.post("/console/logout", data={"csrf_token": session.csrf}))
    cookies = [c for r in responses for c in _cookies(r)]
    assert len(cookies) >= 3
    names = set()
    for header, jar in cookies:
        for name, morsel in jar.items():
            names.add(name)
            assert morsel["secure"] is True, header
            assert morsel["httponly"] is True, header
            assert morsel["samesite"] in ("Lax", "Strict"), header
    assert {"__Host-helpline", "call_csrf"} <= names


def test_production_cookies_are_secure_even_over_plain_http() -> None:
    """Only a demo or test on plain http drops Secure; production never does."""
    env = {
        "TWILIO_AUTH_TOKEN": "t" * 32,
        "SECRET_KEY": "s" * 32,
        "PUBLIC_BASE_URL": "http://helpline.example",
    }
    assert cookie_secure(Settings.from_env(env, mode="production")) is True
    assert cookie_secure(Settings.from_env(env, mode="demo")) is False
    https = {**env, "PUBLIC_BASE_URL": "https://helpline.example"}
    assert cookie_secure(Settings.from_env(https, mode="demo")) is True
