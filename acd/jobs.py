"""RQ jobs of the ACD: dispatch, offers, bridging retries, ending legs, the periodic sweep.

Jobs are thin top-level functions taking ids (strings: JSON-serialisable), each getting its
runtime from `helpline.runtime.get_runtime()`. The decisions are the ACD's (`acd.store.Acd`,
atomic in Lua); the REST calls are `acd.twilio_ops`'. A job that cannot reach Twilio raises,
so RQ records the failure and retries it (`Retry`, backoff ``REST_RETRY_INTERVALS``); when the
last attempt fails, its failure callback undoes what the job was for (an offer nobody could
place is released: the caller keeps their place and the next counsellor is tried).

Dispatch is requested, not run, by whoever changed something (`request_dispatch`): requests
arriving while one is pending share it, and a request arriving while a dispatch runs gets a new
one, so no change is ever missed. The sweep (every `sweep_every` seconds, scheduled by RQ's
scheduler with one job id per time slot so that several workers never multiply it) expires
offers, ends wrap-ups, overflows callers past ``max_wait`` and dispatches too: if a request is
ever lost, the next sweep serves it.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from redis import Redis
from rq import Callback, Retry
from rq.job import Job, get_current_job
from twilio.base.exceptions import TwilioRestException

from acd import twilio_ops
from acd.callback import CALLBACK_RING_S, Callbacks, rescue_after_s
from acd.model import AcceptResult, GoneResult, OfferFailure, ReservationStatus
from acd.store import Acd
from helpline import periodic
from helpline.log import get_logger
from helpline.runtime import Runtime, get_runtime
from ivr.callrecord import FINAL_STATUSES

log = get_logger("acd.jobs")

#: Seconds between attempts of a failing Twilio REST call (RQ `Retry`): 4 attempts in all.
REST_RETRY_INTERVALS = (1, 3, 9)
#: Seconds between two sweeps (real time: RQ's scheduler runs on the wall clock).
SWEEP_EVERY_S = 3
#: Lifetime of the "dispatch pending" flag: a lost dispatch job blocks requests this long at
#: most (the sweep dispatches meanwhile).
DISPATCH_FLAG_TTL_S = 10
#: Seconds (of the helpline's clock) between two checks with Twilio that the call of a
#: counsellor on a call is still up (`check_calls`): a lost status callback frees them this
#: long after the call ended, at most (plus a sweep).
CALL_CHECK_EVERY_S = 60
#: Offers made by one dispatch at most (each one is a REST call); the next dispatch goes on.
MAX_OFFERS_PER_DISPATCH = 100
#: Finished jobs are not worth keeping; failed ones are kept a day for inspection.
RESULT_TTL_S = periodic.RESULT_TTL_S
FAILURE_TTL_S = periodic.FAILURE_TTL_S


def rest_retry() -> Retry:
    """RQ retry policy of the jobs that call Twilio."""
    return Retry(max=len(REST_RETRY_INTERVALS), interval=list(REST_RETRY_INTERVALS))


def _will_retry(job: Job) -> bool:
    """True when RQ will run ``job`` again after this failure.

    RQ calls a failure callback on every failed attempt; only the last one must undo the job's
    purpose. A queue running jobs inline (``is_async=False``: tests, a CLI) never retries.
    """
    return bool(job.retries_left) and job.worker_name != "sync"


def _no_more_retries() -> None:
    """Tell RQ not to retry the running job (a permanent error: retrying cannot help)."""
    job = get_current_job()
    if job is not None:
        job.retries_left = 0


def _permanent(exc: BaseException) -> bool:
    """A Twilio answer that will be the same next time (bad number, bad credentials…)."""
    if not isinstance(exc, TwilioRestException):
        return False
    return 400 <= exc.status < 500 and exc.status not in (408, 409, 429)


def _enqueue(runtime: Runtime, func: Any, *args: str, retry: bool = False, **kwargs: Any) -> Job:
    options: dict[str, Any] = {"result_ttl": RESULT_TTL_S, "failure_ttl": FAILURE_TTL_S}
    if retry:
        options["retry"] = rest_retry()
    options.update(kwargs)
    return runtime.queue.enqueue(func, *args, **options)


# -- dispatch ---------------------------------------------------------------------------------


def request_dispatch(runtime: Runtime) -> bool:
    """Ask for a dispatch soon. True when this call enqueued it, False when one was already
    pending (it will see this change too) or Redis could not be reached (the sweep will)."""
    try:
        fresh = runtime.redis.set(
            runtime.keys.dispatch_pending, "1", nx=True, ex=DISPATCH_FLAG_TTL_S
        )
        if not fresh:
            return False
        _enqueue(runtime, dispatch)
    except Exception:
        log.exception("acd.dispatch_request_failed")
        return False
    return True


def dispatch() -> list[str]:
    """Offer waiting callers to free counsellors until no pair is left; the new offers' ids."""
    runtime = get_runtime()
    # Clear the flag first: a change made from now on requests (and gets) another dispatch.
    runtime.redis.delete(runtime.keys.dispatch_pending)
    acd = Acd(runtime)
    _keep_sweeping(runtime)
    rids: list[str] = []
    while len(rids) < MAX_OFFERS_PER_DISPATCH:
        reservation = acd.reserve_next()
        if reservation is None:
            return rids
        rids.append(reservation.id)
        _enqueue(
            runtime,
            place_offer,
            reservation.id,
            retry=True,
            on_failure=Callback(place_offer_failed),
        )
    request_dispatch(runtime)  # more to do: let other jobs run in between
    return rids


