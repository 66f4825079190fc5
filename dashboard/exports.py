"""CSV exports: one row per call, and daily figures per platform. Pure (rows in, text out).

A call row holds what the call record and the events say about the call's route, never who
called: no number, no keyed hash of it, no CallSid (which Twilio's logs link to the number).
Rows carry instead a reference that is stable across exports but meaningless elsewhere:
``HMAC-SHA256(SECRET_KEY, "export:" + CallSid)``, 16 hex digits.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from zoneinfo import ZoneInfo

from dashboard.figures import Call, Figures
from helpline.clock import from_ms

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
CALL_COLUMNS = (
    "call_ref",
    "day",
    "started_at",
    "platform",
    "channel",
    "caller_type",
    "language",
    "recording_consent",
    "reached_queue",
    "queued_at",
    "wait_s",
    "outcome",
    "outcome_reason",
    "outcome_at",
    "talk_s",
    "wrap_up_s",
    "handle_s",
    "ended_at",
    "duration_s",
)
DAILY_COLUMNS = (
    "day",
    "platform",
    "received",
    "closed",
    "offered",
    "answered",
    "abandoned",
    "overflowed",
    "errors",
    "waiting",
    "service_level_threshold_s",
    "answered_within_threshold",
    "service_level_pct",
    "asa_s",
    "aht_s",
)
#: Record fields a call row may read (a whitelist: ``caller`` is never read).
RECORD_FIELDS = (
    "platform",
    "channel",
    "caller_type",
    "language",
    "recording_consent",
    "created_at",
    "at_queued",
    "outcome",
    "outcome_at",
    "wait",
    "duration",
    "at_ended",
)


def call_ref(secret_key: str, call_sid: str) -> str:
    """A reference for the call, stable for one secret key, that reveals nothing."""
    digest = hmac.new(secret_key.encode(), f"export:{call_sid}".encode(), hashlib.sha256)
    return digest.hexdigest()[:16]


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def _local(ms: int | str | None, zone: ZoneInfo) -> str:
    if ms in (None, ""):
        return ""
    try:
        return from_ms(int(ms)).astimezone(zone).isoformat(timespec="seconds")
    except (TypeError, ValueError):
        return ""


def call_rows(
    calls: Iterable[Call],
    records: Mapping[str, Mapping[str, str]],
    zone: ZoneInfo,
    secret_key: str,
) -> list[dict[str, str]]:
    """One row per call, by start time; ``records`` are the call records still in Redis."""
    rows = []
    for c in calls:
        r = {k: v for k, v in records.get(c.call_sid, {}).items() if k in RECORD_FIELDS}
        started = c.started_ms if c.started_ms is not None else c.arrived_ms
        if started is None:
            started = c.outcome_ms
        if started is None:
            continue
        rows.append(
            {
                "call_ref": call_ref(secret_key, c.call_sid),
                "day": from_ms(started).astimezone(zone).date().isoformat(),
                "started_at": _local(started, zone),
                "platform": r.get("platform") or c.platform,
                "channel": r.get("channel", ""),
                "caller_type": r.get("caller_type") or c.caller_type or "",
                "language": r.get("language") or c.language or "",
                "recording_consent": r.get("recording_consent", ""),
                "reached_queue": "yes" if c.offered else "no",
                "queued_at": _local(c.arrived_ms, zone),
                "wait_s": "" if c.wait_s is None else str(c.wait_s),
                "outcome": c.outcome or r.get("outcome", ""),
                "outcome_reason": c.reason or "",
                "outcome_at": _local(c.outcome_ms or r.get("outcome_at"), zone),
                "talk_s": "" if c.talk_s is None else str(c.talk_s),
                "wrap_up_s": "" if c.wrap_s is None or c.talk_s is None else str(c.wrap_s),
                "handle_s": "" if c.handle_s is None else str(c.handle_s),
                "ended_at": _local(r.get("at_ended"), zone),
                "duration_s": r.get("duration", ""),
                "_sort": str(started).zfill(16),
            }
        )
    rows.sort(key=lambda row: row["_sort"])
    for row in rows:
        del row["_sort"]
    return rows


def daily_row(
    day: date,
    platform: str,
    figures: Figures,
    threshold_s: int,
    received: int,
    closed: int,
) -> dict[str, str]:
    """One line of the daily export."""

    def num(value: float | None, digits: int = 1) -> str:
        return "" if value is None else f"{value:.{digits}f}"

    return {
        "day": day.isoformat(),
        "platform": platform,
        "received": str(received),
        "closed": str(closed),
        "offered": str(figures.offered),
        "answered": str(figures.answered),
        "abandoned": str(figures.abandoned),
        "overflowed": str(figures.overflowed),
        "errors": str(figures.errors),
        "waiting": str(figures.waiting),
        "service_level_threshold_s": str(threshold_s),
        "answered_within_threshold": str(figures.answered_within),
        "service_level_pct": num(
            None if figures.service_level is None else figures.service_level * 100
        ),
        "asa_s": num(figures.asa),
        "aht_s": num(figures.aht),
    }


def to_csv(columns: Sequence[str], rows: Iterable[Mapping[str, str]]) -> str:
    """CSV text (comma, CRLF as RFC 4180), header first; cells made formula-safe."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(name, "")) for name in columns])
    return out.getvalue()


def parse_day(text: str) -> date:
    """``YYYY-MM-DD``; raises ValueError."""
    text = text.strip()
    if not _DAY.fullmatch(text):
        raise ValueError(f"{text!r} is not a date YYYY-MM-DD")
    return date.fromisoformat(text)
