"""The duty managers' dashboard: blueprint ``dashboard`` under ``/dashboard``.

Every route, the static files included, is for duty managers only (`login_required` with the
manager role: anonymous visitors are sent to the console's login page, or get 401 for an
unsafe method; counsellors get 403). Every state-changing request carries the console's CSRF
token and is written to the audit trail (`dashboard.audit`) with the state before and after.

Pages: the live panel (``/``, fed by ``/stream``), counsellors, opening hours, overflow and
priority, the staffing planner and the roster, exports, the audit trail.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)

from acd import jobs as acd_jobs
from acd.errors import AcdError, CounsellorBusy, CounsellorExists, UnknownCounsellor
from acd.model import CounsellorState
from acd.store import Acd
from console import auth
from console import views as console_views
from console.auth import current_user, login_required, runtime
from console.users import Role
from dashboard import audit, charts, exports, overrides, roster, service, stream
from dashboard import hours as dash_hours
from dashboard import labels as L
from dashboard.figures import Report
from helpline.clock import to_ms
from helpline.log import get_logger
from ivr import hours_store
from ivr.hours import DAYS, Kind, is_open

log = get_logger("dashboard.views")

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
bp = Blueprint("dashboard", __name__, url_prefix="/dashboard", template_folder="templates")
manager_only = login_required(role=Role.MANAGER)

ANNOUNCEMENT_MAX = 500
ANNOUNCEMENT_MINUTES = (15, 30, 60, 120, 240, 480)
DAY_NAMES = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
HOUR_CHART_FIRST = 8  # the hour chart starts at 08:00 unless calls came earlier
MANUAL = {
    "available": CounsellorState.AVAILABLE,
    "break": CounsellorState.BREAK,
    "offline": CounsellorState.OFFLINE,
}


bp.before_request(auth.csrf_safety_net)


@bp.after_request
def _headers(response: Response) -> Response:
    """The console's security headers (CSP ``default-src 'self'``…), never cached."""
    return auth.security_headers(response)


@bp.context_processor
def _inject() -> dict[str, Any]:
    zone = runtime().config.zone

    def local(when: datetime | None, pattern: str = "%d/%m/%Y %H:%M") -> str:
        return "" if when is None else when.astimezone(zone).strftime(pattern)

    return {
        "csrf_token": auth.csrf_token(),
        "user": current_user(),
        "local": local,
        "duration": L.duration,
        "percent": L.percent,
        "L": L,
    }


def _who() -> str:
    user = current_user()
    return user.login if user else "?"


def _record(action: str, target: str = "", before: Any = None, after: Any = None) -> None:
    rt = runtime()
    audit.record(rt.redis, rt.keys, rt.clock.now(), _who(), action, target, before, after)
    log.info("dashboard.action", login=_who(), action=action, target=target)


def _wants_json() -> bool:
    return request.headers.get("Accept", "").startswith("application/json")


def _done(message: str, endpoint: str, ok: bool = True, status: int = 200, **values: Any) -> Any:
    """Answer a form: JSON for the page's script, else a flash and a redirect (PRG)."""
    if _wants_json():
        response = jsonify(ok=ok, message=message)
        response.status_code = status if not ok else 200
        return response
    flash(message, "info" if ok else "error")
    return redirect(url_for(endpoint, **values))


# -- static files (behind the login like everything else here) ----------------------------------


@bp.get("/static/<path:filename>")
@manager_only
def static(filename: str) -> Any:
    """The dashboard's CSS and JavaScript."""
    response = send_from_directory(STATIC, filename, max_age=0)
    return response


# -- the live panel ------------------------------------------------------------------------------


def _figures_context() -> dict[str, Any]:
    rt = runtime()
    w = service.windows(rt)
    return {
        "today": w.today,
        "last_hour": w.last_hour,
        "threshold": rt.config.dashboard.service_level_seconds,
        "hour_chart": _hour_chart(w.today),
        "platform_chart": _platform_chart(w.today),
        "now": w.now,
    }


