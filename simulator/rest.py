"""Twilio's REST API (the parts the helpline uses), answering JSON like api.twilio.com.

Form-encoded bodies in, JSON out, HTTP Basic auth with the account SID and auth token (or an
API key SID and secret). Errors carry Twilio's shape: ``code``, ``message``, ``more_info``,
``status``. Resource field names are those twilio-python reads.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, jsonify, request

from simulator import faults, twiml
from simulator.model import (
    API_VERSION,
    CallQueue,
    Conference,
    HangupCommand,
    Leg,
    Member,
    Participant,
    RedirectCommand,
)
from simulator.twiml import TwimlError

if TYPE_CHECKING:
    from simulator.core import Simulator

PREFIX = "/2010-04-01/Accounts/<account>"
ERRORS = "https://www.twilio.com/docs/errors/"


class ApiError(Exception):
    """An error answered in Twilio's JSON shape."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _error(status: int, code: int, message: str) -> Response:
    body = {"code": code, "message": message, "more_info": f"{ERRORS}{code}", "status": status}
    response = jsonify(body)
    response.status_code = status
    return response


def _not_found() -> ApiError:
    return ApiError(404, 20404, f"The requested resource {request.path} was not found")


def _bool(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.strip().lower() == "true"


def _http_url(value: str, code: int, name: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ApiError(400, code, f"{name} is not a valid URL: {value!r}")
    return value


def _method(value: str | None) -> str:
    method = (value or "POST").upper()
    if method not in ("GET", "POST"):
        raise ApiError(400, 21209, f"Method must be GET or POST, not {value!r}")
    return method


def _twiml(value: str) -> str:
    try:
        twiml.parse(value)
    except TwimlError as exc:
        raise ApiError(400, exc.code, f"Twiml is invalid: {exc.message}") from exc
    return value


def create_rest_app(sim: Simulator) -> Flask:
    """The REST API of one simulator."""
    app = Flask("simulator.rest")
    net = sim.net
    base = f"/{API_VERSION}/Accounts/{net.account_sid}"

    # -- resources as JSON ----------------------------------------------------------------

    def call_json(leg: Leg) -> dict[str, Any]:
        uri = f"{base}/Calls/{leg.sid}"
        return {
            "sid": leg.sid,
            "account_sid": net.account_sid,
            "parent_call_sid": leg.parent_sid,
            "date_created": leg.date_created,
            "date_updated": leg.date_updated,
            "to": leg.to,
            "to_formatted": leg.to,
            "from": leg.from_,
            "from_formatted": leg.from_,
            "phone_number_sid": None,
            "status": leg.status,
            "start_time": leg.start_time,
            "end_time": leg.end_time,
            "duration": None if leg.live else str(leg.duration()),
            "price": None,
            "price_unit": "USD",
            "direction": leg.direction,
            "answered_by": None,
            "api_version": API_VERSION,
            "forwarded_from": None,
            "group_sid": None,
            "caller_name": None,
            "queue_time": "0",
            "trunk_sid": None,
            "uri": uri + ".json",
            "subresource_uris": {
                "notifications": uri + "/Notifications.json",
                "recordings": uri + "/Recordings.json",
                "payments": uri + "/Payments.json",
                "events": uri + "/Events.json",
                "siprec": uri + "/Siprec.json",
                "streams": uri + "/Streams.json",
                "user_defined_message_subscriptions": uri + "/UserDefinedMessageSubscriptions.json",
                "user_defined_messages": uri + "/UserDefinedMessages.json",
            },
        }

    def queue_json(q: CallQueue) -> dict[str, Any]:
        uri = f"{base}/Queues/{q.sid}"
        return {
            "sid": q.sid,
            "account_sid": net.account_sid,
            "friendly_name": q.friendly_name,
            "current_size": len(q.members),
            "max_size": q.max_size,
            "average_wait_time": q.average_wait(net.clock.now()),
            "date_created": q.date_created,
            "date_updated": q.date_updated,
            "uri": uri + ".json",
            "subresource_uris": {"members": uri + "/Members.json"},
        }

    def member_json(m: Member, position: int | None = None) -> dict[str, Any]:
        q = m.queue
        if position is None:
            position = q.position(m) if m in q.members else 0
        return {
            "call_sid": m.leg.sid,
            "queue_sid": q.sid,
            "date_enqueued": m.date_enqueued,
            "position": position,
            "wait_time": int(net.clock.now() - m.enqueued_at),
            "uri": f"{base}/Queues/{q.sid}/Members/{m.leg.sid}.json",
        }

    def conference_json(c: Conference) -> dict[str, Any]:
        uri = f"{base}/Conferences/{c.sid}"
        return {
            "sid": c.sid,
            "account_sid": net.account_sid,
            "friendly_name": c.friendly_name,
            "status": c.status,
            "region": "ie1",
            "api_version": API_VERSION,
            "date_created": c.date_created,
            "date_updated": c.date_updated,
            "reason_conference_ended": c.reason_ended,
            "call_sid_ending_conference": c.call_sid_ending,
            "uri": uri + ".json",
            "subresource_uris": {
                "participants": uri + "/Participants.json",
                "recordings": uri + "/Recordings.json",
            },
        }

    def participant_status(p: Participant) -> str:
        if p.connected:
            return "complete" if p.removed else "connected"
        if p.removed or p.leg.status in ("busy", "failed", "no-answer", "canceled"):
            return "failed"
        return "ringing" if p.leg.status == "ringing" else "queued"

    def participant_json(p: Participant) -> dict[str, Any]:
        c = p.conference
        return {
            "account_sid": net.account_sid,
            "call_sid": p.leg.sid,
            "conference_sid": c.sid,
            "label": p.label,
            "call_sid_to_coach": p.call_sid_to_coach if p.coaching else None,
            "coaching": p.coaching,
            "muted": p.muted,
            "hold": p.hold,
            "start_conference_on_enter": p.start_on_enter,
            "end_conference_on_exit": p.end_on_exit,
            "status": participant_status(p),
            "queue_time": None,
            "date_created": p.date_created,
            "date_updated": c.date_updated,
            "uri": f"{base}/Conferences/{c.sid}/Participants/{p.leg.sid}.json",
        }

    def page(key: str, items: Sequence[Any], render: Callable[[Any], dict[str, Any]]) -> Response:
        """Twilio's 2010 list page, with next_page_uri when there are more."""
        try:
            size = max(1, min(1000, int(request.args.get("PageSize", 50))))
            number = max(0, int(request.args.get("Page", 0)))
        except ValueError as exc:
            raise ApiError(400, 20001, "PageSize and Page must be integers") from exc
        start = number * size
        chunk = items[start : start + size]
        kept = [
            (k, v)
            for k, v in request.args.items(multi=True)
            if k not in ("Page", "PageSize", "PageToken")
        ]

        def uri(n: int) -> str:
            return f"{request.path}?{urlencode([*kept, ('PageSize', size), ('Page', n)])}"

        more = start + size < len(items)
        return jsonify(
            {
                key: [render(x) for x in chunk],
                "start": start,
                "end": start + max(0, len(chunk) - 1),
                "page": number,
                "page_size": size,
                "uri": uri(number),
                "first_page_uri": uri(0),
                "previous_page_uri": uri(number - 1) if number else None,
                "next_page_uri": uri(number + 1) if more else None,
            }
        )

    # -- lookups ---------------------------------------------------------------------------

    def the_call(sid: str) -> Leg:
        leg = net.calls.get(sid)
        if leg is None:
            raise _not_found()
        return leg

    def the_queue(sid: str) -> CallQueue:
        q = net.queues.get(sid)
        if q is None:
            raise _not_found()
        return q

    def the_member(q: CallQueue, call_sid: str) -> Member:
        if call_sid == "Front":
            if not q.members:
                raise _not_found()
            return q.members[0]
        for m in q.members:
            if m.leg.sid == call_sid:
                return m
        raise _not_found()

    def the_conference(sid: str) -> Conference:
        c = net.conferences.get(sid)
        if c is None:
            raise _not_found()
        return c

    def conference_or_live(ref: str) -> Conference:
        """By SID, or the live conference with that friendly name (Participants resource)."""
        c = net.conference_by_ref(ref)
        if c is None:
            raise _not_found()
        return c

    def the_participant(c: Conference, ref: str) -> Participant:
        """By CallSid or by label, connected or still ringing."""
        p = c.participants.get(ref) or c.pending.get(ref)
        if p is None:
            for candidate in [*c.participants.values(), *c.pending.values()]:
                if candidate.label is not None and candidate.label == ref:
                    return candidate
            raise _not_found()
        return p

    # -- auth and errors -------------------------------------------------------------------

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        return _error(exc.status, exc.code, exc.message)

    @app.errorhandler(404)
    def unknown(_exc: Exception) -> Response:
        return _error(404, 20404, f"The requested resource {request.path} was not found")

    @app.errorhandler(405)
    def wrong_method(_exc: Exception) -> Response:
        return _error(405, 20004, "Method not allowed")

    @app.before_request
    def authenticate() -> Response | None:
        header = request.headers.get("Authorization", "")
        user = password = ""
        if header.startswith("Basic "):
            try:
                decoded = base64.b64decode(header[6:]).decode()
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            user, _, password = decoded.partition(":")
        secret = sim.config.auth_token if user == net.account_sid else None
        secret = sim.config.api_keys.get(user, secret)
        if secret is None or not hmac.compare_digest(password.encode(), secret.encode()):
            response = _error(401, 20003, "Authenticate")
            response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
            return response
        account = (request.view_args or {}).get("account")
        if account is not None and account != net.account_sid:
            return _error(404, 20404, f"The requested resource {request.path} was not found")
        return None

    # -- injected faults (simulator/faults.py; off unless configured) -----------------------

    faults.install(app, sim)

    # -- Calls -----------------------------------------------------------------------------

    @app.post(f"{PREFIX}/Calls.json")
    def create_call(account: str) -> tuple[Response, int]:
        form = request.form
        to, from_ = form.get("To", "").strip(), form.get("From", "").strip()
        if not to:
            raise ApiError(400, 21201, "No 'To' number is specified")
        if not from_:
            raise ApiError(400, 21213, "No 'From' number is specified")
        url, inline = form.get("Url"), form.get("Twiml")
        if not url and not inline:
            raise ApiError(400, 21205, "Url parameter is required")
        if url:
            _http_url(url, 21205, "Url")
        if inline:
            _twiml(inline)
        events = set(form.getlist("StatusCallbackEvent")) or {"completed"}
        events = {e for part in events for e in part.replace(",", " ").split()}
        unknown_events = events - {"initiated", "ringing", "answered", "completed"}
        if unknown_events:
            raise ApiError(400, 21626, f"Invalid StatusCallbackEvent {sorted(unknown_events)}")
        callback = form.get("StatusCallback") or None
        if callback:
            _http_url(callback, 21609, "StatusCallback")
        try:
            timeout = int(form.get("Timeout", 60))
        except ValueError as exc:
            raise ApiError(400, 21201, "Timeout must be an integer") from exc
        if not 1 <= timeout <= 600:
            raise ApiError(400, 21201, "Timeout must be between 1 and 600")
        leg = sim.new_outbound_leg(
            to=to,
            from_=from_,
            direction="outbound-api",
            url=url or None,
            method=_method(form.get("Method")),
            twiml=inline or None,
            fallback_url=form.get("FallbackUrl") or None,
            fallback_method=_method(form.get("FallbackMethod")),
            status_callback=callback,
            status_callback_method=_method(form.get("StatusCallbackMethod")),
            status_callback_events=frozenset(events),
            timeout=float(timeout),
            start=False,
        )
        with net.lock:
            body = call_json(leg)
        sim.spawn(leg)
        return jsonify(body), 201

    @app.get(f"{PREFIX}/Calls.json")
    def list_calls(account: str) -> Response:
        with net.lock:
            legs = list(net.calls.values())
        for name, attr in (("To", "to"), ("From", "from_"), ("Status", "status")):
            value = request.args.get(name)
            if value:
                legs = [leg for leg in legs if getattr(leg, attr) == value]
        legs.sort(key=lambda leg: leg.created_at, reverse=True)
        with net.lock:
            return page("calls", legs, call_json)

    @app.get(f"{PREFIX}/Calls/<sid>.json")
    def fetch_call(account: str, sid: str) -> Response:
        with net.lock:
            return jsonify(call_json(the_call(sid)))

    @app.post(f"{PREFIX}/Calls/<sid>.json")
    def update_call(account: str, sid: str) -> Response:
        form = request.form
        url, inline, status = form.get("Url"), form.get("Twiml"), form.get("Status")
        if url:
            _http_url(url, 21205, "Url")
        if inline:
            _twiml(inline)
        if status not in (None, "completed", "canceled"):
            raise ApiError(400, 21218, f"Invalid Status {status!r}: completed or canceled")
        method = _method(form.get("Method"))
        with net.lock:
            leg = the_call(sid)
            if status and leg.live:
                if leg.answered_at is None:
                    leg.command(HangupCommand("api", "canceled"))
                elif status == "completed":
                    leg.command(HangupCommand("api", "completed"))
            elif (url or inline) and not status:
                if not leg.live:
                    raise ApiError(400, 21220, "Call is not in-progress. Cannot redirect.")
                if form.get("FallbackUrl"):
                    leg.fallback_url = form["FallbackUrl"]
                    leg.fallback_method = _method(form.get("FallbackMethod"))
                if form.get("StatusCallback"):
                    leg.status_callback = form["StatusCallback"]
                    leg.status_callback_method = _method(form.get("StatusCallbackMethod"))
                leg.command(RedirectCommand(url or None, method, inline or None))
            return jsonify(call_json(leg))

    # -- Queues ----------------------------------------------------------------------------

    @app.get(f"{PREFIX}/Queues.json")
    def list_queues(account: str) -> Response:
        with net.lock:
            queues = list(net.queues.values())
            name = request.args.get("FriendlyName")
            if name is not None:
                queues = [q for q in queues if q.friendly_name == name]
            return page("queues", queues, queue_json)

    @app.post(f"{PREFIX}/Queues.json")
    def create_queue(account: str) -> tuple[Response, int]:
        name = request.form.get("FriendlyName", "").strip()
        if not name or len(name) > 64:
            raise ApiError(400, 20001, "FriendlyName is required (64 characters at most)")
        max_size = _max_size(request.form.get("MaxSize"))
        with net.lock:
            if net.queue_named(name, create=False) is not None:
                raise ApiError(400, 22003, f"A queue named {name!r} already exists")
            return jsonify(queue_json(net.create_queue(name, max_size))), 201

    @app.get(f"{PREFIX}/Queues/<sid>.json")
    def fetch_queue(account: str, sid: str) -> Response:
        with net.lock:
            return jsonify(queue_json(the_queue(sid)))

    @app.post(f"{PREFIX}/Queues/<sid>.json")
    def update_queue(account: str, sid: str) -> Response:
        with net.lock:
            q = the_queue(sid)
            if request.form.get("FriendlyName"):
                q.friendly_name = request.form["FriendlyName"]
            if request.form.get("MaxSize"):
                q.max_size = _max_size(request.form["MaxSize"])
            q.date_updated = net.clock.rfc2822()
            return jsonify(queue_json(q))

    @app.delete(f"{PREFIX}/Queues/<sid>.json")
    def delete_queue(account: str, sid: str) -> Response:
        with net.lock:
            q = the_queue(sid)
            if q.members:
                raise ApiError(400, 20001, "Cannot delete a queue that has members")
            del net.queues[sid]
            return Response(status=204)

    @app.get(f"{PREFIX}/Queues/<sid>/Members.json")
    def list_members(account: str, sid: str) -> Response:
        with net.lock:
            return page("queue_members", list(the_queue(sid).members), member_json)

    @app.get(f"{PREFIX}/Queues/<sid>/Members/<call_sid>.json")
    def fetch_member(account: str, sid: str, call_sid: str) -> Response:
        with net.lock:
            q = the_queue(sid)
            return jsonify(member_json(the_member(q, call_sid)))

    @app.post(f"{PREFIX}/Queues/<sid>/Members/<call_sid>.json")
    def dequeue_member(account: str, sid: str, call_sid: str) -> Response:
        url = request.form.get("Url", "")
        if not url:
            raise ApiError(400, 21205, "Url parameter is required")
        _http_url(url, 21205, "Url")
        method = _method(request.form.get("Method"))
        with net.lock:
            q = the_queue(sid)
            member = the_member(q, call_sid)
            position = q.position(member)
            body = member_json(member, position)
            net.dequeue(member)
            member.leg.command(RedirectCommand(url, method, dequeue=True))
            return jsonify(body)

    # -- Conferences -----------------------------------------------------------------------

    @app.get(f"{PREFIX}/Conferences.json")
    def list_conferences(account: str) -> Response:
        with net.lock:
            confs = list(net.conferences.values())
            name, status = request.args.get("FriendlyName"), request.args.get("Status")
            if name is not None:
                confs = [c for c in confs if c.friendly_name == name]
            if status is not None:
                confs = [c for c in confs if c.status == status]
            confs.reverse()
            return page("conferences", confs, conference_json)

    @app.get(f"{PREFIX}/Conferences/<sid>.json")
    def fetch_conference(account: str, sid: str) -> Response:
        with net.lock:
            return jsonify(conference_json(the_conference(sid)))

    @app.post(f"{PREFIX}/Conferences/<sid>.json")
    def update_conference(account: str, sid: str) -> Response:
        with net.lock:
            c = the_conference(sid)
            status = request.form.get("Status")
            if status not in (None, "completed"):
                raise ApiError(400, 20001, "Status can only be completed")
            if status == "completed":
                net.end_conference(c, "conference-ended-via-api", None)
            return jsonify(conference_json(c))

    @app.get(f"{PREFIX}/Conferences/<sid>/Participants.json")
    def list_participants(account: str, sid: str) -> Response:
        with net.lock:
            c = conference_or_live(sid)
            parts = [*c.participants.values(), *c.pending.values()]
            for name in ("Muted", "Hold"):
                wanted = _bool(request.args.get(name))
                if wanted is not None:
                    parts = [p for p in parts if getattr(p, name.lower()) == wanted]
            return page("participants", parts, participant_json)

    @app.post(f"{PREFIX}/Conferences/<sid>/Participants.json")
    def create_participant(account: str, sid: str) -> tuple[Response, int]:
        """Dial ``To`` and put the answered leg into the conference (by SID or, as Twilio
        allows for create, by friendly name: a new conference when none is live)."""
        form = request.form
        to, from_ = form.get("To", "").strip(), form.get("From", "").strip()
        if not to:
            raise ApiError(400, 21201, "No 'To' number is specified")
        if not from_:
            raise ApiError(400, 21213, "No 'From' number is specified")
        events = {e for part in form.getlist("StatusCallbackEvent") for e in part.split()}
        events = {e for part in events for e in part.split(",") if e} or {"completed"}
        unknown_events = events - {"initiated", "ringing", "answered", "completed"}
        if unknown_events:
            raise ApiError(400, 21626, f"Invalid StatusCallbackEvent {sorted(unknown_events)}")
        callback = form.get("StatusCallback") or None
        if callback:
            _http_url(callback, 21609, "StatusCallback")
        try:
            timeout = int(form.get("Timeout", 60))
        except ValueError as exc:
            raise ApiError(400, 21201, "Timeout must be an integer") from exc
        if not 5 <= timeout <= 600:
            raise ApiError(400, 21201, "Timeout must be between 5 and 600")
        coach = form.get("CallSidToCoach") or None
        coaching = _bool(form.get("Coaching"))
        if coaching is None:
            coaching = coach is not None  # Twilio: false unless CallSidToCoach is given
        if coaching and not coach:
            raise ApiError(400, 20001, "Coaching requires CallSidToCoach")
        conf_events = {
            e for part in form.getlist("ConferenceStatusCallbackEvent") for e in part.split()
        }
        conf_callback = form.get("ConferenceStatusCallback") or None
        attrs: dict[str, Any] = {
            "muted": bool(_bool(form.get("Muted"))),
            "hold": bool(_bool(form.get("Hold"))),
            "start_on_enter": _bool(form.get("StartConferenceOnEnter")) is not False,
            "end_on_exit": bool(_bool(form.get("EndConferenceOnExit"))),
            "label": form.get("Label") or None,
            "coaching": bool(coaching),
            "call_sid_to_coach": coach if coaching else None,
            "status_callback": conf_callback,
            "status_callback_method": _method(form.get("ConferenceStatusCallbackMethod")),
            "status_callback_events": frozenset(conf_events or {"start", "end"}),
        }
        conf: Conference | None
        with net.lock:
            if sid.startswith("CF") and sid in net.conferences:
                conf = net.conferences[sid]
            elif sid.startswith("CF") and len(sid) == 34:
                raise _not_found()
            else:
                conf = net.live_conference(sid, attrs, create=True)
                assert conf is not None
            if conf.status == "completed":
                raise ApiError(400, 16003, "Could not recognize conference sid or friendly name")
            if coach and coach not in conf.participants:
                raise ApiError(400, 20001, f"CallSidToCoach {coach} is not in the conference")
            leg = sim.new_outbound_leg(
                to=to,
                from_=from_,
                direction="outbound-api",
                status_callback=callback,
                status_callback_method=_method(form.get("StatusCallbackMethod")),
                status_callback_events=frozenset(events),
                timeout=float(timeout),
                start=False,
            )
            p = net.add_pending(leg, conf, attrs)
            leg.log(f"participant of conference {conf.friendly_name}")
            body = participant_json(p)
        sim.spawn(leg)
        return jsonify(body), 201

    @app.get(f"{PREFIX}/Conferences/<sid>/Participants/<call_sid>.json")
    def fetch_participant(account: str, sid: str, call_sid: str) -> Response:
        with net.lock:
            return jsonify(participant_json(the_participant(conference_or_live(sid), call_sid)))

    @app.post(f"{PREFIX}/Conferences/<sid>/Participants/<call_sid>.json")
    def update_participant(account: str, sid: str, call_sid: str) -> Response:
        form = request.form
        with net.lock:
            p = the_participant(conference_or_live(sid), call_sid)
            muted, hold = _bool(form.get("Muted")), _bool(form.get("Hold"))
            coaching = _bool(form.get("Coaching"))
            coach = form.get("CallSidToCoach") or None
            if coaching and not (coach or p.call_sid_to_coach):
                raise ApiError(400, 20001, "Coaching requires CallSidToCoach")
            if coach and coach not in p.conference.participants:
                raise ApiError(400, 20001, f"CallSidToCoach {coach} is not in the conference")
            if form.get("EndConferenceOnExit") is not None:
                p.end_on_exit = bool(_bool(form["EndConferenceOnExit"]))
            net.set_participant(p, muted, hold, coaching, coach)
            return jsonify(participant_json(p))

    @app.delete(f"{PREFIX}/Conferences/<sid>/Participants/<call_sid>.json")
    def kick_participant(account: str, sid: str, call_sid: str) -> Response:
        with net.lock:
            p = the_participant(conference_or_live(sid), call_sid)
            if p.connected:
                net.leave_conference(p, kicked=True)
            else:  # still ringing: the call is cancelled
                net.drop_pending(p)
                if p.leg.live:
                    p.leg.command(HangupCommand("api", "canceled"))
            return Response(status=204)

    return app


def _max_size(value: str | None) -> int:
    if value is None:
        return 1000
    try:
        size = int(value)
    except ValueError as exc:
        raise ApiError(400, 20001, "MaxSize must be an integer") from exc
    if not 1 <= size <= 5000:
        raise ApiError(400, 20001, "MaxSize must be between 1 and 5000")
    return size
