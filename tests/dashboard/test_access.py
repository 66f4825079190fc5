"""No dashboard page or endpoint answers without a duty manager's login."""

from __future__ import annotations

import pytest
from flask import Flask, url_for

from dashboard.views import bp
from tests.console.conftest import Session

SAMPLES = {
    "counsellor_id": "amina",
    "exception_id": "1",
    "day": "2026-11-23",
    "shift_id": "1",
    "filename": "dashboard.css",
}


def _rules() -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(endpoint, rule, method, arguments) of every dashboard route (a throwaway app)."""
    scratch = Flask(__name__)
    scratch.register_blueprint(bp)
    found = []
    for rule in scratch.url_map.iter_rules():
        if not rule.rule.startswith("/dashboard"):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, rule.rule, method, tuple(sorted(rule.arguments))))
    return found


RULES = _rules()
IDS = [f"{method} {rule}" for _, rule, method, _ in RULES]


def _url(app: Flask, endpoint: str, arguments: tuple[str, ...]) -> str:
    with app.test_request_context():
        return url_for(endpoint, **{name: SAMPLES[name] for name in arguments})


def test_the_list_covers_every_dashboard_route(app: Flask) -> None:
    """The parametrised tests below see exactly the routes the real app serves."""
    served = {
        (rule.endpoint, rule.rule, method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/dashboard")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    assert served == {(endpoint, rule, method) for endpoint, rule, method, _ in RULES}
    assert len(served) > 20


@pytest.mark.parametrize(("endpoint", "rule", "method", "arguments"), RULES, ids=IDS)
def test_anonymous_visitor_is_refused(
    app: Flask, endpoint: str, rule: str, method: str, arguments: tuple[str, ...]
) -> None:
    """Without a login: pages redirect to the login form, unsafe requests get 401."""
    client = app.test_client()
    response = client.open(_url(app, endpoint, arguments), method=method)
    if method == "GET":
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/console/login")
    else:
        assert response.status_code == 401
    assert b"Ligne" not in response.data and b"Appelants" not in response.data


@pytest.mark.parametrize(("endpoint", "rule", "method", "arguments"), RULES, ids=IDS)
def test_counsellor_is_refused(
    app: Flask,
    counsellor: Session,
    endpoint: str,
    rule: str,
    method: str,
    arguments: tuple[str, ...],
) -> None:
    """A counsellor's login opens none of it (403), even with a valid CSRF token."""
    response = counsellor.client.open(
        _url(app, endpoint, arguments),
        method=method,
        data={"csrf_token": counsellor.csrf} if method != "GET" else None,
        headers={"X-CSRF-Token": counsellor.csrf},
    )
    assert response.status_code == 403


def test_a_manager_needs_the_csrf_token_to_change_anything(app: Flask, manager: Session) -> None:
    """A manager's form without the session's token is refused (403) and changes nothing."""
    response = manager.client.post(
        "/dashboard/announcement", data={"text": "Bonjour", "minutes": "60"}
    )
    assert response.status_code == 403
    response = manager.client.post(
        "/dashboard/announcement",
        data={"text": "Bonjour", "minutes": "60", "csrf_token": "forged"},
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/",
        "/dashboard/now.json",
        "/dashboard/figures",
        "/dashboard/counsellors",
        "/dashboard/hours",
        "/dashboard/settings",
        "/dashboard/planner",
        "/dashboard/roster",
        "/dashboard/exports",
        "/dashboard/audit",
        "/dashboard/static/dashboard.js",
    ],
)
def test_a_manager_opens_every_page(manager: Session, path: str) -> None:
    """Every page answers a duty manager, with the console's security headers."""
    with manager.client.get(path) as response:  # closes a static file's handle
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert response.headers["X-Frame-Options"] == "DENY"
