"""What each voice webhook does around the pure flow: Redis reads and writes, the ACD calls.

Views parse the request into a `VoiceRequest`, call one function here and render the `Turn`
it returns. Each function reads what it needs in one round trip (a pipeline where it can),
asks `ivr.flow` what comes next, then writes back once.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import cast

from acd import jobs, overrides
from acd import service as acd
from acd.model import EnqueueResult, Outcome, WaitingCaller
from helpline.clock import to_ms
from helpline.log import get_logger
from helpline.privacy import pseudonymise
from helpline.runtime import Runtime
from incall import blocklist
from ivr import callstore, flow, hours, hours_store
from ivr.callrecord import CALL_STATUSES, FINAL_STATUSES, CallRecord, Step
from ivr.callstore import StatusUpdate
from ivr.flow import Line, Options, Then, Turn
from ivr.platform import dialled_platform, resolve_platform
from ivr.twilio_form import VoiceRequest
from partners import identity, limits

log = get_logger("ivr")
_MENU_STEPS = {step.value: step for step in flow.MENUS}


def incoming(runtime: Runtime, req: VoiceRequest) -> Turn:
    """``/voice/incoming``: a new call (or the same CallSid again: carry on, never reset)."""
    options = Options.from_config(runtime.config)
    if req.call_sid is None:
        log.warning("voice_request_without_call_sid", route="incoming")
        return flow.cannot_serve(options)
    sid, keys, now = req.call_sid, runtime.keys, runtime.clock.now()
    caller = pseudonymise(runtime.settings.secret_key, req.caller)
    # One round trip for what a new call needs to know: its record, the day's exceptions to
    # the opening hours and whether the caller is blocked.
    pipe = runtime.redis.pipeline(transaction=False)
    pipe.hgetall(keys.call(sid))
    pipe.hgetall(keys.hours_exceptions)
    if blocklist.can_be_blocked(caller):
        pipe.zscore(keys.incall_blocked, caller)
    raw_record, raw_exceptions, *block_score = pipe.execute()
    existing = callstore.parse(sid, cast(dict[str, str], raw_record))
    if existing is not None and existing.known:
        log.info("call_resumed", call=sid, step=existing.step.value)
        return _carry_out(runtime, existing, flow.resume(existing, options), now)

    config = runtime.config
    status = hours.is_open(
        now,
        hours_store.schedule(config),
        hours_store.parse_exceptions(cast(dict[str, str], raw_exceptions)),
    )
    record = _new_record(runtime, req, caller, now, options)
    turn = flow.begin(record, status, now, config.zone, options)
    assert turn.record is not None
    stored, created = callstore.create(
        runtime.redis, keys, turn.record, config.privacy.call_record_ttl, now
    )
    if not created:  # the same CallSid arrived twice at once; the other request won
        return _carry_out(runtime, stored, flow.resume(stored, options), now)
    if status.open and blocklist.block_active(next(iter(block_score), None), now):
        log.warning("blocked_caller_refused", call=sid, platform=stored.platform)
        acd.record_outcome(runtime, sid, Outcome.OVERFLOWED, reason="blocked")
        busy = EnqueueResult(queued=False, reason="queue_full")  # neutral: "all busy"
        quiet = replace(turn, say=())  # no welcome: the busy message, the alternatives
        return _carry_out(runtime, stored, flow.after_enqueue(quiet, busy, now), now)
    if status.open and not _admitted(runtime, req, stored):
        log.warning("platform_limit_refused", call=sid, platform=stored.platform)
        acd.record_outcome(runtime, sid, Outcome.OVERFLOWED, reason="platform_limit")
        refused = EnqueueResult(queued=False, reason="queue_full")
        return _carry_out(runtime, stored, flow.after_enqueue(turn, refused, now), now)
    log.info(
        "call_started",
        call=sid,
        platform=stored.platform,
        channel=stored.channel.value,
        open=status.open,
    )
    return _carry_out(runtime, stored, turn, now)


def menu(runtime: Runtime, step: str, req: VoiceRequest) -> Turn:
    """``/voice/menu/<step>``: the caller's answer (or silence) to a menu."""
    options = Options.from_config(runtime.config)
    if req.call_sid is None:
        log.warning("voice_request_without_call_sid", route="menu")
        return flow.cannot_serve(options)
    now = runtime.clock.now()
    record = callstore.load(runtime.redis, runtime.keys, req.call_sid)
    if record is None or not record.known:
        log.warning("menu_answer_for_unknown_call", call=req.call_sid)
        return incoming(runtime, req)
    turn = flow.answer(record, _MENU_STEPS.get(step), req.digits, options, now)
    log.info(
        "menu_answer",
        call=record.call_sid,
        step=step[:32],
        pressed=req.digits is not None,
        next=turn.record.step.value if turn.record else None,
    )
    return _carry_out(runtime, record, turn, now)


