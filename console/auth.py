"""Who is logged in to the console, and what they may do.

- Sessions: the Flask session cookie (signed with SECRET_KEY; ``Secure`` except in demo or test
  mode without an https public URL, ``HttpOnly``, ``SameSite=Lax``) carries a random token and
  the CSRF token; the session itself lives in Redis under the token's SHA-256 for 12 hours, so
  that logging out, disabling a user or changing a password ends it on the server. A new token
  (and CSRF token) is issued at login: a session fixed before login is worthless after it.
- CSRF: every state-changing request carries the session's token in a hidden ``csrf_token``
  field or an ``X-CSRF-Token`` header, compared in constant time. A safety net refuses any
  unsafe request to a console view that was not declared as checking it.
- Throttling: five login attempts per login per 15 minutes (a sliding window in Redis, on the
  injected clock); a successful login clears the count. Unknown logins are throttled alike.
- `login_required(role=...)`: anonymous → redirect to the login page (401 JSON for the API);
  the wrong role → 403.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from datetime import timedelta
from functools import wraps
from typing import Any, cast
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.blueprints import BlueprintSetupState

from console.users import Role, User, Users, normalise_login, script, valid_login
from helpline.clock import to_ms
from helpline.log import get_logger
from helpline.pages import CSP, SECURITY_HEADERS  # noqa: F401 - re-exported
from helpline.runtime import Runtime
from helpline.settings import Settings

log = get_logger("console.auth")

SESSION_TTL = timedelta(hours=12)  # one shift at most; then log in again
THROTTLE_WINDOW = timedelta(minutes=15)
THROTTLE_ATTEMPTS = 5
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def runtime() -> Runtime:
    """The app's runtime."""
    rt: Runtime = current_app.extensions["helpline"]
    return rt


def cookie_secure(settings: Settings) -> bool:
    """Secure cookies, except for a demo or test served over plain http (no TLS to keep them)."""
    if settings.mode in ("demo", "test"):
        return (settings.public_base_url or "").startswith("https://")
    return True


def configure_cookies(state: BlueprintSetupState) -> None:
    """Session cookie flags for the app the console is registered on."""
    app = state.app
    secure = cookie_secure(app.extensions["helpline"].settings)
    app.config.update(
        # The __Host- prefix makes browsers refuse the cookie unless Secure, host-only, path /.
        SESSION_COOKIE_NAME="__Host-helpline" if secure else "helpline",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=SESSION_TTL,
    )


# --- responses --------------------------------------------------------------------------------


def wants_json() -> bool:
    """The JSON APIs (``api_*`` views of the console, in-call tools…) answer problems in JSON;
    pages answer HTML. An anonymous poll gets 401, not a redirect to an HTML login page."""
    return (request.endpoint or "").rpartition(".")[2].startswith("api_")


def problem(status: int, kind: str, detail: str, **extra: Any) -> Response:
    """An RFC 9457 problem document (``application/problem+json``)."""
    body = {"type": f"about:blank#{kind}", "title": kind, "status": status, "detail": detail}
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def refuse(status: int, kind: str, detail: str) -> Response:
    """A refusal in the form the caller understands: JSON for the API, a page otherwise."""
    if wants_json():
        return problem(status, kind, detail)
    page = render_template("console/error.html", status=status, detail=detail)
    return make_response(page, status)


# --- CSRF -------------------------------------------------------------------------------------


def csrf_token() -> str:
    """This browser session's CSRF token (created on first use, renewed at login and logout)."""
    token = session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_ok() -> bool:
    """True when the request carries the session's CSRF token (form field or header)."""
    expected = session.get("csrf")
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
    if not isinstance(expected, str) or not expected or not sent:
        return False
    return hmac.compare_digest(expected.encode(), sent.encode())


def csrf_refusal() -> Response:
    """403 for a missing or wrong CSRF token."""
    log.warning("console_csrf_refused", path=request.path, endpoint=request.endpoint)
    return refuse(
        403,
        "csrf",
        "Ce formulaire a expiré ou ne vient pas de la console. Rechargez la page et réessayez.",
    )


