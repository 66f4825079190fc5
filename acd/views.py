"""ACD webhooks: the Twilio side of waiting, offering and bridging.

Each view parses Twilio's form into a small typed object, asks the ACD (`acd.store.Acd`, whose
decisions are atomic Lua) and renders a template of ``twiml_templates/acd/``. Every route is
signed (`twilio_signed`), and none answers 500: the voice flow's error handler turns any
exception into safe TwiML, and the waitUrl, whose failure would drop the caller from Twilio's
queue, catches everything itself and answers a plain pause.

The sequence (see docs/acd-twilio.md):

1. The caller is in ``<Enqueue waitUrl=/voice/queue/wait action=/voice/queue/result>``.
   ``wait`` plays hold music and, every ``announce_every`` seconds, the ACD position and an
   honest estimated wait; it answers ``<Leave/>`` to a caller the ACD overflowed (max_wait)
   or already connected (a fallback should the REST dequeue not get through).
2. The worker's ``dispatch`` reserves (caller, counsellor) and ``place_offer`` rings the
   counsellor: ``/voice/offer/<rid>`` whispers the context and asks for 1.
3. ``/voice/offer/<rid>/answer``: 1 → accept, dequeue that caller (Queue Members REST, by
   CallSid) to ``/voice/bridge/<rid>``, and both meet in the conference ``res-<rid>``.
4. ``/voice/offer/<rid>/status``: the counsellor leg's progress (busy, no answer… → the offer
   fails, the caller keeps their place; completed after acceptance → wrap-up).
5. ``/voice/queue/result``: the caller left Twilio's queue (hung up, left, redirected, error).

Virtual hold (`acd.callback`): when the estimate is long and the caller's number can be called
back, ``wait`` offers a key (``<Gather>`` to ``/voice/queue/callback``); pressing it keeps their
place and they leave Twilio's queue. When their turn comes and the counsellor accepts, the
worker calls them: ``/voice/callback/<rid>`` joins them to the counsellor's conference and
``/voice/callback/<rid>/status`` reports a callback nobody answered.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request

from acd import callback, jobs, transfer, twilio_ops
from acd.callback import Callbacks
from acd.model import AcceptResult, OfferFailure, Outcome, Reservation, ReservationStatus
from acd.store import Acd
from helpline.log import get_logger
from helpline.runtime import Runtime
from helpline.signature import twilio_signed
from ivr.prompts import Prompt, prompt
from ivr.safety import register_voice_error_handler
from ivr.twiml import QUEUE_RESULT_PATH, QUEUE_WAIT_PATH, queue_name

log = get_logger("acd.views")

bp = Blueprint("acd", __name__)
register_voice_error_handler(bp)

#: The waitUrl's answer when anything goes wrong: the caller stays queued, Twilio asks again.
SAFE_WAIT = '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Pause length="5"/></Response>'
#: Seconds of silence between two waitUrl requests when no hold music is configured. Short, so
#: that a caller the ACD overflowed or connected leaves the queue soon.
WAIT_PAUSE_S = 10
#: How long the "last announced" marker of a waiting caller outlives max_wait.
ANNOUNCE_MARK_EXTRA_S = 3600
#: Lifetime of the per-offer SequenceNumber record.
OFFER_SEQ_TTL_S = 24 * 3600
#: Bounds of the counsellor's time to press 1 once the whisper is over.
GATHER_MIN_S, GATHER_MAX_S = 3, 10
#: Callback statuses meaning the counsellor's leg never became a call.
LEG_FAILED = {
    "busy": OfferFailure.BUSY,
    "no-answer": OfferFailure.NO_ANSWER,
    "failed": OfferFailure.FAILED,
    "canceled": OfferFailure.CANCELED,
}

_CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")
_QUEUE_SID = re.compile(r"^QU[0-9a-fA-F]{32}$")
_RID = re.compile(r"^[0-9]{1,18}$")
#: The Gather action of the waitUrl's callback offer (virtual hold).
CALLBACK_REQUEST_PATH = "/voice/queue/callback"
#: Seconds the caller has to press the callback key once the offer is said.
CALLBACK_GATHER_S = 4


# -- parsing ----------------------------------------------------------------------------------


def _text(form: Mapping[str, str], name: str, limit: int = 64) -> str:
    return str(form.get(name, "")).strip()[:limit]


def _number(form: Mapping[str, str], name: str) -> int | None:
    value = _text(form, name, 12)
    return int(value) if value.isdigit() else None


def _sid(form: Mapping[str, str], name: str, pattern: re.Pattern[str]) -> str | None:
    value = _text(form, name)
    return value if pattern.match(value) else None


@dataclass(frozen=True)
class QueueRequest:
    """A waitUrl or Enqueue action request: the caller's leg."""

    call_sid: str | None
    queue_sid: str | None
    queue_time: int  # seconds in Twilio's queue
    queue_result: str  # action only: bridged, hangup, leave, redirected, queue-full, error…

    @classmethod
    def parse(cls, form: Mapping[str, str]) -> QueueRequest:
        """Never raises on content."""
        return cls(
            call_sid=_sid(form, "CallSid", _CALL_SID),
            queue_sid=_sid(form, "QueueSid", _QUEUE_SID),
            queue_time=_number(form, "QueueTime") or 0,
            queue_result=_text(form, "QueueResult", 32).lower(),
        )


