"""Abuse limits: sliding windows on tokens, calls and figures, and a cap on calls in progress.

Every check is one Lua script on the injected clock (the time goes in through ARGV), so that
parallel requests in several processes cannot slip past a limit. A limit of 0 is off.

For the voice flow (wired by the ivr package):

- `call_started(runtime, platform, call_sid, identity=None) -> bool` when a call whose tag was
  taken from a partner identity (``client:p.<platform>.…``) arrives. False: a limit refused it
  (too many calls of that platform in progress, too many started this minute, or too many with
  one token); the refusal is counted in ``keys.partner_refused``. Idempotent per CallSid.
- `call_ended(runtime, platform, call_sid)` on the call's final status: it no longer counts.
  A call whose end is never reported stops counting after ``[partners] stale_call`` seconds.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from helpline.clock import to_ms
from helpline.runtime import Runtime
from partners.scripts import script

MINUTE_MS = 60_000
TOKEN_CALLS_WINDOW_MS = 3_600_000  # a token's calls are counted for an hour (it lives minutes)


@dataclass(frozen=True)
class Window:
    """One limit: at most ``limit`` events per ``window_ms`` in ``scope``."""

    scope: str
    limit: int
    window_ms: int = MINUTE_MS


@dataclass(frozen=True)
class Verdict:
    """Allowed, or refused by ``scope`` with the seconds to wait before trying again."""

    allowed: bool
    scope: str | None = None
    retry_after: int = 0


def pseudonym(runtime: Runtime, value: str) -> str:
    """A keyed hash naming a client (an IP address, an app's user id) in Redis, never raw."""
    key = runtime.settings.secret_key.encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]


def hit(runtime: Runtime, windows: Sequence[Window]) -> Verdict:
    """Count one event in every window, or in none when one of them is full."""
    if not windows:
        return Verdict(True)
    args: list[int | str] = [to_ms(runtime.clock.now()), secrets.token_hex(8)]
    for w in windows:
        args += [max(0, w.limit), w.window_ms]
    allowed, index, *rest = script(runtime.redis, "rate_limit")(
        keys=[runtime.keys.partner_rate(w.scope) for w in windows], args=args
    )
    if int(allowed):
        return Verdict(True)
    wait_ms = int(rest[0]) if rest else MINUTE_MS
    return Verdict(False, windows[int(index) - 1].scope, max(1, -(-wait_ms // 1000)))


def call_started(
    runtime: Runtime, platform: str, call_sid: str, identity: str | None = None
) -> bool:
    """Admit a platform's call under its limits (see the module doc); False: refused."""
    partners = runtime.config.partners
    limits = partners.platform(platform).limits
    token_scope = f"token:{identity}" if identity else "token:-"
    admitted, _reason = script(runtime.redis, "call_started")(
        keys=[
            runtime.keys.partner_active(platform),
            runtime.keys.partner_rate(f"calls:{platform}"),
            runtime.keys.partner_rate(token_scope),
            runtime.keys.partner_refused,
        ],
        args=[
            to_ms(runtime.clock.now()),
            call_sid,
            platform,
            partners.stale_call * 1000,
            limits.max_concurrent_calls,
            limits.calls_per_minute,
            MINUTE_MS,
            limits.calls_per_token if identity else 0,
            TOKEN_CALLS_WINDOW_MS,
        ],
    )
    return bool(int(admitted))


def call_ended(runtime: Runtime, platform: str, call_sid: str) -> bool:
    """The call is over: it no longer counts against the platform. False: it was not counted."""
    return bool(runtime.redis.zrem(runtime.keys.partner_active(platform), call_sid))


def active_calls(runtime: Runtime, platform: str) -> int:
    """The platform's calls in progress (not counting stale ones)."""
    now = to_ms(runtime.clock.now())
    since = now - runtime.config.partners.stale_call * 1000
    return int(runtime.redis.zcount(runtime.keys.partner_active(platform), since, "+inf"))
