"""A call through the voice webhooks to an offer, on the Cluster; every key in one slot."""

from __future__ import annotations

import inspect

from redis.crc import key_slot

from helpline.keys import Keys
from helpline.redis_cluster import LocalCluster
from helpline.runtime import Runtime
from tests.ivr.conftest import sid
from tests.ivr.test_handoff_and_privacy import (  # noqa: F401 - the same tests, run on the Cluster
    full_call,
    log_in,
    test_a_caller_is_queued_in_the_acd_with_its_routing,
    test_hanging_up_in_the_queue_is_an_abandoned_call,
    test_hanging_up_while_a_counsellor_rings_stops_the_ringing,
)


def every_key(keys: Keys) -> list[str]:
    """Every key name `Keys` can build, with sample arguments."""
    names = []
    for name, member in inspect.getmembers(type(keys)):
        if name.startswith("_") or name in ("prefix", "helpline"):
            continue
        if isinstance(member, property):
            names.append(getattr(keys, name))
        elif callable(member):
            params = list(inspect.signature(member).parameters)[1:]
            names.append(getattr(keys, name)(*(f"x{i}" for i in range(len(params)))))
    return names


def test_every_key_of_a_helpline_lands_in_one_slot() -> None:
    """All of a helpline's keys share its hash tag, so every multi-key script runs on a Cluster."""
    names = every_key(Keys("3018"))
    assert len(names) > 40  # the whole schema, not a sample
    assert {key_slot(n.encode()) for n in names} == {key_slot(b"3018")}


def test_a_call_on_the_cluster_leaves_keys_in_the_helplines_slot_only(
    twilio, runtime: Runtime, twilio_http, cluster: LocalCluster
) -> None:
    """Incoming, menus, queue, offer: only the helpline's slot holds data; RQ stays off it."""
    log_in(runtime)
    full_call(twilio)
    (offer,) = twilio_http.calls_created()
    assert offer.data["To"] == "client:amina"
    assert runtime.redis.hget(runtime.keys.caller(sid()), "state") == "offered"
    found = [k for node in cluster.nodes for k in node.client.keys("*")]
    assert any(k.startswith("hl:{3018}:acd:reservation:") for k in found)
    assert {key_slot(k.encode()) for k in found} == {key_slot(b"3018")}
    assert not any(k.startswith("rq:") for k in found)
    assert runtime.rq_redis.keys("rq:*")  # the dispatch job went through the plain server


def test_health_and_metrics_answer_on_the_cluster(client, runtime: Runtime) -> None:
    """/healthz pings every primary; /metrics reads the figures from the helpline's slot."""
    health = client.get("/healthz")
    assert health.status_code == 200 and health.get_json()["redis"] == "ok"
    assert client.get("/metrics").status_code == 200


def test_a_blocking_reader_with_its_own_timeout_works_on_the_cluster(runtime: Runtime) -> None:
    """`Runtime.redis_with` (live views' XREAD BLOCK) builds a client for any topology."""
    reader = runtime.redis_with(max_connections=1, socket_timeout=5)
    runtime.redis.xadd(runtime.keys.events, {"what": "ping"})
    reply = reader.xread({runtime.keys.events: "0"}, count=10, block=100)
    assert [fields["what"] for _name, entries in reply for _id, fields in entries] == ["ping"]
    reader.close()
