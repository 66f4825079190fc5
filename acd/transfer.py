"""Warm transfer: counsellor A hands their caller to a colleague B of another skill.

The ACD side (docs/acd.md, "Warm transfer"): a transfer is a queue entry of its own,
``xfer-<rid>`` (``keys.transfer_entry``), in the chosen skill's pool queue ahead of every
ordinary caller, so `Acd.reserve_next` offers it to the longest-idle free counsellor with that
skill and the caller's language, with the usual offer rules (timeout, misses, break). A is on
the call meanwhile, so is never offered it. Every step is one Lua script
(``transfer_start.lua``, ``transfer_step.lua``); the Twilio side (Conference Participants
updates, hanging up legs, holding an orphaned caller) is at the bottom of this module.

States of a transfer (``state`` of the entry; the console's names in brackets):
``waiting`` → ``offered`` [offering] → ``joined`` → ``completed``, or ``canceled`` from any of
the first three (A keeps the caller, the caller hung up, B left before the hand-over, or the
caller waited alone for ``max_wait``). An offer B refuses or misses sends the entry back to
``waiting``, at the head again. It is never offered to A (``acd:transfers``, reserve.lua);
once A has left, the sweep (`sweep`) relaxes it to any counsellor after ``skill_relax_after``
and ends it after ``max_wait`` (docs/incall.md §4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from twilio.base.exceptions import TwilioRestException

from acd import jobs, routing, twilio_ops
from acd.errors import AcdError
from acd.store import MAX_ATTEMPTS, Acd
from helpline.log import get_logger
from helpline.runtime import Runtime

log = get_logger("acd.transfer")

PREFIX = "xfer-"
#: Entry states as the console names them.
CONSOLE_STATES = {"waiting": "waiting", "offered": "offering", "joined": "joined"}
#: Conference statuses of a conference that is not over.
LIVE_CONFERENCE = ("init", "in-progress")
#: Inside a web request (the console, a webhook): answer quickly.
REST_TIMEOUT_S = 5.0


class TransferRefused(AcdError):
    """The transfer cannot be started or moved on; ``kind`` says why."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


@dataclass(frozen=True)
class Step:
    """What one step did, and the legs the edge must act on."""

    result: str  # joined | completed | canceled | orphaned | noop | stale | none
    rid: str  # A's reservation (the call's conference is res-<rid>)
    counsellor_leg: str | None = None  # A's leg
    colleague_leg: str | None = None  # B's leg
    call_sid: str | None = None  # the caller
    before: str = ""  # the entry's state before the step
    colleague_rid: str = ""  # B's reservation (offer) as the step saw it


def is_transfer(call_sid: str | None) -> bool:
    """True for a transfer entry's id (``xfer-<rid>``), which is not a caller's CallSid."""
    return bool(call_sid) and str(call_sid).startswith(PREFIX)


def _strs(raw: object) -> list[Any]:
    return cast(list[Any], raw)


def _hash(raw: object) -> dict[str, str]:
    return cast(dict[str, str], raw)


def _live_rid(acd: Acd, counsellor_id: str) -> str:
    """The counsellor's accepted call's reservation id, or raise ``not_on_call``."""
    counsellor = acd.get_counsellor(counsellor_id)
    if counsellor is None or not counsellor.reservation_id:
        raise TransferRefused("not_on_call", "Vous n'êtes pas en communication.")
    return counsellor.reservation_id


def caller_of(acd: Acd, rid: str) -> str | None:
    """The caller's CallSid of reservation ``rid`` (a transferred call's included)."""
    found = _strs(acd.redis.hmget(acd.keys.reservation(rid), ["call_sid", "caller_call_sid"]))
    sid = found[1] or found[0]
    return None if sid is None or is_transfer(sid) else str(sid)


# -- the ACD steps --------------------------------------------------------------------------


def start(acd: Acd, counsellor_id: str, skill: str) -> str:
    """Ask for a colleague with ``skill`` for the counsellor's call; the transfer id.

    Raises `TransferRefused`: ``unknown_skill``, ``not_on_call``, ``running``."""
    if skill not in acd.skills:
        raise TransferRefused("unknown_skill", f"Compétence inconnue : {skill[:40]!r}.")
    rid = _live_rid(acd, counsellor_id)
    k = acd.keys
    call_sid, caller_sid, language = _strs(
        acd.redis.hmget(k.reservation(rid), ["call_sid", "caller_call_sid", "language"])
    )
    sid = caller_sid or call_sid
    if not sid:
        raise TransferRefused("not_on_call", "Vous n'êtes pas en communication.")
    lang = routing.routing_value(language or "", acd.languages, acd.default_language)
    keys = [k.reservation(rid), k.counsellor(counsellor_id), k.caller(sid), k.transfer_entry(rid)]
    args = [rid, counsellor_id, sid, skill, routing.pool_name(skill, lang)]
    answer = [str(x) for x in acd.scripts.run("transfer_start", acd._now_ms(), keys, args)]
    if answer[0] == "not_on_call":
        raise TransferRefused("not_on_call", "Vous n'êtes pas en communication.")
    if answer[0] == "running":
        raise TransferRefused("running", "Un transfert est déjà en cours pour cet appel.")
    if answer[0] == "unknown_skill":
        raise TransferRefused("unknown_skill", f"Personne ne peut avoir la compétence {skill}.")
    log.info("acd.transfer_requested", call_sid=sid, counsellor=counsellor_id, reservation=rid)
    return answer[1]


