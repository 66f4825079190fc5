"""Console access: login, throttling, session cookies, CSRF, roles, security headers."""

from __future__ import annotations

import pytest
from flask import Flask

from console.auth import SECURITY_HEADERS, cookie_secure, safe_next
from console.users import Role, Users
from helpline.clock import FrozenClock
from helpline.runtime import Runtime
from helpline.settings import Settings
from tests.console.conftest import PASSWORD, Session, csrf_from, login, open_session


def test_login_with_the_right_password_opens_the_console(app: Flask, users: Users, amina) -> None:
    """A counsellor with the right password lands on their console."""
    users.add("amina", Role.COUNSELLOR, PASSWORD)
    client = app.test_client()
    response = login(client, "Amina")
    assert response.status_code == 302 and response.headers["Location"] == "/console/"
    page = client.get("/console/")
    assert page.status_code == 200 and "Ma console" in page.get_data(as_text=True)


def test_login_with_a_wrong_password_or_unknown_login_says_the_same(
    app: Flask, users: Users
) -> None:
    """A wrong password and an unknown login get one message: logins are not revealed."""
    users.add("amina", Role.COUNSELLOR, PASSWORD)
    client = app.test_client()
    wrong = login(client, "amina", "not the password")
    unknown = login(client, "nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Identifiant ou mot de passe incorrect" in wrong.get_data(as_text=True)
    assert "Identifiant ou mot de passe incorrect" in unknown.get_data(as_text=True)
    assert client.get("/console/").status_code == 302


def test_disabled_user_cannot_log_in(app: Flask, users: Users) -> None:
    """A disabled login is refused even with the right password."""
    users.add("amina", Role.COUNSELLOR, PASSWORD)
    users.disable("amina")
    assert login(app.test_client(), "amina").status_code == 401


def test_five_failures_lock_the_login_for_fifteen_minutes(
    app: Flask, users: Users, clock: FrozenClock
) -> None:
    """After 5 failed attempts even the right password is refused until 15 minutes pass."""
    users.add("amina", Role.COUNSELLOR, PASSWORD)
    client = app.test_client()
    for _ in range(5):
        assert login(client, "amina", "guess guess guess").status_code == 401
    locked = login(client, "amina")
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) == 15 * 60
    assert "Trop de tentatives" in locked.get_data(as_text=True)
    clock.advance(14 * 60)
    assert login(client, "amina").status_code == 429
    clock.advance(61)
    assert login(client, "amina").status_code == 302


def test_throttling_is_per_login_and_a_success_clears_it(app: Flask, users: Users) -> None:
    """Failures on one login do not lock another; a successful login resets the count."""
    users.add("amina", Role.COUNSELLOR, PASSWORD)
    users.add("basile", Role.COUNSELLOR, PASSWORD)
    client = app.test_client()
    for _ in range(4):
        login(client, "amina", "guess guess guess")
    assert login(app.test_client(), "amina").status_code == 302
    for _ in range(4):
        login(client, "amina", "guess guess guess")
    assert login(app.test_client(), "amina").status_code == 302
    for _ in range(5):
        login(client, "nobody", "guess guess guess")
    assert login(client, "nobody", "guess guess guess").status_code == 429
    assert login(app.test_client(), "basile").status_code == 302


def test_session_cookie_is_secure_httponly_and_samesite_lax(app: Flask, users: Users) -> None:
    """The session cookie cannot be read by scripts, sent over http or by other sites' forms."""
    users.add("amina", Role.COUNSELLOR, PASSWORD)
    response = login(app.test_client(), "amina")
    cookies = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("__Host-")]
    assert cookies, response.headers.getlist("Set-Cookie")
    flags = [part.strip().lower() for part in cookies[-1].split(";")]
    assert "secure" in flags and "httponly" in flags and "samesite=lax" in flags
    assert "path=/" in flags and not any(f.startswith("domain=") for f in flags)


