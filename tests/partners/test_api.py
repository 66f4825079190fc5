"""The partner API: the voice token and its identity binding, problems, keys, limits, figures."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from flask.testing import FlaskClient

from helpline.clock import FrozenClock
from helpline.events import append_event
from helpline.runtime import Runtime
from helpline.settings import parse_config
from ivr.hours import Kind
from ivr.hours_store import add_exception
from partners import apikeys, figures
from partners.identity import count_mismatch, is_mismatch, platform_from_identity
from partners.problems import MEDIA_TYPE, TYPE_BASE
from tests.partners.conftest import (
    API_KEY_SECRET,
    API_KEY_SID,
    TWIML_APP_SID,
    bearer,
    config_with,
    use_config,
)

PROBLEM_FIELDS = {"type", "title", "status", "detail", "retry_after"}


def assert_problem(response: object, status: int, kind: str) -> dict[str, object]:
    """An RFC 9457 problem of ``kind`` with nothing else in it."""
    assert response.status_code == status, response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert response.mimetype == MEDIA_TYPE  # type: ignore[attr-defined]
    body = response.get_json()  # type: ignore[attr-defined]
    assert body["type"] == TYPE_BASE + kind and body["status"] == status
    assert set(body) <= PROBLEM_FIELDS
    text = response.get_data(as_text=True).lower()  # type: ignore[attr-defined]
    for internal in ("traceback", "redis", "exception", "hlk_0123456789ab", "sk" + "a" * 8):
        assert internal not in text
    return body  # type: ignore[no-any-return]


def decode(token: str) -> dict[str, object]:
    """A Twilio access token, checked with the API key secret it must be signed with."""
    return jwt.decode(token, API_KEY_SECRET, algorithms=["HS256"], options={"verify_aud": False})


# --- the voice token -----------------------------------------------------------------------------


def test_token_endpoint_answers_503_when_twilio_keys_are_missing(
    api: FlaskClient, instagram_key: str
) -> None:
    """Demo and tests without an API key: a clear 503 problem, no stack trace."""
    response = api.post("/api/v1/voice-token", headers=bearer(instagram_key))
    assert_problem(response, 503, "tokens-unavailable")
    assert response.headers["Retry-After"].isdigit()


def test_token_is_short_lived_and_binds_the_identity_to_the_keys_platform(
    api: FlaskClient, with_tokens: Runtime, instagram_key: str
) -> None:
    """A signed JWT: identity p.instagram.<random>, outgoing to our TwiML App only, ≤ 10 min."""
    before = int(time.time())
    response = api.post("/api/v1/voice-token", headers=bearer(instagram_key))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    claims = decode(body["token"])
    identity = claims["grants"]["identity"]  # type: ignore[index]
    assert identity == body["identity"] and str(identity).startswith("p.instagram.")
    assert body["platform"] == "instagram"
    assert claims["iss"] == API_KEY_SID and claims["sub"] == with_tokens.settings.twilio_account_sid
    voice = claims["grants"]["voice"]  # type: ignore[index]
    assert voice == {"outgoing": {"application_sid": TWIML_APP_SID}}  # no incoming, no params
    assert 0 < int(claims["exp"]) - before <= 600  # type: ignore[call-overload]
    assert body["ttl"] <= 600
    expires = datetime.fromisoformat(body["expires_at"])
    assert int(expires.timestamp()) == claims["exp"]
    # What the voice flow does with the call this token makes:
    known = with_tokens.config.platforms.known
    assert platform_from_identity(f"client:{identity}", known) == "instagram"


def test_a_client_cannot_choose_its_tag(
    api: FlaskClient, with_tokens: Runtime, instagram_key: str
) -> None:
    """The token request takes no platform; a spoofed tag on the call is ignored and counted."""
    refused = api.post(
        "/api/v1/voice-token", headers=bearer(instagram_key), json={"platform": "tiktok"}
    )
    assert_problem(refused, 400, "invalid-request")
    body = api.post("/api/v1/voice-token", headers=bearer(instagram_key), json={}).get_json()
    known = with_tokens.config.platforms.known
    # The app then calls with the custom parameter platform=tiktok: the identity wins.
    bound = platform_from_identity(f"client:{body['identity']}", known)
    assert bound == "instagram"
    assert is_mismatch(bound, "tiktok", known)
    count_mismatch(with_tokens, bound)
    figures = api.get("/api/v1/figures", headers=bearer(instagram_key)).get_json()
    assert figures["abuse"]["tag_mismatches"] == 1


@pytest.mark.parametrize(
    ("kwargs", "status", "kind"),
    [
        ({"data": "not json", "content_type": "text/plain"}, 415, "unsupported-media-type"),
        ({"data": "{", "content_type": "application/json"}, 400, "invalid-request"),
        ({"json": []}, 400, "invalid-request"),
        ({"json": {"client": 42}}, 400, "invalid-request"),
        ({"json": {"client": "a b"}}, 400, "invalid-request"),
        ({"json": {"client": "x" * 65}}, 400, "invalid-request"),
        ({"json": {"ref": "IG-1"}}, 400, "invalid-request"),
    ],
)
def test_bad_token_requests_are_problems(
    api: FlaskClient,
    with_tokens: Runtime,
    instagram_key: str,
    kwargs: dict[str, object],
    status: int,
    kind: str,
) -> None:
    """A body the API does not take is a 4xx problem, never a 500."""
    response = api.post("/api/v1/voice-token", headers=bearer(instagram_key), **kwargs)
    assert_problem(response, status, kind)


# --- keys: missing, wrong, expired, revoked ------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ({}, "missing-key"),
        ({"Authorization": "Bearer"}, "invalid-key"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "invalid-key"),
        ({"Authorization": "Bearer hlk_0123456789ab_" + "A" * 43}, "invalid-key"),
        ({"Authorization": "Bearer " + "x" * 5000}, "invalid-key"),
        ({"X-Api-Key": "hlk_0123456789ab_" + "A" * 43}, "missing-key"),
    ],
)
def test_missing_or_wrong_keys_get_401(
    api: FlaskClient, with_tokens: Runtime, headers: dict[str, str], kind: str
) -> None:
    """401 problem with a Bearer challenge, for every secured operation."""
    for method, path in (("post", "/api/v1/voice-token"), ("get", "/api/v1/figures")):
        response = getattr(api, method)(path, headers=headers)
        assert_problem(response, 401, kind)
        assert response.headers["WWW-Authenticate"].startswith('Bearer realm="3018"')


def test_expired_and_revoked_keys_get_401(
    api: FlaskClient, with_tokens: Runtime, clock: FrozenClock
) -> None:
    """A key stops working when it expires (injected clock) or is revoked, at once."""
    short = apikeys.issue(with_tokens, "tiktok", lifetime_days=1)
    other = apikeys.issue(with_tokens, "tiktok")
    assert api.post("/api/v1/voice-token", headers=bearer(short.secret)).status_code == 200
    clock.advance(86_400)
    expired = api.post("/api/v1/voice-token", headers=bearer(short.secret))
    assert_problem(expired, 401, "expired-key")
    assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]
    apikeys.revoke(with_tokens, other.key.id)
    assert_problem(api.get("/api/v1/platform", headers=bearer(other.secret)), 401, "revoked-key")


def test_a_key_of_a_removed_platform_gets_403(api: FlaskClient, with_tokens: Runtime) -> None:
    """The platform left the registry: the key is genuine but not allowed."""
    issued = apikeys.issue(with_tokens, "snapchat")
    use_config(with_tokens, parse_config({"platforms": {"known": ["phone", "tiktok"]}}))
    assert_problem(api.post("/api/v1/voice-token", headers=bearer(issued.secret)), 403, "forbidden")


def test_platform_endpoint_tells_a_key_who_it_is(
    api: FlaskClient, runtime: Runtime, instagram_key: str, clock: FrozenClock
) -> None:
    """GET /platform: the platform, its name, the key id and the limits; last use recorded."""
    body = api.get("/api/v1/platform", headers=bearer(instagram_key)).get_json()
    key_id = apikeys.parse(instagram_key)
    assert body["platform"] == "instagram" and body["name"] == "Instagram"
    assert body["key_id"] == key_id and body["limits"]["max_concurrent_calls"] == 30
    key = apikeys.get(runtime, key_id or "")
    assert key is not None and key.last_used_at == clock.now()


def test_unknown_paths_and_methods_are_problems(api: FlaskClient) -> None:
    """404 and 405 under /api/v1 are problem+json too (405 with Allow)."""
    assert_problem(api.get("/api/v1/nothing/here"), 404, "not-found")
    wrong = api.get("/api/v1/voice-token")
    assert_problem(wrong, 405, "method-not-allowed")
    assert wrong.headers["Allow"] == "POST"
    assert_problem(api.delete("/api/v1/figures"), 405, "method-not-allowed")


def test_api_sends_no_cors_headers(api: FlaskClient, instagram_key: str) -> None:
    """Keys belong on servers: a page on another origin cannot read the API's answers."""
    response = api.get(
        "/api/v1/platform", headers={**bearer(instagram_key), "Origin": "https://evil.example"}
    )
    assert "Access-Control-Allow-Origin" not in response.headers


