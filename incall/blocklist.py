"""The blocklist: duty managers keep an abusive caller off the line for a while.

A caller is known only by the keyed hash of their number (``caller`` in the call record,
``h:<32 hex>``), never by the number. Entries live in a zset scored by the end of the block
(``incall:blocked``) with their details beside it (``incall:blocks``); the injected clock
decides what has expired and every write prunes the past. Adding and lifting a block are one
Lua script each, with their audit entry (``audit`` stream: who, when, why, until).

A blocked caller hears the line's "all counsellors are busy" message followed by the
alternatives (17/112, 119, the website) and the call ends: neutral (it tells an abuser
nothing) and still safe for a child in danger who happens to be on the list. The call's
outcome is ``overflowed`` with reason ``blocked`` (see docs/incall.md).
"""

from __future__ import annotations

import builtins
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from helpline.clock import from_ms, to_ms
from helpline.runtime import Runtime
from incall.scripts import AUDIT_MAXLEN, script

HASH_RE = re.compile(r"^h:[0-9a-f]{32}$")  # helpline.privacy.pseudonymise's output
CALL_SID_RE = re.compile(r"^CA[0-9a-fA-F]{32}$")
MAX_REASON = 200


class BlocklistError(ValueError):
    """A block that cannot be made (bad hash, unknown call, anonymous caller, bad duration)."""


@dataclass(frozen=True)
class Block:
    """One live blocklist entry."""

    caller: str  # the keyed hash
    until: datetime
    by: str
    reason: str
    at: datetime | None
    call_sid: str | None  # the call it was made from, if any


def check_hash(caller_hash: str) -> str:
    """A caller's keyed hash, or raise: never a number, never the shared ``anonymous``."""
    value = caller_hash.strip()
    if value == "anonymous":
        raise BlocklistError("this caller withheld their number: blocking would block everyone")
    if not HASH_RE.match(value):
        raise BlocklistError("a caller is named by their keyed hash (h:…), never by a number")
    return value


def caller_of_call(runtime: Runtime, call_sid: str) -> str:
    """The keyed hash of the caller of ``call_sid`` (from its call record), or raise."""
    sid = call_sid.strip()
    if not CALL_SID_RE.match(sid):
        raise BlocklistError("a CallSid is CA followed by 32 hexadecimal digits")
    caller = runtime.redis.hget(runtime.keys.call(sid), "caller")
    if not caller:
        raise BlocklistError("no call record for this CallSid (unknown or past retention)")
    return check_hash(cast(str, caller))


def is_blocked(runtime: Runtime, caller_hash: str) -> bool:
    """True while ``caller_hash`` is blocked (one round trip: ZSCORE)."""
    if not can_be_blocked(caller_hash):
        return False  # anonymous or malformed: never blocked
    score = runtime.redis.zscore(runtime.keys.incall_blocked, caller_hash)
    return block_active(score, runtime.clock.now())


def can_be_blocked(caller_hash: str) -> bool:
    """True for a pseudonym (anonymous and malformed callers are never blocked)."""
    return bool(HASH_RE.match(caller_hash))


def block_active(score: float | None, now: datetime) -> bool:
    """True when a block ending at ``score`` (ms, the blocklist's zset score) is still on."""
    return score is not None and score > to_ms(now)


def block(
    runtime: Runtime,
    caller_hash: str,
    until: datetime,
    by: str,
    reason: str,
    *,
    call_sid: str | None = None,
) -> bool:
    """Block ``caller_hash`` until ``until`` (audited as ``by``); False when it replaced a block."""
    caller = check_hash(caller_hash)
    now = runtime.clock.now()
    longest = timedelta(hours=runtime.config.incall.max_block_hours)
    if until <= now or until - now > longest:
        raise BlocklistError(f"a block ends in the future, within {longest.days} days")
    reason = " ".join(reason.split())[:MAX_REASON]
    if not reason:
        raise BlocklistError("say why the caller is blocked (it is audited)")
    details = {"by": by, "reason": reason, "at": to_ms(now), "until": to_ms(until)}
    if call_sid:
        details["call"] = call_sid
    k = runtime.keys
    created = script(runtime.redis, "block")(
        keys=[k.incall_blocked, k.incall_blocks, k.audit],
        args=[
            to_ms(now), caller, to_ms(until), by, reason,
            json.dumps(details, sort_keys=True), AUDIT_MAXLEN,
        ],
    )  # fmt: skip
    return bool(created)


def unblock(runtime: Runtime, caller_hash: str, by: str, reason: str = "") -> bool:
    """Lift a block before its end (audited); False when the caller was not blocked."""
    caller = check_hash(caller_hash)
    k = runtime.keys
    lifted = script(runtime.redis, "unblock")(
        keys=[k.incall_blocked, k.incall_blocks, k.audit],
        args=[
            to_ms(runtime.clock.now()), caller, by, " ".join(reason.split())[:MAX_REASON],
            AUDIT_MAXLEN,
        ],
    )  # fmt: skip
    return bool(lifted)


def entries(runtime: Runtime) -> builtins.list[Block]:
    """Every live block, soonest end first (expired ones are pruned on the way)."""
    k = runtime.keys
    flat = cast(
        builtins.list[Any],  # ``list`` is rebound at the bottom of this module
        script(runtime.redis, "blocked_list")(
            keys=[k.incall_blocked, k.incall_blocks], args=[to_ms(runtime.clock.now())]
        ),
    )
    found: builtins.list[Block] = []
    for i in range(0, len(flat), 3):
        details = _details(flat[i + 2])
        at = details.get("at")
        found.append(
            Block(
                caller=str(flat[i]),
                until=from_ms(int(float(flat[i + 1]))),
                by=str(details.get("by", "")),
                reason=str(details.get("reason", "")),
                at=from_ms(int(at)) if isinstance(at, int) else None,
                call_sid=details.get("call") or None,
            )
        )
    return found


def _details(raw: object) -> dict[str, Any]:
    try:
        value = json.loads(str(raw))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# The API the issue names, ``blocklist.list(runtime)``; defined last: it shadows the builtin.
list = entries