@pytest.mark.parametrize(
    ("mode", "public", "secure"),
    [
        ("production", "https://helpline.example", True),
        ("demo", None, False),
        ("demo", "http://localhost:8000", False),
        ("demo", "https://demo.example", True),
        ("test", "https://helpline.test", True),
    ],
)
def test_cookies_are_secure_except_for_a_demo_over_plain_http(
    mode: str, public: str | None, secure: bool
) -> None:
    """Only demo and test without https get cookies without the Secure flag."""
    env = {"TWILIO_AUTH_TOKEN": "t" * 32, "SECRET_KEY": "s" * 32}
    if public:
        env["PUBLIC_BASE_URL"] = public
    assert cookie_secure(Settings.from_env(env, mode=mode)) is secure


def test_session_is_rotated_at_login(app: Flask, users: Users) -> None:
    """The cookie and CSRF token from before login are worthless after it (no fixation)."""
    users.add("amina", Role.COUNSELLOR, PASSWORD)
    client = app.test_client()
    before = csrf_from(client.get("/console/login").get_data(as_text=True))
    with client.session_transaction() as anonymous:
        assert "sid" not in anonymous
    login(client, "amina")
    with client.session_transaction() as logged_in:
        assert logged_in["sid"] and logged_in["csrf"] != before


def test_logout_ends_the_session_on_the_server(app: Flask, counsellor: Session) -> None:
    """A copy of the cookie taken before logout no longer opens the console."""
    with counsellor.client.session_transaction() as saved:
        stolen = dict(saved)
    response = counsellor.client.post("/console/logout", data={"csrf_token": counsellor.csrf})
    assert response.status_code == 302 and response.headers["Location"] == "/console/login"
    thief = app.test_client()
    with thief.session_transaction() as forged:
        forged.update(stolen)
    assert thief.get("/console/").status_code == 302
    assert thief.get("/console/api/state").status_code == 401


def test_disabling_or_changing_password_ends_open_sessions(
    app: Flask, users: Users, counsellor: Session
) -> None:
    """An open session stops working once its user is disabled or its password changes."""
    assert counsellor.client.get("/console/api/state").status_code == 200
    users.set_password("amina", "another long secret")
    assert counsellor.client.get("/console/api/state").status_code == 401
    client = app.test_client()
    assert login(client, "amina", "another long secret").status_code == 302
    users.disable("amina")
    assert client.get("/console/api/state").status_code == 401


