"""The web call page for link-only platforms: ``/call?platform=<tag>`` (``#ref=<reference>``).

Blueprint ``callpage`` (`bp`):

- ``GET /call``: explains the service in a child's words (French, or English with
  ``lang=en``), says whether the line is open and when it reopens, offers a call from the
  browser (Twilio Voice JS SDK, when ``/console/static/vendor/twilio.min.js`` is installed and
  tokens are configured) and ``tel:3018``.
- ``POST /call/token``: a voice token for the page's platform. No partner key ever reaches a
  browser: the page gets its token here, protected by a double-submit CSRF token (a cookie the
  page's script echoes in ``X-CSRF-Token``, plus a same-origin check) and rate-limited per
  client IP (kept only as a keyed hash) and per platform.

The tag is normalised against the partner platforms: anything else, ``phone`` included, becomes
``unknown``; nothing the visitor typed is echoed. The report reference travels in the URL's
fragment (``#ref=…``), which browsers never send to a server, so that no access log holds it;
the page's script passes it to the call as the custom parameter ``ref``.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis as redis_lib
from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for

from helpline.log import get_logger
from helpline.pages import SECURITY_HEADERS
from helpline.runtime import Runtime
from ivr.hours import Day, Schedule, day_word, is_open
from ivr.hours_store import list_exceptions, schedule
from ivr.platform import UNKNOWN, canonical
from partners import limits, tokens
from partners.identity import MAX_REF
from partners.problems import problem, rate_limited
from partners.registry import is_partner_platform
from partners.texts import MONTHS, TEXTS, WEEKDAYS

log = get_logger("partners.callpage")

bp = Blueprint(
    "callpage",
    __name__,
    url_prefix="/call",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

CSRF_COOKIE = "call_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_MAX_AGE = 2 * 3600
VOICE_SDK_FILE = "vendor/twilio.min.js"  # under the console's static folder


def runtime() -> Runtime:
    """The app's runtime."""
    rt: Runtime = current_app.extensions["helpline"]
    return rt


def page_platform(raw: object, rt: Runtime) -> str:
    """The page's tag: a partner platform, else ``unknown`` (absent, ``phone``, hostile…)."""
    if not isinstance(raw, str):
        return UNKNOWN
    known = tuple(t for t in rt.config.platforms.known if is_partner_platform(rt.config, t))
    tag = canonical(raw, known)
    return tag if tag and is_partner_platform(rt.config, tag) else UNKNOWN


def voice_sdk_installed() -> bool:
    """True when the Voice JS SDK is in the console's static folder."""
    console = current_app.blueprints.get("console")
    folder = console.static_folder if console is not None else None
    if not folder:
        return False
    return (Path(folder) / VOICE_SDK_FILE).is_file()


# --- the words about opening hours ---------------------------------------------------------------


def _hhmm(moment: datetime) -> str:
    return moment.strftime("%H:%M")


def reopening(now: datetime, when: datetime, zone: Any, t: dict[str, Any], lang: str) -> str:
    """ "Il rouvre demain à 09:00." in the page's language."""
    local = when.astimezone(zone)
    word = day_word(now, when, zone)
    if word is Day.TODAY:
        day = t["today"]
    elif word is Day.TOMORROW:
        day = t["tomorrow"]
    else:
        day = t["on_day"].format(
            weekday=WEEKDAYS[lang][local.weekday()],
            day=local.day,
            month=MONTHS[lang][local.month - 1],
        )
    return str(t["reopens"].format(when=day, time=_hhmm(local)))


def every_day(week: Schedule, t: dict[str, Any]) -> str | None:
    """ "Ouvert tous les jours de 09:00 à 23:00." when every day has the same single range."""
    days = set(week.weekly)
    if len(days) != 1:
        return None
    ranges = next(iter(days))
    if len(ranges) != 1:
        return None
    start, end = ranges[0]
    return str(
        t["every_day"].format(
            start=f"{start // 60:02d}:{start % 60:02d}", end=f"{end // 60:02d}:{end % 60:02d}"
        )
    )


# --- CSRF ----------------------------------------------------------------------------------------


def _secure_cookie(rt: Runtime) -> bool:
    if rt.settings.mode in ("demo", "test"):
        return (rt.settings.public_base_url or "").startswith("https://")
    return True


