"""CSV exports: calls without anything identifying the caller, and daily figures."""

from __future__ import annotations

import csv
import io

import pytest
from click.testing import CliRunner

from acd.model import CounsellorState, Outcome, WaitingCaller
from acd.store import Acd
from dashboard import audit, exports, service
from dashboard.cli import dashboard
from helpline.clock import FrozenClock, to_ms
from helpline.runtime import Runtime
from ivr import callstore
from ivr.callrecord import CallerType, CallRecord
from tests.console.conftest import Session

ANSWERED = "CA" + "1" * 32
GONE = "CA" + "2" * 32
CLOSED = "CA" + "3" * 32
SECRET_HASH = "h:0123456789abcdef0123456789abcdef"


def start_call(
    runtime: Runtime, clock: FrozenClock, sid: str, platform: str, caller_type: str = "unknown"
) -> None:
    """The voice flow's record (with the caller's keyed hash) and its call_started event."""
    record = CallRecord(
        call_sid=sid,
        caller=SECRET_HASH,
        platform=platform,
        created_at=to_ms(clock.now()),
        caller_type=CallerType(caller_type),
    )
    callstore.create(
        runtime.redis, runtime.keys, record, runtime.config.privacy.call_record_ttl, clock.now()
    )


@pytest.fixture
def morning(runtime: Runtime, acd: Acd, clock: FrozenClock) -> None:
    """An answered Instagram call (30 s wait, 600 s talk, 60 s wrap-up), a phone caller who
    hangs up after 45 s, a TikTok call while closed."""
    acd.add_counsellor("bruno", "Bruno", ["psychologist"], ["fr"], "client:bruno")
    acd.set_state("bruno", CounsellorState.AVAILABLE)
    start_call(runtime, clock, ANSWERED, "instagram", "young")
    acd.enqueue(WaitingCaller(ANSWERED, "instagram", "young", "fr", "psychologist", 0, clock.now()))
    clock.advance(30)
    reservation = acd.reserve_next()
    assert reservation is not None
    acd.accept(reservation.id)
    start_call(runtime, clock, GONE, "phone", "parent")
    acd.enqueue(WaitingCaller(GONE, "phone", "parent", "fr", "psychologist", 0, clock.now()))
    clock.advance(45)
    acd.caller_gone(GONE)
    clock.advance(555)
    acd.call_ended(reservation.id)
    clock.advance(60)
    acd.end_wrapups()
    start_call(runtime, clock, CLOSED, "tiktok")
    acd.record_outcome(CLOSED, Outcome.CLOSED)


def rows(text: str) -> list[dict[str, str]]:
    """Parse CSV text."""
    return list(csv.DictReader(io.StringIO(text)))


def test_calls_export_has_the_route_not_the_caller(runtime: Runtime, morning: None) -> None:
    """Platform, times, wait, outcome, durations; no number, keyed hash nor CallSid."""
    day = runtime.clock.now().date()
    text, count = service.calls_csv(runtime, day, day)
    assert count == 3
    assert SECRET_HASH not in text and "h:" not in text and "CA111" not in text
    assert list(rows(text)[0]) == list(exports.CALL_COLUMNS)
    answered, gone, closed = rows(text)
    assert (answered["platform"], answered["reached_queue"], answered["outcome"]) == (
        "instagram",
        "yes",
        "answered",
    )
    assert (answered["wait_s"], answered["talk_s"], answered["wrap_up_s"]) == ("30", "600", "60")
    assert answered["handle_s"] == "660"
    assert answered["started_at"] == "2026-11-23T13:00:00+01:00"
    assert answered["caller_type"] == "young"
    assert (gone["outcome"], gone["wait_s"], gone["caller_type"]) == ("abandoned", "45", "parent")
    assert (closed["platform"], closed["reached_queue"], closed["outcome"]) == (
        "tiktok",
        "no",
        "closed",
    )
    assert answered["call_ref"] == exports.call_ref(runtime.settings.secret_key, ANSWERED)
    assert len({r["call_ref"] for r in (answered, gone, closed)}) == 3


def test_daily_export_per_platform(runtime: Runtime, morning: None) -> None:
    """One line for all platforms, then one per platform."""
    day = runtime.clock.now().date()
    text, _ = service.daily_csv(runtime, day, day)
    lines = {r["platform"]: r for r in rows(text)}
    assert list(lines) == ["all", "instagram", "phone", "tiktok"]
    total = lines["all"]
    assert (total["received"], total["closed"], total["offered"]) == ("3", "1", "2")
    assert (total["answered"], total["abandoned"], total["answered_within_threshold"]) == (
        "1",
        "1",
        "1",
    )
    assert (total["service_level_pct"], total["asa_s"], total["aht_s"]) == ("50.0", "30.0", "660.0")
    assert (lines["tiktok"]["received"], lines["tiktok"]["closed"]) == ("1", "1")
    assert lines["tiktok"]["offered"] == "0"


def test_export_endpoint_downloads_and_is_audited(
    manager: Session, runtime: Runtime, morning: None
) -> None:
    """An attachment, recorded in the audit trail with its row count."""
    response = manager.client.get("/dashboard/exports/calls.csv?from=2026-11-23&to=2026-11-23")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert len(rows(response.get_data(as_text=True))) == 3
    entry = audit.entries(runtime.redis, runtime.keys, 1)[0]
    assert (entry.action, entry.target, entry.after) == (
        "export.calls",
        "2026-11-23..2026-11-23",
        {"rows": 3},
    )


def test_export_range_is_bounded(manager: Session) -> None:
    """More than 92 days, or an end before the start, is refused with a message."""
    response = manager.client.get(
        "/dashboard/exports/daily.csv?from=2026-01-01&to=2026-11-23", follow_redirects=True
    )
    assert "au plus 92 jours" in response.get_data(as_text=True)
    response = manager.client.get(
        "/dashboard/exports/daily.csv?from=2026-11-23&to=2026-11-01", follow_redirects=True
    )
    assert "précède" in response.get_data(as_text=True)


def test_cells_never_become_formulas() -> None:
    """A value a spreadsheet would run is quoted."""
    text = exports.to_csv(("a", "b"), [{"a": "=HYPERLINK(1)", "b": "ok"}])
    assert rows(text)[0] == {"a": "'=HYPERLINK(1)", "b": "ok"}


def test_cli_exports_to_stdout(runtime: Runtime, morning: None) -> None:
    """``helpline dashboard export-calls --from … --to …`` prints the CSV, audited as cli."""
    result = CliRunner().invoke(dashboard, ["export-calls", "--from", "2026-11-23"])
    assert result.exit_code == 0, result.output
    assert len(rows(result.output)) == 3
    assert audit.entries(runtime.redis, runtime.keys, 1)[0].who.startswith("cli")
    result = CliRunner().invoke(dashboard, ["export-daily", "--from", "23/11/2026"])
    assert result.exit_code == 2
