"""The ACD on Redis: counsellors, waiting callers, offers. Every read-decide-write is one Lua
script (``acd/lua/``); Python validates input, picks the keys, and turns answers into types.

Scripts can only touch keys passed in KEYS. When the keys depend on shared state (which
caller and counsellor an offer joins, which offer a caller is in), the Python side reads the
ids, passes the keys, and the script checks they are still the right ones; if not, it says
so and the call is repeated with the new keys. Ids on a reservation never change once
written, so for accept/offer_failed/call_ended the first read is final.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, cast

from acd import overrides, routing
from acd.errors import (
    AcdError,
    CounsellorBusy,
    CounsellorExists,
    InvalidCounsellor,
    InvalidTransition,
    UnknownCounsellor,
)
from acd.model import (
    MANUAL_STATES,
    AcceptResult,
    Counsellor,
    CounsellorState,
    EnqueueResult,
    GoneResult,
    OfferFailure,
    Outcome,
    Reservation,
    ReservationStatus,
    WaitingCaller,
)
from acd.scripts import Scripts
from helpline.clock import from_ms, to_ms
from helpline.events import STREAM_MAXLEN
from helpline.log import get_logger
from helpline.runtime import Runtime

log = get_logger("acd")

#: Seconds an offer stays open beyond the offer timeout, so that Twilio's own no-answer
#: callback (after ``offer_timeout``) normally arrives before the sweep expires the offer.
OFFER_GRACE_S = 5
#: How long finished callers and reservations stay readable (idempotent repeats, views).
DONE_TTL_S = 24 * 3600
#: Recent handle times kept for the estimated wait.
HANDLE_KEEP = 100
#: How long a callback number outlives ``callback_ttl``: an attempt started just before the
#: deadline can still be retried once (docs/acd-twilio.md, virtual hold).
CALLBACK_GRACE_S = 15 * 60
#: Attempts of a script whose keys depend on shared state before giving up (contention only).
MAX_ATTEMPTS = 20

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_CLIENT = re.compile(r"^client:[A-Za-z0-9_.@-]{1,121}$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_FIELD = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def _hash(raw: object) -> dict[str, str]:
    """A hash as read by the runtime's client (decode_responses=True: str, not bytes)."""
    return cast(dict[str, str], raw)


def _strs(raw: object) -> list[Any]:
    """A list reply of strings (or None for missing fields) from the decoding client."""
    return cast(list[Any], raw)


def _reservation(h: dict[str, str]) -> Reservation:
    """A reservation hash as a `Reservation`."""
    return Reservation(
        id=h["id"],
        call_sid=h["call_sid"],
        counsellor_id=h["counsellor_id"],
        endpoint=h.get("endpoint", ""),
        status=ReservationStatus(h["status"]),
        created_at=from_ms(h["created_at"]),
        expires_at=from_ms(h["expires_at"]),
        counsellor_call_sid=h.get("counsellor_call_sid") or None,
        platform=h.get("platform", "unknown"),
        caller_type=h.get("caller_type", "unknown"),
        language=h.get("language", ""),
        waited_s=int(h.get("waited_s", 0)),
        reason=h.get("reason") or None,
        accepted_at=from_ms(h["accepted_at"]) if h.get("accepted_at") else None,
        ended_at=from_ms(h["ended_at"]) if h.get("ended_at") else None,
        callback=h.get("callback") == "1",
        transfer_of=h.get("transfer_of") or None,
        conference=h.get("conference") or None,
    )


def check_endpoint(endpoint: str) -> str:
    """``client:<identity>`` or an E.164 number (spaces allowed and removed); else raise."""
    value = endpoint.strip()
    if value.startswith("+"):
        value = value.replace(" ", "")
    if _CLIENT.match(value) or _E164.match(value):
        return value
    raise InvalidCounsellor(
        f"endpoint {endpoint!r} must be client:<identity> or an E.164 number like +33612345678"
    )