def _hour_chart(report: Report) -> Any:
    latest = report.by_hour[-1][0] if report.by_hour else None
    hours = [
        (h, f) for h, f in report.by_hour if h.hour >= HOUR_CHART_FIRST or f.offered or h == latest
    ]
    labels = [h.strftime("%Hh") for h, _ in hours]
    return charts.chart(
        "chart-hours",
        "Appels par heure aujourd'hui",
        "Barres empilées : décrochés, abandons, débordés et en attente par heure d'arrivée.",
        labels,
        bars=[
            charts.Series("Décrochés", "s-answered", [f.answered for _, f in hours]),
            charts.Series("Abandons", "s-abandoned", [f.abandoned for _, f in hours]),
            charts.Series("Débordés", "s-overflowed", [f.overflowed for _, f in hours]),
            charts.Series("En attente", "s-waiting", [f.waiting for _, f in hours]),
        ],
        label_every=2 if len(labels) > 12 else 1,
    )


def _platform_chart(report: Report) -> Any:
    items = list(report.by_platform.items())
    return charts.chart(
        "chart-platforms",
        "Appels par plateforme aujourd'hui",
        "Barres empilées : décrochés, abandons et débordés par plateforme d'origine.",
        [L.label(L.PLATFORM_LABELS, p) for p, _ in items],
        bars=[
            charts.Series("Décrochés", "s-answered", [f.answered for _, f in items]),
            charts.Series("Abandons", "s-abandoned", [f.abandoned for _, f in items]),
            charts.Series("Débordés", "s-overflowed", [f.overflowed for _, f in items]),
            charts.Series("En attente", "s-waiting", [f.waiting for _, f in items]),
        ],
    )


@bp.get("/")
@manager_only
def index() -> Any:
    """Now (live), today and the last hour, the announcement."""
    rt = runtime()
    return render_template(
        "dashboard/index.html",
        snapshot=service.now_snapshot(rt),
        announcement_minutes=ANNOUNCEMENT_MINUTES,
        announcement_max=ANNOUNCEMENT_MAX,
        voice_sdk=console_views.VOICE_SDK.exists(),  # the manager's softphone (supervision)
        **_figures_context(),
    )


@bp.get("/now.json")
@manager_only
def now_json() -> Any:
    """The live panel's data (the stream sends the same)."""
    return jsonify(service.now_snapshot(runtime()))


@bp.get("/stream")
@manager_only
def events() -> Response:
    """Server-sent events: the live panel, for at most 25 s per connection."""
    rt = runtime()
    seconds = float(current_app.config.get("DASHBOARD_STREAM_SECONDS", stream.STREAM_SECONDS))
    limit = int(current_app.config.get("DASHBOARD_MAX_STREAMS", stream.DEFAULT_LIMIT))
    last = request.headers.get("Last-Event-ID", "")[:40] or None
    body = stream.stream(rt, last, seconds=seconds, limit=limit)
    response = Response(body, mimetype="text/event-stream")
    response.headers["X-Accel-Buffering"] = "no"  # a proxy must not hold the messages back
    return response


@bp.get("/figures")
@manager_only
def figures_fragment() -> Any:
    """Today's and the last hour's figures, as the HTML the live page swaps in."""
    return render_template("dashboard/_figures.html", **_figures_context())


# -- counsellors ----------------------------------------------------------------------------------


def _state_message(name: str, state: CounsellorState, reason: str | None) -> str:
    words = L.STATE_LABELS.get(state, state.label)
    if reason:
        words += f" ({L.label(L.REASON_LABELS, reason)})"
    return f"{name} : {words}."


@bp.post("/counsellors/<counsellor_id>/state")
@manager_only
def counsellor_state(counsellor_id: str) -> Any:
    """A manager sets a counsellor available, on break (with a reason) or offline."""
    rt = runtime()
    wanted = request.form.get("state", "")
    reason = request.form.get("reason") or None
    target = MANUAL.get(wanted)
    if target is None:
        return _done("Cet état ne se choisit pas ici.", "dashboard.index", ok=False, status=400)
    if target is CounsellorState.BREAK:
        reason = reason if reason in L.BREAK_REASONS else "pause"
    else:
        reason = None
    before = service.counsellor_profile(rt, counsellor_id)
    try:
        counsellor = Acd(rt).set_state(counsellor_id, target, reason)
    except UnknownCounsellor:
        return _done("Écoutant inconnu.", "dashboard.index", ok=False, status=404)
    except CounsellorBusy:
        return _done(
            "Cet écoutant a un appel proposé ou est en communication : "
            "son état changera à la fin de l'appel.",
            "dashboard.index",
            ok=False,
            status=409,
        )
    except AcdError as exc:
        return _done(f"Refusé : {exc}", "dashboard.index", ok=False, status=409)
    after = service.counsellor_profile(rt, counsellor_id)
    if before.get("state") != after.get("state") or before.get("reason") != after.get("reason"):
        _record(
            "counsellor.state",
            counsellor_id,
            {"state": before.get("state"), "reason": before.get("reason")},
            {"state": after.get("state"), "reason": after.get("reason")},
        )
    if target is CounsellorState.AVAILABLE:
        acd_jobs.request_dispatch(rt)  # someone is free: offer them a caller now
    return _done(_state_message(counsellor.name, counsellor.state, reason), "dashboard.index")


