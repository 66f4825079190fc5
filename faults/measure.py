"""The invariants of a fault run, as plain functions over plain snapshots (no processes).

Times are simulated seconds on the simulator's clock. The definitions (docs/reliability.md):

lost caller
    a caller the service failed, whatever the application recorded: heard Twilio's "an
    application error has occurred"; was cut off (the application ended the call, or left
    them alone in a conference that never started) without having talked to a counsellor,
    unless the application deliberately closed or overflowed the line for them; the
    application says ``answered`` but they never talked to anyone (unless they hung up
    themselves while being brought to the counsellor: counted in ``answered_then_hung_up``);
    or hung up while waiting after having been left unoffered for `IDLE_GRACE_S` while a
    counsellor was free.
without an outcome
    still live when the run stopped (the simulator's ``no_outcome``), or no ``outcome`` in
    the application's call record once the run has settled.
stuck counsellor
    once no call is live any more and the periodic sweep has had time to run, a counsellor
    still ``reserved`` or ``on_call``, or in ``wrap_up`` well past its wrap-up time.
double booking
    one counsellor talking in two calls at once: two of their legs connected at overlapping
    times, or two callers connected to them at overlapping times.
time to normal service
    from the end of the fault to the first connection of a caller who was waiting then or
    arrived later, counted from when such a caller was first in the queue.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

#: Simulated seconds a caller may be left unoffered while a counsellor is free before the
#: service counts as having failed them (dispatch normally takes well under a second).
IDLE_GRACE_S = 30.0
#: Simulated seconds past its end before a wrap-up counts as stuck (the sweep ends it).
WRAP_UP_GRACE_S = 60.0
#: The application's outcomes for which ending the call is the service working as designed.
DELIBERATE_ENDS = ("closed", "overflowed")


@dataclass(frozen=True)
class Caller:
    """What the measures need about one simulated caller."""

    sid: str
    outcome: str  # the simulator's: answered, abandoned, application_error, …, no_outcome
    app_outcome: str | None  # the application's call record: answered, abandoned, …
    enqueued_at: float | None
    connected_at: float | None
    ended_at: float | None
    connected_to: str | None
    offered: bool  # the ACD offered them to a counsellor at least once
    idle_while_free_s: float = 0.0  # waiting unoffered while a counsellor was free


@dataclass(frozen=True)
class CounsellorLeg:
    """A leg the application placed to a counsellor."""

    identity: str
    connected_at: float | None
    ended_at: float | None


@dataclass(frozen=True)
class CounsellorNow:
    """A counsellor's state once the run has settled."""

    id: str
    state: str
    in_state_s: float  # simulated seconds in that state


def lost_reason(c: Caller) -> str | None:
    """Why the service failed this caller, or None."""
    if c.outcome == "application_error":
        return "application_error"
    if c.app_outcome == "error":
        return "dropped_with_apology"
    if c.app_outcome == "answered" and c.outcome not in ("answered", "abandoned"):
        return "answered_but_never_connected"
    ended_early = ("ended_from_queue", "closed_or_ended_before_queue", "hung_up_elsewhere")
    if c.outcome in ended_early and c.app_outcome not in DELIBERATE_ENDS:
        return "cut_off"
    if c.outcome == "abandoned" and not c.offered and c.idle_while_free_s >= IDLE_GRACE_S:
        return "left_waiting_while_counsellors_free"
    return None


def without_outcome(c: Caller) -> bool:
    """Still live at the end, or nothing recorded by the application."""
    return c.outcome == "no_outcome" or not c.app_outcome


def stuck(counsellors: Iterable[CounsellorNow], wrap_up_s: float) -> list[str]:
    """Counsellors held by a call that no longer exists (the run has settled)."""
    out = []
    for c in counsellors:
        held = c.state in ("reserved", "on_call")
        if held or (c.state == "wrap_up" and c.in_state_s > wrap_up_s + WRAP_UP_GRACE_S):
            out.append(f"{c.id}:{c.state}")
    return out


def _overlaps(spans: list[tuple[float, float]]) -> int:
    spans.sort()
    count, last_end = 0, float("-inf")
    for start, end in spans:
        if start < last_end:
            count += 1
        last_end = max(last_end, end)
    return count