def _step(acd: Acd, rid: str, mode: str, offer: tuple[str, str] | None = None) -> Step:
    """Run ``transfer_step`` for the transfer of call ``rid``. ``offer`` (rid2, B): act only
    if that offer is still the transfer's current one (else ``stale``)."""
    k = acd.keys
    entry = k.transfer_entry(rid)
    found = _strs(acd.redis.hmget(entry, ["rid", "counsellor", "call_sid", "from_counsellor"]))
    b_rid, b_cid, sid, a_cid = (x or "" for x in found)
    if not sid:
        return Step("none", rid)
    if offer is not None:
        b_rid, b_cid = offer
    for _ in range(MAX_ATTEMPTS):
        keys = [
            entry,
            k.reservation(rid),
            k.counsellor(a_cid),
            k.reservation(b_rid),
            k.counsellor(b_cid),
            k.caller(sid),
        ]
        args = [f"{PREFIX}{rid}", mode, b_rid, b_cid, acd._today()]
        answer = [str(x) for x in acd.scripts.run("transfer_step", acd._now_ms(), keys, args)]
        if answer[0] == "retry":
            if offer is not None:  # the offer pressed is no longer the transfer's
                return Step("stale", rid)
            b_rid, b_cid = answer[1], answer[2]
            continue
        result, a_leg, b_leg, call_sid, before, rid2 = answer
        step = Step(result, rid, a_leg or None, b_leg or None, call_sid or None, before, rid2)
        if result not in ("noop", "none", "stale"):
            log.info(
                "acd.transfer_step",
                mode=mode,
                result=result,
                reservation=rid,
                call_sid=call_sid,
                counsellor=a_cid,
                colleague=b_cid or None,
            )
        return step
    raise AcdError(f"transfer of {rid}: offers kept changing")  # pragma: no cover


def transfer_of(acd: Acd, rid2: str) -> tuple[str, str] | None:
    """(A's rid, B's id) when reservation ``rid2`` is a transfer offer, else None."""
    found = _strs(
        acd.redis.hmget(acd.keys.reservation(rid2), ["kind", "transfer_of", "counsellor_id"])
    )
    if found[0] != "transfer" or not found[1] or not found[2]:
        return None
    return str(found[1]), str(found[2])


def accept(acd: Acd, rid2: str) -> Step:
    """B pressed 1 on transfer offer ``rid2``: ``joined`` (A briefs B), ``completed`` (A had
    already left: B takes over at once), or ``stale``."""
    found = transfer_of(acd, rid2)
    if found is None:
        return Step("stale", "")
    rid, cid = found
    return _step(acd, rid, "accept", (rid2, cid))


def complete(acd: Acd, counsellor_id: str) -> Step:
    """A hands over: the call is B's from now on (``completed``; ``noop`` before B joined)."""
    return _step(acd, _live_rid(acd, counsellor_id), "complete")


def cancel(acd: Acd, counsellor_id: str) -> Step:
    """A keeps the caller ("stay with me"): ``canceled``, or ``noop`` when nothing runs."""
    return _step(acd, _live_rid(acd, counsellor_id), "cancel")


def caller_gone(acd: Acd, call_sid: str) -> Step | None:
    """The caller hung up: a running transfer is canceled (B's ringing leg to hang up)."""
    xid = acd.redis.hget(acd.keys.caller(call_sid), "xfer")
    if not xid or not is_transfer(str(xid)):
        return None
    return _step(acd, str(xid)[len(PREFIX) :], "caller_gone")


def owner_left(acd: Acd, rid: str) -> Step | None:
    """A's leg ended with a transfer running: ``completed`` (B had joined), ``orphaned`` (the
    caller waits for B), else None: an ordinary end (`Acd.call_ended`)."""
    if not acd.redis.hget(acd.keys.reservation(rid), "xfer"):
        return None
    step = _step(acd, rid, "owner_left")
    return step if step.result in ("completed", "orphaned") else None