# -- offers -----------------------------------------------------------------------------------


def place_offer(rid: str) -> str | None:
    """Ring the counsellor of reservation ``rid``; the leg's CallSid (None: offer already over).

    Raises when Twilio cannot be reached, so that RQ retries; `place_offer_failed` releases
    the reservation after the last attempt."""
    runtime = get_runtime()
    acd = Acd(runtime)
    reservation = acd.get_reservation(rid)
    if reservation is None or reservation.status is not ReservationStatus.PENDING:
        log.info("acd.offer_not_placed", reservation=rid, reason="offer_over")
        return None
    if reservation.counsellor_call_sid:  # an earlier attempt got through
        return reservation.counsellor_call_sid
    fields = {
        "reservation": rid,
        "call_sid": reservation.call_sid,
        "counsellor": reservation.counsellor_id,
    }
    try:
        leg = twilio_ops.place_offer_call(
            runtime, twilio_ops.Offer(rid=rid, endpoint=reservation.endpoint)
        )
    except Exception as exc:
        if _permanent(exc):
            _no_more_retries()
        log.warning("acd.offer_call_failed", error=type(exc).__name__, **fields)
        raise
    if not acd.offer_placed(rid, leg):
        # The offer ended while Twilio was dialling (the caller hung up, or it expired): the
        # counsellor's phone must not keep ringing for nobody.
        log.info("acd.offer_over_while_dialling", counsellor_call_sid=leg, **fields)
        end_counsellor_leg(runtime, leg, rid)
        return None
    log.info("acd.offer_placed", counsellor_call_sid=leg, **fields)
    return leg


def place_offer_failed(
    job: Job,
    connection: Redis,
    exc_type: type[BaseException] | None = None,
    exc_value: BaseException | None = None,
    traceback: TracebackType | None = None,
) -> None:
    """RQ failure callback of `place_offer`: after the last attempt, release the offer."""
    if _will_retry(job):
        return
    rid = str(job.args[0])
    runtime = get_runtime()
    # A permanent error (a bad endpoint) is a miss, so the counsellor is set aside; Twilio out
    # of reach is not their doing (no miss: they are offered the next caller again).
    permanent = exc_value is not None and _permanent(exc_value)
    reason = OfferFailure.FAILED if permanent else OfferFailure.NOT_PLACED
    released = Acd(runtime).offer_failed(rid, reason)
    log.error("acd.offer_released", reservation=rid, released=released)
    request_dispatch(runtime)