@dataclass(frozen=True)
class LegRequest:
    """A request about a counsellor's leg (offer TwiML, answer, status callback)."""

    call_sid: str | None
    digits: str
    call_status: str
    sequence_number: int | None
    call_duration: int | None

    @classmethod
    def parse(cls, form: Mapping[str, str]) -> LegRequest:
        """Never raises on content."""
        return cls(
            call_sid=_sid(form, "CallSid", _CALL_SID),
            digits=_text(form, "Digits", 16),
            call_status=_text(form, "CallStatus", 32).lower(),
            sequence_number=_number(form, "SequenceNumber"),
            call_duration=_number(form, "CallDuration"),
        )


# -- what is said (pure) ----------------------------------------------------------------------


def position_prompt(position: int) -> tuple[str, dict[str, object]]:
    """The ACD position as (prompt id, values): who is ahead, not a rank to decode."""
    ahead = max(position - 1, 0)
    if ahead == 0:
        return "acd.position_next", {}
    if ahead == 1:
        return "acd.position_one_ahead", {}
    return "acd.position_ahead", {"ahead": ahead}


def estimate_prompt(seconds: int | None) -> tuple[str, dict[str, object]] | None:
    """An estimated wait rounded up, never promising more than is known; None: say nothing.

    Up to a minute: "about a minute" (an offer alone takes a few seconds, and a counsellor may
    not pick up, so "less than a minute" would be a promise). Up to five minutes: whole minutes
    rounded up. Up to twenty: the next five minutes. Beyond: "more than twenty minutes", since
    nobody can foresee that far in a helpline's evening.
    """
    if seconds is None:
        return None
    if seconds <= 60:
        return "acd.estimate_minute", {}
    minutes = math.ceil(seconds / 60)
    if minutes <= 5:
        return "acd.estimate_minutes", {"minutes": minutes}
    if minutes <= 20:
        return "acd.estimate_minutes", {"minutes": 5 * math.ceil(minutes / 5)}
    return "acd.estimate_long", {"minutes": 20}


def waited_words(seconds: int) -> tuple[str, dict[str, object]]:
    """How long the caller has waited, for the counsellor's whisper."""
    if seconds < 60:
        return "acd.waited_under_minute", {}
    minutes = seconds // 60
    if minutes == 1:
        return "acd.waited_minute", {}
    return "acd.waited_minutes", {"minutes": minutes}


def wait_action(state: str | None, queue_time: int, max_wait: int, virtual: bool = False) -> str:
    """What the waitUrl does for a caller in ACD ``state``: ``leave`` or ``wait``.

    Overflowed (max_wait) and answered (a counsellor accepted: the Enqueue action joins them to
    the conference should the REST dequeue not have got through) leave Twilio's queue. A caller
    the ACD does not know is held no longer than max_wait: nobody would ever take them. A
    caller who asked to be called back (``virtual``) has nothing to wait for on this call.
    """
    if state in ("overflowed", "answered") or virtual:
        return "leave"
    if state is None and queue_time > max_wait:
        return "leave"
    return "wait"


# -- helpers ----------------------------------------------------------------------------------


def _runtime() -> Runtime:
    runtime: Runtime = current_app.extensions["helpline"]
    return runtime


def _twiml(template: str, **context: Any) -> Response:
    return Response(render_template(f"acd/{template}", **context), mimetype="text/xml")


def _empty() -> Response:
    """An empty 200 for status callbacks (nothing to say, nothing to retry)."""
    return Response("", status=200, mimetype="text/plain")


def _say(runtime: Runtime, language: str, prompt_id: str, /, **params: object) -> Prompt:
    return prompt(runtime.config, language, prompt_id, **params)


def _counsellor_language(runtime: Runtime) -> str:
    """Counsellors hear the line's default language."""
    return runtime.config.helpline.default_language


