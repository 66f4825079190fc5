"""The ACD's entry points for the voice flow.

These are the only ACD functions `ivr/` calls:

- ``enqueue(runtime, caller) -> EnqueueResult``: register a caller in the queue (atomic, Lua),
  or refuse with a reason (overflow, no counsellor logged in) after recording the outcome
  ``overflowed``. Idempotent for a CallSid already queued (answers its current position).
- ``caller_gone(runtime, call_sid)``: the caller's call ended (status callback ``completed``,
  ``busy``, ``failed``, ``no-answer``, ``canceled``): remove them from the queue and from any
  open offer, and record ``abandoned`` (with wait) unless an outcome exists. Idempotent.
- ``record_outcome(runtime, call_sid, outcome, **fields) -> bool``: set the call's one outcome
  (first writer wins, Lua), count it per platform (``stats:calls``) and append an event;
  False when the call already had one.
"""

from __future__ import annotations

from acd.model import EnqueueResult, GoneResult, Outcome, WaitingCaller
from acd.store import Acd
from helpline.runtime import Runtime


def enqueue(runtime: Runtime, caller: WaitingCaller) -> EnqueueResult:
    """Put ``caller`` in the ACD queue, or overflow them."""
    return Acd(runtime).enqueue(caller)


def caller_gone(runtime: Runtime, call_sid: str) -> GoneResult:
    """The caller hung up or the call ended: leave the queue, record abandoned if no outcome.

    Returns what happened; a pending offer that was ended is named so that the edge can cancel
    the counsellor's ringing leg (``acd.jobs`` does it when given the result)."""
    return Acd(runtime).caller_gone(call_sid)


def record_outcome(runtime: Runtime, call_sid: str, outcome: Outcome, **fields: object) -> bool:
    """Set the call's single outcome; False if it already had one."""
    return Acd(runtime).record_outcome(call_sid, outcome, **fields)