def end_leg(call_sid: str, rid: str = "") -> bool:
    """Hang up a counsellor's leg that no longer has a purpose; False if it was already over."""
    runtime = get_runtime()
    ended = twilio_ops.end_call(runtime, call_sid)
    log.info("acd.leg_ended", counsellor_call_sid=call_sid, reservation=rid, ended=ended)
    return ended


def end_counsellor_leg(runtime: Runtime, call_sid: str, rid: str = "") -> None:
    """Have a worker hang up a counsellor's leg (with retries); never raises."""
    try:
        _enqueue(runtime, end_leg, call_sid, rid, retry=True)
    except Exception:  # the offer TwiML tells them if the leg survives
        log.exception("acd.end_leg_not_enqueued", reservation=rid, counsellor_call_sid=call_sid)


def after_caller_gone(runtime: Runtime, gone: GoneResult) -> None:
    """Follow-up of `Acd.caller_gone`: stop the counsellor's phone ringing for a caller who
    left, and offer that counsellor (free again) to the next caller."""
    if gone.counsellor_call_sid:
        end_counsellor_leg(runtime, gone.counsellor_call_sid, gone.reservation_id or "")
    if gone.reservation_id or gone.was_waiting:
        request_dispatch(runtime)


# -- bridging ---------------------------------------------------------------------------------


def bridge(rid: str) -> str:
    """Dequeue the caller of accepted reservation ``rid`` into its conference (the retry of
    the attempt made while answering the counsellor). ``bridged``, ``gone`` or ``over``."""
    runtime = get_runtime()
    reservation = Acd(runtime).get_reservation(rid)
    if reservation is None or reservation.status is not ReservationStatus.ACCEPTED:
        return "over"
    result = bridge_now(runtime, rid, reservation.call_sid, timeout=None)
    if result == "pending":
        raise BridgeNotDone(rid)
    if result == "gone" and reservation.counsellor_call_sid:
        end_leg(reservation.counsellor_call_sid, rid)
    return result


class BridgeNotDone(Exception):
    """Twilio could not be asked to dequeue the caller this time."""


def bridge_failed(
    job: Job,
    connection: Redis,
    exc_type: type[BaseException] | None = None,
    exc_value: BaseException | None = None,
    traceback: TracebackType | None = None,
) -> None:
    """RQ failure callback of `bridge`: the waitUrl remains the caller's way to the conference
    (it answers <Leave/> to an answered caller); nothing else can be done but say so."""
    if _will_retry(job):
        return
    log.error("acd.bridge_failed", reservation=str(job.args[0]))


