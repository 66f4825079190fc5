"""Twilio webhooks answer nobody but Twilio: a missing, forged, re-used or tampered
X-Twilio-Signature gets 403 on every Twilio route, and changes nothing."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import pytest
import redis as redis_lib
from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from helpline.signature import sign
from tests.conftest import AUTH_TOKEN, PUBLIC
from tests.security.routemap import Route, all_routes, routes

WEBHOOKS = routes("twilio")
FORM = {
    "CallSid": "CA" + "1" * 32,
    "From": "+33612345678",
    "To": "+33185083018",
    "CallStatus": "completed",
    "Digits": "1",
    "SequenceNumber": "3",
}


def test_no_route_is_left_unguarded() -> None:
    """Every route is a Twilio webhook, a console route with roles, a keyed partner route, or
    in the explicit public table: a new route must be one of them."""
    unguarded = [r.id for r in all_routes() if r.kind == "unguarded"]
    assert unguarded == []


def test_every_voice_route_checks_the_signature() -> None:
    """Anything under /voice/ (and any POST */status callback) is behind `twilio_signed`."""
    voice = {r.endpoint for r in all_routes() if r.rule.startswith("/voice/")}
    callbacks = {
        r.endpoint for r in all_routes() if r.rule.endswith("/status") and r.method == "POST"
    }
    assert voice | callbacks <= {r.endpoint for r in WEBHOOKS}
    assert len(WEBHOOKS) >= 11


def _forgeries(route: Route) -> dict[str, dict[str, str]]:
    """Headers of requests Twilio did not sign for this URL and this form."""
    path = route.path()
    other = "/voice/incoming" if path != "/voice/incoming" else "/voice/status"
    return {
        "missing": {},
        "empty": {"X-Twilio-Signature": ""},
        "garbage": {"X-Twilio-Signature": "not-a-signature"},
        "wrong token": {"X-Twilio-Signature": sign("another-auth-token", PUBLIC + path, FORM)},
        "other host": {"X-Twilio-Signature": sign(AUTH_TOKEN, "https://evil.test" + path, FORM)},
        "http not https": {
            "X-Twilio-Signature": sign(AUTH_TOKEN, PUBLIC.replace("https", "http") + path, FORM)
        },
        "other route": {"X-Twilio-Signature": sign(AUTH_TOKEN, PUBLIC + other, FORM)},
        "other query": {"X-Twilio-Signature": sign(AUTH_TOKEN, PUBLIC + path + "?x=1", FORM)},
        "other form": {
            "X-Twilio-Signature": sign(AUTH_TOKEN, PUBLIC + path, {**FORM, "Digits": "2"})
        },
        "no form signed": {"X-Twilio-Signature": sign(AUTH_TOKEN, PUBLIC + path, {})},
        "sha256 header": {
            "X-Twilio-Signature": sign(AUTH_TOKEN, PUBLIC + path, FORM) + "=",
            "X-Twilio-Webhooks-Signature-Settings": "algorithm=HMAC_SHA256",
        },
    }


@pytest.mark.parametrize("route", WEBHOOKS, ids=[r.id for r in WEBHOOKS])
def test_unsigned_or_forged_requests_get_403_and_change_nothing(
    route: Route, client: FlaskClient, redis: redis_lib.Redis
) -> None:
    """Missing, garbage, wrong token, host, scheme, route, query or form: 403, a plain body,
    and not one Redis key written."""
    for forgery, headers in _forgeries(route).items():
        response = client.open(route.path(), method=route.method, data=FORM, headers=headers)
        assert (response.status_code, response.get_data()) == (403, b"Forbidden"), forgery
        assert redis.dbsize() == 0, forgery


@pytest.mark.parametrize("route", WEBHOOKS, ids=[r.id for r in WEBHOOKS])
def test_twilio_routes_take_no_get(route: Route, client: FlaskClient) -> None:
    """Twilio is told to POST; a GET, even with a signature for its URL, is not served."""
    headers = {"X-Twilio-Signature": sign(AUTH_TOKEN, PUBLIC + route.path(), {})}
    assert client.get(route.path(), headers=headers).status_code == 405


def test_a_valid_signature_is_accepted(client: FlaskClient) -> None:
    """The same request, signed for the public URL with the auth token, goes through."""
    headers = {"X-Twilio-Signature": sign(AUTH_TOKEN, PUBLIC + "/voice/status", FORM)}
    assert client.post("/voice/status", data=FORM, headers=headers).status_code == 200


def test_every_value_of_a_repeated_field_is_signed(client: FlaskClient) -> None:
    """A value appended to a signed request breaks the signature (Twilio signs all values)."""
    signed_pairs = list(FORM.items())
    header = sign(AUTH_TOKEN, PUBLIC + "/voice/status", FORM)
    tampered = urlencode([*signed_pairs, ("Digits", "9")])
    kind = "application/x-www-form-urlencoded"
    response = client.post(
        "/voice/status",
        data=tampered,
        content_type=kind,
        headers={"X-Twilio-Signature": header},
    )
    assert response.status_code == 403
    both = MultiDict(parse_qsl(tampered))
    good = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC + "/voice/status", both)
    response = client.post(
        "/voice/status", data=tampered, content_type=kind, headers={"X-Twilio-Signature": good}
    )
    assert response.status_code == 200


def test_the_url_is_checked_as_twilio_called_it(client: FlaskClient) -> None:
    """Percent-escapes count as sent: Twilio signs ``/a%20b``, not the decoded ``/a b``."""
    path = "/voice/menu/caller%20type?platform=t%C3%A9st"
    good = {"X-Twilio-Signature": sign(AUTH_TOKEN, PUBLIC + path, FORM)}
    assert client.post(path, data=FORM, headers=good).status_code == 200
    decoded = {"X-Twilio-Signature": sign(AUTH_TOKEN, PUBLIC + "/voice/menu/caller type", FORM)}
    assert client.post(path, data=FORM, headers=decoded).status_code == 403