def test_login_form_refuses_a_missing_or_wrong_csrf_token(app: Flask, users: Users) -> None:
    """Posting the login form without its token (login CSRF) is refused."""
    users.add("amina", Role.COUNSELLOR, PASSWORD)
    client = app.test_client()
    client.get("/console/login")
    missing = client.post("/console/login", data={"login": "amina", "password": PASSWORD})
    wrong = client.post(
        "/console/login", data={"login": "amina", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert missing.status_code == wrong.status_code == 403
    assert client.get("/console/").status_code == 302


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_state_change_refuses_a_missing_or_wrong_csrf_token(
    counsellor: Session, acd, token: str | None
) -> None:
    """A state change without the session's CSRF token is refused and changes nothing."""
    headers = {} if token is None else {"X-CSRF-Token": token}
    response = counsellor.client.post(
        "/console/api/state", json={"state": "available"}, headers=headers
    )
    assert response.status_code == 403
    assert response.get_json()["title"] == "csrf"
    form = counsellor.client.post(
        "/console/state", data={"state": "available", "csrf_token": token or ""}
    )
    assert form.status_code == 403
    assert acd.get_counsellor("amina").state.value == "offline"


def test_csrf_token_of_another_session_is_refused(app: Flask, users: Users, amina) -> None:
    """Tokens are per session: one browser's token does not work in another's."""
    users.add("amina", Role.COUNSELLOR, PASSWORD)
    first, second = open_session(app, "amina"), open_session(app, "amina")
    assert first.csrf != second.csrf
    response = first.post_json("/console/api/state", {"state": "available"}, token=second.csrf)
    assert response.status_code == 403
    assert first.post_json("/console/api/state", {"state": "available"}).status_code == 200


def test_logout_needs_the_csrf_token(counsellor: Session) -> None:
    """Another site cannot log a counsellor out with a forged form."""
    assert counsellor.client.post("/console/logout").status_code == 403
    assert counsellor.client.get("/console/api/state").status_code == 200


PAGES = ["/console/", "/console/?counsellor=amina"]
API_GET = ["/console/api/state"]
UNSAFE = [
    ("/console/api/state", {"state": "available"}),
    ("/console/api/token", {}),
    ("/console/state", None),
]


def test_anonymous_is_sent_to_login_for_pages_and_gets_401_from_the_api(app: Flask) -> None:
    """Nothing in the console answers an anonymous visitor except the login page."""
    client = app.test_client()
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/console/login?next=")
    for path in API_GET:
        response = client.get(path)
        assert response.status_code == 401 and response.mimetype == "application/problem+json"
    token = csrf_from(client.get("/console/login").get_data(as_text=True))
    for path, body in UNSAFE:
        if body is None:
            response = client.post(path, data={"state": "available", "csrf_token": token})
        else:
            response = client.post(path, json=body, headers={"X-CSRF-Token": token})
        assert response.status_code == 401, path


def test_manager_cannot_act_as_a_counsellor(manager: Session, amina) -> None:
    """Changing state and getting a softphone token are for counsellors only (403)."""
    for path, body in UNSAFE:
        if body is None:
            response = manager.client.post(
                path, data={"state": "available", "csrf_token": manager.csrf}
            )
        else:
            response = manager.post_json(path, body)
        assert response.status_code == 403, path


def test_counsellor_is_refused_a_manager_only_view(runtime: Runtime, users: Users) -> None:
    """`login_required(role="manager")` answers 403 to a counsellor, 302 to anonymous."""
    from flask import Blueprint

    from console.auth import login_required
    from console.views import bp
    from helpline.app import create_app

    application = create_app({"RUNTIME": runtime, "TESTING": True})
    if "console" not in application.blueprints:
        application.register_blueprint(bp)
    extra = Blueprint("console_extra", __name__)

    @extra.get("/console/managers-only")
    @login_required(role="manager")
    def managers_only() -> str:
        return "figures"

    application.register_blueprint(extra)
    users.add("amina", Role.COUNSELLOR, PASSWORD)
    users.add("claire", Role.MANAGER, PASSWORD)
    assert application.test_client().get("/console/managers-only").status_code == 302
    counsellor = open_session(application, "amina")
    assert counsellor.client.get("/console/managers-only").status_code == 403
    manager = open_session(application, "claire")
    assert manager.client.get("/console/managers-only").get_data(as_text=True) == "figures"


def test_counsellor_sees_only_their_own_console(counsellor: Session, acd) -> None:
    """Asking for another counsellor's console gives a counsellor their own."""
    acd.add_counsellor("basile", "Basile", ["lawyer"], ["fr"], "client:basile")
    data = counsellor.client.get("/console/api/state?counsellor=basile").get_json()
    assert data["counsellor"]["id"] == "amina"
    page = counsellor.client.get("/console/?counsellor=basile").get_data(as_text=True)
    assert "Ma console" in page and "Basile" not in page


def test_pages_carry_security_headers(app: Flask, counsellor: Session) -> None:
    """CSP, no framing, no sniffing, no referrer, no caching on console responses."""
    for response in (
        app.test_client().get("/console/login"),
        counsellor.client.get("/console/"),
        counsellor.client.get("/console/api/state"),
    ):
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
        assert response.headers["Cache-Control"] == "no-store"
    page = counsellor.client.get("/console/").get_data(as_text=True)
    assert "<script>" not in page and " on" + "click=" not in page


@pytest.mark.parametrize(
    ("target", "kept"),
    [
        ("/console/?counsellor=amina", True),
        ("/dashboard/planner", True),
        ("https://evil.example/console", False),
        ("//evil.example/console", False),
        ("/\\evil.example", False),
        ("/healthz", False),
        ("javascript:alert(1)", False),
    ],
)
def test_login_redirects_only_back_into_the_console_or_dashboard(target: str, kept: bool) -> None:
    """The ``next`` parameter cannot send a freshly logged-in user to another site."""
    assert (safe_next(target) == target) is kept