def _profile_form() -> dict[str, Any]:
    form = request.form
    return {
        "name": form.get("name", "").strip(),
        "skills": form.getlist("skills"),
        "languages": form.getlist("languages"),
        "endpoint": form.get("endpoint", "").strip(),
    }


@bp.get("/counsellors")
@manager_only
def counsellors() -> Any:
    """Every counsellor: profile, skills, languages; add, edit, remove."""
    rt = runtime()
    return render_template(
        "dashboard/counsellors.html",
        counsellors=sorted(Acd(rt).list_counsellors(), key=lambda c: (c.name.lower(), c.id)),
        skills=rt.config.acd.skills,
        languages=rt.config.helpline.languages,
    )


@bp.post("/counsellors")
@manager_only
def counsellor_add() -> Any:
    """Add a counsellor (offline)."""
    rt = runtime()
    counsellor_id = request.form.get("id", "").strip()
    profile = _profile_form()
    endpoint = profile["endpoint"] or f"client:{counsellor_id}"
    try:
        Acd(rt).add_counsellor(
            counsellor_id, profile["name"], profile["skills"], profile["languages"], endpoint
        )
    except CounsellorExists:
        flash(f"L'identifiant « {counsellor_id} » existe déjà.", "error")
        return redirect(url_for("dashboard.counsellors"))
    except AcdError as exc:
        flash(f"Écoutant non ajouté : {exc}", "error")
        return redirect(url_for("dashboard.counsellors"))
    _record("counsellor.add", counsellor_id, {}, service.counsellor_profile(rt, counsellor_id))
    flash(
        f"{profile['name']} est ajouté·e (hors ligne). Son identifiant de connexion à la "
        f"console se crée avec « helpline users add {counsellor_id} --role counsellor ».",
        "info",
    )
    return redirect(url_for("dashboard.counsellors"))


@bp.post("/counsellors/<counsellor_id>")
@manager_only
def counsellor_update(counsellor_id: str) -> Any:
    """Change a counsellor's name, skills, languages or endpoint."""
    rt = runtime()
    profile = _profile_form()
    before = service.counsellor_profile(rt, counsellor_id)
    try:
        Acd(rt).update_counsellor(
            counsellor_id,
            name=profile["name"] or None,
            skills=profile["skills"],
            languages=profile["languages"],
            endpoint=profile["endpoint"] or None,
        )
    except UnknownCounsellor:
        flash("Écoutant inconnu.", "error")
        return redirect(url_for("dashboard.counsellors"))
    except AcdError as exc:
        flash(f"Modification refusée : {exc}", "error")
        return redirect(url_for("dashboard.counsellors"))
    after = service.counsellor_profile(rt, counsellor_id)
    if before != after:
        _record("counsellor.update", counsellor_id, before, after)
    flash(f"{after.get('name', counsellor_id)} : profil enregistré.", "info")
    return redirect(url_for("dashboard.counsellors"))


@bp.post("/counsellors/<counsellor_id>/remove")
@manager_only
def counsellor_remove(counsellor_id: str) -> Any:
    """Forget a counsellor (refused while they are offered a call or on one)."""
    rt = runtime()
    before = service.counsellor_profile(rt, counsellor_id)
    try:
        removed = Acd(rt).remove_counsellor(counsellor_id)
    except CounsellorBusy:
        flash("Impossible pendant un appel : réessayez quand l'écoutant a raccroché.", "error")
        return redirect(url_for("dashboard.counsellors"))
    if removed:
        _record("counsellor.remove", counsellor_id, before, {})
        flash(f"{before.get('name', counsellor_id)} est retiré·e de la distribution.", "info")
    else:
        flash("Écoutant inconnu.", "error")
    return redirect(url_for("dashboard.counsellors"))