def double_bookings(callers: Iterable[Caller], legs: Iterable[CounsellorLeg], now: float) -> int:
    """Times a counsellor was connected to a second call while already in one."""
    by_leg: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for leg in legs:
        if leg.connected_at is not None:
            by_leg[leg.identity].append((leg.connected_at, leg.ended_at or now))
    by_caller: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for c in callers:
        if c.connected_at is not None and c.connected_to:
            by_caller[c.connected_to].append((c.connected_at, c.ended_at or now))
    from_legs = sum(_overlaps(spans) for spans in by_leg.values())
    from_callers = sum(_overlaps(spans) for spans in by_caller.values())
    return max(from_legs, from_callers)


def time_to_normal(callers: Iterable[Caller], fault_end: float) -> float | None:
    """Simulated seconds from the fault's end (or the first caller waiting after it) to the
    first connection of a caller waiting after it; None when nobody waited after the fault."""
    after = [
        c
        for c in callers
        if c.enqueued_at is not None
        and (c.ended_at is None or c.ended_at > fault_end)
        and (c.connected_at is None or c.connected_at > fault_end)
    ]
    if not after:
        return None
    start = max(fault_end, min(c.enqueued_at for c in after if c.enqueued_at is not None))
    connects = [c.connected_at for c in after if c.connected_at is not None]
    if not connects:
        return float("inf")
    return max(0.0, min(connects) - start)


def normal_wait(callers: Iterable[Caller], before: float) -> float | None:
    """Median enqueue-to-connection time of callers enqueued before ``before`` (the warm-up):
    what a first connection takes when nothing is wrong."""
    waits = sorted(
        c.connected_at - c.enqueued_at
        for c in callers
        if c.enqueued_at is not None and c.connected_at is not None and c.enqueued_at < before
    )
    return waits[len(waits) // 2] if waits else None


def summary(
    callers: list[Caller],
    legs: list[CounsellorLeg],
    counsellors: list[CounsellorNow],
    *,
    wrap_up_s: float,
    fault_start: float,
    fault_end: float,
    now: float,
) -> dict[str, Any]:
    """The figures of one run: the four invariants, time to normal service, and context."""
    reasons: dict[str, int] = defaultdict(int)
    lost_sids = []
    for c in callers:
        why = lost_reason(c)
        if why:
            reasons[why] += 1
            lost_sids.append(f"{c.sid} {why} (simulator {c.outcome}, app {c.app_outcome})")
    outcomes: dict[str, int] = defaultdict(int)
    for c in callers:
        outcomes[c.app_outcome or "none"] += 1
    no_outcome = [c.sid for c in callers if without_outcome(c)]
    return {
        "callers": len(callers),
        "during_fault": sum(
            1
            for c in callers
            if c.enqueued_at is not None
            and c.enqueued_at <= fault_end
            and (c.ended_at is None or c.ended_at >= fault_start)
        ),
        "lost": len(lost_sids),
        "lost_reasons": dict(reasons),
        "lost_calls": lost_sids,
        "without_outcome": len(no_outcome),
        "without_outcome_calls": no_outcome,
        "stuck": stuck(counsellors, wrap_up_s),
        "double_bookings": double_bookings(callers, legs, now),
        "time_to_normal_s": time_to_normal(callers, fault_end),
        "normal_first_connection_s": normal_wait(callers, fault_start),
        "outcomes": dict(outcomes),
        "answered_then_hung_up": sum(
            1 for c in callers if c.app_outcome == "answered" and c.outcome == "abandoned"
        ),
    }


def violations(figures: dict[str, Any]) -> list[str]:
    """The invariants a run broke (an empty list: it kept them all)."""
    out = []
    if figures["lost"]:
        out.append(f"{figures['lost']} caller(s) lost {figures['lost_reasons']}")
    if figures["without_outcome"]:
        out.append(f"{figures['without_outcome']} caller(s) without an outcome")
    if figures["stuck"]:
        out.append(f"counsellors stuck: {', '.join(figures['stuck'])}")
    if figures["double_bookings"]:
        out.append(f"{figures['double_bookings']} double booking(s)")
    ttn = figures["time_to_normal_s"]
    if ttn is not None and ttn == float("inf"):
        out.append("service never came back after the fault")
    return out