def _caller_language(runtime: Runtime, call_sid: str | None) -> str:
    """The caller's language from their call record, else the line's default."""
    language = None
    if call_sid:
        language = runtime.redis.hget(runtime.keys.call(call_sid), "language")
    if language in runtime.config.helpline.languages:
        return str(language)
    return runtime.config.helpline.default_language


def _reservation(acd: Acd, rid: str) -> Reservation | None:
    return acd.get_reservation(rid) if _RID.match(rid) else None


def _conference(
    runtime: Runtime, rid: str, call_sid: str, prompts: list[Prompt] | tuple[Prompt, ...] = ()
) -> Response:
    """Join the conference of ``rid``; recorded only when the caller agreed to it."""
    consent = runtime.redis.hget(runtime.keys.call(call_sid), "recording_consent")
    return _twiml(
        "conference.xml",
        prompts=prompts,
        name=twilio_ops.conference_name(rid),
        record=consent == "yes",
    )


def _goodbye(prompts: list[Prompt]) -> Response:
    return _twiml("goodbye.xml", prompts=prompts)


def _alternatives(runtime: Runtime, language: str, *first: str) -> Response:
    """Apology or explanation, the other ways to reach the helpline, goodbye, hang up."""
    ids = [*first, "ivr.alternatives", "ivr.goodbye"]
    return _goodbye([_say(runtime, language, i) for i in ids])


# -- waiting ----------------------------------------------------------------------------------


@bp.post(QUEUE_WAIT_PATH)
@twilio_signed
def wait() -> Response:
    """Enqueue waitUrl: hold music, position and estimate from time to time; never fails."""
    call_sid = None
    try:
        runtime = _runtime()
        form = QueueRequest.parse(request.form)
        call_sid = form.call_sid
        # The raw From stays here: only a number we may call back goes further, never logged.
        number = callback.callable_number(request.form.get("From"), runtime.config.helpline.numbers)
        return _wait(runtime, form, number)
    except Exception:
        log.exception("acd.wait_failed", call_sid=call_sid)
        return Response(SAFE_WAIT, mimetype="text/xml")


def _wait(runtime: Runtime, form: QueueRequest, number: str | None = None) -> Response:
    settings = runtime.config.acd
    k = runtime.keys
    sid = form.call_sid
    every = settings.announce_every
    # One round trip: remember the QueueSid, read the caller's ACD state, position and
    # language, and mark this announcement slot (the old mark says whether the slot is new).
    pipe = runtime.redis.pipeline(transaction=False)
    if form.queue_sid:
        pipe.set(k.twilio_queue_sid, form.queue_sid)
    if sid is None:
        pipe.execute()
        return _twiml("wait.xml", prompts=(), music_url=settings.hold_music_url, pause=WAIT_PAUSE_S)
    slot = form.queue_time // every if every else None
    pipe.hget(k.caller(sid), "state")
    pipe.zrank(k.order, sid)
    pipe.get(k.announcement)
    pipe.hget(k.call(sid), "language")
    pipe.hget(k.caller(sid), "callback")
    if slot is not None:
        pipe.set(k.announced(sid), slot, ex=settings.max_wait + ANNOUNCE_MARK_EXTRA_S, get=True)
    results = pipe.execute()[1 if form.queue_sid else 0 :]
    state, rank, announcement, language_raw, virtual = results[:5]
    previous_slot = results[5] if slot is not None else None

    if wait_action(state, form.queue_time, settings.max_wait, virtual == "1") == "leave":
        log.info("acd.wait_leave", call_sid=sid, state=state)
        return _twiml("leave.xml")

    prompts: list[Prompt] = []
    due = slot is not None and previous_slot != str(slot)
    # A caller being offered right now hears nothing new: in seconds they are connected, or
    # back in the queue at the same place for the next announcement.
    if due and state == "waiting" and rank is not None:
        languages = runtime.config.helpline.languages
        default = runtime.config.helpline.default_language
        language = language_raw if language_raw in languages else default
        if announcement:
            voice, code = runtime.config.prompts.voice(default)
            prompts.append(Prompt(str(announcement)[:1000], voice, code))
        position_id, values = position_prompt(int(rank) + 1)
        prompts.append(_say(runtime, language, position_id, **values))
        estimate_s = Acd(runtime).estimated_wait(sid)  # 2nd round trip
        estimate = estimate_prompt(estimate_s)
        if estimate is not None:
            prompts.append(_say(runtime, language, estimate[0], **estimate[1]))
        prompts.append(_say(runtime, language, "acd.please_hold"))
        log.info("acd.wait_announced", call_sid=sid, position=int(rank) + 1)
        if callback.offer_due(estimate_s, number, settings):
            log.info("acd.callback_offered", call_sid=sid)
            offer = _say(runtime, language, "acd.callback_offer", key=settings.callback_key)
            return _twiml(
                "wait_callback.xml",
                prompts=prompts,
                offer=[offer],
                action_url=runtime.public_url(CALLBACK_REQUEST_PATH),
                timeout=CALLBACK_GATHER_S,
                music_url=settings.hold_music_url,
                pause=WAIT_PAUSE_S,
            )
    return _twiml(
        "wait.xml", prompts=prompts, music_url=settings.hold_music_url, pause=WAIT_PAUSE_S
    )


