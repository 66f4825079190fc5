"""Periodic RQ jobs, one chain however many workers run: each run is scheduled at the next
boundary of its period on the wall clock, with a job id naming that slot, so a second worker
scheduling the same slot is refused by RQ."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rq.exceptions import DuplicateJobError

from helpline.runtime import Runtime

RESULT_TTL_S = 0  # periodic jobs keep no result
FAILURE_TTL_S = 24 * 3600  # a failed run stays visible for a day


def schedule_slot(
    runtime: Runtime, job: Callable[..., Any], name: str, every_s: float, now: float | None = None
) -> bool:
    """Schedule ``job`` at the next ``every_s`` boundary; False when that slot is already taken."""
    now = time.time() if now is None else now
    slot = int(now // every_s) + 1
    try:
        runtime.queue.enqueue_at(
            datetime.fromtimestamp(slot * every_s, UTC),
            job,
            job_id=f"{name}-{runtime.config.helpline.id}-{slot}",
            unique=True,
            result_ttl=RESULT_TTL_S,
            failure_ttl=FAILURE_TTL_S,
        )
    except DuplicateJobError:
        return False
    return True
