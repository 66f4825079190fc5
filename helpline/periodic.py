"""Periodic RQ jobs, one chain however many workers run: each run is scheduled at the next
boundary of its period on the wall clock, with a job id naming that slot, so a second worker
scheduling the same slot is refused by RQ."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rq.exceptions import DuplicateJobError
from rq.scheduler import RQScheduler
from rq.scripts import release_lock

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


def release_dead_scheduler_lock(runtime: Runtime) -> bool:
    """Free RQ's scheduler lock when the scheduler holding it died on this host.

    A worker killed with SIGKILL (or the OOM killer) leaves its scheduler's lock in Redis for
    a minute, and a new worker that finds it taken only tries again at its next maintenance
    run: meanwhile no scheduled job runs, so no sweep ends a wrap-up or expires an offer. Called
    by ``helpline worker`` at start, before RQ takes the lock. True when a dead one was freed."""
    conn = runtime.rq_redis
    key = RQScheduler.get_locking_key(runtime.queue.name)
    try:
        holder = conn.get(key)
        if holder is None:
            return False
        owner = holder.decode() if isinstance(holder, bytes) else str(holder)
        scheduler = RQScheduler.fetch(owner, conn)
    except Exception:  # noqa: BLE001 - unknown holder: leave the lock to its TTL
        return False
    if scheduler.hostname != socket.gethostname() or _alive(scheduler.pid):
        return False
    return bool(release_lock(conn, key, owner))


def _alive(pid: int) -> bool:
    """True while process ``pid`` runs on this host (a zombie is dead)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True