# -- opening hours --------------------------------------------------------------------------------


def _planned_from(args: Any) -> dash_hours.Planned:
    rt = runtime()
    now = rt.clock.now()
    action = args.get("action", "")
    if action == "close_now":
        return dash_hours.close_now(now, rt.config, args.get("until", ""))
    if action == "open_late":
        return dash_hours.open_late(now, rt.config, args.get("until", ""))
    if action == "closed_day":
        try:
            day = exports.parse_day(args.get("day", ""))
        except ValueError as exc:
            raise dash_hours.HoursError("Choisissez la date (AAAA-MM-JJ).") from exc
        return dash_hours.closed_day(day, now, rt.config)
    raise dash_hours.HoursError("Action inconnue.")


def _hours_page(preview: dict[str, Any] | None = None, status: int = 200) -> Any:
    rt = runtime()
    now = rt.clock.now()
    stored = service.exceptions(rt)
    schedule = hours_store.schedule(rt.config)
    state = is_open(now, schedule, stored)
    weekly = [(DAY_NAMES[i], schedule.describe(i)) for i in range(len(DAYS))]
    page = render_template(
        "dashboard/hours.html",
        status=state,
        now=now,
        weekly=weekly,
        exceptions=[x for x in stored if x.end > now - timedelta(days=1)],
        heard_now=dash_hours.closed_message(rt.config, now, stored),
        preview=preview,
        today=now.astimezone(rt.config.zone).date().isoformat(),
    )
    return page, status


@bp.get("/hours")
@manager_only
def hours() -> Any:
    """Opening hours: the week, exceptions, what callers hear, and the three actions."""
    return _hours_page()


@bp.get("/hours/preview")
@manager_only
def hours_preview() -> Any:
    """What callers will hear with an exception not stored yet."""
    rt = runtime()
    try:
        planned = _planned_from(request.args)
    except dash_hours.HoursError as exc:
        flash(str(exc), "error")
        return _hours_page(status=400)
    stored = service.exceptions(rt)
    # A closure is heard from its start; an extension matters when it ends.
    at = planned.start if planned.kind is Kind.CLOSED else planned.end
    heard = dash_hours.closed_message(rt.config, at, [*stored, planned.as_exception()])
    preview = {"planned": planned, "at": at, "heard": heard, "args": request.args}
    return _hours_page(preview)


def _add_exception(action: str) -> Any:
    rt = runtime()
    form = request.form.to_dict()
    form["action"] = action
    try:
        planned = _planned_from(form)
    except dash_hours.HoursError as exc:
        flash(str(exc), "error")
        return redirect(url_for("dashboard.hours"))
    note = form.get("note", "").strip()[:200]
    stored = hours_store.add_exception(
        rt.redis, rt.keys, planned.kind, planned.start, planned.end, note
    )
    after = {
        "id": stored.id,
        "kind": stored.kind.value,
        "start": stored.start.isoformat(),
        "end": stored.end.isoformat(),
        "note": note,
    }
    _record(planned.action, f"hours:{stored.id}", {}, after)
    zone = rt.config.zone
    words = "fermée" if planned.kind is Kind.CLOSED else "ouverte"
    flash(
        f"Ligne {words} du {stored.start.astimezone(zone):%d/%m %H:%M} "
        f"au {stored.end.astimezone(zone):%d/%m %H:%M}.",
        "info",
    )
    return redirect(url_for("dashboard.hours"))


@bp.post("/hours/close-now")
@manager_only
def hours_close_now() -> Any:
    """Close the line now (until a time, or the next scheduled opening)."""
    return _add_exception("close_now")


@bp.post("/hours/open-late")
@manager_only
def hours_open_late() -> Any:
    """Keep the line open after today's closing time."""
    return _add_exception("open_late")


@bp.post("/hours/closed-day")
@manager_only
def hours_closed_day() -> Any:
    """Close the line for a whole day."""
    return _add_exception("closed_day")


