"""A worker restarted after SIGKILL takes over its dead predecessor's scheduler lock."""

from __future__ import annotations

import subprocess
import sys

from rq.scheduler import RQScheduler
from rq.scripts import acquire_or_refresh_lock

from helpline.periodic import release_dead_scheduler_lock


def _hold_lock(runtime, pid: int) -> str:
    """Make a scheduler with process ``pid`` hold the queue's scheduler lock."""
    scheduler = RQScheduler([runtime.queue], connection=runtime.rq_redis, name="previous")
    scheduler.register_birth()
    scheduler.pid = pid
    scheduler.save()
    key = RQScheduler.get_locking_key(runtime.queue.name)
    assert acquire_or_refresh_lock(runtime.rq_redis, key, "previous", 60) == "acquired"
    return key


def test_the_lock_of_a_dead_scheduler_on_this_host_is_released(runtime) -> None:
    """Its process is gone: the lock is freed so the new worker's scheduler starts at once."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    key = _hold_lock(runtime, dead.pid)
    assert release_dead_scheduler_lock(runtime) is True
    assert runtime.rq_redis.get(key) is None


def test_the_lock_of_a_live_scheduler_is_left_alone(runtime) -> None:
    """Its process runs: the lock stays (RQ's own expiry and retry decide)."""
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        key = _hold_lock(runtime, alive.pid)
        assert release_dead_scheduler_lock(runtime) is False
        assert runtime.rq_redis.get(key) == b"previous"
    finally:
        alive.kill()
        alive.wait()


def test_no_lock_nothing_to_release(runtime) -> None:
    """Without a lock there is nothing to do."""
    assert release_dead_scheduler_lock(runtime) is False
