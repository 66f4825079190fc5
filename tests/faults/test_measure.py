"""The invariants of a fault run (faults/measure.py), on hand-made snapshots."""

from __future__ import annotations

import math

from faults.measure import (
    IDLE_GRACE_S,
    Caller,
    CounsellorLeg,
    CounsellorNow,
    double_bookings,
    lost_reason,
    stuck,
    summary,
    time_to_normal,
    violations,
)


def caller(sid: str = "CA1", outcome: str = "answered", app: str | None = "answered", **kw):
    fields = {"enqueued_at": 10.0, "connected_at": 20.0, "ended_at": 100.0,
              "connected_to": "c1", "offered": True}  # fmt: skip
    fields.update(kw)
    return Caller(sid=sid, outcome=outcome, app_outcome=app, **fields)


def test_an_answered_or_abandoned_or_overflowed_caller_is_not_lost() -> None:
    """The service's normal outcomes are not failures."""
    assert lost_reason(caller()) is None
    assert lost_reason(caller(outcome="abandoned", app="abandoned", connected_at=None)) is None
    overflow = caller(outcome="ended_from_queue", app="overflowed", connected_at=None)
    assert lost_reason(overflow) is None


def test_an_application_error_or_a_cut_off_call_is_lost() -> None:
    """Twilio's error message, a drop with an apology, a call ended without reason: lost."""
    assert lost_reason(caller(outcome="application_error", app=None)) == "application_error"
    assert lost_reason(caller(outcome="ended_from_queue", app="error")) == "dropped_with_apology"
    cut = caller(outcome="hung_up_elsewhere", app="abandoned", connected_at=None)
    assert lost_reason(cut) == "cut_off"
    ghost = caller(outcome="hung_up_elsewhere", app="answered", connected_at=None)
    assert lost_reason(ghost) == "answered_but_never_connected"


def test_a_caller_left_unoffered_while_a_counsellor_was_free_is_lost() -> None:
    """Abandoning after IDLE_GRACE_S unoffered with someone free is the service's failure."""
    kw = {"outcome": "abandoned", "app": "abandoned", "connected_at": None, "offered": False}
    assert lost_reason(caller(idle_while_free_s=IDLE_GRACE_S, **kw)) == (
        "left_waiting_while_counsellors_free"
    )
    assert lost_reason(caller(idle_while_free_s=IDLE_GRACE_S / 2, **kw)) is None


def test_two_overlapping_calls_of_one_counsellor_are_a_double_booking() -> None:
    """Overlapping connected legs (or callers) of one counsellor count; back-to-back do not."""
    legs = [CounsellorLeg("c1", 0, 50), CounsellorLeg("c1", 40, 90), CounsellorLeg("c2", 0, 90)]
    assert double_bookings([], legs, now=100) == 1
    back_to_back = [CounsellorLeg("c1", 0, 50), CounsellorLeg("c1", 50, 90)]
    assert double_bookings([], back_to_back, now=100) == 0
    callers = [
        caller("A", connected_at=0, ended_at=60),
        caller("B", connected_at=30, ended_at=None),
    ]
    assert double_bookings(callers, [], now=100) == 1


def test_reserved_or_talking_counsellors_after_the_run_are_stuck() -> None:
    """Once every call is over, reserved and on_call are stuck; a long wrap-up too."""
    team = [
        CounsellorNow("a", "available", 5),
        CounsellorNow("b", "reserved", 1),
        CounsellorNow("c", "on_call", 1),
        CounsellorNow("d", "wrap_up", 10),
        CounsellorNow("e", "wrap_up", 500),
        CounsellorNow("f", "break", 500),
    ]
    assert stuck(team, wrap_up_s=20) == ["b:reserved", "c:on_call", "e:wrap_up"]


def test_time_to_normal_runs_from_the_fault_end_to_the_next_connection() -> None:
    """Waiting at the end of the fault: from the end; none waiting: from the next arrival."""
    waiting = caller(enqueued_at=50, connected_at=130, ended_at=200)
    assert time_to_normal([waiting], fault_end=100) == 30
    later = caller(enqueued_at=150, connected_at=160, ended_at=200)
    assert time_to_normal([later], fault_end=100) == 10
    assert time_to_normal([caller(enqueued_at=0, connected_at=10)], fault_end=100) is None
    never = caller(enqueued_at=150, connected_at=None, ended_at=None)
    assert math.isinf(time_to_normal([never], fault_end=100))


def test_a_clean_run_violates_nothing_and_a_bad_one_says_what() -> None:
    """violations() is empty for a clean run and names each broken invariant."""
    team = [CounsellorNow("c1", "available", 1)]
    figures = summary([caller()], [CounsellorLeg("c1", 20, 100)], team,
                      wrap_up_s=20, fault_start=0, fault_end=50, now=200)  # fmt: skip
    assert violations(figures) == []
    bad = summary(
        [caller(outcome="no_outcome", app=None), caller("B", outcome="application_error")],
        [],
        [CounsellorNow("c1", "reserved", 1)],
        wrap_up_s=20, fault_start=0, fault_end=50, now=200,
    )  # fmt: skip
    text = " ".join(violations(bad))
    assert "lost" in text and "without an outcome" in text and "c1:reserved" in text


def test_a_caller_who_hangs_up_while_being_brought_in_is_not_lost_but_counted() -> None:
    """Accepted, then the caller hung up before the bridge: their choice, counted apart."""
    late = caller(outcome="abandoned", app="answered", connected_at=None)
    assert lost_reason(late) is None
    figures = summary([late], [], [], wrap_up_s=20, fault_start=0, fault_end=50, now=200)
    assert figures["answered_then_hung_up"] == 1 and figures["lost"] == 0
