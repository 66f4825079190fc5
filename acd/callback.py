"""Virtual hold: a waiting caller asks to be called back and keeps their place.

When a caller's estimated wait is long and they call from a number we can call back, the
waitUrl offers a key (``[acd] callback_key``). Pressing it marks them *virtual*: they keep their
order key and pools (their place), their Twilio call ends, and their number is kept **sealed**
(AES-GCM, key derived from ``SECRET_KEY``, the CallSid as associated data) in
``acd:callback:<CallSid>`` until the callback ends: deleted when the callback is answered or
missed for good, with a TTL as a safety net. It is the one exception to "no raw number in
Redis" (docs/DOMAIN.md), and the number never appears in clear in Redis, logs or events.

When their turn comes, the counsellor is offered the call as usual (the whisper says it is a
callback); on acceptance the counsellor waits in the conference while the job
`acd.jobs.place_callback` calls the number. Answered: outcome ``answered`` (the wait counts to
the callback's answer). Not answered: the counsellor is free again (no miss), and the caller is
tried again ``callback_retry_after`` seconds later, still first in the queue; after
``callback_attempts`` attempts, outcome ``abandoned`` with reason ``callback_missed`` and the
missed callback is listed for the duty managers (``acd:callbacks_missed``).

This module holds the pure rules (who may be offered a callback), the sealing, and `Callbacks`,
the typed wrappers of the ``acd/lua/callback_*.lua`` scripts (each one read-decide-write).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from acd.errors import AcdError
from acd.store import OFFER_GRACE_S, Acd
from helpline.clock import from_ms, to_ms
from helpline.log import get_logger
from helpline.settings import AcdSection

log = get_logger("acd.callback")

#: Seconds the caller's phone rings for a callback before it counts as not answered.
CALLBACK_RING_S = 30
#: Statuses of the callback leg meaning it never reached the caller.
LEG_FAILED = ("busy", "no-answer", "failed", "canceled")
#: Seconds added to the rescue deadline (`rescue_after_s`) for RQ's retries of
#: ``place_callback`` (1 + 3 + 9 s between four attempts, each with a REST timeout).
RESCUE_GRACE_S = 60

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
#: What Twilio may put in ``From`` for a withheld number besides the word ``anonymous`` (which
#: is not E.164 anyway): the words spelt on a keypad (+266696687 is ANONYMOUS, +7378742833
#: RESTRICTED, +2562533 BLOCKED, +8656696 UNAVAIL).
_WITHHELD_NUMBERS = frozenset({"+266696687", "+7378742833", "+2562533", "+8656696"})
_INFO = b"3018 helpline: virtual hold callback number, v1"


# -- the rules (pure) -------------------------------------------------------------------------


def callable_number(raw: str | None, own_numbers: Iterable[str] = ()) -> str | None:
    """The E.164 number a caller can be called back on, or None: withheld, an in-app call
    (``client:``), SIP (``sip:``), anything else that is not a plain E.164 number, or one of the
    helpline's own numbers."""
    value = (raw or "").strip().replace(" ", "")
    if not _E164.match(value) or value in _WITHHELD_NUMBERS:
        return None
    if value in {n.replace(" ", "") for n in own_numbers}:
        return None
    return value


def offer_due(estimate_s: int | None, number: str | None, settings: AcdSection) -> bool:
    """Offer a callback: virtual hold is on, the estimated wait is at least
    ``callback_offer_after`` and there is a number to call back."""
    if not settings.callback_offer_after or number is None or estimate_s is None:
        return False
    return estimate_s >= settings.callback_offer_after


def rescue_after_s(settings: AcdSection) -> int:
    """Seconds after a callback's acceptance past which an attempt that never recorded its
    callback leg is given up (its ``place_callback`` job was lost): the offer timeout, the
    callback's ringing time, the offer grace and `RESCUE_GRACE_S` for the job's retries. By
    then a placed callback would have been answered or reported unanswered."""
    return settings.offer_timeout + CALLBACK_RING_S + OFFER_GRACE_S + RESCUE_GRACE_S


# -- sealing ----------------------------------------------------------------------------------


def _aead(secret_key: str) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        secret_key.encode()
    )
    return AESGCM(key)