class Acd:
    """The automatic call distributor of one helpline, on the runtime's Redis and clock."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.redis = runtime.redis
        self.keys = runtime.keys
        self.settings = overrides.effective(runtime)  # [acd] with duty managers' overrides
        self.skills = tuple(self.settings.skills)
        self.languages = tuple(runtime.config.helpline.languages)
        self.default_language = runtime.config.helpline.default_language
        self.pools = routing.pools(self.skills, self.languages)
        k = self.keys
        common = [
            k.events, k.stats_calls, k.waiting, k.order, k.relax, k.offers, k.wrapups,
            k.states, k.handle_times, k.queue(routing.ANY), k.idle(routing.ANY),
        ]  # fmt: skip
        common += [k.queue(s, lang) for s in self.skills for lang in self.languages]
        common += [k.idle(s, lang) for s in self.skills for lang in self.languages]
        common += [k.callbacks, k.callback_retry, k.callbacks_missed]  # virtual hold
        common += [k.transfers]  # warm transfer (never offered to its own counsellor)
        s = self.settings
        config = {
            "pools": list(self.pools),
            "offer_timeout": s.offer_timeout,
            "offer_grace": OFFER_GRACE_S,
            "wrap_up": s.wrap_up,
            "max_misses": s.max_misses,
            "max_waiting": s.max_waiting,
            "max_wait": s.max_wait,
            "relax_after": s.skill_relax_after,
            "maxlen": STREAM_MAXLEN,
            "record_ttl": runtime.config.privacy.call_record_ttl,
            "done_ttl": DONE_TTL_S,
            "handle_keep": HANDLE_KEEP,
            "callback_ttl": s.callback_ttl,
            "callback_grace": CALLBACK_GRACE_S,
            "callback_retry_after": s.callback_retry_after,
            "callback_attempts": s.callback_attempts,
        }
        self.scripts = Scripts(self.redis, common, json.dumps(config, separators=(",", ":")))

    # -- time ---------------------------------------------------------------------------------

    def _now_ms(self) -> int:
        return to_ms(self.runtime.clock.now())

    def _today(self) -> str:
        return self.runtime.clock.now().astimezone(self.runtime.config.zone).date().isoformat()

    # -- callers ------------------------------------------------------------------------------

    def enqueue(self, caller: WaitingCaller) -> EnqueueResult:
        """Queue ``caller`` (answering their ACD position), or overflow them: nobody logged in
        (``no_counsellor``), or ``max_waiting`` callers already waiting (``queue_full``); both
        record the outcome ``overflowed``. The same CallSid again gets the first answer."""
        skill = routing.routing_value(caller.skill, self.skills, self.settings.default_skill)
        language = routing.routing_value(caller.language, self.languages, self.default_language)
        status, value = self.scripts.enqueue(
            self._now_ms(),
            self.keys.caller(caller.call_sid),
            self.keys.call(caller.call_sid),
            call_sid=caller.call_sid,
            platform=caller.platform or "unknown",
            caller_type=caller.caller_type,
            language=language,
            skill=skill,
            pool=routing.pool_name(skill, language),
            priority=int(caller.priority),
            enqueued_ms=to_ms(caller.enqueued_at),
        )
        if status == "queued":
            log.info("acd.enqueued", call_sid=caller.call_sid, position=int(value))
            return EnqueueResult(queued=True, position=int(value))
        if status == "overflowed":
            log.info("acd.overflowed", call_sid=caller.call_sid, reason=str(value))
            return EnqueueResult(queued=False, reason=str(value))
        return EnqueueResult(queued=False, reason="duplicate")

    def record_outcome(self, call_sid: str, outcome: Outcome | str, **fields: object) -> bool:
        """Set the call's single outcome (first writer wins) with ``fields`` (e.g. ``wait`` in
        seconds, ``reason``), count it per platform and append an event. False if it had one."""
        outcome = Outcome(outcome)
        extra: list[str] = []
        for name, value in fields.items():
            if value is None:
                continue
            if not _FIELD.match(name) or name in ("outcome", "outcome_at"):
                raise ValueError(f"record_outcome: field {name!r} cannot be set")
            if isinstance(value, bool | float):
                extra += [name, str(round(value))]
            else:
                extra += [name, str(value)]
        recorded = self.scripts.outcome(
            self._now_ms(), self.keys.call(call_sid), call_sid, outcome.value, extra
        )
        if recorded:
            log.info("acd.outcome", call_sid=call_sid, outcome=outcome.value)
        return recorded

    def caller_gone(self, call_sid: str) -> GoneResult:
        """The caller hung up: leave every queue structure, end a pending offer (returned, so
        the edge cancels the counsellor's ringing leg), record ``abandoned`` with the wait
        unless the call has an outcome. Idempotent."""
        found = _strs(self.redis.hmget(self.keys.caller(call_sid), ["rid", "counsellor"]))
        rid, cid = found[0] or "", found[1] or ""
        for _ in range(MAX_ATTEMPTS):
            keys = [
                self.keys.caller(call_sid),
                self.keys.call(call_sid),
                self.keys.reservation(rid),
                self.keys.counsellor(cid),
            ]
            answer = self.scripts.caller_gone(self._now_ms(), keys, call_sid, rid, cid)
            if answer[0] == "retry":
                rid, cid = answer[1], answer[2]
                continue
            before, recorded, ended_rid, leg = answer
            result = GoneResult(
                was_waiting=before in ("waiting", "offered"),
                outcome_recorded=recorded == "1",
                reservation_id=ended_rid or None,
                counsellor_call_sid=leg or None,
            )
            log.info("acd.caller_gone", call_sid=call_sid, reservation=result.reservation_id)
            return self._transfer_gone(call_sid, result)
        raise AcdError(f"caller_gone({call_sid}): offers kept changing")  # pragma: no cover

    def _transfer_gone(self, call_sid: str, result: GoneResult) -> GoneResult:
        """A warm transfer of a caller who hung up is canceled (acd/transfer.py); the
        colleague's ringing leg is named so that the edge hangs it up."""
        from acd import transfer  # builds on this module

        step = transfer.caller_gone(self, call_sid)
        if step is None or step.result != "canceled" or not step.colleague_leg:
            return result
        return GoneResult(
            was_waiting=result.was_waiting,
            outcome_recorded=result.outcome_recorded,
            reservation_id=step.colleague_rid or result.reservation_id,
            counsellor_call_sid=step.colleague_leg,
        )

    def position(self, call_sid: str) -> int | None:
        """1-based ACD position among waiting callers by order key; None if not waiting."""
        rank = cast(int | None, self.redis.zrank(self.keys.order, call_sid))
        return None if rank is None else rank + 1

    def waiting_count(self) -> int:
        """Callers waiting now (being offered included)."""
        return int(self.redis.zcard(self.keys.waiting))

    def must_leave(self, call_sid: str) -> bool:
        """The caller was overflowed (waited past max_wait): the waitUrl answers <Leave/>."""
        return self.redis.hget(self.keys.caller(call_sid), "state") == "overflowed"

    def caller_state(self, call_sid: str) -> str | None:
        """waiting | offered | answered | abandoned | overflowed, or None when unknown."""
        return cast(str | None, self.redis.hget(self.keys.caller(call_sid), "state"))

    def estimated_wait(self, call_sid: str) -> int | None:
        """Seconds the caller may still wait (see `routing.estimated_wait_s`); None when the
        caller is not waiting or no counsellor is taking calls."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.zrank(self.keys.order, call_sid)
        pipe.hvals(self.keys.states)
        pipe.zcard(self.keys.idle(routing.ANY))
        pipe.lrange(self.keys.handle_times, 0, -1)
        rank, states, available, handles = pipe.execute()
        if rank is None:
            return None
        serving = sum(1 for s in states if s != CounsellorState.BREAK)
        # Callers being offered still rank ahead; their reserved counsellors will serve them.
        reserved = sum(1 for s in states if s == CounsellorState.RESERVED)
        return routing.estimated_wait_s(
            int(rank) + 1, serving, int(available) + reserved, [float(h) for h in handles]
        )

    def waiting_callers(self) -> list[dict[str, Any]]:
        """Waiting callers in ACD order, for views (no phone numbers: there are none here)."""
        now = self._now_ms()
        sids = _strs(self.redis.zrange(self.keys.order, 0, -1))
        pipe = self.redis.pipeline(transaction=False)
        for sid in sids:
            pipe.hgetall(self.keys.caller(sid))
        rows = []
        for position, (sid, h) in enumerate(zip(sids, pipe.execute(), strict=True), start=1):
            if not h:
                continue
            enqueued = int(h["enqueued_at"])
            rows.append(
                {
                    "call_sid": sid,
                    "position": position,
                    "platform": h.get("platform", "unknown"),
                    "caller_type": h.get("caller_type", "unknown"),
                    "language": h.get("language", ""),
                    "skill": h.get("skill", ""),
                    "priority": int(h.get("priority", 0)),
                    "state": h.get("state", ""),
                    "enqueued_at": from_ms(enqueued),
                    "waited_s": max(0, (now - enqueued) // 1000),
                    "relaxed": int(h.get("relax_at", 0)) <= now,
                    "counsellor": h.get("counsellor"),
                    "reservation_id": h.get("rid"),
                    # virtual hold: asked to be called back; not offered before retry_at
                    "callback": h.get("callback") == "1",
                    "retry_at": (
                        from_ms(int(h["retry_at"])) if int(h.get("retry_at", 0)) > now else None
                    ),
                }
            )
        return rows

    # -- dispatch -----------------------------------------------------------------------------

    def reserve_next(self) -> Reservation | None:
        """Atomically reserve the best (caller, counsellor) pair (see `acd.routing`): the
        counsellor becomes reserved, the caller is held for them (keeping their place). None
        when nobody can be offered now (a normal outcome)."""
        candidate: tuple[str, str, str, str, str, str] | None = None
        for _ in range(MAX_ATTEMPTS):
            answer = self.scripts.reserve(self._now_ms(), self.keys.seq, candidate)
            if answer is None:
                return None
            if answer[0] == "ok":
                flat = answer[2:]
                reservation = _reservation(dict(zip(flat[::2], flat[1::2], strict=True)))
                log.info(
                    "acd.offered",
                    call_sid=reservation.call_sid,
                    counsellor=reservation.counsellor_id,
                    reservation=reservation.id,
                )
                return reservation
            _, sid, cid, rid = answer
            if not sid:  # the script repaired an index entry: decide again
                candidate = None
                continue
            # the id is kept across attempts: one id per reservation actually made
            k = self.keys
            candidate = (sid, cid, rid, k.caller(sid), k.counsellor(cid), k.reservation(rid))
        raise AcdError("reserve_next: the best pair kept changing")  # pragma: no cover

    def get_reservation(self, rid: str) -> Reservation | None:
        """The offer ``rid``, or None (unknown or expired from Redis)."""
        h = _hash(self.redis.hgetall(self.keys.reservation(rid)))
        return _reservation(h) if h else None

    def offer_placed(self, rid: str, counsellor_call_sid: str) -> bool:
        """Remember the counsellor leg's CallSid on an open offer; False if it is over."""
        return self.scripts.offer_placed(
            self._now_ms(), self.keys.reservation(rid), rid, counsellor_call_sid
        )

    def offer_answered(self, rid: str) -> bool:
        """The counsellor picked up the offer's leg: they get ``offer_timeout`` again from now
        to hear the whisper and press 1. False when the offer is not pending."""
        return self.scripts.offer_answered(self._now_ms(), self.keys.reservation(rid), rid)

    def _parties(self, rid: str) -> tuple[str, str] | None:
        key = self.keys.reservation(rid)
        call_sid, cid = _strs(self.redis.hmget(key, ["call_sid", "counsellor_id"]))
        if call_sid is None or cid is None:
            return None
        return str(call_sid), str(cid)

    def accept(self, rid: str) -> AcceptResult:
        """The counsellor accepted: caller answered (outcome recorded), both on the call.
        ``caller_gone`` when the caller left meanwhile, ``stale`` when the offer is over or
        unknown. A repeated accept answers ``accepted`` again without effect."""
        parties = self._parties(rid)
        if parties is None:
            return AcceptResult.STALE
        call_sid, cid = parties
        k = self.keys
        keys = [k.reservation(rid), k.caller(call_sid), k.counsellor(cid), k.call(call_sid)]
        answer = self.scripts.accept(self._now_ms(), keys, rid, call_sid, cid, self._today())
        if answer == "mismatch":  # pragma: no cover - reservation ids are written once
            raise AcdError(f"reservation {rid} changed under accept")
        result = AcceptResult(answer)
        log.info("acd.accept", call_sid=call_sid, counsellor=cid, reservation=rid, result=answer)
        return result

    def offer_failed(self, rid: str, reason: OfferFailure | str) -> bool:
        """The offer did not become a call (declined, no-answer, busy, failed, timeout,
        canceled): the caller keeps their place, the counsellor counts a miss. False when the
        offer was not pending (late or repeated news changes nothing)."""
        reason = OfferFailure(reason)
        parties = self._parties(rid)
        if parties is None:
            return False
        call_sid, cid = parties
        k = self.keys
        keys = [k.reservation(rid), k.caller(call_sid), k.counsellor(cid)]
        answer = self.scripts.offer_failed(self._now_ms(), keys, rid, call_sid, cid, reason.value)
        if answer == "mismatch":  # pragma: no cover
            raise AcdError(f"reservation {rid} changed under offer_failed")
        if answer == "failed":
            log.info(
                "acd.offer_failed",
                call_sid=call_sid,
                counsellor=cid,
                reservation=rid,
                reason=reason.value,
            )
        return answer == "failed"

    def call_ended(self, rid: str, *, measured: bool = True) -> bool:
        """The bridged call ended: counsellor to wrap-up, handle time recorded (unless
        ``measured`` is False: a forced release, whose real end is unknown). Idempotent."""
        parties = self._parties(rid)
        if parties is None:
            return False
        call_sid, cid = parties
        keys = [self.keys.reservation(rid), self.keys.counsellor(cid)]
        answer = self.scripts.call_ended(self._now_ms(), keys, rid, cid, measured)
        if answer == "mismatch":  # pragma: no cover
            raise AcdError(f"reservation {rid} changed under call_ended")
        if answer == "ended":
            log.info("acd.call_ended", call_sid=call_sid, counsellor=cid, reservation=rid)
        return answer == "ended"

    # -- sweeps (run by the worker every few seconds) ------------------------------------------

    def expire_offers(self) -> list[str]:
        """Fail every pending offer past its expiry (reason timeout); their ids."""
        now = self._now_ms()
        due = _strs(self.redis.zrangebyscore(self.keys.offers, "-inf", now))
        return [rid for rid in due if self.offer_failed(rid, OfferFailure.TIMEOUT)]

    def end_wrapups(self) -> list[str]:
        """Counsellors whose wrap-up is over become available; their ids."""
        now = self._now_ms()
        due = _strs(self.redis.zrangebyscore(self.keys.wrapups, "-inf", now))
        return [cid for cid in due if self.scripts.end_wrapup(now, self.keys.counsellor(cid), cid)]

    def overflow_waited_too_long(self) -> list[str]:
        """Callers waiting for ``max_wait`` or more (and not being offered) must leave: outcome
        overflowed, `must_leave` turns True. Their CallSids, for the edge to redirect."""
        now = self._now_ms()
        limit = now - self.settings.max_wait * 1000
        due = _strs(self.redis.zrangebyscore(self.keys.waiting, "-inf", limit))
        k = self.keys
        overflowed = [
            sid for sid in due if self.scripts.overflow(now, k.caller(sid), k.call(sid), sid)
        ]
        for sid in overflowed:
            log.info("acd.overflowed", call_sid=sid, reason="max_wait")
        return overflowed

    def relax_skills(self) -> int:
        """Callers past ``skill_relax_after`` join the "any" pool (reserve_next does it too)."""
        return self.scripts.relax(self._now_ms())

    # -- counsellors --------------------------------------------------------------------------

    def _check_profile(
        self, skills: Iterable[str] | None, languages: Iterable[str] | None
    ) -> dict[str, str]:
        fields: dict[str, str] = {}
        if skills is not None:
            chosen = list(dict.fromkeys(skills))
            unknown = [s for s in chosen if s not in self.skills]
            if not chosen or unknown:
                raise InvalidCounsellor(
                    f"skills must be among {', '.join(self.skills)} "
                    f"(got {', '.join(chosen) or 'none'})"
                )
            fields["skills"] = ",".join(chosen)
        if languages is not None:
            chosen = list(dict.fromkeys(languages))
            unknown = [lang for lang in chosen if lang not in self.languages]
            if not chosen or unknown:
                raise InvalidCounsellor(
                    f"languages must be among {', '.join(self.languages)} "
                    f"(got {', '.join(chosen) or 'none'})"
                )
            fields["languages"] = ",".join(chosen)
        return fields

    def add_counsellor(
        self,
        counsellor_id: str,
        name: str,
        skills: Iterable[str],
        languages: Iterable[str],
        endpoint: str,
    ) -> Counsellor:
        """A new counsellor, offline. Raises `CounsellorExists`, `InvalidCounsellor`."""
        if not _ID.match(counsellor_id):
            raise InvalidCounsellor(
                f"id {counsellor_id!r}: letters, digits, '.', '_' or '-' (at most 64)"
            )
        if not name.strip():
            raise InvalidCounsellor("a counsellor needs a name")
        fields = self._check_profile(skills, languages)
        fields["name"] = name.strip()
        fields["endpoint"] = check_endpoint(endpoint)
        answer = self.scripts.counsellor_save(
            self._now_ms(),
            self.keys.counsellor(counsellor_id),
            self.keys.counsellors,
            "add",
            counsellor_id,
            fields,
        )
        if answer == "exists":
            raise CounsellorExists(f"counsellor {counsellor_id} already exists")
        log.info("acd.counsellor_added", counsellor=counsellor_id)
        return self._must_get(counsellor_id)

    def update_counsellor(
        self,
        counsellor_id: str,
        *,
        name: str | None = None,
        skills: Iterable[str] | None = None,
        languages: Iterable[str] | None = None,
        endpoint: str | None = None,
    ) -> Counsellor:
        """Change a counsellor's profile; an available one is re-indexed at once."""
        fields = self._check_profile(skills, languages)
        if name is not None:
            if not name.strip():
                raise InvalidCounsellor("a counsellor needs a name")
            fields["name"] = name.strip()
        if endpoint is not None:
            fields["endpoint"] = check_endpoint(endpoint)
        answer = self.scripts.counsellor_save(
            self._now_ms(),
            self.keys.counsellor(counsellor_id),
            self.keys.counsellors,
            "update",
            counsellor_id,
            fields,
        )
        if answer == "unknown":
            raise UnknownCounsellor(f"no counsellor {counsellor_id}")
        return self._must_get(counsellor_id)

    def remove_counsellor(self, counsellor_id: str) -> bool:
        """Forget a counsellor; False if unknown. Raises `CounsellorBusy` while reserved or
        on a call."""
        key = self.keys.counsellor(counsellor_id)
        answer = self.scripts.counsellor_remove(
            self._now_ms(), key, self.keys.counsellors, counsellor_id
        )
        if answer == "busy":
            raise CounsellorBusy(f"counsellor {counsellor_id} is being offered a call or on one")
        return answer == "removed"

    def get_counsellor(self, counsellor_id: str) -> Counsellor | None:
        """One counsellor, or None."""
        return self._counsellor(_hash(self.redis.hgetall(self.keys.counsellor(counsellor_id))))

    def _must_get(self, counsellor_id: str) -> Counsellor:
        found = self.get_counsellor(counsellor_id)
        if found is None:
            raise UnknownCounsellor(f"no counsellor {counsellor_id}")
        return found

    def list_counsellors(self) -> list[Counsellor]:
        """Every counsellor, by id."""
        return self.get_counsellors(
            sorted(cast(set[str], self.redis.smembers(self.keys.counsellors)))
        )

    def get_counsellors(self, ids: list[str]) -> list[Counsellor]:
        """The counsellors of ``ids`` that exist, in that order (one round trip)."""
        pipe = self.redis.pipeline(transaction=False)
        for cid in ids:
            pipe.hgetall(self.keys.counsellor(cid))
        found = (self._counsellor(h) for h in pipe.execute())
        return [c for c in found if c is not None]

    def _counsellor(self, h: dict[str, str]) -> Counsellor | None:
        if not h:
            return None
        state = CounsellorState(h["state"])
        today = self._today()
        return Counsellor(
            id=h["id"],
            name=h.get("name", ""),
            skills=tuple(s for s in h.get("skills", "").split(",") if s),
            languages=tuple(s for s in h.get("languages", "").split(",") if s),
            endpoint=h.get("endpoint", ""),
            state=state,
            state_since=from_ms(h["state_since"]),
            reason=h.get("reason") or None,
            missed=int(h.get("missed", 0)),
            calls_today=int(h.get("calls", 0)) if h.get("calls_day") == today else 0,
            idle_since=(
                from_ms(h["idle_since"])
                if state is CounsellorState.AVAILABLE and h.get("idle_since")
                else None
            ),
            reservation_id=h.get("rid") or None,
            wrap_up_until=from_ms(h["wrap_until"]) if h.get("wrap_until") else None,
        )

    def set_state(
        self,
        counsellor_id: str,
        state: CounsellorState | str,
        reason: str | None = None,
        *,
        force: bool = False,
    ) -> Counsellor:
        """A person's change: available (also ends wrap-up early), break(reason), offline.
        Raises `UnknownCounsellor`; `InvalidTransition` for another target state, and its
        subclass `CounsellorBusy` while the counsellor is reserved or on a call.

        ``force`` is the duty manager's way out when a call's end never reached us (the sweep's
        `acd.jobs.check_calls` would free them within a minute): a pending offer is failed as
        ``canceled`` (the caller keeps their place), a call is ended (wrap-up skipped), then the
        state is set. Each step is one of the atomic operations above."""
        target = CounsellorState.parse(state) if isinstance(state, str) else state
        if target not in MANUAL_STATES:
            raise InvalidTransition(
                f"{target.label} is set by the ACD; a person may set "
                + ", ".join(s.label for s in MANUAL_STATES)
            )
        for _ in range(MAX_ATTEMPTS):
            try:
                return self._set_state(counsellor_id, target, reason)
            except CounsellorBusy:
                if not force:
                    raise
            current = self._must_get(counsellor_id)
            rid = current.reservation_id
            if rid and current.state is CounsellorState.RESERVED:
                self.offer_failed(rid, OfferFailure.CANCELED)
            elif rid and current.state is CounsellorState.ON_CALL:
                self.call_ended(rid, measured=False)
            log.warning("acd.counsellor_released", counsellor=counsellor_id, reservation=rid)
        raise CounsellorBusy(f"counsellor {counsellor_id} kept being offered calls")

    def _set_state(
        self, counsellor_id: str, target: CounsellorState, reason: str | None
    ) -> Counsellor:
        answer = self.scripts.set_state(
            self._now_ms(),
            self.keys.counsellor(counsellor_id),
            counsellor_id,
            target.value,
            (reason or "").strip() if target is CounsellorState.BREAK else "",
        )
        if answer == "unknown":
            raise UnknownCounsellor(f"no counsellor {counsellor_id}")
        if answer == "busy":
            raise CounsellorBusy(
                f"counsellor {counsellor_id} is being offered a call or is on one; "
                "their state changes when the call ends"
            )
        if answer == "ok":
            log.info("acd.counsellor_state", counsellor=counsellor_id, state=target.value)
        return self._must_get(counsellor_id)

    def logged_in(self) -> dict[str, CounsellorState]:
        """Counsellors not offline: id → state (one hash read)."""
        states = _hash(self.redis.hgetall(self.keys.states))
        return {cid: CounsellorState(s) for cid, s in states.items()}
