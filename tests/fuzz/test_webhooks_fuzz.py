"""Every Twilio webhook, validly signed, with arbitrary form fields, query and path arguments:
never a 5xx; a voice route always answers 200 with TwiML Twilio can play."""

from __future__ import annotations

import logging

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from werkzeug.exceptions import RequestEntityTooLarge

from tests.conftest import PUBLIC
from tests.fuzz.conftest import Known
from tests.fuzz.strategies import form_pairs, path_value, signed
from tests.security.routemap import Route, all_routes, routes
from tests.security.twiml_rules import problems

MAX_BODY = 256 * 1024  # the app's MAX_CONTENT_LENGTH
WEBHOOKS = [r for r in routes("twilio") if r.method == "POST"]
FUZZ = settings(
    max_examples=40,
    deadline=None,
    # No "explain" phase: its tracer slows Python 3.11 down tenfold on a failure.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def is_callback(route: Route) -> bool:
    """Status callbacks answer an empty 2xx; every other webhook answers TwiML."""
    return route.rule.endswith("/status")


def check_answer(route: Route, response, sent: int) -> None:
    """The rules every answer of ``route`` to a body of ``sent`` bytes keeps."""
    body = response.get_data()
    assert response.status_code < 500, body[:500]
    xml = response.mimetype in ("text/xml", "application/xml")
    if is_callback(route):
        # Over the body limit, a callback may say so (413): no call hangs on its answer.
        too_large = sent > MAX_BODY and response.status_code == 413
        assert response.status_code in (200, 204) or too_large, body[:500]
        assert not body.strip() or xml or too_large, body[:500]
    else:
        assert response.status_code == 200, body[:500]
        assert xml, response.mimetype
    if xml:
        assert problems(body, PUBLIC) == [], body.decode(errors="replace")[:2000]


def test_the_fuzzed_webhooks_are_every_twilio_route_of_the_app() -> None:
    """Every route under /voice is a signed Twilio webhook, and each is fuzzed below."""
    assert {r.rule for r in WEBHOOKS} >= {
        "/voice/incoming",
        "/voice/menu/<step>",
        "/voice/status",
        "/voice/queue/wait",
        "/voice/queue/result",
        "/voice/offer/<rid>",
        "/voice/offer/<rid>/answer",
        "/voice/bridge/<rid>",
    }
    voice = {r.rule for r in all_routes() if r.rule.startswith("/voice/")}
    assert voice <= {r.rule for r in WEBHOOKS}
    assert len(WEBHOOKS) == len(routes("twilio"))  # Twilio is told to POST, so all are here


@pytest.mark.parametrize("route", WEBHOOKS, ids=[r.id for r in WEBHOOKS])
def test_signed_arbitrary_input_never_breaks_a_webhook(
    route: Route, client: FlaskClient, known: Known, caplog: pytest.LogCaptureFixture
) -> None:
    """Any form, query and path argument, validly signed: a safe, well-formed answer, reached
    without an exception (the safe-TwiML handler is a net, not the way garbage is handled)."""
    caplog.set_level(logging.ERROR)

    @FUZZ
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        arguments = {name: data.draw(path_value(known), label=name) for name in route.arguments}
        pairs = data.draw(form_pairs(known), label="form")
        query = data.draw(st.lists(st.tuples(st.text(max_size=10), st.text(max_size=20))))
        url, body, headers = signed(route.path(**arguments), pairs, query)
        caplog.clear()
        check_answer(route, client.post(url, data=body, headers=headers), len(body))
        crashes = [
            r.getMessage()
            for r in caplog.records
            if r.exc_info and r.exc_info[0] is not RequestEntityTooLarge
        ]
        assert crashes == []

    run()