def colleague_left(acd: Acd, rid2: str) -> Step | None:
    """B's leg ended before the hand-over: ``canceled`` (A keeps the caller); None when the
    transfer was complete (an ordinary end of B's call)."""
    found = transfer_of(acd, rid2)
    if found is None:
        return None
    step = _step(acd, found[0], "colleague_left", (rid2, found[1]))
    return step if step.result == "canceled" else None


def live_transfers(acd: Acd) -> dict[str, str]:
    """Live transfers: entry id (``xfer-<rid>``) → the id of the counsellor who asked."""
    return _hash(acd.redis.hgetall(acd.keys.transfers))


def tick(acd: Acd) -> list[Step]:
    """The sweep's step for transfers whose caller waits alone (A left first): after
    ``skill_relax_after`` any available counsellor but A may take it (``relaxed``); after
    ``max_wait`` the transfer ends (``overflowed``: the edge plays the alternatives)."""
    steps = [_step(acd, xid[len(PREFIX) :], "tick") for xid in live_transfers(acd)]
    return [s for s in steps if s.result in ("relaxed", "overflowed")]


def waiting(acd: Acd) -> list[dict[str, Any]]:
    """Transfers waiting for a colleague (or being offered to one), oldest request first,
    for the duty managers' live view: no caller identity, the skill and who asked."""
    xids = list(live_transfers(acd))
    pipe = acd.redis.pipeline(transaction=False)
    for xid in xids:
        pipe.hgetall(acd.keys.caller(xid))
    rows = []
    for xid, h in zip(xids, pipe.execute(), strict=True):
        if h.get("state") not in ("waiting", "offered"):
            continue
        rows.append(
            {
                "transfer": xid,
                "state": h["state"],
                "skill": h.get("skill", ""),
                "language": h.get("language", ""),
                "platform": h.get("platform", "unknown"),
                "caller_type": h.get("caller_type", "unknown"),
                "from_counsellor": h.get("from_counsellor", ""),
                "counsellor": h.get("counsellor") if h["state"] == "offered" else None,
                "requested_ms": int(h.get("requested_at", 0)),
                "alone": h.get("orphan") == "1",
                "relaxed": h.get("relaxed") == "1",
            }
        )
    return sorted(rows, key=lambda r: (r["requested_ms"], r["transfer"]))


def entry_state(acd: Acd, rid: str) -> str | None:
    """The state of the transfer of call ``rid`` (None: there never was one, or long ago)."""
    state = acd.redis.hget(acd.keys.transfer_entry(rid), "state")
    return None if state is None else str(state)


def entry_reason(acd: Acd, rid: str) -> str | None:
    """Why the transfer of call ``rid`` was canceled (``stay``, ``caller_gone``,
    ``colleague_left``, ``max_wait``), None otherwise."""
    reason = acd.redis.hget(acd.keys.transfer_entry(rid), "reason")
    return None if reason is None else str(reason)


def status(acd: Acd, counsellor_id: str) -> dict[str, Any]:
    """The counsellor's transfer for the console: as A (``role: owner``) or as B
    (``role: colleague``). ``state``: none | waiting | offering | joined | canceled."""
    counsellor = acd.get_counsellor(counsellor_id)
    rid = counsellor.reservation_id if counsellor else None
    if not rid:
        return {"state": "none"}
    found = transfer_of(acd, rid)
    if found is not None:  # B's side: a transfer offered to them, or joined
        a_rid = found[0]
        entry = _hash(acd.redis.hgetall(acd.keys.transfer_entry(a_rid)))
        if entry.get("rid") != rid:
            return {"state": "none"}
        owner = acd.get_counsellor(entry.get("from_counsellor", ""))
        return {
            "role": "colleague",
            "state": CONSOLE_STATES.get(entry.get("state", ""), entry.get("state", "none")),
            "skill": entry.get("skill"),
            "from": owner.name if owner else None,
        }
    entry = _hash(acd.redis.hgetall(acd.keys.transfer_entry(rid)))
    if not entry:
        return {"state": "none"}
    colleague = acd.get_counsellor(entry["counsellor"]) if entry.get("counsellor") else None
    return {
        "role": "owner",
        "state": CONSOLE_STATES.get(entry.get("state", ""), entry.get("state", "none")),
        "skill": entry.get("skill"),
        "colleague": colleague.name if colleague else None,
        "reason": entry.get("reason"),
    }


# -- the Twilio side --------------------------------------------------------------------------


def conference_rid(runtime: Runtime, rid: str) -> str:
    """The reservation id naming the conference of reservation ``rid``'s call (its own, or
    the first reservation's after a transfer)."""
    return str(runtime.redis.hget(runtime.keys.reservation(rid), "conference") or rid)


