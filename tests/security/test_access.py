"""Every manager or counsellor route refuses whoever lacks the right role: anonymous visitors
go to the login page (401 for the APIs and unsafe methods), a counsellor gets 403 on a duty
manager's route and a manager 403 on a counsellor's own; the partner API wants its key."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from console.users import Role, Users
from tests.console.conftest import PASSWORD, Session, open_session
from tests.security.routemap import PUBLIC, Route, all_routes, routes

CONSOLE = routes("console")
STREAMS = {"dashboard.events"}  # answers that never end: only the status is read
#: Roles of the routes as designed (docs/console.md, dashboard.md, incall.md). Every dashboard
#: route is for managers; a route missing here must at least declare its roles.
DESIGNED = {
    "console.index": {"counsellor", "manager"},
    "console.api_state": {"counsellor", "manager"},
    "console.api_set_state": {"counsellor"},
    "console.change_state_form": {"counsellor"},
    "console.api_token": {"counsellor"},
    "incall.blocklist_page": {"manager"},
    "incall.blocklist_add": {"manager"},
    "incall.blocklist_remove": {"manager"},
    "incall.supervise_view": {"manager"},
    "incall.supervise_leave": {"manager"},
    "incall.api_token": {"manager"},
    "incall.escalate_view": {"counsellor"},
    "incall.api_presence": {"counsellor"},
}


def test_console_routes_have_the_designed_roles() -> None:
    """Declared roles match the design; the whole dashboard is for duty managers."""
    for route in CONSOLE:
        if route.endpoint.startswith("dashboard."):
            assert route.roles == {"manager"}, route.id
        elif route.endpoint in DESIGNED:
            assert route.roles == DESIGNED[route.endpoint], route.id
        else:
            assert route.roles and route.roles <= {"counsellor", "manager"}, route.id
    assert len(CONSOLE) > 40


def test_the_public_table_holds_only_existing_routes() -> None:
    """No stale entry: each public endpoint is still served."""
    assert set(PUBLIC) <= {r.endpoint for r in all_routes()}


@pytest.fixture
def sessions(app: Flask, runtime) -> dict[str, Session]:
    """A counsellor and a duty manager, logged in."""
    users = Users(runtime)
    users.add("claire", Role.MANAGER, PASSWORD)
    users.add("amina", Role.COUNSELLOR, PASSWORD, counsellor_id="amina")
    return {"manager": open_session(app, "claire"), "counsellor": open_session(app, "amina")}


def _open(client: FlaskClient, route: Route, csrf: str | None = None):
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    data = {"csrf_token": csrf} if csrf and route.method != "GET" else None
    return client.open(
        route.path(), method=route.method, headers=headers, data=data, buffered=False
    )


@pytest.mark.parametrize("route", CONSOLE, ids=[r.id for r in CONSOLE])
def test_anonymous_visitors_are_refused(route: Route, client: FlaskClient) -> None:
    """Pages redirect to the login form; APIs and unsafe methods answer 401."""
    with _open(client, route) as response:
        if route.method == "GET" and "/api/" not in route.rule:
            assert response.status_code == 302, response.status
            assert response.headers["Location"].startswith("/console/login")
        else:
            assert response.status_code == 401, response.status


def test_every_console_route_is_tried_with_every_role(sessions: dict[str, Session]) -> None:
    """The wrong role gets 403 even with the CSRF token; the right one gets past the check."""
    for route in CONSOLE:
        for role, session in sessions.items():
            with _open(session.client, route, session.csrf) as response:
                if role in route.roles:
                    assert response.status_code not in (401, 403), (role, route.id)
                else:
                    assert response.status_code == 403, (role, route.id)


@pytest.mark.parametrize("route", routes("partner_key"), ids=[r.id for r in routes("partner_key")])
def test_partner_routes_want_a_key(route: Route, client: FlaskClient) -> None:
    """Without a key, or with a console session's cookie instead: 401 problem."""
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic YTpi"}):
        response = client.open(route.path(), method=route.method, headers=headers)
        assert response.status_code == 401, headers
        assert response.mimetype == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
