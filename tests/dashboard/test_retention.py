"""Reading the event stream by time, and the retention job (events, audit, call records)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import redis as redis_lib

from acd.model import Outcome
from acd.store import Acd
from dashboard import audit, eventlog, jobs
from helpline.clock import FrozenClock, to_ms
from helpline.events import append_event
from helpline.runtime import Runtime
from ivr import callstore
from ivr.callrecord import CallRecord

DAY_MS = 86_400_000


def fill(redis: redis_lib.Redis, key: str, ats: list[int]) -> list[str]:
    """One entry per ``at``; the ids (Redis time, unrelated to ``at``)."""
    return [
        str(redis.xadd(key, {"what": "x", "at": str(at), "n": str(i)})) for i, at in enumerate(ats)
    ]


@pytest.mark.parametrize("target", [0, 1, 999, 5000, 123_456, 299_000, 299_001, 10**9])
def test_bisection_finds_the_first_entry_at_or_after(redis: redis_lib.Redis, target: int) -> None:
    """Same answer as a linear scan, whatever the ids say."""
    ats = [i * 1000 for i in range(300)]
    ids = fill(redis, "s", ats)
    expected = next((ids[i] for i, at in enumerate(ats) if at >= target), None)
    assert eventlog.first_id_at_or_after(redis, "s", target) == expected


def test_empty_stream(redis: redis_lib.Redis) -> None:
    """Nothing to find, nothing to trim."""
    assert eventlog.first_id_at_or_after(redis, "s", 0) is None
    assert list(eventlog.read_between(redis, "s", 0, 10)) == []
    assert eventlog.trim_before(redis, "s", 10) == 0


def test_read_between_uses_the_events_own_time(redis: redis_lib.Redis) -> None:
    """``at`` decides, with a margin for processes whose clocks differ slightly."""
    fill(redis, "s", [1000, 2000, 1900, 3000, 4000])  # one writer a little behind
    found = [e.at for e in eventlog.read_between(redis, "s", 2000, 4000, margin_ms=500)]
    assert found == [2000, 3000]
    found = [e.at for e in eventlog.read_between(redis, "s", 1900, 4000, margin_ms=500)]
    assert found == [2000, 1900, 3000]


def test_trim_keeps_what_is_recent_and_what_comes_later(redis: redis_lib.Redis) -> None:
    """Entries before the cut go; when all are older, the stream empties but stays usable."""
    fill(redis, "s", [1, 2, 3, 10, 11])
    assert eventlog.trim_before(redis, "s", 10) == 3
    assert [e[1]["at"] for e in redis.xrange("s")] == ["10", "11"]
    assert eventlog.trim_before(redis, "s", 100) == 2
    fill(redis, "s", [200])
    assert [e[1]["at"] for e in redis.xrange("s")] == ["200"]


def test_retention_job_deletes_old_events_and_old_audit_entries(
    runtime: Runtime, clock: FrozenClock
) -> None:
    """90 days of events and 365 of audit by default, judged by the injected clock."""
    now = clock.now()
    for days in (400, 100, 91, 89, 1):
        append_event(runtime.redis, runtime.keys, "enqueued", now - timedelta(days=days))
        audit.record(runtime.redis, runtime.keys, now - timedelta(days=days), "claire", "x")
    summary = jobs.run_retention(runtime)
    assert (summary["events_deleted"], summary["audit_deleted"], summary["events_kept"]) == (
        3,
        1,
        2,
    )
    ats = [int(e[1]["at"]) for e in runtime.redis.xrange(runtime.keys.events)]
    assert ats == [to_ms(now - timedelta(days=89)), to_ms(now - timedelta(days=1))]
    assert len(audit.entries(runtime.redis, runtime.keys)) == 4
    assert json.loads(runtime.redis.get(runtime.keys.retention_last))["events_deleted"] == 3


def test_retention_is_scheduled_once_per_slot(runtime: Runtime) -> None:
    """Two workers starting together schedule one run."""
    assert jobs.schedule_retention(runtime, now=1_000_000.0) is True
    assert jobs.schedule_retention(runtime, now=1_000_001.0) is False
    assert jobs.schedule_retention(runtime, now=1_000_000.0 + jobs.RETENTION_EVERY_S) is True


def test_call_records_expire_by_themselves(runtime: Runtime, clock: FrozenClock) -> None:
    """The voice flow's record and an outcome-only record both carry the configured TTL."""
    ttl = runtime.config.privacy.call_record_ttl
    sid = "CA" + "a" * 32
    record = CallRecord(call_sid=sid, caller="h:0", platform="phone", created_at=to_ms(clock.now()))
    callstore.create(runtime.redis, runtime.keys, record, ttl, clock.now())
    assert ttl - 5 <= runtime.redis.ttl(runtime.keys.call(sid)) <= ttl
    other = "CA" + "b" * 32
    Acd(runtime).record_outcome(other, Outcome.ERROR, reason="test")
    assert ttl - 5 <= runtime.redis.ttl(runtime.keys.call(other)) <= ttl


def test_cli_runs_retention(runtime: Runtime) -> None:
    """``helpline dashboard retention`` prints what it did."""
    from click.testing import CliRunner

    from dashboard.cli import dashboard

    result = CliRunner().invoke(dashboard, ["retention"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["events_deleted"] == 0