# --- rate limits ---------------------------------------------------------------------------------


def test_tokens_are_rate_limited_per_platform(
    api: FlaskClient, with_tokens: Runtime, instagram_key: str, clock: FrozenClock
) -> None:
    """Over the platform's tokens per minute: 429 with Retry-After, until the window moves."""
    use_config(with_tokens, config_with(tokens_per_minute=3))
    tiktok = apikeys.issue(with_tokens, "tiktok").secret
    for _ in range(3):
        assert api.post("/api/v1/voice-token", headers=bearer(instagram_key)).status_code == 200
    limited = api.post("/api/v1/voice-token", headers=bearer(instagram_key))
    body = assert_problem(limited, 429, "rate-limited")
    assert limited.headers["Retry-After"] == "60" and body["retry_after"] == 60
    # another platform has its own budget
    assert api.post("/api/v1/voice-token", headers=bearer(tiktok)).status_code == 200
    clock.advance(30)
    assert api.post("/api/v1/voice-token", headers=bearer(instagram_key)).status_code == 429
    clock.advance(30)
    assert api.post("/api/v1/voice-token", headers=bearer(instagram_key)).status_code == 200


def test_one_app_user_cannot_use_up_the_platforms_tokens(
    api: FlaskClient, with_tokens: Runtime, instagram_key: str, clock: FrozenClock
) -> None:
    """With ``client``, each user has a limit; a refused user spends none of the platform's."""
    use_config(with_tokens, config_with(tokens_per_minute=4, client_tokens_per_minute=2))

    def ask(client: str) -> int:
        response = api.post(
            "/api/v1/voice-token", headers=bearer(instagram_key), json={"client": client}
        )
        return int(response.status_code)

    assert [ask("user-1") for _ in range(5)] == [200, 200, 429, 429, 429]
    assert [ask("user-2"), ask("user-2")] == [200, 200]
    assert ask("user-3") == 429  # now the platform's 4 are spent
    clock.advance(60)
    assert ask("user-1") == 200
    stored = " ".join(with_tokens.redis.keys("*partners:rate:*"))
    assert "user-1" not in stored  # clients appear only as a keyed hash


