"""The dashboard's periodic job: retention of the event stream and of the audit trail.

``helpline worker`` calls `start_periodic(runtime)` at start; the job then schedules its next
run itself, every `RETENTION_EVERY_S` seconds of wall-clock time, with one RQ job id per time
slot so that several workers never multiply it (as the ACD's sweep does).

What is kept, and by whom (docs/dashboard.md, "Retention"):

- events older than ``[dashboard] retention_days`` are deleted here (by their ``at``, the
  injected clock, through ``XTRIM MINID``); the stream is also capped in length by every
  writer (``MAXLEN ~``);
- audit entries older than ``[dashboard] audit_retention_days`` are deleted here;
- call records (``call:<CallSid>``) expire by themselves after ``[privacy] call_record_ttl``:
  the voice flow sets the TTL when it creates a record, and the ACD when it records an outcome
  for a call without one; the ACD's caller and reservation hashes expire a day after the call;
- rosters and forecasts expire ``retention_days`` after their day (set when written).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from dashboard import eventlog
from helpline import periodic
from helpline.clock import to_ms
from helpline.log import get_logger
from helpline.runtime import Runtime, get_runtime

log = get_logger("dashboard.jobs")

RETENTION_EVERY_S = 3600


def run_retention(runtime: Runtime) -> dict[str, Any]:
    """Trim the events and the audit trail by age now; what was done (also stored)."""
    now = runtime.clock.now()
    cfg = runtime.config.dashboard
    events_before = now - timedelta(days=cfg.retention_days)
    audit_before = now - timedelta(days=cfg.audit_retention_days)
    k = runtime.keys
    summary = {
        "at": now.isoformat(),
        "events_deleted": eventlog.trim_before(runtime.redis, k.events, to_ms(events_before)),
        "events_before": events_before.isoformat(),
        "audit_deleted": eventlog.trim_before(runtime.redis, k.audit, to_ms(audit_before)),
        "audit_before": audit_before.isoformat(),
        "events_kept": int(runtime.redis.xlen(k.events)),
    }
    runtime.redis.set(k.retention_last, json.dumps(summary))
    log.info("dashboard.retention", **summary)
    return summary


def retention() -> dict[str, Any]:
    """RQ job: schedule the next run, then trim."""
    runtime = get_runtime()
    schedule_retention(runtime)  # first: a failing run must not stop the next ones
    return run_retention(runtime)


def schedule_retention(runtime: Runtime, now: float | None = None) -> bool:
    """Schedule the next run at the next ``RETENTION_EVERY_S`` boundary; True when this call
    scheduled it (False: another worker already did)."""
    return periodic.schedule_slot(runtime, retention, "dashboard-retention", RETENTION_EVERY_S, now)


def start_periodic(runtime: Runtime) -> None:
    """Called by ``helpline worker`` at start: make sure retention runs (once per slot)."""
    scheduled = schedule_retention(runtime)
    log.info("dashboard.periodic_started", scheduled=scheduled, every_s=RETENTION_EVERY_S)