def csrf_protect(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse unsafe requests without the CSRF token (for views open to anonymous users)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if request.method not in SAFE_METHODS and not csrf_ok():
            return csrf_refusal()
        return view(*args, **kwargs)

    wrapper.csrf_checked = True  # type: ignore[attr-defined]
    return wrapper


# --- sessions ---------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(user: User) -> None:
    """Log ``user`` in: a fresh cookie session (rotated) and its record in Redis."""
    rt = runtime()
    token = secrets.token_urlsafe(32)
    key = rt.keys.console_session(_token_hash(token))
    record: list[str | int] = ["login", user.login, "epoch", user.epoch]
    record += ["created_at", to_ms(rt.clock.now())]
    pipe = rt.redis.pipeline(transaction=True)
    pipe.hset(key, items=record)
    pipe.expire(key, SESSION_TTL)
    pipe.execute()
    session.clear()  # nothing from before the login survives it
    session["sid"] = token
    session["csrf"] = secrets.token_urlsafe(32)
    session.permanent = True
    g.console_user = user


def close_session() -> None:
    """Log out: forget the session on the server and in the cookie."""
    token = session.get("sid")
    if isinstance(token, str) and token:
        rt = runtime()
        rt.redis.delete(rt.keys.console_session(_token_hash(token)))
    session.clear()
    g.console_user = None


def current_user() -> User | None:
    """The logged-in user, if the session is open, the user enabled and the epoch current."""
    if "console_user" in g:
        cached: User | None = g.console_user
        return cached
    g.console_user = None
    token = session.get("sid")
    if not isinstance(token, str) or not token:
        return None
    rt = runtime()
    record = cast(dict[str, str], rt.redis.hgetall(rt.keys.console_session(_token_hash(token))))
    if not record:
        return None
    user = Users(rt).get(record.get("login", ""))
    if user is None or user.disabled or str(user.epoch) != record.get("epoch"):
        return None
    g.console_user = user
    return user


# --- access -----------------------------------------------------------------------------------


def _roles(role: Role | str | Iterable[Role | str] | None) -> frozenset[Role]:
    if role is None:
        return frozenset(Role)
    if isinstance(role, str):
        return frozenset({Role(role)})
    return frozenset(Role(r) for r in role)


def login_required(
    role: Role | str | Iterable[Role | str] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Only a logged-in user with one of ``role`` (any role when None) gets through.

    Anonymous: redirect to the login page, or 401 for the JSON API. Wrong role: 403.
    Unsafe methods also need the CSRF token (403 without it).
    """
    allowed = _roles(role)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                if wants_json() or request.method not in SAFE_METHODS:
                    return refuse(401, "login_required", "Connectez-vous à la console.")
                return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
            if user.role not in allowed:
                log.warning("console_wrong_role", login=user.login, endpoint=request.endpoint)
                return refuse(403, "forbidden", "Cette page n'est pas ouverte à votre rôle.")
            if request.method not in SAFE_METHODS and not csrf_ok():
                return csrf_refusal()
            return view(*args, **kwargs)

        wrapper.csrf_checked = True  # type: ignore[attr-defined]
        wrapper.roles = allowed  # type: ignore[attr-defined]  # read by the access tests
        return wrapper

    return decorate


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a console or dashboard path on this site (no open redirect)."""
    if not target or "\\" in target or any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith(("/console", "/dashboard")):
        return None
    return target


def throttle(login: str) -> int | None:
    """Count one attempt for ``login``; None when allowed, else seconds until the next one."""
    rt = runtime()
    now = to_ms(rt.clock.now())
    allowed, value = script(rt.redis, "login_attempt")(
        keys=[rt.keys.console_login_failures(login)],
        args=[
            now,
            int(THROTTLE_WINDOW.total_seconds() * 1000),
            THROTTLE_ATTEMPTS,
            f"{now}-{secrets.token_hex(8)}",
        ],
    )
    if int(allowed):
        return None
    return max(1, -(-int(value) // 1000))


# --- views and hooks --------------------------------------------------------------------------


def login() -> Any:
    """GET: the login form. POST: check the credentials, throttled, and open a session."""
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_user() is not None:
            return redirect(next_url or url_for("console.index"))
        return render_template("console/login.html", next_url=next_url, error=None)
    login_name = normalise_login(request.form.get("login", ""))[:64]
    password = request.form.get("password", "")

    def again(status: int, error: str) -> Response:
        page = render_template(
            "console/login.html", next_url=next_url, error=error, login=login_name
        )
        return make_response(page, status)

    if not valid_login(login_name) or not password:
        return again(401, "Identifiant ou mot de passe incorrect.")
    wait = throttle(login_name)
    if wait is not None:
        log.warning("console_login_throttled", login=login_name)
        minutes = max(1, -(-wait // 60))
        response = again(
            429,
            "Trop de tentatives pour cet identifiant. "
            f"Réessayez dans {minutes} minute{'s' if minutes > 1 else ''}.",
        )
        response.headers["Retry-After"] = str(wait)
        return response
    rt = runtime()
    user = Users(rt).authenticate(login_name, password)
    if user is None:
        log.warning("console_login_failed", login=login_name)
        return again(401, "Identifiant ou mot de passe incorrect.")
    rt.redis.delete(rt.keys.console_login_failures(login_name))
    open_session(user)
    log.info("console_login", login=user.login, role=user.role.value)
    return redirect(next_url or url_for("console.index"))


def csrf_safety_net() -> Response | None:
    """Refuse an unsafe request to a console view that does not check the CSRF token."""
    if request.method in SAFE_METHODS or request.endpoint is None:
        return None
    view = current_app.view_functions.get(request.endpoint)
    if view is None or getattr(view, "csrf_checked", False):
        return None
    return csrf_refusal()


def security_headers(response: Response) -> Response:
    """Headers for every console response; pages and data are never cached."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint != "console.static":
        response.headers["Cache-Control"] = "no-store"
    return response


def install(bp: Blueprint, on_logout: Callable[[User], None] | None = None) -> None:
    """Attach login, logout, the CSRF safety net, security headers and cookie flags to ``bp``.

    ``on_logout(user)`` runs before a user's session ends (the console sets a browser
    counsellor offline: without the page, their softphone cannot ring).
    """

    def logout() -> Any:
        """End the session (POST with the CSRF token) and go back to the login page."""
        user = current_user()
        if user is not None:
            if on_logout is not None:
                on_logout(user)
            log.info("console_logout", login=user.login)
        close_session()
        flash("Vous êtes déconnecté de la console. À bientôt.", "info")
        return redirect(url_for("console.login"))

    bp.record_once(configure_cookies)
    bp.add_url_rule("/login", "login", csrf_protect(login), methods=["GET", "POST"])
    bp.add_url_rule("/logout", "logout", csrf_protect(logout), methods=["POST"])
    bp.before_request(csrf_safety_net)
    bp.after_request(security_headers)

    @bp.context_processor
    def _inject() -> dict[str, Any]:
        return {"csrf_token": csrf_token(), "user": current_user()}