@bp.post("/hours/<exception_id>/remove")
@manager_only
def hours_remove(exception_id: str) -> Any:
    """Delete an exception."""
    rt = runtime()
    found = next((x for x in service.exceptions(rt) if x.id == exception_id), None)
    if found is None or not hours_store.remove_exception(rt.redis, rt.keys, exception_id):
        flash("Cette exception n'existe plus.", "error")
        return redirect(url_for("dashboard.hours"))
    before = {
        "id": found.id,
        "kind": found.kind.value,
        "start": found.start.isoformat(),
        "end": found.end.isoformat(),
        "note": found.note,
    }
    _record("hours.remove", f"hours:{exception_id}", before, {})
    flash("Exception supprimée : l'horaire habituel s'applique.", "info")
    return redirect(url_for("dashboard.hours"))


# -- overflow and priority ------------------------------------------------------------------------


@bp.get("/settings")
@manager_only
def settings() -> Any:
    """Overflow limits and per-platform priority: configuration and overrides."""
    rt = runtime()
    known = rt.config.platforms.known
    raw = overrides.load(rt.redis, rt.keys.acd_overrides)
    current = overrides.parse(raw, known)
    effective = overrides.apply(rt.config.acd, current)
    return render_template(
        "dashboard/settings.html",
        acd=rt.config.acd,
        current=current,
        effective=effective,
        platforms=[p for p in known if p != "unknown"],
        configured_priority=rt.config.acd.priority.get("platform", {}),
        limits=overrides.LIMITS,
        priority_range=overrides.PRIORITY_RANGE,
        prefix=overrides.PRIORITY_PREFIX,
        acd_reads=overrides.ACD_READS_OVERRIDES,
    )


@bp.post("/settings")
@manager_only
def settings_save() -> Any:
    """Store overrides ('' brings a value back to the configuration), audited atomically."""
    rt = runtime()
    try:
        changes = overrides.validate_form(request.form.to_dict(), rt.config.platforms.known)
    except overrides.OverrideError as exc:
        flash(str(exc), "error")
        return redirect(url_for("dashboard.settings"))
    changed, _, _ = overrides.save(
        rt.redis,
        rt.keys.acd_overrides,
        rt.keys.audit,
        to_ms(rt.clock.now()),
        _who(),
        changes,
    )
    flash("Réglages enregistrés." if changed else "Rien n'a changé.", "info")
    return redirect(url_for("dashboard.settings"))


# -- announcement ---------------------------------------------------------------------------------


@bp.post("/announcement")
@manager_only
def announcement_set() -> Any:
    """A message played to waiting callers, for a while."""
    rt = runtime()
    text = " ".join(request.form.get("text", "").split())
    try:
        minutes = int(request.form.get("minutes", "60"))
    except ValueError:
        minutes = 0
    if not text or len(text) > ANNOUNCEMENT_MAX or minutes not in ANNOUNCEMENT_MINUTES:
        flash(f"Une annonce a 1 à {ANNOUNCEMENT_MAX} caractères et une durée proposée.", "error")
        return redirect(url_for("dashboard.index"))
    before = service.set_announcement(rt, text, minutes * 60)
    expires = rt.clock.now() + timedelta(minutes=minutes)
    _record(
        "announcement.set",
        "announcement",
        {"text": before} if before else {},
        {"text": text, "minutes": minutes, "until": expires.isoformat()},
    )
    flash(f"Annonce diffusée aux appelants en attente pendant {minutes} min.", "info")
    return redirect(url_for("dashboard.index"))


@bp.post("/announcement/clear")
@manager_only
def announcement_clear() -> Any:
    """Stop the announcement."""
    rt = runtime()
    before = service.clear_announcement(rt)
    if before:
        _record("announcement.clear", "announcement", {"text": before}, {})
        flash("Annonce retirée.", "info")
    else:
        flash("Aucune annonce n'était diffusée.", "info")
    return redirect(url_for("dashboard.index"))


# -- planner and roster ---------------------------------------------------------------------------


def _day_arg(name: str = "day") -> date:
    rt = runtime()
    text = request.values.get(name, "")
    if text:
        try:
            return exports.parse_day(text)
        except ValueError:
            flash("Date illisible : aujourd'hui est affiché.", "error")
    return rt.clock.now().astimezone(rt.config.zone).date()


def _number(name: str, low: float, high: float) -> float | None:
    text = request.args.get(name, "").strip().replace(",", ".")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if low <= value <= high else None