@bp.post(CALLBACK_REQUEST_PATH)
@twilio_signed
def callback_request() -> Response:
    """The waitUrl's callback offer was answered: the callback key asks to be called back (the
    caller keeps their place and leaves Twilio's queue); anything else goes on waiting. This
    TwiML runs as waitUrl TwiML, so it never fails either."""
    call_sid = None
    try:
        runtime = _runtime()
        form = QueueRequest.parse(request.form)
        call_sid = form.call_sid
        number = callback.callable_number(request.form.get("From"), runtime.config.helpline.numbers)
        return _callback_request(runtime, form, _text(request.form, "Digits", 16), number)
    except Exception:
        log.exception("acd.callback_request_failed", call_sid=call_sid)
        return Response(SAFE_WAIT, mimetype="text/xml")


def _callback_request(
    runtime: Runtime, form: QueueRequest, digits: str, number: str | None
) -> Response:
    settings = runtime.config.acd
    sid = form.call_sid
    hold = {"music_url": settings.hold_music_url, "pause": WAIT_PAUSE_S}
    if sid is None or digits != settings.callback_key or number is None:
        return _twiml("wait.xml", prompts=(), **hold)
    if not settings.callback_offer_after:  # switched off since the offer was made
        return _twiml("wait.xml", prompts=(), **hold)
    language = _caller_language(runtime, sid)
    result = Callbacks(Acd(runtime)).request(sid, number)
    if result == "ok":
        return _twiml(
            "callback_confirm.xml", prompts=[_say(runtime, language, "acd.callback_confirmed")]
        )
    if result == "offered":  # a counsellor's phone is ringing for them right now
        return _twiml("wait.xml", prompts=[_say(runtime, language, "acd.connecting")], **hold)
    return _twiml("wait.xml", prompts=(), **hold)


# -- the caller leaves Twilio's queue ---------------------------------------------------------


@bp.post(QUEUE_RESULT_PATH)
@twilio_signed
def queue_result() -> Response:
    """Enqueue action: why the caller left Twilio's queue, and what they hear next."""
    runtime = _runtime()
    form = QueueRequest.parse(request.form)
    sid = form.call_sid
    result = form.queue_result
    log.info("acd.queue_result", call_sid=sid, result=result, queue_time=form.queue_time)
    if sid is None:
        return _twiml("empty.xml")
    acd = Acd(runtime)
    if result in ("redirected", "redirected-from-bridged"):
        # Dequeued by our REST request (or moved by another): the call runs the TwiML it was
        # sent to, and Twilio only notifies this URL.
        return _twiml("empty.xml")
    state = acd.caller_state(sid)
    if result == "hangup":
        if state == "answered":  # accepted, hung up before being dequeued: free the counsellor
            _end_counsellor_leg(runtime, acd, sid)
        jobs.after_caller_gone(runtime, acd.caller_gone(sid))
        return _twiml("empty.xml")
    if state in ("waiting", "offered", "calling") and Callbacks(acd).is_virtual(sid):
        # Left Twilio's queue after asking to be called back: they keep their place.
        language = _caller_language(runtime, sid)
        return _goodbye([_say(runtime, language, "ivr.goodbye")])
    if state == "answered":
        # A counsellor accepted and the REST dequeue did not get through (the waitUrl's
        # <Leave/> fallback, or a queue error meanwhile): the conference is where they go.
        joined = _join_accepted(runtime, acd, sid)
        if joined is not None:
            return joined
    if result == "bridged":  # bridged by <Dial><Queue> (not our way), now over
        return _twiml("goodbye.xml", prompts=())
    language = _caller_language(runtime, sid)
    if state == "overflowed" or (result == "leave" and state is None):
        if state is None:  # held past max_wait though unknown to the ACD (see wait_action)
            acd.record_outcome(sid, Outcome.OVERFLOWED, wait=form.queue_time, reason="max_wait")
        return _alternatives(runtime, language, "acd.overflow_max_wait")
    # An error of Twilio's queue (or a <Leave/> we did not ask for): back into the queue once,
    # keeping the ACD place; a second time, the other ways to reach us.
    if state in ("waiting", "offered") and request.args.get("attempt") != "2":
        return _requeue(runtime, language)
    log.warning("acd.queue_result_gave_up", call_sid=sid, result=result, state=state)
    if state in ("waiting", "offered"):
        # The outcome first (first writer wins), then out of every queue structure.
        acd.record_outcome(sid, Outcome.ERROR, reason=f"queue_{result or 'unknown'}")
        jobs.after_caller_gone(runtime, acd.caller_gone(sid))
    return _alternatives(runtime, language, "ivr.apology")