def seal(secret_key: str, call_sid: str, number: str) -> str:
    """The number encrypted and authenticated for this call only (AES-GCM, random nonce)."""
    nonce = os.urandom(12)
    sealed = _aead(secret_key).encrypt(nonce, number.encode(), call_sid.encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(secret_key: str, call_sid: str, token: str) -> str | None:
    """The number back, or None when the token was not sealed for this call with this key."""
    try:
        raw = base64.urlsafe_b64decode(token.encode())
        return _aead(secret_key).decrypt(raw[:12], raw[12:], call_sid.encode()).decode()
    except (InvalidTag, ValueError, binascii.Error):
        return None


# -- the atomic steps -------------------------------------------------------------------------


@dataclass(frozen=True)
class MissedCallback:
    """A callback nobody answered, for the duty managers (no number: there is none left)."""

    call_sid: str
    at: datetime
    platform: str
    caller_type: str
    reason: str  # callback_missed | callback_expired
    tries: int


class Callbacks:
    """The virtual-hold operations on one ACD (same Redis, clock and scripts)."""

    def __init__(self, acd: Acd) -> None:
        self.acd = acd
        self.keys = acd.keys
        self.redis = acd.redis
        self.secret = acd.runtime.settings.secret_key

    def _now_ms(self) -> int:
        return to_ms(self.acd.runtime.clock.now())

    def _run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        return self.acd.scripts.run(name, self._now_ms(), keys, args)

    def request(self, call_sid: str, number: str) -> str:
        """The caller pressed the key: ``ok`` (waiting for a callback, their place kept and
        their number sealed), ``offered`` (a counsellor is being offered them right now: they
        stay on the line) or ``not_waiting``."""
        sealed = seal(self.secret, call_sid, number)
        keys = [self.keys.caller(call_sid), self.keys.callback_number(call_sid)]
        answer = str(self._run("callback_request", keys, [call_sid, sealed]))
        log.info("acd.callback_requested", call_sid=call_sid, result=answer)
        return answer

    def is_virtual(self, call_sid: str) -> bool:
        """True once the caller asked to be called back."""
        return self.redis.hget(self.keys.caller(call_sid), "callback") == "1"

    def number(self, call_sid: str) -> str | None:
        """The number to call back (decrypted here, for the REST request only); None when it
        is gone (expired, deleted) or cannot be opened."""
        token = self.redis.get(self.keys.callback_number(call_sid))
        return unseal(self.secret, call_sid, str(token)) if token else None

    def _parties(self, rid: str) -> tuple[str, str]:
        call_sid, cid = self.redis.hmget(self.keys.reservation(rid), ["call_sid", "counsellor_id"])
        return str(call_sid or ""), str(cid or "")

    def accept(self, rid: str) -> str:
        """The counsellor accepted a callback offer: ``calling`` (call the caller now; also
        for a repeat), ``caller_gone``, ``stale`` or ``not_callback``."""
        sid, cid = self._parties(rid)
        if not sid:
            return "stale"
        k = self.keys
        keys = [k.reservation(rid), k.caller(sid), k.counsellor(cid)]
        answer = str(self._run("callback_accept", keys, [rid, sid, cid]))
        if answer == "mismatch":  # pragma: no cover - reservation ids are written once
            raise AcdError(f"reservation {rid} changed under callback_accept")
        log.info(
            "acd.callback_accept", call_sid=sid, counsellor=cid, reservation=rid, result=answer
        )
        return answer

    def placed(self, rid: str, leg: str) -> bool:
        """Remember the callback leg's CallSid; False when this attempt is over."""
        return bool(self._run("callback_placed", [self.keys.reservation(rid)], [rid, leg]))

    def answered(self, rid: str, leg: str) -> str:
        """The caller picked up the callback: ``answered`` (outcome recorded, number deleted),
        ``counsellor_gone`` (called again later, no attempt counted) or ``stale``."""
        sid, cid = self._parties(rid)
        if not sid:
            return "stale"
        k = self.keys
        keys = [
            k.reservation(rid), k.caller(sid), k.counsellor(cid), k.call(sid),
            k.callback_number(sid),
        ]  # fmt: skip
        answer = str(self._run("callback_answered", keys, [rid, sid, cid, leg, self.acd._today()]))
        if answer == "mismatch":  # pragma: no cover
            raise AcdError(f"reservation {rid} changed under callback_answered")
        log.info("acd.callback_answered", call_sid=sid, counsellor=cid, reservation=rid,
                 callback_call_sid=leg, result=answer)  # fmt: skip
        return answer

    def failed(
        self, rid: str, leg: str, reason: str, *, final: bool = False, rescue_after: int = 0
    ) -> str:
        """A callback attempt did not reach the caller: ``retry`` (again later, first in the
        queue), ``missed`` (for good: abandoned, number deleted, listed) or ``noop``.
        ``rescue_after`` (s, the sweep's rescue): only an attempt that recorded no leg that
        long after its acceptance, and it costs the caller no attempt."""
        sid, cid = self._parties(rid)
        if not sid:
            return "noop"
        k = self.keys
        keys = [
            k.reservation(rid), k.caller(sid), k.counsellor(cid), k.call(sid),
            k.callback_number(sid),
        ]  # fmt: skip
        args = [rid, sid, cid, leg, reason, "1" if final else "0", rescue_after or ""]
        answer = str(self._run("callback_failed", keys, args))
        if answer == "mismatch":  # pragma: no cover
            raise AcdError(f"reservation {rid} changed under callback_failed")
        log.info("acd.callback_failed", call_sid=sid, counsellor=cid, reservation=rid,
                 callback_call_sid=leg or None, reason=reason, result=answer)  # fmt: skip
        return answer

    def expire_due(self) -> list[str]:
        """Callers still waiting for a callback past ``callback_ttl``: missed for good."""
        now = self._now_ms()
        due = cast(list[str], self.redis.zrangebyscore(self.keys.callbacks, "-inf", now))
        k = self.keys
        expired = [
            sid
            for sid in due
            if self._run(
                "callback_expire", [k.caller(sid), k.call(sid), k.callback_number(sid)], [sid]
            )
        ]
        for sid in expired:
            log.info("acd.callback_expired", call_sid=sid)
        return expired

    def rescue_stuck(self, after_s: int) -> list[str]:
        """Callbacks accepted more than ``after_s`` ago that never recorded a callback leg (the
        ``place_callback`` job was lost, e.g. with a killed worker): each attempt fails as
        ``not_placed`` (the caller keeps their place, the counsellor is available, no miss).
        The reservation ids rescued (their counsellor's leg is to be hung up)."""
        k = self.keys
        sids = cast(list[str], self.redis.zrange(k.callbacks, 0, -1))
        pipe = self.redis.pipeline(transaction=False)
        for sid in sids:
            pipe.hmget(k.caller(sid), ["state", "rid"])
        calling = [str(rid) for state, rid in pipe.execute() if state == "calling" and rid]
        for rid in calling:
            pipe.hmget(k.reservation(rid), ["callback_status", "callback_call_sid", "accepted_at"])
        limit = self._now_ms() - after_s * 1000
        rescued = []
        for rid, (status, leg, accepted_at) in zip(calling, pipe.execute(), strict=True):
            if status != "dialling" or leg or int(accepted_at or 0) > limit:
                continue
            if self.failed(rid, "", "not_placed", rescue_after=after_s) == "retry":
                rescued.append(rid)
                log.warning("acd.callback_rescued", reservation=rid)
        return rescued

    def waiting_count(self) -> int:
        """Callers waiting for a callback now (being called included)."""
        return int(self.redis.zcard(self.keys.callbacks))

    def missed(self, limit: int = 100) -> list[MissedCallback]:
        """Callbacks missed for good in the last 24 h, newest first (duty managers' list)."""
        rows = cast(
            list[tuple[str, float]],
            self.redis.zrevrange(self.keys.callbacks_missed, 0, limit - 1, withscores=True),
        )
        pipe = self.redis.pipeline(transaction=False)
        for sid, _ in rows:
            pipe.hmget(
                self.keys.caller(sid), ["platform", "caller_type", "reason", "callback_tries"]
            )
        found = []
        for (sid, at), (platform, caller_type, reason, tries) in zip(
            rows, pipe.execute(), strict=True
        ):
            found.append(
                MissedCallback(
                    call_sid=sid,
                    at=from_ms(int(at)),
                    platform=platform or "unknown",
                    caller_type=caller_type or "unknown",
                    reason=reason or "callback_missed",
                    tries=int(tries or 0),
                )
            )
        return found