def _planner_chart(view: service.PlannerView) -> Any:
    rows = [r for r in view.rows if r.slot.label in view.open_labels or r.forecast.calls > 0]
    labels = [r.slot.label for r in rows]
    return charts.chart(
        "chart-planner",
        f"Besoin et planning, {view.day:%d/%m/%Y}",
        "Barres : écoutants à planifier selon la prévision. Lignes : écoutants planifiés "
        "et écoutants réellement connectés, par demi-heure.",
        labels,
        bars=[charts.Series("Besoin (à planifier)", "s-needed", [r.needed for r in rows])],
        lines=[
            charts.Series("Planifiés", "l-rostered", [r.rostered for r in rows]),
            charts.Series("Connectés", "l-logged", [r.logged_in for r in rows]),
        ],
        label_every=4 if len(labels) > 16 else 2 if len(labels) > 8 else 1,
    )


@bp.get("/planner")
@manager_only
def planner_page() -> Any:
    """Per half-hour of a day: forecast, counsellors needed, rostered, logged in."""
    rt = runtime()
    day = _day_arg()
    target = _number("target", 1, 99)
    within = _number("within", 0, 3600)
    shrinkage = _number("shrinkage", 0, 95)
    view = service.planner_view(
        rt,
        day,
        target=None if target is None else target / 100,
        within_s=None if within is None else int(within),
        shrinkage=None if shrinkage is None else shrinkage / 100,
    )
    shown = [
        r
        for r in view.rows
        if r.slot.label in view.open_labels
        or r.forecast.calls > 0
        or r.rostered > 0
        or (r.logged_in or 0) > 0
    ]
    return render_template(
        "dashboard/planner.html",
        view=view,
        rows=shown,
        chart=_planner_chart(view),
        typed=roster.forecast(rt.redis, rt.keys, day),
        previous=(day - timedelta(days=1)).isoformat(),
        following=(day + timedelta(days=1)).isoformat(),
    )


@bp.post("/planner/forecast")
@manager_only
def planner_forecast() -> Any:
    """Store (or clear) a manager's forecast for a day."""
    rt = runtime()
    day = _day_arg()
    if request.form.get("clear"):
        values: dict[str, tuple[float, int]] = {}
    else:
        try:
            values = roster.parse_forecast_form(request.form.to_dict())
        except roster.RosterError as exc:
            flash(str(exc), "error")
            return redirect(url_for("dashboard.planner_page", day=day.isoformat()))
    before = roster.save_forecast(
        rt.redis, rt.keys, day, values, rt.config.dashboard.retention_days
    )
    action = "forecast.set" if values else "forecast.clear"

    def flat(found: dict[str, tuple[float, int]]) -> dict[str, str]:
        return {slot: f"{calls:g} appels, DMT {aht} s" for slot, (calls, aht) in found.items()}

    if flat(before) != flat(values):
        _record(action, f"forecast:{day.isoformat()}", flat(before), flat(values))
    flash("Prévision enregistrée." if values else "Prévision effacée : l'historique sert.", "info")
    return redirect(url_for("dashboard.planner_page", day=day.isoformat()))


@bp.get("/roster")
@manager_only
def roster_page() -> Any:
    """Counsellors' shifts of a day."""
    rt = runtime()
    day = _day_arg()
    people = sorted(Acd(rt).list_counsellors(), key=lambda c: (c.name.lower(), c.id))
    names = {c.id: c.name for c in people}
    shifts = roster.shifts(rt.redis, rt.keys, day)
    return render_template(
        "dashboard/roster.html",
        day=day,
        shifts=shifts,
        names=names,
        counsellors=people,
        total_hours=sum(s.hours for s in shifts),
        previous=(day - timedelta(days=1)).isoformat(),
        following=(day + timedelta(days=1)).isoformat(),
    )


@bp.post("/roster")
@manager_only
def roster_add() -> Any:
    """Add a shift."""
    rt = runtime()
    day = _day_arg()
    form = request.form
    counsellor = form.get("counsellor", "").strip()
    if Acd(rt).get_counsellor(counsellor) is None:
        flash("Choisissez un écoutant de la liste.", "error")
        return redirect(url_for("dashboard.roster_page", day=day.isoformat()))
    try:
        shift = roster.add_shift(
            rt.redis,
            rt.keys,
            day,
            counsellor,
            form.get("start", ""),
            form.get("end", ""),
            form.get("note", ""),
            rt.config.dashboard.retention_days,
        )
    except roster.RosterError as exc:
        flash(str(exc), "error")
        return redirect(url_for("dashboard.roster_page", day=day.isoformat()))
    after = {"counsellor": shift.counsellor, "start": shift.start, "end": shift.end}
    _record("roster.add", f"roster:{day.isoformat()}:{shift.id}", {}, after)
    flash(f"Créneau {shift.start}-{shift.end} ajouté.", "info")
    return redirect(url_for("dashboard.roster_page", day=day.isoformat()))