# --- status and figures --------------------------------------------------------------------------


def test_status_says_open_or_closed_and_the_next_change(
    api: FlaskClient, runtime: Runtime, clock: FrozenClock
) -> None:
    """Public: the line is open until 23:00 Paris; a closed exception closes it now."""
    body = api.get("/api/v1/status").get_json()
    assert body == {
        "open": True,
        "next_change": "2026-11-23T22:00:00+00:00",
        "time_zone": "Europe/Paris",
    }
    now = clock.now()
    add_exception(runtime.redis, runtime.keys, Kind.CLOSED, now, now + timedelta(hours=1))
    body = api.get("/api/v1/status").get_json()
    assert body["open"] is False and body["next_change"] == "2026-11-23T13:00:00+00:00"


def _event(runtime: Runtime, what: str, when: datetime, platform: str, **fields: str) -> None:
    append_event(runtime.redis, runtime.keys, what, when, platform=platform, **fields)


def test_figures_count_a_platforms_own_calls_per_day(
    api: FlaskClient, runtime: Runtime, instagram_key: str
) -> None:
    """Offered from call_started, outcomes from outcome events, per day in Paris; no one else's."""
    monday = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    sunday_late = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)  # Monday 00:30 in Paris
    saturday = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
    for when, outcome in ((saturday, "answered"), (sunday_late, "abandoned"), (monday, "answered")):
        _event(runtime, "call_started", when, "instagram", call="CA1")
        _event(runtime, "outcome", when, "instagram", call="CA1", outcome=outcome)
    _event(runtime, "call_started", monday, "tiktok", call="CA9")
    _event(runtime, "outcome", monday, "tiktok", call="CA9", outcome="answered")
    _event(runtime, "enqueued", monday, "instagram", call="CA1")
    runtime.redis.hincrby(runtime.keys.stats_calls, "instagram:answered", 7)
    response = api.get(
        "/api/v1/figures?from=2026-11-21&to=2026-11-23", headers=bearer(instagram_key)
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["platform"] == "instagram" and body["complete"] is True
    days = {d["date"]: d for d in body["days"]}
    assert list(days) == ["2026-11-21", "2026-11-22", "2026-11-23"]
    assert days["2026-11-21"]["offered"] == 1 and days["2026-11-21"]["answered"] == 1
    assert days["2026-11-22"]["offered"] == 0
    assert days["2026-11-23"]["offered"] == 2
    assert days["2026-11-23"]["answered"] == 1 and days["2026-11-23"]["abandoned"] == 1
    assert body["totals"]["answered"] == 7


def test_figures_default_to_the_last_seven_days(api: FlaskClient, instagram_key: str) -> None:
    """No dates: today and the six days before, in the helpline's zone."""
    body = api.get("/api/v1/figures", headers=bearer(instagram_key)).get_json()
    assert body["from"] == "2026-11-17" and body["to"] == "2026-11-23" and len(body["days"]) == 7


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-11-23&to=2026-11-01",
        "from=yesterday",
        "to=2026-13-01",
        "from=2026-01-01&to=2026-11-23",  # more than 92 days
        "from=0001-01-01",
        "to=9999-12-31",
        "from=2026-11-2",
    ],
)
def test_bad_figure_ranges_are_400(api: FlaskClient, instagram_key: str, query: str) -> None:
    """Dates are YYYY-MM-DD, in order, at most 92 days, within sane years."""
    assert_problem(
        api.get(f"/api/v1/figures?{query}", headers=bearer(instagram_key)), 400, "invalid-request"
    )


def test_figures_are_rate_limited(api: FlaskClient, runtime: Runtime, instagram_key: str) -> None:
    """A dashboard polling too fast gets 429."""
    use_config(runtime, config_with(figures_per_minute=2))
    codes = [
        api.get("/api/v1/figures", headers=bearer(instagram_key)).status_code for _ in range(3)
    ]
    assert codes == [200, 200, 429]


def test_figures_say_when_the_stream_was_too_long_to_read_whole(
    api: FlaskClient, runtime: Runtime, instagram_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past MAX_SCAN events the answer is marked incomplete rather than silently short."""
    monkeypatch.setattr(figures, "MAX_SCAN", 5)
    monkeypatch.setattr(figures, "PAGE", 2)
    monday = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    for n in range(8):
        _event(runtime, "call_started", monday, "instagram", call=f"CA{n}")
    body = api.get("/api/v1/figures", headers=bearer(instagram_key)).get_json()
    assert body["complete"] is False
    monkeypatch.setattr(figures, "MAX_SCAN", 100)
    body = api.get("/api/v1/figures", headers=bearer(instagram_key)).get_json()
    assert body["complete"] is True and body["days"][-1]["offered"] == 8
