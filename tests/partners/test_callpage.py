"""The web call page and its token endpoint (Flask client; the browser test drives chromium)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient

from helpline.clock import FrozenClock
from helpline.runtime import Runtime
from ivr.hours import Kind
from ivr.hours_store import add_exception
from partners import callpage
from partners.callpage import CSRF_COOKIE
from tests.partners.conftest import API_KEY_SECRET, config_with, use_config
from tests.partners.test_api import assert_problem

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def open_page(client: FlaskClient, query: str = "platform=tiktok") -> tuple[str, str]:
    """GET the page; its HTML and the CSRF token its script would send."""
    response = client.get(f"/call?{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    match = CSRF_META.search(html)
    assert match
    return html, match.group(1)


def ask_token(client: FlaskClient, csrf: str, platform: str = "tiktok", **headers: str) -> object:
    """POST /call/token as the page's script does."""
    return client.post(
        "/call/token", json={"platform": platform}, headers={"X-CSRF-Token": csrf, **headers}
    )


@pytest.mark.parametrize(
    ("raw", "tag"),
    [
        ("tiktok", "tiktok"),
        ("TikTok", "tiktok"),
        (" tik-tok ", "tiktok"),
        ("phone", "unknown"),
        ("", "unknown"),
        ("myspace", "unknown"),
        ('"><script>alert(1)</script>', "unknown"),
        ("tiktok&lang=en", "unknown"),
    ],
)
def test_the_tag_is_normalised_and_never_echoed(api: FlaskClient, raw: str, tag: str) -> None:
    """Only a partner platform or ``unknown`` reaches the page; hostile input never does."""
    response = api.get("/call", query_string={"platform": raw})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'data-platform="{tag}"' in html
    assert "<script>alert" not in html and "alert(1)" not in html


def test_page_explains_the_service_and_says_it_is_open(api: FlaskClient) -> None:
    """French by default: what 3018 is, anonymous and free, open now, emergency numbers."""
    html, _ = open_page(api)
    assert 'lang="fr"' in html and "anonyme" in html and "gratuit" in html
    assert "Le 3018 est ouvert maintenant." in html
    assert "Tu arrives depuis TikTok" in html
    assert 'href="tel:3018"' in html and 'href="tel:119"' in html and 'href="tel:112"' in html
    assert 'id="call-button"' not in html  # tokens and the SDK are not configured here
    assert 'id="no-browser-call"' in html


def test_page_in_english(api: FlaskClient) -> None:
    """``lang=en`` switches the words, and the toggle leads back to French."""
    html, _ = open_page(api, "platform=tiktok&lang=en")
    assert 'lang="en"' in html and "3018 is open now." in html
    assert 'href="/call?platform=tiktok&amp;lang=fr"' in html


def test_closed_page_says_when_the_line_reopens(api: FlaskClient, clock: FrozenClock) -> None:
    """23:30 in Paris: closed, reopens tomorrow at 09:00, no call button nor tel link."""
    clock.set(datetime(2026, 11, 23, 22, 30, tzinfo=UTC))
    html, _ = open_page(api)
    assert "Le 3018 est fermé pour le moment." in html
    assert "Il rouvre demain à 09:00." in html
    assert 'href="tel:3018"' not in html and 'href="tel:119"' in html


def test_a_closed_day_exception_is_shown_with_its_reopening_date(
    api: FlaskClient, runtime: Runtime, clock: FrozenClock
) -> None:
    """Closed until Wednesday morning by a duty manager: the date is spelled out."""
    now = clock.now()
    until = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # Wednesday 09:00 in Paris
    add_exception(runtime.redis, runtime.keys, Kind.CLOSED, now - timedelta(hours=1), until)
    html, _ = open_page(api)
    assert "Il rouvre le mercredi 25 novembre à 09:00." in html
    english, _ = open_page(api, "platform=tiktok&lang=en")
    assert "It opens again on Wednesday 25 November at 09:00." in english


