"""Duty managers' overrides of [acd] (set from the dashboard) take effect at once."""

from __future__ import annotations

from acd import overrides
from acd.store import Acd
from ivr.callrecord import CallRecord
from ivr.service import waiting_caller
from tests.acd.conftest import caller


def test_without_overrides_the_configuration_is_in_force(runtime) -> None:
    """No hash stored: the [acd] section itself."""
    assert overrides.effective(runtime) is runtime.config.acd


def test_a_lower_queue_limit_overflows_the_next_caller(runtime, clock, make_counsellor) -> None:
    """max_waiting lowered to 1: the second waiting caller is overflowed (queue_full)."""
    make_counsellor("amina", state="break")
    runtime.redis.hset(runtime.keys.acd_overrides, "max_waiting", "1")
    acd = Acd(runtime)
    assert acd.enqueue(caller("CA1", clock.now())).queued
    result = Acd(runtime).enqueue(caller("CA2", clock.now()))
    assert not result.queued and result.reason == "queue_full"


def test_a_platform_priority_override_reaches_the_callers_head_start(runtime, clock) -> None:
    """priority.platform.tiktok = 300: a TikTok caller is queued with 300 s of head start."""
    record = CallRecord(call_sid="CA1", caller="h:x", platform="tiktok")
    before = waiting_caller(runtime, record, clock.now()).priority
    runtime.redis.hset(runtime.keys.acd_overrides, "priority.platform.tiktok", "300")
    assert waiting_caller(runtime, record, clock.now()).priority == before + 300


def test_malformed_or_out_of_range_overrides_are_ignored(runtime) -> None:
    """A value a script or a person got wrong never loosens the configuration's limits."""
    runtime.redis.hset(
        runtime.keys.acd_overrides,
        mapping={"max_waiting": "0", "max_wait": "lots", "priority.platform.nowhere": "5"},
    )
    effective = overrides.effective(runtime)
    assert effective.max_waiting == runtime.config.acd.max_waiting
    assert effective.max_wait == runtime.config.acd.max_wait
    assert "nowhere" not in effective.priority.get("platform", {})