def _join_accepted(runtime: Runtime, acd: Acd, call_sid: str) -> Response | None:
    """Conference TwiML for a caller whose offer was accepted and is still going on."""
    rid = runtime.redis.hget(runtime.keys.caller(call_sid), "rid")
    reservation = acd.get_reservation(str(rid)) if rid else None
    if reservation is None or reservation.call_sid != call_sid:
        return None
    if reservation.status is not ReservationStatus.ACCEPTED:
        return None
    return _conference(runtime, reservation.id, call_sid)


def _end_counsellor_leg(runtime: Runtime, acd: Acd, call_sid: str) -> None:
    """Hang up the counsellor of the caller's accepted offer (their leg completes: wrap-up)."""
    rid = runtime.redis.hget(runtime.keys.caller(call_sid), "rid")
    reservation = acd.get_reservation(str(rid)) if rid else None
    if reservation is None or reservation.status is not ReservationStatus.ACCEPTED:
        return
    if reservation.counsellor_call_sid:
        jobs.end_counsellor_leg(runtime, reservation.counsellor_call_sid, reservation.id)


def _requeue(runtime: Runtime, language: str) -> Response:
    prompts = [_say(runtime, language, "ivr.apology"), _say(runtime, language, "acd.back_in_queue")]
    return _twiml(
        "requeue.xml",
        prompts=prompts,
        wait_url=runtime.public_url(QUEUE_WAIT_PATH),
        action_url=runtime.public_url(f"{QUEUE_RESULT_PATH}?attempt=2"),
        queue_name=queue_name(runtime.config),
    )


# -- the counsellor's leg ---------------------------------------------------------------------


@bp.post("/voice/offer/<rid>")
@twilio_signed
def offer_twiml(rid: str) -> Response:
    """The counsellor answered: whisper the context, press 1 to accept."""
    runtime = _runtime()
    form = LegRequest.parse(request.form)
    acd = Acd(runtime)
    language = _counsellor_language(runtime)
    reservation = _reservation(acd, rid)
    fields = {"reservation": rid, "counsellor_call_sid": form.call_sid}
    if reservation is None or reservation.status is not ReservationStatus.PENDING:
        log.info("acd.offer_gone_when_answered", **fields)
        gone = reservation is not None and reservation.reason == "caller_gone"
        message = "acd.offer_caller_left" if gone else "acd.offer_unavailable"
        return _goodbye([_say(runtime, language, message)])
    fields |= {"call_sid": reservation.call_sid, "counsellor": reservation.counsellor_id}
    if form.call_sid and reservation.counsellor_call_sid != form.call_sid:
        if reservation.counsellor_call_sid:  # a stray leg (a retried dial): not this offer
            log.warning("acd.offer_stray_leg", **fields)
            return _goodbye([_say(runtime, language, "acd.offer_unavailable")])
        acd.offer_placed(rid, form.call_sid)  # answered before place_offer stored it
    now = runtime.clock.now()
    waited = reservation.waited_s + max(0, int((now - reservation.created_at).total_seconds()))
    remaining = int((reservation.expires_at - now).total_seconds())
    if acd.offer_answered(rid):  # the whisper and the keypress get a full offer_timeout
        remaining = max(remaining, runtime.config.acd.offer_timeout)
    intro, press = _transfer_whisper(runtime, acd, rid, language) or (
        _say(runtime, language, "acd.offer_intro"),
        _say(runtime, language, "acd.offer_press_1"),
    )
    prompts = [
        intro,
        *_context(runtime, language, reservation, waited),
        *([_say(runtime, language, "acd.offer_callback")] if reservation.callback else []),
        press,
    ]
    log.info("acd.offer_whispered", **fields)
    return _twiml(
        "offer.xml",
        prompts=prompts,
        after=[_say(runtime, language, "acd.offer_declined")],
        answer_url=runtime.public_url(f"/voice/offer/{rid}/answer"),
        timeout=min(max(remaining, GATHER_MIN_S), GATHER_MAX_S),
    )