@bp.post("/roster/<day>/<shift_id>/remove")
@manager_only
def roster_remove(day: str, shift_id: str) -> Any:
    """Remove a shift."""
    rt = runtime()
    try:
        when = exports.parse_day(day)
    except ValueError:
        abort(404)
    found = roster.get_shift(rt.redis, rt.keys, when, shift_id)
    if found is None or not roster.remove_shift(rt.redis, rt.keys, when, shift_id):
        flash("Ce créneau n'existe plus.", "error")
    else:
        before = {"counsellor": found.counsellor, "start": found.start, "end": found.end}
        _record("roster.remove", f"roster:{day}:{shift_id}", before, {})
        flash(f"Créneau {found.start}-{found.end} retiré.", "info")
    return redirect(url_for("dashboard.roster_page", day=when.isoformat()))


# -- exports and audit ----------------------------------------------------------------------------


def _range() -> tuple[date, date]:
    rt = runtime()
    today = rt.clock.now().astimezone(rt.config.zone).date()
    try:
        first = exports.parse_day(request.args.get("from", "") or today.isoformat())
        last = exports.parse_day(request.args.get("to", "") or first.isoformat())
        service.export_days(first, last)
    except ValueError as exc:
        raise ExportRefused(str(exc)) from exc
    return first, last


class ExportRefused(Exception):
    """An export range that cannot be served."""


def _csv(text: str, name: str) -> Response:
    response = Response(text, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.get("/exports")
@manager_only
def exports_page() -> Any:
    """Exports and what the retention job keeps."""
    rt = runtime()
    today = rt.clock.now().astimezone(rt.config.zone).date()
    last_run = rt.redis.get(rt.keys.retention_last)
    return render_template(
        "dashboard/exports.html",
        today=today.isoformat(),
        week_ago=(today - timedelta(days=6)).isoformat(),
        dashboard=rt.config.dashboard,
        record_days=rt.config.privacy.call_record_ttl / 86400,
        last_run=_json(last_run),
        max_days=service.MAX_EXPORT_DAYS,
    )


def _json(text: Any) -> dict[str, Any] | None:
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _export(action: str, build: Any, filename: str) -> Any:
    """A CSV export over the requested date range, audited; back to the page if refused."""
    rt = runtime()
    try:
        first, last = _range()
    except ExportRefused as exc:
        flash(f"Export impossible : {exc}.", "error")
        return redirect(url_for("dashboard.exports_page"))
    text, count = build(rt, first, last)
    _record(action, f"{first}..{last}", {}, {"rows": count})
    return _csv(text, f"{filename}-{first}-{last}.csv")


@bp.get("/exports/calls.csv")
@manager_only
def export_calls() -> Any:
    """One row per call (no number, no pseudonym, no CallSid)."""
    return _export("export.calls", service.calls_csv, "appels")


@bp.get("/exports/daily.csv")
@manager_only
def export_daily() -> Any:
    """Daily figures per platform."""
    return _export("export.daily", service.daily_csv, "chiffres")


#: Filters of the audit page (``?only=<name>``): the action prefixes they keep.
AUDIT_FILTERS = {"incall": ("incall.", "blocklist.")}  # supervision, escalations, blocklist
AUDIT_SCAN = 5000  # a filtered page looks this far back


@bp.get("/audit")
@manager_only
def audit_page() -> Any:
    """The newest audit entries, all or one kind (``?only=incall``)."""
    rt = runtime()
    only = request.args.get("only", "")
    prefixes = AUDIT_FILTERS.get(only)
    if prefixes is None:
        return render_template(
            "dashboard/audit.html", entries=audit.entries(rt.redis, rt.keys, 300), only=""
        )
    found = [
        e for e in audit.entries(rt.redis, rt.keys, AUDIT_SCAN) if e.action.startswith(prefixes)
    ]
    return render_template("dashboard/audit.html", entries=found[:300], only=only)
