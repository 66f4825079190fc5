"""The ACD's state machine (tests/acd/test_state_machine.py) on the Cluster: a short run."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from acd.store import Acd
from helpline.clock import FrozenClock
from helpline.redis_cluster import LocalCluster
from helpline.redis_topology import connect
from helpline.runtime import Runtime
from helpline.settings import Settings
from tests.acd.test_state_machine import CONFIG, AcdMachine, Model

pytestmark = pytest.mark.slow


class ClusterAcdMachine(AcdMachine):
    """The same rules and invariants; only the client differs (a `RedisCluster`)."""

    def __init__(self) -> None:
        RuleBasedStateMachine.__init__(self)
        self.redis = connect(self.url)
        self.redis.flushall()  # every primary
        self.clock = FrozenClock()
        runtime = Runtime(
            settings=Settings.from_env({}, mode="test"),
            config=CONFIG,
            redis=self.redis,
            clock=self.clock,
        )
        self.acd = Acd(runtime)
        self.k = runtime.keys
        self.m = Model()


def test_acd_matches_the_model_on_a_cluster(cluster: LocalCluster) -> None:
    """No double booking, order respected, indexes consistent, one outcome per caller."""
    ClusterAcdMachine.url = cluster.url
    run_state_machine_as_test(
        ClusterAcdMachine,
        settings=settings(
            max_examples=10,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