def _context(
    runtime: Runtime, language: str, reservation: Reservation, waited: int
) -> list[Prompt]:
    """Platform, caller type, language, waiting time: never a number or anything raw."""
    platform = reservation.platform or "unknown"
    if platform in ("phone", "unknown"):
        platform_words = _say(runtime, language, f"acd.platform_{platform}").text
    else:
        platform_words = platform
    caller_type = reservation.caller_type
    if caller_type not in ("young", "parent", "professional"):
        caller_type = "unknown"
    caller_language = reservation.language
    if caller_language not in runtime.config.helpline.languages:
        caller_language = runtime.config.helpline.default_language
    waited_id, waited_values = waited_words(waited)
    return [
        _say(runtime, language, "acd.offer_platform", platform=platform_words),
        _say(runtime, language, f"acd.caller_{caller_type}"),
        _say(
            runtime,
            language,
            "acd.offer_language",
            caller_language=_say(runtime, language, f"acd.language_{caller_language}").text,
        ),
        _say(
            runtime,
            language,
            "acd.offer_waited",
            waited=_say(runtime, language, waited_id, **waited_values).text,
        ),
    ]


@bp.post("/voice/offer/<rid>/answer")
@twilio_signed
def offer_answer(rid: str) -> Response:
    """The counsellor's key: 1 accepts and bridges; anything else declines."""
    runtime = _runtime()
    form = LegRequest.parse(request.form)
    acd = Acd(runtime)
    language = _counsellor_language(runtime)
    reservation = _reservation(acd, rid)
    fields = {"reservation": rid, "counsellor_call_sid": form.call_sid}
    if reservation is None:
        return _goodbye([_say(runtime, language, "acd.offer_unavailable")])
    fields |= {"call_sid": reservation.call_sid, "counsellor": reservation.counsellor_id}
    if form.digits != "1":
        declined = acd.offer_failed(rid, OfferFailure.DECLINED)
        log.info("acd.offer_declined", declined=declined, **fields)
        jobs.request_dispatch(runtime)
        return _goodbye([_say(runtime, language, "acd.offer_declined")])
    if transfer.transfer_of(acd, rid) is not None:  # a colleague joins a call (warm transfer)
        return _transfer_answer(runtime, acd, rid, language)
    result, bridged = jobs.accept_and_bridge(runtime, rid)
    log.info("acd.offer_answered", result=result.value, bridge=bridged, **fields)
    if result is AcceptResult.CALLER_GONE or bridged == "gone":
        jobs.request_dispatch(runtime)
        return _goodbye([_say(runtime, language, "acd.offer_caller_left")])
    if result is AcceptResult.STALE:
        return _goodbye([_say(runtime, language, "acd.offer_unavailable")])
    # A callback: the counsellor waits in the conference while the worker calls the caller.
    connecting = "acd.callback_dialling" if bridged == "calling" else "acd.offer_connecting"
    return _conference(runtime, rid, reservation.call_sid, [_say(runtime, language, connecting)])


@bp.post("/voice/offer/<rid>/fallback")
@twilio_signed
def offer_fallback(rid: str) -> Response:
    """Fallback URL of the counsellor's leg: a webhook of the offer failed (a web process died
    mid-request, a timeout). Twilio sends the failed request's parameters again: a key press
    is the answer again (accepting twice is harmless: the counsellor joins the conference where
    the caller is being brought), anything else the whisper again (which knows an offer that
    is over). Without this, the counsellor heard Twilio's application error and the caller,
    already accepted, found nobody in the conference (docs/reliability.md)."""
    log.warning(
        "acd.offer_fallback",
        reservation=rid,
        counsellor_call_sid=request.form.get("CallSid"),
        error=request.form.get("ErrorCode"),
    )
    if request.form.get("Digits") is not None:
        return offer_answer.__wrapped__(rid)  # type: ignore[attr-defined, no-any-return]
    return offer_twiml.__wrapped__(rid)  # type: ignore[attr-defined, no-any-return]


def conference_if_accepted(runtime: Runtime, call_sid: str | None) -> Response | None:
    """Conference TwiML for a caller whose accepted offer is still on, else None: what the
    voice fallback answers when the caller's way to the conference failed (docs/reliability.md)."""
    if not call_sid:
        return None
    return _join_accepted(runtime, Acd(runtime), call_sid)


@bp.post("/voice/bridge/<rid>")
@twilio_signed
def bridge_caller(rid: str) -> Response:
    """The dequeued caller's TwiML: into the conference where their counsellor waits."""
    runtime = _runtime()
    form = LegRequest.parse(request.form)
    acd = Acd(runtime)
    reservation = _reservation(acd, rid)
    language = _caller_language(runtime, form.call_sid)
    if (
        reservation is not None
        and reservation.status is ReservationStatus.ACCEPTED
        and form.call_sid in (None, reservation.call_sid)
    ):
        log.info("acd.caller_bridged", reservation=rid, call_sid=reservation.call_sid)
        prompts = [_say(runtime, language, "acd.connecting")]
        return _conference(runtime, rid, reservation.call_sid, prompts)
    # The counsellor left before the caller arrived (or this is not the caller's offer).
    log.warning("acd.bridge_without_counsellor", reservation=rid, call_sid=form.call_sid)
    return _alternatives(runtime, language, "acd.counsellor_left")