def conference_sid(runtime: Runtime, rid: str) -> str | None:
    """The SID of the live conference of ``rid``'s call (participant updates need the SID): in
    progress, or still starting (``init``: the caller is on the way in)."""
    client = twilio_ops.with_timeout(runtime.twilio, REST_TIMEOUT_S)
    name = twilio_ops.conference_name(conference_rid(runtime, rid))
    found = client.conferences.list(friendly_name=name, limit=20)
    live = [c for c in found if c.status in LIVE_CONFERENCE]
    return str(live[0].sid) if live else None


def set_end_on_exit(runtime: Runtime, rid: str, leg: str | None, value: bool) -> bool:
    """Whether ``leg`` leaving ends the conference of ``rid``; False when it could not be set."""
    if not leg:
        return False
    try:
        sid = conference_sid(runtime, rid)
        if sid is None:
            log.warning("acd.transfer_no_conference", reservation=rid)
            return False
        client = twilio_ops.with_timeout(runtime.twilio, REST_TIMEOUT_S)
        client.conferences(sid).participants(leg).update(end_conference_on_exit=value)
    except (TwilioRestException, OSError) as exc:
        log.error(
            "acd.transfer_participant_failed",
            reservation=rid,
            counsellor_call_sid=leg,
            error=type(exc).__name__,
        )
        return False
    return True


def escalated(runtime: Runtime, rid: str) -> bool:
    """True when 17/112/119 was brought into the call of reservation ``rid``
    (incall/escalate.py): its counsellor leaving must never end the conference again."""
    return bool(runtime.redis.hget(runtime.keys.reservation(rid), "escalated"))


def restore_end_on_exit(runtime: Runtime, rid: str, leg: str | None) -> bool:
    """A transfer stopped: ``leg`` (the counsellor keeping the call) leaving ends the
    conference again, as for any call, unless an emergency service was brought in (the caller
    stays with it). False when it could not be set."""
    if escalated(runtime, rid):
        log.info("acd.transfer_keeps_conference", reservation=rid, reason="escalated")
        return True
    return set_end_on_exit(runtime, rid, leg, True)


def hold_path(rid: str) -> str:
    """TwiML of a caller whose counsellor left before the colleague arrived."""
    return f"/voice/transfer/{rid}/hold"


def hold_caller(runtime: Runtime, rid: str, call_sid: str) -> bool:
    """Send the caller (alone in the conference) to `hold_path`: told, then waiting with
    music in the same conference until B joins. False when the call is over."""
    client = twilio_ops.with_timeout(runtime.twilio, REST_TIMEOUT_S)
    try:
        client.calls(call_sid).update(url=runtime.public_url(hold_path(rid)), method="POST")
    except TwilioRestException as exc:
        if twilio_ops.is_gone(exc):
            return False
        raise
    return True


def sweep(runtime: Runtime, acd: Acd) -> list[str]:
    """The sweep's step (acd.jobs.sweep): `tick`, then a caller whose transfer waited
    ``max_wait`` alone is sent to `hold_path`, which now plays the overflow alternatives
    (17/112/119, the website) and hangs up. The transfers that changed."""
    changed = []
    for step in tick(acd):
        changed.append(f"{PREFIX}{step.rid}")
        if step.result != "overflowed" or not step.call_sid:
            continue
        log.warning("acd.transfer_overflowed", reservation=step.rid, call_sid=step.call_sid)
        try:
            held = hold_caller(runtime, step.rid, step.call_sid)
        except (TwilioRestException, OSError) as exc:  # the caller's hang-up will clean up
            log.error("acd.transfer_hold_failed", reservation=step.rid, error=type(exc).__name__)
            held = True
        if not held:  # the caller's call is over
            jobs.after_caller_gone(runtime, acd.caller_gone(step.call_sid))
    return changed


def leg_ended(runtime: Runtime, acd: Acd, rid: str) -> bool:
    """A counsellor's leg of accepted reservation ``rid`` ended during a transfer: A's leg
    completes the hand-over (B joined) or leaves the caller waiting for B (held, told);
    B's leg before the hand-over gives the call back to A. False: an ordinary end."""
    step = owner_left(acd, rid)
    if step is not None:
        if step.result == "completed":  # the call is B's: B leaving now ends it
            restore_end_on_exit(runtime, rid, step.colleague_leg)
        elif step.call_sid:
            try:
                held = hold_caller(runtime, rid, step.call_sid)
            except (TwilioRestException, OSError) as exc:
                log.error("acd.transfer_hold_failed", reservation=rid, error=type(exc).__name__)
                held = True  # alive as far as we know; their hang-up will clean up
            if not held:  # the caller's call is over too
                jobs.after_caller_gone(runtime, acd.caller_gone(step.call_sid))
        return True
    step = colleague_left(acd, rid)
    if step is not None:  # A keeps the caller: A leaving ends the call again
        restore_end_on_exit(runtime, step.rid, step.counsellor_leg)
        return True
    return False
