"""The JSON and form APIs with arbitrary bodies and queries: the partner API with a valid key,
and every console, dashboard and in-call route with a logged-in user of the right role and
the CSRF token. Never a 5xx; a refusal is a 4xx that says what is wrong."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from helpline.runtime import Runtime
from partners import apikeys
from tests.console.conftest import Session
from tests.fuzz.conftest import Known
from tests.fuzz.strategies import CONTROL, NUMBER_LIKE, PLATFORMS, STATUSES
from tests.partners.conftest import configure_tokens
from tests.security.routemap import Route, routes

FUZZ = settings(
    max_examples=20,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
#: Fields the console, dashboard and in-call views read, and the partner API's one.
FIELDS = [
    "action", "call_sid", "caller", "clear", "counsellor", "day", "end", "endpoint", "from",
    "hours", "id", "lang", "languages", "login", "minutes", "mode", "name", "note", "only",
    "password", "platform", "reason", "skills", "start", "state", "target", "text", "to",
    "until", "max_wait", "max_waiting", "shrinkage", "within", "client", "aht-18:00",
    "calls-18:00", "counsellor_id",
]  # fmt: skip
WORDS = [
    "available", "break", "offline", "wrap_up", "on_call", "listen", "whisper", "barge",
    "police", "emergency", "child_protection", "amina", "claire", "2026-11-23", "2026-02-30",
    "18:00", "25:61", "psychologist", "fr", "en", "client:amina", "h:" + "0" * 32,
    "CA000000000000000000000000face0001",
]  # fmt: skip
SCALARS = st.one_of(
    st.sampled_from(WORDS + NUMBER_LIKE + PLATFORMS + STATUSES),
    st.text(max_size=30),
    CONTROL,
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=8)), inner, max_size=6),
    ),
    max_leaves=12,
)
TEXT = st.one_of(st.sampled_from(WORDS + NUMBER_LIKE + PLATFORMS), st.text(max_size=30), CONTROL)
PAIRS = st.lists(
    st.tuples(st.one_of(st.sampled_from(FIELDS), st.text(max_size=8)), TEXT), max_size=8
)


@st.composite
def bodies(draw: st.DrawFn) -> dict:
    """Keyword arguments of a test-client request: a JSON body, a form, or raw bytes."""
    kind = draw(st.sampled_from(["json", "form", "raw", "none"]))
    if kind == "json":
        text = json.dumps(draw(JSON), allow_nan=True)
        return {"data": text, "content_type": "application/json"}
    if kind == "form":
        return {"data": MultiDict(draw(PAIRS))}
    if kind == "raw":
        kinds = ["application/json", "text/plain", "multipart/form-data", "application/xml", ""]
        return {"data": draw(st.binary(max_size=200)), "content_type": draw(st.sampled_from(kinds))}
    return {}


def check_refusal(response, api: bool) -> None:
    """No 5xx; an API's 4xx is a problem document with a detail."""
    body = response.get_data()
    where = f"{response.request.method} {response.request.url}"
    assert response.status_code < 500, (where, body[:1000])
    if api and response.status_code >= 400:
        assert response.mimetype == "application/problem+json", (where, body[:300])
        problem = json.loads(body)
        assert problem["status"] == response.status_code and problem["detail"], problem


# --- the partner API ------------------------------------------------------------------------

#: The rest of an unknown /api/v1 path (no dot segments: clients resolve those before sending).
REST = st.one_of(
    st.text(st.characters(exclude_characters="/", codec="utf-8"), min_size=1, max_size=20),
    st.sampled_from(["a/b", "openapi.json/x", "v2/status", "status/", "figures%2F..", "%00"]),
)
PARTNER = [r for r in routes("partner_key") + routes("public") if r.rule.startswith("/api/v1")]


@pytest.mark.parametrize("route", PARTNER, ids=[r.id for r in PARTNER])
def test_partner_api_answers_any_body_with_a_problem_never_an_error(
    route: Route, runtime: Runtime, client: FlaskClient
) -> None:
    """With a valid key, any body, query or path: a JSON answer or a problem, never a 5xx."""
    configure_tokens(runtime)
    key = apikeys.issue(runtime, "instagram", label="fuzz").secret

    @FUZZ
    @given(body=bodies(), query=PAIRS, rest=REST)
    def run(body: dict, query: list, rest: str) -> None:
        response = client.open(
            route.path(rest=rest),
            method=route.method,
            query_string=urlencode(query),
            headers={"Authorization": f"Bearer {key}"},
            **body,
        )
        check_refusal(response, api=True)

    run()


# --- console, dashboard and in-call routes ----------------------------------------------------

STREAMS = {"dashboard.events"}  # server-sent events: an answer that never ends
CONSOLE = [r for r in routes("console") if r.endpoint not in STREAMS]


def is_api(route: Route) -> bool:
    """JSON APIs answer problems; pages answer pages, redirects and flashed messages."""
    return "/api/" in route.rule or route.rule.startswith(("/incall/escalate", "/incall/super"))


@pytest.mark.parametrize("route", CONSOLE, ids=[r.id for r in CONSOLE])
def test_console_routes_answer_any_body_with_a_clear_refusal(
    route: Route, runtime: Runtime, known: Known, manager: Session, counsellor: Session
) -> None:
    """The right role and the CSRF token, any body, query or path argument: never a 5xx."""
    configure_tokens(runtime)  # the softphone token routes would answer 503 without
    session = counsellor if "counsellor" in route.roles else manager

    @FUZZ
    @given(body=bodies(), query=PAIRS, value=st.text(min_size=1, max_size=20))
    def run(body: dict, query: list, value: str) -> None:
        values = {name: value for name in route.arguments if name != "filename"}
        with session.client.open(
            route.path(**values),
            method=route.method,
            query_string=urlencode(query),
            headers={"X-CSRF-Token": session.csrf},
            **body,
        ) as response:
            assert response.status_code not in (401, 403), response.get_data()[:300]
            json_sent = body.get("content_type") == "application/json"
            check_refusal(response, api=is_api(route) and json_sent)

    run()