@bp.post("/voice/offer/<rid>/status")
@twilio_signed
def offer_status(rid: str) -> Response:
    """Status callbacks of a counsellor's leg; late, repeated or reordered ones change nothing."""
    runtime = _runtime()
    form = LegRequest.parse(request.form)
    acd = Acd(runtime)
    reservation = _reservation(acd, rid)
    if reservation is None or form.call_sid is None:
        return _empty()
    fields = {
        "reservation": rid,
        "call_sid": reservation.call_sid,
        "counsellor": reservation.counsellor_id,
        "counsellor_call_sid": form.call_sid,
        "status": form.call_status,
        "sequence": form.sequence_number,
    }
    if reservation.counsellor_call_sid and reservation.counsellor_call_sid != form.call_sid:
        log.info("acd.offer_status_other_leg", **fields)
        return _empty()
    if not _newest(runtime, rid, form):
        log.info("acd.offer_status_stale", **fields)
        return _empty()
    if not reservation.counsellor_call_sid:
        acd.offer_placed(rid, form.call_sid)
    status = form.call_status
    if status in LEG_FAILED:
        if acd.offer_failed(rid, LEG_FAILED[status]):
            jobs.request_dispatch(runtime)
    elif status == "completed":
        if reservation.status is ReservationStatus.ACCEPTED:
            jobs.counsellor_leg_completed(runtime, acd, rid)
        elif reservation.status is ReservationStatus.PENDING:
            # Over without acceptance: answered and left unanswered (declined), or not.
            reason = OfferFailure.DECLINED if form.call_duration else OfferFailure.NO_ANSWER
            if acd.offer_failed(rid, reason):
                jobs.request_dispatch(runtime)
    log.info("acd.offer_status", **fields)
    return _empty()


def _newest(runtime: Runtime, rid: str, form: LegRequest) -> bool:
    """True unless a callback with this SequenceNumber or a higher one was already seen for
    this leg (ZADD GT CH: atomic, no read-then-write)."""
    if form.sequence_number is None or form.call_sid is None:
        return True
    key = runtime.keys.offer_seq(rid)
    pipe = runtime.redis.pipeline(transaction=True)
    pipe.zadd(key, {form.call_sid: form.sequence_number}, gt=True, ch=True)
    pipe.expire(key, OFFER_SEQ_TTL_S)
    changed, _ = pipe.execute()
    return bool(changed)


# -- virtual hold: the callback leg -------------------------------------------------------------


@bp.post("/voice/callback/<rid>")
@twilio_signed
def callback_leg(rid: str) -> Response:
    """The caller picked up our callback: into the conference where their counsellor waits.
    An answering machine is not the caller: that attempt failed."""
    runtime = _runtime()
    form = LegRequest.parse(request.form)
    acd = Acd(runtime)
    reservation = _reservation(acd, rid)
    if reservation is None or not reservation.callback or form.call_sid is None:
        language = runtime.config.helpline.default_language
        return _goodbye([_say(runtime, language, "ivr.goodbye")])
    language = _caller_language(runtime, reservation.call_sid)
    callbacks = Callbacks(acd)
    fields = {
        "reservation": rid,
        "call_sid": reservation.call_sid,
        "callback_call_sid": form.call_sid,
    }
    answered_by = _text(request.form, "AnsweredBy", 32).lower()
    if answered_by.startswith(("machine", "fax")):
        result = callbacks.failed(rid, form.call_sid, "machine")
        log.info("acd.callback_machine", result=result, **fields)
        jobs.after_callback_failed(runtime, rid, result)
        return _goodbye([])
    result = callbacks.answered(rid, form.call_sid)
    log.info("acd.callback_leg", result=result, **fields)
    if result == "answered":
        intro = _say(runtime, language, "acd.callback_intro")
        return _conference(runtime, rid, reservation.call_sid, [intro])
    if result == "counsellor_gone":
        return _goodbye([_say(runtime, language, "acd.callback_counsellor_gone")])
    return _goodbye([_say(runtime, language, "ivr.goodbye")])


