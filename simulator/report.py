"""The final report: what happened to every simulated caller, overall and per platform.

Pure functions over `CallerRecord` snapshots. Each offered call gets exactly one outcome, so
the outcomes add up to ``offered``:

``answered``
    connected to a counsellor (both in a started conference, or a <Dial> to a counsellor
    answered), whatever happened afterwards — on the call itself or on a callback the
    application placed to the caller's number (virtual hold).
``abandoned``
    the caller hung up (patience, or a script) while waiting in a queue.
``ended_by_line.closed_or_ended_before_queue``
    the application ended the call (Hangup, Reject, end of TwiML, REST completion) and the
    caller had never been enqueued — e.g. a closed line.
``ended_by_line.ended_from_queue``
    the application ended the call after the caller had been enqueued and taken out of the
    queue (Leave, redirect, Hangup in the waitUrl, REST) without connecting them — overflow.
``application_errors``
    the call ended with Twilio's "an application error has occurred" (webhook and fallback
    failed, invalid TwiML).
``hung_up_elsewhere``
    the caller hung up outside a queue (e.g. alone too long in a conference that never started).
``no_outcome``
    still live when the run stopped after its drain period (must be 0 in a healthy run).

Times (simulated seconds): the *wait* of an answered call runs from its first <Enqueue> (or,
for a call never enqueued, from the <Dial> that connected it) to the connection (on a
callback: the callback's connection, so a virtual-hold caller's wait includes the time
between hanging up and being called back); ASA is the
mean wait of answered calls; AHT is the mean talk time of answered calls (the network cannot
see a counsellor's wrap-up, which belongs to the app). Service level is the share of
*offered* calls answered with a wait of at most the threshold.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

OUTCOMES = (
    "answered",
    "abandoned",
    "closed_or_ended_before_queue",
    "ended_from_queue",
    "application_error",
    "hung_up_elsewhere",
    "no_outcome",
)


@dataclass(frozen=True)
class CallerRecord:
    """What the report needs to know about one simulated caller."""

    sid: str
    platform: str
    caller_type: str | None
    arrived_at: float
    ended_at: float | None
    ended_by: str | None  # caller, line, api, error, stop; None while live
    enqueued_at: float | None
    connected_at: float | None
    dial_started_at: float | None
    talk_seconds: float
    hung_up_in_queue: bool
    left_queue_at: float | None
    app_error: int | None
    pressed_keys: bool = False
    pressed_in_queue: bool = False  # pressed a key at a waitUrl <Gather> (a callback offer)
    callbacks_placed: int = 0  # outbound legs the app placed to the caller's number
    callbacks_answered: int = 0
    callbacks_unanswered: int = 0  # ended without being picked up
    callback_connected_at: float | None = None  # first callback connected to a counsellor
    callback_talk_seconds: float = 0.0

    @property
    def connected(self) -> float | None:
        """When the caller first reached a counsellor, on this call or a callback."""
        return self.connected_at if self.connected_at is not None else self.callback_connected_at


def outcome(r: CallerRecord) -> str:
    """The one outcome of a call (see the module docstring)."""
    if r.ended_at is None or r.ended_by == "stop":
        return "no_outcome"
    if r.connected is not None:
        return "answered"
    if r.app_error is not None:
        return "application_error"
    if r.ended_by == "caller":
        return "abandoned" if r.hung_up_in_queue else "hung_up_elsewhere"
    return "ended_from_queue" if r.enqueued_at is not None else "closed_or_ended_before_queue"


def wait(r: CallerRecord) -> float | None:
    """Seconds waited for a human: to the connection if answered, to hanging up if abandoned."""
    connected = r.connected
    if connected is not None:
        start = r.enqueued_at if r.enqueued_at is not None else r.dial_started_at
        return max(0.0, connected - (start if start is not None else r.arrived_at))
    if r.hung_up_in_queue and r.enqueued_at is not None and r.ended_at is not None:
        return max(0.0, r.ended_at - r.enqueued_at)
    return None


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def figures(records: list[CallerRecord], threshold: float) -> dict[str, Any]:
    """Counts, service level, ASA, AHT for one group of calls."""
    outcomes = Counter(outcome(r) for r in records)
    answered = [r for r in records if outcome(r) == "answered"]
    abandoned = [r for r in records if outcome(r) == "abandoned"]
    answer_waits = [w for r in answered if (w := wait(r)) is not None]
    abandon_waits = [w for r in abandoned if (w := wait(r)) is not None]
    within = sum(1 for w in answer_waits if w <= threshold)
    offered = len(records)
    return {
        "offered": offered,
        "answered": outcomes["answered"],
        "abandoned": outcomes["abandoned"],
        "ended_by_line": {
            "closed_or_ended_before_queue": outcomes["closed_or_ended_before_queue"],
            "ended_from_queue": outcomes["ended_from_queue"],
        },
        "application_errors": outcomes["application_error"],
        "hung_up_elsewhere": outcomes["hung_up_elsewhere"],
        "no_outcome": outcomes["no_outcome"],
        "service_level": round(within / offered, 4) if offered else None,
        "answered_within_threshold": within,
        "asa_seconds": _mean(answer_waits),
        "aht_seconds": _mean([r.talk_seconds + r.callback_talk_seconds for r in answered]),
        "abandon_wait_mean_seconds": _mean(abandon_waits),
        "max_answer_wait_seconds": round(max(answer_waits), 1) if answer_waits else None,
        "pressed_keys": sum(1 for r in records if r.pressed_keys),
        "callbacks": {
            "requested": sum(1 for r in records if r.pressed_in_queue),
            "callers_called_back": sum(1 for r in records if r.callbacks_placed),
            "placed": sum(r.callbacks_placed for r in records),
            "answered": sum(r.callbacks_answered for r in records),
            "unanswered": sum(r.callbacks_unanswered for r in records),
            "connected": sum(1 for r in records if r.callback_connected_at is not None),
        },
    }


def build(
    records: Iterable[CallerRecord],
    threshold: float,
    network: dict[str, Any] | None = None,
    counsellor_legs: dict[str, int] | None = None,
    other_legs: dict[str, dict[str, int]] | None = None,
) -> dict[str, Any]:
    """The whole report: overall figures, per platform, per caller type, network counters."""
    records = list(records)
    report = figures(records, threshold)
    report["service_level_threshold_seconds"] = threshold
    platforms = sorted({r.platform for r in records})
    report["per_platform"] = {
        p: figures([r for r in records if r.platform == p], threshold) for p in platforms
    }
    kinds = Counter(r.caller_type or "unknown" for r in records)
    report["caller_types"] = dict(sorted(kinds.items()))
    report["counsellor_legs"] = dict(counsellor_legs or {})
    for name, counts in (other_legs or {}).items():
        report[name] = dict(counts)
    report["callers_called_back"] = [
        {
            "sid": r.sid,
            "requested": r.pressed_in_queue,
            "placed": r.callbacks_placed,
            "answered": r.callbacks_answered,
            "unanswered": r.callbacks_unanswered,
            "connected": r.callback_connected_at is not None,
        }
        for r in records
        if r.callbacks_placed or r.pressed_in_queue
    ]
    report["network"] = dict(network or {})
    return report


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def render(report: dict[str, Any]) -> str:
    """A readable text version of `build`'s report."""
    t = report["service_level_threshold_seconds"]
    rows = [("all", report), *report["per_platform"].items()]
    head = (
        f"{'platform':<12}{'offered':>8}{'answered':>9}{'abandon':>8}{'closed':>7}"
        f"{'overflow':>9}{'app err':>8}{'other':>6}{'no outc':>8}{f'SL{t:g}s':>8}"
        f"{'ASA':>7}{'AHT':>7}"
    )
    lines = ["Simulated calls", head, "-" * len(head)]
    for name, f in rows:
        sl = f["service_level"]
        lines.append(
            f"{name:<12}{f['offered']:>8}{f['answered']:>9}{f['abandoned']:>8}"
            f"{f['ended_by_line']['closed_or_ended_before_queue']:>7}"
            f"{f['ended_by_line']['ended_from_queue']:>9}{f['application_errors']:>8}"
            f"{f['hung_up_elsewhere']:>6}{f['no_outcome']:>8}"
            f"{('-' if sl is None else f'{sl:.0%}'):>8}"
            f"{_fmt(f['asa_seconds']):>7}{_fmt(f['aht_seconds']):>7}"
        )
    lines.append("")
    lines.append(
        "closed = ended by the line before any queue; overflow = ended by the line after "
        "leaving a queue; other = hung up outside a queue; times in simulated seconds."
    )
    lines.append(f"Mean wait before abandoning: {_fmt(report['abandon_wait_mean_seconds'])} s")
    if report["no_outcome"]:
        lines.append(f"WARNING: {report['no_outcome']} caller(s) left without an outcome")
    else:
        lines.append("Callers left without an outcome: 0")
    if report["application_errors"]:
        errors = report["application_errors"]
        lines.append(f"WARNING: {errors} call(s) ended in an application error")
    legs = report.get("counsellor_legs") or {}
    if legs:
        lines.append("Counsellor legs: " + ", ".join(f"{k} {v}" for k, v in legs.items()))
    callbacks = report.get("callbacks") or {}
    if callbacks.get("requested") or callbacks.get("placed"):
        lines.append("Callbacks: " + ", ".join(f"{k} {v}" for k, v in callbacks.items()))
    for name, title in (("service_legs", "Service legs"), ("supervisor_legs", "Supervisor legs")):
        counts = report.get(name) or {}
        if counts.get("placed"):
            lines.append(f"{title}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    net = report.get("network") or {}
    if net:
        lines.append("Network: " + ", ".join(f"{k} {v}" for k, v in net.items()))
    return "\n".join(lines)