def bridge_now(runtime: Runtime, rid: str, call_sid: str, timeout: float | None) -> str:
    """Ask Twilio to move the caller into the conference of ``rid``.

    ``bridged`` (done, or the caller is already out of the queue and alive: on their way),
    ``gone`` (the caller's call is over), ``pending`` (Twilio did not answer: retry)."""
    fields = {"reservation": rid, "call_sid": call_sid}
    queue_sid = runtime.redis.get(runtime.keys.twilio_queue_sid)
    if not queue_sid:
        log.warning("acd.bridge_without_queue_sid", **fields)
        return "pending"
    try:
        twilio_ops.dequeue_caller(runtime, str(queue_sid), call_sid, rid, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - classified below
        if not twilio_ops.is_gone(exc):
            log.warning("acd.dequeue_failed", error=type(exc).__name__, **fields)
            return "pending"
    else:
        log.info("acd.dequeued", **fields)
        return "bridged"
    # Not in the queue: hung up, or already dequeued (an earlier attempt, or the waitUrl's
    # <Leave/> fallback). Only the call itself can tell.
    try:
        status = twilio_ops.call_status(runtime, call_sid, timeout=timeout)
    except Exception as exc:  # noqa: BLE001
        if twilio_ops.is_gone(exc):
            status = "gone"
        else:
            log.warning("acd.caller_status_unknown", error=type(exc).__name__, **fields)
            return "pending"
    if status in twilio_ops.LIVE_STATUSES:
        log.info("acd.caller_already_dequeued", **fields)
        return "bridged"
    log.info("acd.caller_left_before_bridge", status=status, **fields)
    return "gone"


def accept_and_bridge(runtime: Runtime, rid: str) -> tuple[AcceptResult, str]:
    """The counsellor pressed 1: accept, then bring the caller (`bridge_now`, short timeout;
    a retry job when Twilio is slow). (accept's answer, bridge result or ''). A caller who
    asked to be called back is called instead (`accept_callback`; bridge result ``calling``)."""
    acd = Acd(runtime)
    offered = acd.get_reservation(rid)
    if offered is not None and offered.callback:
        return accept_callback(runtime, rid)
    result = acd.accept(rid)
    if result is not AcceptResult.ACCEPTED:
        return result, ""
    reservation = acd.get_reservation(rid)
    if reservation is None:  # pragma: no cover - accepted reservations live a day
        return AcceptResult.STALE, ""
    outcome = bridge_now(runtime, rid, reservation.call_sid, timeout=twilio_ops.DEQUEUE_TIMEOUT_S)
    if outcome == "pending":
        _enqueue(runtime, bridge, rid, retry=True, on_failure=Callback(bridge_failed))
    return result, outcome


# -- the periodic sweep -----------------------------------------------------------------------


def sweep() -> dict[str, int]:
    """Expire offers, end wrap-ups, expire and rescue callbacks, apply the limits of warm
    transfers whose caller waits alone, overflow callers past max_wait, then dispatch."""
    runtime = get_runtime()
    schedule_sweep(runtime)  # first: a failing sweep must not stop the next ones
    acd = Acd(runtime)
    done: dict[str, int] = {}
    errors: list[BaseException] = []

    def step(name: str, func: Any) -> Any:
        try:
            result = func()
        except Exception as exc:
            log.exception("acd.sweep_step_failed", step=name)
            errors.append(exc)
            return []
        done[name] = len(result) if isinstance(result, list) else int(result)
        return result

    for rid in step("expired", acd.expire_offers):
        reservation = acd.get_reservation(rid)
        if reservation is not None and reservation.counsellor_call_sid:
            end_counsellor_leg(runtime, reservation.counsellor_call_sid, rid)
    step("wrapups_ended", acd.end_wrapups)
    step("callbacks_expired", Callbacks(acd).expire_due)
    step("callbacks_rescued", lambda: rescue_callbacks(runtime, acd))
    from acd import transfer  # it builds on this module

    step("transfers", lambda: transfer.sweep(runtime, acd))
    # Overflowed callers are told by their next waitUrl request (<Leave/>, then the Enqueue
    # action says where else to find help): no REST call needed.
    step("overflowed", acd.overflow_waited_too_long)
    step("calls_checked", lambda: check_calls(runtime, acd))
    step("dispatched", dispatch)
    if errors:
        raise errors[0]
    return done


# -- calls whose end never reached us ----------------------------------------------------------


def call_check_every(runtime: Runtime) -> float:
    """Real seconds between two checks of the same call (`CALL_CHECK_EVERY_S` on the clock)."""
    return max(sweep_every(runtime), CALL_CHECK_EVERY_S / max(runtime.settings.clock_speed, 1.0))


def check_calls(runtime: Runtime, acd: Acd) -> list[str]:
    """Have a worker ask Twilio about the call of every counsellor on a call for longer than
    `CALL_CHECK_EVERY_S` (each call at most once per period); the reservations to be checked.

    A counsellor leaves ``on_call`` when their leg's ``completed`` status callback arrives.
    When it never does (Redis was down when it came, a crash lost the write, a proxy dropped
    it: Twilio does not send it again), nothing else would ever free them."""
    states = runtime.redis.hgetall(runtime.keys.states)
    on_call = sorted(cid for cid, state in states.items() if state == "on_call")
    if not on_call:
        return []
    now, every = runtime.clock.now(), call_check_every(runtime)
    rids = []
    for counsellor in acd.get_counsellors(on_call):
        rid = counsellor.reservation_id
        if not rid or (now - counsellor.state_since).total_seconds() < CALL_CHECK_EVERY_S:
            continue
        if runtime.redis.set(runtime.keys.call_check(rid), "1", nx=True, ex=max(1, round(every))):
            _enqueue(runtime, check_call, rid, retry=True)
            rids.append(rid)
    return rids


def check_call(rid: str) -> str:
    """Ask Twilio whether the counsellor's leg of accepted reservation ``rid`` is still up; when
    it is over, end the call as its status callback would have. ``live``, ``ended`` (this
    check ended it) or ``over`` (nothing to check any more)."""
    runtime = get_runtime()
    acd = Acd(runtime)
    reservation = acd.get_reservation(rid)
    if reservation is None or reservation.status is not ReservationStatus.ACCEPTED:
        return "over"
    leg = reservation.counsellor_call_sid
    if not leg:
        return "over"
    try:
        status = twilio_ops.call_status(runtime, leg)
    except Exception as exc:
        if not twilio_ops.is_gone(exc):
            raise  # RQ retries; the next sweep's check comes anyway
        status = "gone"
    if status != "gone" and status not in FINAL_STATUSES:
        return "live"
    ended = counsellor_leg_completed(runtime, acd, rid)
    log.warning(
        "acd.call_end_recovered",
        reservation=rid,
        counsellor=reservation.counsellor_id,
        counsellor_call_sid=leg,
        status=status,
        ended=ended,
    )
    return "ended" if ended else "over"


def counsellor_leg_completed(runtime: Runtime, acd: Acd, rid: str) -> bool:
    """The counsellor's leg of accepted reservation ``rid`` is over: end the call (a leg of a
    warm transfer in progress ends it its own way, `acd.transfer`), then dispatch; False when
    that was already done."""
    from acd import transfer  # it builds on this module

    ended = transfer.leg_ended(runtime, acd, rid) or acd.call_ended(rid)
    if ended:
        request_dispatch(runtime)
    return bool(ended)


def sweep_every(runtime: Runtime) -> float:
    """Seconds of wall-clock time between sweeps: shorter when the demo's clock runs faster
    (offers time out in clock seconds), never under RQ's scheduler resolution (1 s)."""
    return max(1.0, SWEEP_EVERY_S / max(runtime.settings.clock_speed, 1.0))


def schedule_sweep(runtime: Runtime, now: float | None = None) -> bool:
    """Schedule the next sweep at the next `sweep_every` boundary (one chain however many
    workers; see `helpline.periodic`). True when this call scheduled it."""
    return periodic.schedule_slot(runtime, sweep, "acd-sweep", sweep_every(runtime), now)


def _keep_sweeping(runtime: Runtime) -> None:
    """Re-arm the sweep should its chain have broken (e.g. Redis was down when a sweep tried
    to schedule the next): the slot's job id makes this a no-op while the chain is alive."""
    try:
        schedule_sweep(runtime)
    except Exception:
        log.exception("acd.sweep_not_scheduled")


def start_periodic(runtime: Runtime) -> None:
    """Called by ``helpline worker`` at start: make sure the sweep runs (once per slot)."""
    scheduled = schedule_sweep(runtime)
    log.info("acd.periodic_started", scheduled=scheduled, every_s=sweep_every(runtime))


# -- virtual hold: calling back ---------------------------------------------------------------


def accept_callback(runtime: Runtime, rid: str) -> tuple[AcceptResult, str]:
    """The counsellor accepted a caller who asked to be called back: the counsellor waits in
    the conference while `place_callback` calls the caller. (accept's answer, ``calling``)."""
    answer = Callbacks(Acd(runtime)).accept(rid)
    if answer == "calling":
        _enqueue(
            runtime,
            place_callback,
            rid,
            retry=True,
            on_failure=Callback(place_callback_failed),
        )
        return AcceptResult.ACCEPTED, "calling"
    if answer == "caller_gone":
        return AcceptResult.CALLER_GONE, ""
    return AcceptResult.STALE, ""


def place_callback(rid: str) -> str | None:
    """Call back the caller of accepted reservation ``rid``; the leg's CallSid (None: nothing
    to do, or no number left, which makes the callback missed at once). Raises when Twilio
    cannot be reached, so that RQ retries; `place_callback_failed` ends the attempt."""
    runtime = get_runtime()
    acd = Acd(runtime)
    callbacks = Callbacks(acd)
    reservation = acd.get_reservation(rid)
    if reservation is None or reservation.status is not ReservationStatus.ACCEPTED:
        log.info("acd.callback_not_placed", reservation=rid, reason="offer_over")
        return None
    fields = {
        "reservation": rid,
        "call_sid": reservation.call_sid,
        "counsellor": reservation.counsellor_id,
    }
    number = callbacks.number(reservation.call_sid)
    if number is None:
        log.warning("acd.callback_without_number", **fields)
        after_callback_failed(runtime, rid, callbacks.failed(rid, "", "no_number", final=True))
        return None
    try:
        leg = twilio_ops.place_callback_call(runtime, rid, number, CALLBACK_RING_S)
    except Exception as exc:
        if _permanent(exc):
            _no_more_retries()
        log.warning("acd.callback_call_failed", error=type(exc).__name__, **fields)
        raise
    if not callbacks.placed(rid, leg):
        log.info("acd.callback_over_while_dialling", callback_call_sid=leg, **fields)
        end_counsellor_leg(runtime, leg, rid)
        return None
    log.info("acd.callback_placed", callback_call_sid=leg, **fields)
    return leg


def place_callback_failed(
    job: Job,
    connection: Redis,
    exc_type: type[BaseException] | None = None,
    exc_value: BaseException | None = None,
    traceback: TracebackType | None = None,
) -> None:
    """RQ failure callback of `place_callback`: after the last attempt, the attempt failed."""
    if _will_retry(job):
        return
    rid = str(job.args[0])
    runtime = get_runtime()
    result = Callbacks(Acd(runtime)).failed(rid, "", "failed")
    log.error("acd.callback_not_placed", reservation=rid, result=result)
    after_callback_failed(runtime, rid, result)


def rescue_callbacks(runtime: Runtime, acd: Acd) -> list[str]:
    """Sweep step: callbacks whose ``place_callback`` job was lost (a killed worker) fail as
    ``not_placed`` past `acd.callback.rescue_after_s`; the counsellor waiting in the conference
    is hung up (available again, no miss) and the caller keeps their place."""
    rescued = Callbacks(acd).rescue_stuck(rescue_after_s(acd.settings))
    for rid in rescued:
        after_callback_failed(runtime, rid, "retry")
    return rescued


def after_callback_failed(runtime: Runtime, rid: str, result: str) -> None:
    """Follow-up of a failed callback attempt: hang up the counsellor who was waiting for the
    caller in the conference (they are available again), and dispatch."""
    if result not in ("retry", "missed"):
        return
    reservation = Acd(runtime).get_reservation(rid)
    if reservation is not None and reservation.counsellor_call_sid:
        end_counsellor_leg(runtime, reservation.counsellor_call_sid, rid)
    request_dispatch(runtime)
