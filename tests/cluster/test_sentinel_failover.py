"""A Sentinel failover under the ACD: the primary is SIGKILLed, the replica promoted, and the
same `Acd` object (same client) carries on — nobody double-booked, no replicated caller lost.

The data nodes run ``appendonly yes`` / ``appendfsync everysec``; replication is asynchronous,
so the test waits (``WAIT 1``) until the replica has the writes before the crash — what
``min-replicas-to-write`` bounds in production (docs/deployment.md).
"""

from __future__ import annotations

import operator
from collections.abc import Iterator
from pathlib import Path

import pytest
from rq import Queue, SimpleWorker

from acd.model import AcceptResult, CounsellorState
from acd.store import Acd
from helpline.clock import FrozenClock
from helpline.redis_cluster import LocalSentinel
from helpline.runtime import Runtime, build_runtime
from helpline.settings import Settings
from tests.acd.conftest import caller

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSentinel]:
    """One primary, one replica, three Sentinels (for this module: the test kills the primary)."""
    local = LocalSentinel(Path(tmp_path_factory.mktemp("sentinel")))
    yield local
    local.stop()


@pytest.fixture
def on_sentinel(sentinel: LocalSentinel, tmp_path: Path) -> Iterator[Runtime]:
    """A runtime built from REDIS_URL=redis+sentinel://… (RQ on the same primary)."""
    env = {"REDIS_URL": sentinel.url, "HELPLINE_DATA_DIR": str(tmp_path)}
    runtime = build_runtime(Settings.from_env(env, mode="test"), clock=FrozenClock())
    runtime.redis.flushall()
    yield runtime
    runtime.redis.close()


def booked(acd: Acd) -> dict[str, str]:
    """Counsellor id -> reservation id, for every counsellor reserved or on a call."""
    return {
        c.id: c.reservation_id or ""
        for c in acd.list_counsellors()
        if c.state in (CounsellorState.RESERVED, CounsellorState.ON_CALL)
    }


def test_the_acd_carries_on_after_a_sentinel_failover(
    sentinel: LocalSentinel, on_sentinel: Runtime
) -> None:
    """Kill the primary mid-shift: after promotion, accept and reserve work on the same client."""
    acd = Acd(on_sentinel)
    clock = on_sentinel.clock
    assert isinstance(clock, FrozenClock)
    for cid in ("ana", "ben", "cleo"):
        acd.add_counsellor(cid, cid.title(), ["psychologist"], ["fr"], f"client:{cid}")
        acd.set_state(cid, "available")
    sids = [f"CA{i}" for i in range(6)]
    for i, sid in enumerate(sids):
        assert acd.enqueue(caller(sid, clock.advance(1))).queued, i
    first, second = acd.reserve_next(), acd.reserve_next()
    assert first and second
    assert acd.accept(first.id) is AcceptResult.ACCEPTED
    assert on_sentinel.redis.execute_command("WAIT", 1, 5000) == 1  # the replica has it all

    old = sentinel.kill_primary()
    new = sentinel.wait_for_new_primary(old.port)
    assert new.port != old.port

    # The same objects: the client asks the Sentinels for the new primary and goes on.
    assert acd.accept(second.id) is AcceptResult.ACCEPTED
    assert acd.accept(first.id) is AcceptResult.ACCEPTED  # a repeated webhook: no effect
    third = acd.reserve_next()
    assert third and third.counsellor_id == "cleo" and third.call_sid == sids[2]
    assert acd.reserve_next() is None  # everyone is busy: nobody is booked twice
    assert booked(acd) == {"ana": first.id, "ben": second.id, "cleo": third.id}
    assert [w["call_sid"] for w in acd.waiting_callers()] == sids[2:]  # no caller lost
    assert acd.caller_gone(sids[3]).outcome_recorded
    assert acd.call_ended(first.id)
    offered = [e for _, e in on_sentinel.redis.xrange(on_sentinel.keys.events)
               if e["what"] == "offered"]  # fmt: skip
    assert [e["reservation"] for e in offered] == [first.id, second.id, third.id]
    reader = on_sentinel.redis_with(max_connections=1, socket_timeout=5)  # live views' kind
    assert reader.xread({on_sentinel.keys.events: "0"}, count=1, block=100)
    reader.close()

    # RQ lives on the same Sentinel-managed primary and follows it too (scheduler included).
    queue = Queue("failover-check", connection=on_sentinel.rq_redis)
    job = queue.enqueue(operator.add, 1, 2)
    SimpleWorker([queue], connection=on_sentinel.rq_redis).work(burst=True, with_scheduler=True)
    job.refresh()
    assert job.return_value() == 3