@bp.post("/voice/callback/<rid>/status")
@twilio_signed
def callback_status(rid: str) -> Response:
    """Status callbacks of the callback leg: a leg that never reached the caller (or ended
    before they were connected) is a failed attempt; late or repeated news changes nothing."""
    runtime = _runtime()
    form = LegRequest.parse(request.form)
    acd = Acd(runtime)
    reservation = _reservation(acd, rid)
    if reservation is None or not reservation.callback or form.call_sid is None:
        return _empty()
    status = form.call_status
    fields = {"reservation": rid, "call_sid": reservation.call_sid, "status": status}
    if status in callback.LEG_FAILED or status == "completed":
        # completed after an answer: the script sees the callback answered and does nothing
        reason = status if status in callback.LEG_FAILED else "no-answer"
        result = Callbacks(acd).failed(rid, form.call_sid, reason)
        jobs.after_callback_failed(runtime, rid, result)
        fields["result"] = result
    log.info("acd.callback_status", callback_call_sid=form.call_sid, **fields)
    return _empty()


# -- warm transfer: the colleague's leg, and a caller whose counsellor left first -------------


def _skill_words(runtime: Runtime, language: str, skill: str) -> str:
    """A skill as spoken (the catalogue's ``acd.skill_<name>``, else its configured name)."""
    try:
        return _say(runtime, language, f"acd.skill_{skill}").text
    except KeyError:
        return skill


def _transfer_whisper(
    runtime: Runtime, acd: Acd, rid: str, language: str
) -> tuple[Prompt, Prompt] | None:
    """(intro, press 1) of a transfer offer: a colleague's call and the skill asked for."""
    if transfer.transfer_of(acd, rid) is None:
        return None
    skill = str(runtime.redis.hget(runtime.keys.reservation(rid), "skill") or "")
    return (
        _say(runtime, language, "acd.transfer_intro", skill=_skill_words(runtime, language, skill)),
        _say(runtime, language, "acd.transfer_press_1"),
    )


def _transfer_answer(runtime: Runtime, acd: Acd, rid: str, language: str) -> Response:
    """B pressed 1: into the call's conference (``res-<A's rid>``). While A briefs B, A's
    leaving does not end it (set when the transfer started); once the call is B's, B's does."""
    step = transfer.accept(acd, rid)
    log.info("acd.transfer_answered", reservation=rid, result=step.result, call_sid=step.call_sid)
    if step.result == "completed":  # A had already left: B takes over at once
        prompts = [_say(runtime, language, "acd.transfer_taking_over")]
        return _twiml(
            "transfer_join.xml", prompts=prompts, after=(), start=True, end_on_exit=True,
            name=twilio_ops.conference_name(transfer.conference_rid(runtime, step.rid)),
            wait_url="",
        )  # fmt: skip
    if step.result == "joined":
        prompts = [_say(runtime, language, "acd.transfer_joining")]
        return _twiml(
            "transfer_join.xml", prompts=prompts, after=(), start=True, end_on_exit=False,
            name=twilio_ops.conference_name(transfer.conference_rid(runtime, step.rid)),
            wait_url="",
        )  # fmt: skip
    jobs.request_dispatch(runtime)
    return _goodbye([_say(runtime, language, "acd.offer_unavailable")])


@bp.post("/voice/transfer/<rid>/hold")
@twilio_signed
def transfer_hold(rid: str) -> Response:
    """The caller whose counsellor left before the colleague arrived: told, then waiting with
    the conference's hold music until the colleague joins (or is already there)."""
    runtime = _runtime()
    form = LegRequest.parse(request.form)
    acd = Acd(runtime)
    language = _caller_language(runtime, form.call_sid)
    state = transfer.entry_state(acd, rid) if _RID.match(rid) else None
    owner = transfer.caller_of(acd, rid) if state else None
    if state is None or form.call_sid is None or form.call_sid != owner:
        log.warning("acd.transfer_hold_unknown", reservation=rid, call_sid=form.call_sid)
        return _alternatives(runtime, language, "acd.counsellor_left")
    if state in ("waiting", "offered", "joined", "completed"):
        log.info("acd.transfer_hold", reservation=rid, call_sid=form.call_sid, state=state)
        prompts = [_say(runtime, language, "acd.transfer_hold")] if state != "completed" else []
        return _twiml(
            "transfer_join.xml", prompts=prompts, after=(), start=state == "completed",
            end_on_exit=True,
            name=twilio_ops.conference_name(transfer.conference_rid(runtime, rid)),
            wait_url=runtime.config.acd.hold_music_url,
        )  # fmt: skip
    if transfer.entry_reason(acd, rid) == "max_wait":  # nobody free for too long (the sweep)
        return _alternatives(runtime, language, "acd.overflow_max_wait")
    return _alternatives(runtime, language, "acd.counsellor_left")