def test_page_sends_security_headers(api: FlaskClient) -> None:
    """CSP without inline scripts, no framing, microphone for this origin only, no cache."""
    response = api.get("/call?platform=tiktok")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Permissions-Policy"].startswith("microphone=(self)")
    assert response.headers["Cache-Control"] == "no-store"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{CSRF_COOKIE}=") and "SameSite=Strict" in cookie
    assert "Path=/call" in cookie


def test_token_needs_the_pages_csrf_token(api: FlaskClient, with_tokens: Runtime) -> None:
    """No token, a wrong one, or another site's request: 403 problem."""
    _, csrf = open_page(api)
    assert_problem(api.post("/call/token", json={"platform": "tiktok"}), 403, "csrf")
    assert_problem(ask_token(api, "wrong-" + csrf), 403, "csrf")
    cross = ask_token(api, csrf, Origin="https://evil.example")
    assert_problem(cross, 403, "csrf")
    fetch_site = ask_token(api, csrf, **{"Sec-Fetch-Site": "cross-site"})
    assert_problem(fetch_site, 403, "csrf")
    fresh = FlaskClient(api.application)  # a browser that never opened the page
    assert_problem(ask_token(fresh, csrf), 403, "csrf")


def test_token_binds_the_pages_platform(api: FlaskClient, with_tokens: Runtime) -> None:
    """A token whose identity is p.<tag>.<random>; an unknown tag gets p.unknown."""
    _, csrf = open_page(api)
    response = ask_token(api, csrf, Origin="http://localhost")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    claims = jwt.decode(body["token"], API_KEY_SECRET, algorithms=["HS256"])
    assert claims["grants"]["identity"] == body["identity"]
    assert body["identity"].startswith("p.tiktok.") and body["platform"] == "tiktok"
    assert claims["exp"] - claims["nbf"] <= 600
    spoof = ask_token(api, csrf, platform="<img src=x>").get_json()
    assert spoof["identity"].startswith("p.unknown.")


def test_page_tokens_are_limited_per_client_ip_and_platform(
    api: FlaskClient, papp: Flask, with_tokens: Runtime, clock: FrozenClock
) -> None:
    """One IP gets a few tokens a minute; the platform's page budget caps everyone."""
    use_config(with_tokens, config_with(client_tokens_per_minute=2, page_tokens_per_minute=3))
    _, csrf = open_page(api)
    codes = [ask_token(api, csrf).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    other = papp.test_client()
    _, other_csrf = open_page(other)
    env = {"REMOTE_ADDR": "192.0.2.7"}
    first = other.post(
        "/call/token",
        json={"platform": "tiktok"},
        headers={"X-CSRF-Token": other_csrf},
        environ_base=env,
    )
    second = other.post(
        "/call/token",
        json={"platform": "tiktok"},
        headers={"X-CSRF-Token": other_csrf},
        environ_base=env,
    )
    assert (first.status_code, second.status_code) == (200, 429)  # the page's 3 are spent
    assert second.headers["Retry-After"].isdigit()
    stored = " ".join(with_tokens.redis.keys("*partners:rate:*"))
    assert "192.0.2.7" not in stored and "127.0.0.1" not in stored
    clock.advance(60)
    assert ask_token(api, csrf).status_code == 200


def test_token_is_503_without_twilio_keys(api: FlaskClient) -> None:
    """Demo without an API key: the page's script shows the phone number instead."""
    _, csrf = open_page(api)
    assert_problem(ask_token(api, csrf), 503, "tokens-unavailable")


def test_the_call_button_appears_with_the_sdk_and_tokens(
    api: FlaskClient, with_tokens: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the Voice SDK installed and tokens configured, the page offers the browser call."""
    monkeypatch.setattr(callpage, "voice_sdk_installed", lambda: True)
    html, _ = open_page(api)
    assert 'id="call-button"' in html
    assert '<script src="/console/static/vendor/twilio.min.js" defer></script>' in html
    assert 'data-browser-call="1"' in html