def _same_origin() -> bool:
    """False when the browser says the request comes from another site."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser's cross-site request: the CSRF token decides
    ours = {request.host_url.rstrip("/")}
    public = runtime().settings.public_base_url
    if public:
        parts = urlsplit(public)
        ours.add(f"{parts.scheme}://{parts.netloc}")
    return origin in ours


def _csrf_ok() -> bool:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER, "")
    if not cookie or not sent or len(cookie) > 128:
        return False
    return hmac.compare_digest(cookie.encode(), sent.encode()) and _same_origin()


@bp.after_request
def _headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint != "callpage.static":
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(redis_lib.RedisError)
def _redis_down(_exc: redis_lib.RedisError) -> Response:
    log.error("callpage_redis_error", path=request.path)
    return problem(
        503, "unavailable", "Please try again in a moment.", headers={"Retry-After": "5"}
    )


# --- views ---------------------------------------------------------------------------------------


@bp.get("")
def page() -> Response:
    """The call page."""
    rt = runtime()
    lang = request.args.get("lang", "fr")
    lang = lang if lang in TEXTS else "fr"
    t = TEXTS[lang]
    tag = page_platform(request.args.get("platform"), rt)
    now = rt.clock.now()
    week = schedule(rt.config)
    try:
        exceptions = list_exceptions(rt.redis, rt.keys)
    except redis_lib.RedisError:  # the page must still say something useful
        log.error("callpage_hours_unreadable")
        exceptions = []
    state = is_open(now, week, exceptions)
    hours = {
        "open": state.open,
        "headline": t["open"] if state.open else t["closed"],
        "reopens": (
            reopening(now, state.next_change, rt.config.zone, t, lang)
            if not state.open and state.next_change is not None
            else None
        ),
        "every_day": every_day(week, t),
    }
    csrf = request.cookies.get(CSRF_COOKIE, "")
    if not (16 <= len(csrf) <= 128) or not csrf.replace("-", "").replace("_", "").isalnum():
        csrf = secrets.token_urlsafe(32)
    browser_call = voice_sdk_installed() and tokens.configured(rt.settings)
    html = render_template(
        "partners/call.html",
        t=t,
        lang=lang,
        other_lang="en" if lang == "fr" else "fr",
        tag=tag,
        csrf=csrf,
        from_platform=(
            t["from_platform"].format(name=rt.config.partners.platform(tag).name)
            if tag != UNKNOWN
            else None
        ),
        hours=hours,
        meanwhile=t["meanwhile"].format(site=rt.config.helpline.website),
        browser_call=browser_call,
        sdk_url=url_for("console.static", filename=VOICE_SDK_FILE) if browser_call else None,
        token_url=url_for("callpage.token"),
        max_ref=MAX_REF,
    )
    response = Response(html, mimetype="text/html")
    response.set_cookie(
        CSRF_COOKIE,
        csrf,
        max_age=CSRF_MAX_AGE,
        path="/call",
        secure=_secure_cookie(rt),
        httponly=True,  # the page's script echoes the copy in the page, not the cookie
        samesite="Strict",
    )
    response.headers["Vary"] = "Cookie"
    return response


@bp.post("/token")
def token() -> Response:
    """A voice token for the page's platform (CSRF-checked, rate-limited)."""
    rt = runtime()
    if not _csrf_ok():
        log.info("callpage_csrf_refused")
        return problem(403, "csrf", "Reload the page and try again.")
    body = request.get_json(silent=True)
    raw = body.get("platform") if isinstance(body, dict) else None
    tag = page_platform(raw, rt)
    if not tokens.configured(rt.settings):
        return problem(503, "tokens-unavailable", "Calls from this page are not available.")
    chosen = rt.config.partners.platform(tag).limits
    client = limits.pseudonym(rt, f"ip:{request.remote_addr or '-'}")
    verdict = limits.hit(
        rt,
        [
            limits.Window(f"ip:{client}", chosen.client_tokens_per_minute),
            limits.Window(f"page:{tag}", chosen.page_tokens_per_minute),
        ],
    )
    if not verdict.allowed:
        log.info("callpage_token_limited", platform=tag)
        return rate_limited(verdict.retry_after)
    issued = tokens.voice_token(rt.settings, tag, rt.config.partners.token_ttl)
    log.info("partners_token_issued", platform=tag, via="call_page")
    return jsonify(token=issued.jwt, identity=issued.identity, platform=tag, ttl=issued.ttl)