def rejoin(runtime: Runtime, req: VoiceRequest, *, apology: bool) -> Turn:
    """Back to the queue when possible: ``/voice/rejoin`` (after an error) and the fallback.

    A known call with no outcome is handed to the ACD again (idempotent there); a call that
    ended (closed, overflowed, an outcome) hears the alternatives. A caller leg we have no
    record of starts afresh; anything else (a counsellor's leg) is not queued.
    """
    options = Options.from_config(runtime.config)
    if req.call_sid is None:
        log.warning("voice_request_without_call_sid", route="rejoin")
        return flow.cannot_serve(options, apology=apology)
    now = runtime.clock.now()
    record = callstore.load(runtime.redis, runtime.keys, req.call_sid)
    if record is None or not record.known:
        if not req.caller_leg:
            return flow.cannot_serve(options, apology=apology)
        turn = incoming(runtime, req)
        if apology:
            language = turn.record.language if turn.record else options.default_language
            turn = replace(turn, say=(Line(flow.APOLOGY, language), *turn.say))
        return turn
    log.info("call_rejoins", call=record.call_sid, step=record.step.value)
    return _carry_out(runtime, record, flow.rejoin(record, apology=apology), now)


def status(runtime: Runtime, req: VoiceRequest) -> StatusUpdate | None:
    """``/voice/status``: a caller leg's progress; a final status tells the ACD it is gone."""
    if req.call_sid is None or req.call_status not in CALL_STATUSES:
        log.warning("status_callback_ignored", call=req.call_sid, status=req.call_status[:32])
        return None
    update = callstore.record_status(
        runtime.redis,
        runtime.keys,
        req.call_sid,
        req.call_status,
        req.sequence_number,
        req.call_duration,
        runtime.clock.now(),
    )
    log.info(
        "call_status",
        call=req.call_sid,
        status=req.call_status,
        sequence=req.sequence_number,
        update=update.name.lower(),
    )
    if update is not StatusUpdate.UNKNOWN and req.call_status in FINAL_STATUSES:
        # Out of the queue, and a counsellor's phone ringing for this caller stops ringing.
        jobs.after_caller_gone(runtime, acd.caller_gone(runtime, req.call_sid))
        bound = identity.platform_from_identity(req.caller, runtime.config.platforms.known)
        if bound:
            limits.call_ended(runtime, bound, req.call_sid)
    return update


def waiting_caller(runtime: Runtime, record: CallRecord, now: datetime) -> WaitingCaller:
    """What the ACD needs to queue a caller (skill and priority from ``[acd]``)."""
    caller_type = record.caller_type.value
    return WaitingCaller(
        call_sid=record.call_sid,
        platform=record.platform,
        caller_type=caller_type,
        language=record.language.value,
        skill=runtime.config.acd.skill_needed(caller_type),
        priority=overrides.effective(runtime).priority_for(record.platform, caller_type),
        enqueued_at=now,
    )


def _new_record(
    runtime: Runtime, req: VoiceRequest, caller: str, now: datetime, options: Options
) -> CallRecord:
    """A call's first record: the caller's pseudonym, the platform tag, nothing raw."""
    assert req.call_sid is not None
    platforms = runtime.config.platforms
    # A partner's token binds the platform into the caller's identity: it beats any claim.
    bound = identity.platform_from_identity(req.caller, platforms.known)
    if bound and identity.is_mismatch(bound, req.app_platform, platforms.known):
        identity.count_mismatch(runtime, bound)
    platform = bound or resolve_platform(
        platforms.known,
        custom=req.app_platform,
        sip=req.sip_platform,
        dialled=dialled_platform(platforms.numbers, req.to, req.called),
        query=req.url_platform,
    )
    return CallRecord(
        call_sid=req.call_sid,
        caller=caller,
        platform=platform,
        channel=req.channel,
        created_at=to_ms(now),
        step=Step.NEW,
        language=options.default_language,
        platform_ref=identity.clean_report_ref(req.app_ref) or "",
    )


def _admitted(runtime: Runtime, req: VoiceRequest, record: CallRecord) -> bool:
    """A partner-bound call within its platform's limits (other calls are not limited here)."""
    bound = identity.platform_from_identity(req.caller, runtime.config.platforms.known)
    if not bound:
        return True
    return limits.call_started(
        runtime, bound, record.call_sid, identity=req.caller.removeprefix("client:")
    )


def _carry_out(runtime: Runtime, before: CallRecord, turn: Turn, now: datetime) -> Turn:
    """Do what the turn needs (hand-off, outcome), then store the record's changes."""
    queued = False
    if turn.then is Then.HANDOFF and turn.record is not None:
        caller = waiting_caller(runtime, turn.record, now)
        result = acd.enqueue(runtime, caller)
        log.info(
            "handed_to_acd",
            call=caller.call_sid,
            queued=result.queued,
            position=result.position,
            reason=result.reason,
        )
        queued = result.queued
        turn = flow.after_enqueue(turn, result, now)
    if turn.record is not None:
        if turn.outcome is not None:
            acd.record_outcome(runtime, turn.record.call_sid, turn.outcome)
        callstore.save(runtime.redis, runtime.keys, before, turn.record)
    if queued:
        # A new waiting caller is a change the dispatcher must see now, not at the next sweep.
        jobs.request_dispatch(runtime)
    return turn
